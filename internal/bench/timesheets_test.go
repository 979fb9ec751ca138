package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Scales of the timesheets scenarios: the week is bound by Personio's attendance writes
// (≈10/s documented: 4,200 periods take 7 minutes), the partial run by the 20 writes.
const (
	kTimesheetsWeek    = 25
	kTimesheetsPartial = 0.15
	// timesheetUsers × timesheetDays timers, one stamped break each.
	timesheetUsers = 300
	timesheetDays  = 7
	// timesheetChanged timers of today are edited for the partial run.
	timesheetChanged = 20
)

// timesConcurrency is the timesheets phase's concurrency in the benchmark: its default (4)
// fits Personio's 10 writes a second at a real latency; the week's scaled limit of 250
// a second at 20 ms needs more timers in flight (each writes its WORK, then its BREAK).
const timesConcurrency = 16

func timesHarness(w *world, vb *vendors.Builder) *phase.Harness[*timesync.Loaded, timesync.Planned] {
	return phase.New[*timesync.Loaded, timesync.Planned](timesync.NewPhase(timesync.Deps{Store: w.env.Store, Vendors: vb,
		Now: w.env.Clock, Concurrency: timesConcurrency}), w.deps())
}

// usersWorld is a generated company of n employees whose users phase has run (without
// pacing: setting up is not measured).
func usersWorld(b *testing.B, n int) *world {
	b.Helper()
	w := newWorld(b, n)
	usersRun(b, w)
	return w
}

// usersRun runs the users phase without pacing.
func usersRun(b *testing.B, w *world) {
	b.Helper()
	h := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: w.env.Store, Vendors: w.setup(),
		Now: w.env.Clock, Concurrency: 16}), w.deps())
	if err := run(b, h, w.env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		b.Fatal(err)
	}
}

// mappedUsers returns up to n Staffomatic user ids with a Personio employee.
func mappedUsers(b *testing.B, w *world, n int) []int64 {
	b.Helper()
	maps, err := w.env.Store.LoadMappings(context.Background(), synctest.TenantID, domain.KindUser)
	if err != nil {
		b.Fatal(err)
	}
	var out []int64
	for _, m := range maps {
		if id, err := strconv.ParseInt(m.TargetID(), 10, 64); err == nil && len(out) < n {
			out = append(out, id)
		}
	}
	if len(out) < n {
		b.Fatalf("%d mapped users, want %d", len(out), n)
	}
	return out
}

// addShift seeds an eight-hour timer of user uid from start, in state, with a stamped
// half-hour break four hours in.
func addShift(b *testing.B, acc *staffomaticsim.Account, uid int64, start time.Time, state string) staffomaticsim.WorkTimer {
	b.Helper()
	end := start.Add(8 * time.Hour)
	wt, err := acc.AddWorkTimer(staffomaticsim.WorkTimer{UserID: uid, State: state, StartsAt: start, EndsAt: &end, CreatedAt: end, UpdatedAt: end})
	if err != nil {
		b.Fatal(err)
	}
	bs, be := start.Add(4*time.Hour), start.Add(4*time.Hour+30*time.Minute)
	if _, err := acc.AddBreakTimer(staffomaticsim.BreakTimer{WorkTimerID: wt.ID, StartsAt: bs, EndsAt: &be, CreatedAt: end, UpdatedAt: end}); err != nil {
		b.Fatal(err)
	}
	return wt
}

// benchTimesheets: timesheets-week (300 users × 7 days, one verified timer with one
// stamped break a day, the first transfer) and timesheets-partial (20 of today's timers
// end a quarter of an hour earlier; the partial run ten minutes later).
func benchTimesheets(b *testing.B) {
	w := usersWorld(b, timesheetUsers+timesheetUsers/5)
	users := mappedUsers(b, w, timesheetUsers)
	acc := w.env.S.Account(demo.StaffomaticSubdomain)
	now := w.env.Clock().In(berlin)
	var today []staffomaticsim.WorkTimer
	for i, uid := range users {
		for d := range timesheetDays {
			day := now.AddDate(0, 0, -d)
			// Shifts end before now (10:30 in Berlin), today's among them.
			wt := addShift(b, acc, uid, time.Date(day.Year(), day.Month(), day.Day(), 2, i%30, 0, 0, berlin), staffomaticsim.TimerVerified)
			if d == 0 {
				today = append(today, wt)
			}
		}
	}
	timers := timesheetUsers * timesheetDays

	vb, budgets := w.measured(kTimesheetsWeek)
	h := timesHarness(w, vb)
	r := bench.Result{Scenario: "timesheets-week", Records: timers}
	r.Wall, r.PeakHeap = measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseTimesheets, domain.ModeFull, false)) })
	// The account's time zone, the week's timer and break pages, a v2 token and the
	// (empty) page of Personio's periods; then a WORK and a BREAK period per timer
	// (Personio v2 takes one period per POST).
	w.result(b, r, bench.Floor{Budgets: budgets, Latency: Latency, Stages: [][]bench.Need{
		{{Budget: bStaffomatic, Calls: 1 + 2*pages(timers, 50)}, {Budget: bAuthV2, Calls: 1}, {Budget: bAttendances, Calls: 1}},
		{{Budget: bAttendances, Calls: 2 * timers}},
	}})
	if n := len(w.env.P.AttendancePeriods()); n != 2*timers {
		b.Fatalf("%d periods for %d timers", n, timers)
	}

	// An admin corrects 20 of today's timers in Staffomatic (ten minutes later).
	w.unlimited()
	w.env.Advance(10 * time.Minute)
	for _, wt := range today[:timesheetChanged] {
		end := wt.EndsAt.Add(-15 * time.Minute).In(berlin).Format(time.RFC3339)
		if err := simPut(w, fmt.Sprintf("/work_timers/%d.json", wt.ID), map[string]any{"ends_at": end}); err != nil {
			b.Fatal(err)
		}
	}
	vb, budgets = w.measured(kTimesheetsPartial)
	h = timesHarness(w, vb)
	r = bench.Result{Scenario: "timesheets-partial", Records: timesheetChanged}
	r.Wall, r.PeakHeap = measure(b, func() error {
		return run(b, h, w.env.Request(domain.PhaseTimesheets, domain.ModePartial, false))
	})
	// The account, the pages of the timers in the partial window (today's) and of their
	// breaks, a v2 token; then one PATCH of each changed timer's WORK period (its break
	// did not move).
	w.result(b, r, bench.Floor{Budgets: budgets, Latency: Latency, Stages: [][]bench.Need{
		{{Budget: bStaffomatic, Calls: 1 + 2*pages(timesheetUsers, 50)}, {Budget: bAuthV2, Calls: 1}},
		{{Budget: bAttendances, Calls: timesheetChanged}},
	}})
}
