// Package faults is the fault-injection suite of issue 15: it runs the four sync phases
// (users, workspaces, timesheets, absences) through the real harness against the vendor
// simulators and a local DynamoDB while something goes wrong — a crash after k of n
// writes, 429 storms and 5xx bursts, a store that stops answering mid-run, the same event
// delivered twice at once, Personio down for days — and checks what production needs:
// every record transferred exactly once, the protocol telling what happened, the rate
// limits kept, the lease freed or expiring, nothing lost inside the retry window.
//
// The package holds only tests (and this comment); nothing imports it. The phase-specific
// crash tests in each sync package try every crash point of one scenario in depth; this
// suite runs the same faults over all phases through one table, so a new phase gets them by
// adding a row.
package faults
