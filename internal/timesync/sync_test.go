package timesync_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
)

// world is the demo company after a users run (two of the three Staffomatic users with
// demo timers are mapped to Personio employees; the third has no employee).
type world struct {
	env *synctest.Env
	ts  *phase.Harness[*timesync.Loaded, timesync.Planned]
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	ts := phase.New[*timesync.Loaded, timesync.Planned](timesync.NewPhase(timesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	return &world{env: env, ts: ts}
}

func (w *world) run(t *testing.T, ctx context.Context, m domain.Mode, dry bool) (domain.RunSummary, []domain.ProtocolEntry, error) {
	t.Helper()
	req := w.env.Request(domain.PhaseTimesheets, m, dry)
	sum, err := w.ts.Run(ctx, req)
	return sum, w.env.Protocol(t, domain.AreaOf(domain.PhaseTimesheets), req.RunID), err
}

// periodsByMarker counts the Personio periods per staffsync marker.
func (w *world) periodsByMarker() map[string]int {
	out := map[string]int{}
	for _, p := range w.env.P.AttendancePeriods() {
		if strings.HasPrefix(p.Comment, timesync.MarkerPrefix) {
			out[p.Comment]++
		}
	}
	return out
}

// TestDemoTimersTransferOnce: the demo's verified timers of mapped users become WORK and
// BREAK periods once; the unverified one is skipped, the unmapped user's are reported; a
// dry run lists exactly the writes the run makes, and a second run writes nothing.
func TestDemoTimersTransferOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.env.P.ResetCalls()
	sum, planned, err := w.run(t, ctx, domain.ModeFull, true)
	if err != nil || w.env.P.WriteCalls() != 0 {
		t.Fatalf("dry run: %v, %d writes", err, w.env.P.WriteCalls())
	}
	listed := 0
	for _, e := range planned {
		if timesync.ActionKind(e.Action).Writes() {
			listed++
		}
	}
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, w.env.Logs.String())
	}
	by := map[string]int{}
	for _, e := range entries {
		by[e.Action+"/"+string(e.Outcome)]++
	}
	if by["create_attendance/created"] == 0 || by["skip_timer/skipped"] == 0 || by["unmapped_user/failed"] == 0 {
		t.Fatalf("first run: %v %+v", by, sum.Counts)
	}
	marks := w.periodsByMarker()
	periods := 0
	for m, n := range marks {
		if n != 1 {
			t.Errorf("marker %s on %d periods", m, n)
		}
		periods += n
	}
	if w.env.P.WriteCalls() != periods || periods < 2*by["create_attendance/created"] {
		t.Fatalf("%d write calls, %d periods for %d timers", w.env.P.WriteCalls(), periods, by["create_attendance/created"])
	}
	// The dry run listed the creates (one write per period) the run made.
	if listed != by["create_attendance/created"] {
		t.Errorf("the dry run listed %d creating actions, the run made %d", listed, by["create_attendance/created"])
	}
	w.env.P.ResetCalls()
	sum, entries, err = w.run(t, ctx, domain.ModeFull, false)
	if err != nil || w.env.P.WriteCalls() != 0 || len(entries) != 0 {
		t.Fatalf("second run: %v, %d writes, %+v", err, w.env.P.WriteCalls(), entries)
	}
	if sum.Counts[domain.OutcomeUnchanged] == 0 {
		t.Errorf("second run counts %v", sum.Counts)
	}
}

// TestCrashAfterEachCreateLeavesOneSetOfPeriods: the run is stopped right after its
// first, second, … period POST; the reruns leave exactly one period per timer and key.
func TestCrashAfterEachCreateLeavesOneSetOfPeriods(t *testing.T) {
	w := newWorld(t)
	for crash := int32(1); crash <= 6; crash++ {
		ctx, cancel := context.WithCancel(context.Background())
		var posts atomic.Int32
		w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v2/attendance-periods") && resp.StatusCode < 300 {
				if posts.Add(1) == crash {
					cancel()
				}
			}
		})
		_, _, _ = w.run(t, ctx, domain.ModeFull, false)
		cancel()
		w.env.Transport.SetAfter(nil)
		w.env.Advance(time.Minute)
	}
	if _, _, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil {
		t.Fatalf("final run: %v\n%s", err, w.env.Logs.String())
	}
	marks := w.periodsByMarker()
	if len(marks) == 0 {
		t.Fatal("no period was created")
	}
	for m, n := range marks {
		if n != 1 {
			t.Errorf("marker %s on %d periods after the crashes", m, n)
		}
	}
	w.env.P.ResetCalls()
	if _, entries, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil || w.env.P.WriteCalls() != 0 {
		t.Fatalf("after recovery: %v, %d writes, %+v", err, w.env.P.WriteCalls(), entries)
	}
}
