// Package timesync is the time-tracking phase (Staffomatic work timers → Personio v2
// attendance periods, DESIGN §1.3): its pure core — the conversion of one finished timer
// into periods (Periods), its content hash (Hash) and the planner (Compute), which import
// only the standard library and internal/domain so every rule is a table test — and the
// Phase the harness runs (phase.go: Load, which reads timers, mappings and Personio's
// periods; apply.go, which performs the Plan idempotently).
//
// # Break model: BREAK inside WORK
//
// A timer becomes one WORK period over its whole gross span (starts_at to ends_at) and one
// BREAK period per stamped break timer, lying inside it. Personio's UI model is a WORK
// period containing its breaks (reference/personio-api-notes.md §4.2), the Personio
// simulator (internal/sandbox/personio) checks overlaps only between periods of the same
// type for exactly this reason, and the timer keeps one stable WORK period that a change
// PATCHes (a WORK split around breaks would turn every added or moved break into a
// re-split of all WORK periods). Personio's tracked time is WORK minus BREAK, which equals
// Staffomatic's net_duration: duration − break_duration.
//
// # Staffomatic's numbers are the truth
//
// The break time sent is gross − net_duration (the help centre: break_duration and
// net_duration are the truth, not only the break timers). Stamped breaks are clamped into
// the work timer (a break may start a second before its timer) and after the previous
// break (overlapping break timers), empty ones are dropped; if they still add up to more
// than the break time, the latest ones are shortened from their end.
//
// The unstamped remainder (lump-sum or shift breaks) becomes one BREAK period (key
// KeyRest) centred in the largest free gap of the work period (the earliest of equal
// ones): with no stamped break that is the middle of the shift, where a lunch break sits,
// never at its edges and never outside it. If no gap holds it, Periods returns an error
// (ErrNoRoom) and the planner reports the timer as failed instead of sending a wrong net
// time.
//
// # Local date-times, midnight and daylight saving
//
// Personio v2 takes local date-times without offset or Z; they are written in the
// Staffomatic account's zone. A timer crossing midnight is one WORK period crossing
// midnight (v2 counts it for attribution_date, the day it starts); more than 24 hours is
// refused as Personio does ("Period time range too long").
//
// A wall clock cannot say which of the twice-occurring hour of the autumn change (25 October
// 2026, 02:00–03:00 in Europe/Berlin) is meant, nor does the skipped spring hour (29 March
// 2026) exist. Instants are mapped to the wall clock monotonically: the second occurrence of
// a repeated hour reads as its end (03:00), so no range is ever negative and periods that
// do not overlap in time never overlap on the wall clock (they may touch: the simulator accepts
// back-to-back periods, and the notes assume Personio does). A break lying wholly in the second occurrence
// becomes empty and is dropped; a WORK period that becomes empty is an error. On such a
// night the wall-clock length can differ from the real one by the hour of the change;
// that is a limit of Personio's format, not a rounding of ours.
//
// # Markers and targets
//
// Each period's comment carries Marker(timer, key) ("staffsync:timer:<id>/<key>"): Personio's
// POST is not idempotent, so after a crash apply finds the periods it already created by
// the marker within the person's time window before posting again. The mapping of a timer
// stores its periods as Targets (EncodeTargets: "<key>=<period id>" plus the person), so
// a change PATCHes exactly the periods of the same keys and creates or deletes the others.
//
// # The planner's rules
//
// Compute turns the timers in scope into actions, each with a reason naming the user and
// the timer's local date. Only finished timers move (stopped or verified; only verified
// with only_verified_staffomatic_work_timers, and then skip_approval is true); a running
// one is reported as skipped, never sent. A timer is in the run's window when it started,
// ended or was updated there; one verified late is transferred while it started within the
// late-verification window (three months by default) and reported, never dropped, when it
// is older. A new timer creates its periods, a changed one (its Hash differs from the
// mapping's) PATCHes the periods of the keys it keeps, deletes the others and creates the
// new ones, an unchanged one writes nothing. A failure is retried for domain.RetryWindow
// from the first failure and then given up (Action.GiveUp): a user without a Personio
// employee, or a Personio error such as an overlap with a period entered there. A timer
// deleted in Staffomatic deletes its periods with propagate_deletions, else the protocol
// says they remain. Reports carry a fingerprint (domain.ReportFingerprint over kind,
// timer, hash and cause) and are not repeated while it is the one stored.
package timesync
