package timesync_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
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
	listed, listedCreates := 0, 0 // the write calls the dry run lists, its creating lines
	for _, e := range planned {
		listed += e.Writes
		if timesync.ActionKind(e.Action).Writes() != (e.Writes > 0) {
			t.Errorf("dry-run line %s of timer %s lists %d writes", e.Action, e.SourceID, e.Writes)
		}
		if e.Action == string(timesync.ActCreate) {
			listedCreates++
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
	// A dry run is a promise: the run made exactly the writes it listed (one per period),
	// and created the timers it listed.
	if listed != w.env.P.WriteCalls() || listedCreates != by["create_attendance/created"] {
		t.Errorf("the dry run listed %d writes in %d creating lines, the run made %d writes creating %d timers",
			listed, listedCreates, w.env.P.WriteCalls(), by["create_attendance/created"])
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
// first, second, … period POST, then (in another world) right after each request of any
// kind; the reruns leave exactly one period per timer and key.
func TestCrashAfterEachCreateLeavesOneSetOfPeriods(t *testing.T) {
	for _, only := range []string{"POST", ""} {
		crashes(t, only)
	}
}

// crashes stops a run after its n-th request of method only ("" any), for n = 1, 2, …,
// until a run ends without being stopped, then checks the periods and a quiet rerun.
func crashes(t *testing.T, only string) {
	w := newWorld(t)
	for crash := int32(1); crash <= 200; crash++ {
		ctx, cancel := context.WithCancel(context.Background())
		var seen atomic.Int32
		w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
			if only == "" || (r.Method == only && strings.HasSuffix(r.URL.Path, "/v2/attendance-periods") && resp.StatusCode < 300) {
				if seen.Add(1) == crash {
					cancel()
				}
			}
		})
		_, _, err := w.run(t, ctx, domain.ModeFull, false)
		cancel()
		w.env.Transport.SetAfter(nil)
		w.env.Advance(time.Minute)
		if err == nil && seen.Load() < crash {
			t.Logf("crash after request %q: %d points tried", only, crash-1)
			if crash < 3 {
				t.Fatalf("only %d crash points: the hook saw no requests", crash-1)
			}
			break // the run ended before the crash point: every point was tried
		}
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

// staffomatic sends one request to the simulated Staffomatic as the demo admin.
func (w *world) staffomatic(t *testing.T, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, w.env.StaffomaticURL+"/"+w.env.Demo.StaffomaticSubdomain+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(demo.StaffomaticEmail, demo.StaffomaticPassword)
	req.Header.Set("User-Agent", "staffsync tests")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
}

// transferred runs the first full sync and returns a transferred timer's id with its
// Personio periods' markers.
func (w *world) transferred(t *testing.T) (staffomaticsim.WorkTimer, []personiosim.AttendancePeriod) {
	t.Helper()
	if _, _, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	for _, wt := range w.env.S.Account(w.env.Demo.StaffomaticSubdomain).WorkTimers() {
		var ps []personiosim.AttendancePeriod
		for _, p := range w.env.P.AttendancePeriods() {
			if id, _, ok := timesync.ParseMarker(p.Comment); ok && id == strconv.FormatInt(wt.ID, 10) {
				ps = append(ps, p)
			}
		}
		if len(ps) >= 2 {
			return wt, ps
		}
	}
	t.Fatal("no timer with a WORK and a BREAK period")
	return staffomaticsim.WorkTimer{}, nil
}

// TestEditedTimerUpdatesExactlyItsPeriods: a timer whose end moves in Staffomatic PATCHes
// its WORK period (its BREAK stays, or moves with it) and nothing else; a period edited
// in Personio is set back by the next full run.
func TestEditedTimerUpdatesExactlyItsPeriods(t *testing.T) {
	w := newWorld(t)
	wt, before := w.transferred(t)
	end := wt.EndsAt.Add(15 * time.Minute)
	w.staffomatic(t, http.MethodPut, "/work_timers/"+strconv.FormatInt(wt.ID, 10)+".json", `{"ends_at":"`+end.Format(time.RFC3339)+`"}`)
	w.env.Advance(time.Minute)
	w.env.P.ResetCalls()
	_, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].SourceID != strconv.FormatInt(wt.ID, 10) || entries[0].Outcome != domain.OutcomeUpdated {
		t.Fatalf("entries %+v", entries)
	}
	// The entry names the timer's user and tells what was done.
	if e := entries[0]; e.Person == "" || !strings.HasPrefix(e.Reason, "updated attendance periods: timer "+e.SourceID+" of "+e.Person+" (user ") {
		t.Fatalf("entry %+v", e)
	}
	if n := w.env.P.WriteCalls(); n < 1 || n > len(before) {
		t.Fatalf("%d write calls for a timer of %d periods", n, len(before))
	}
	for _, p := range w.env.P.AttendancePeriods() {
		if id, key, _ := timesync.ParseMarker(p.Comment); id == strconv.FormatInt(wt.ID, 10) && key == timesync.KeyWork &&
			p.End.Format(timesync.LocalLayout) != end.In(berlin(t)).Format(timesync.LocalLayout) {
			// Personio's periods are local wall-clock times of the account's zone.
			t.Fatalf("WORK period ends %s, want %s local", p.End.Format(timesync.LocalLayout), end.In(berlin(t)).Format(timesync.LocalLayout))
		}
	}
}

// TestOverlapInPersonioIsAFailedRecordAndRetried: a period an HR admin entered in
// Personio over a timer's time makes that timer's create fail with Personio's message,
// not the run; the next run tries it again.
func TestOverlapInPersonioIsAFailedRecordAndRetried(t *testing.T) {
	w := newWorld(t)
	var target staffomaticsim.WorkTimer
	for _, wt := range w.env.S.Account(w.env.Demo.StaffomaticSubdomain).WorkTimers() {
		if wt.UserID == w.env.Demo.StaffomaticAdminID && wt.State == staffomaticsim.TimerVerified {
			target = wt
			break
		}
	}
	person := w.env.Demo.ExistingUsers[0].PersonioEmployeeID
	w.env.P.AddAttendancePeriod(personiosim.AttendancePeriod{PersonID: person, Type: "WORK", Start: target.StartsAt.Add(time.Hour),
		End: ptr(target.StartsAt.Add(2 * time.Hour)), Comment: "entered in Personio", Status: personiosim.StatusConfirmed})
	sum, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunPartiallyFailed {
		t.Fatalf("run: %v %s", err, sum.Status)
	}
	var failed *domain.ProtocolEntry
	for i, e := range entries {
		if e.SourceID == strconv.FormatInt(target.ID, 10) {
			failed = &entries[i]
		}
	}
	if failed == nil || failed.Outcome != domain.OutcomeFailed || !strings.Contains(failed.Reason, "Overlapping") {
		t.Fatalf("the overlapping timer's entry %+v", failed)
	}
	w.env.Advance(time.Hour)
	_, entries, _ = w.run(t, context.Background(), domain.ModeFull, false)
	retried := false
	for _, e := range entries {
		if e.SourceID == strconv.FormatInt(target.ID, 10) && strings.Contains(e.Reason, "retry 2 of a failure") {
			retried = true
		}
	}
	if !retried {
		t.Fatalf("the next run did not retry it: %+v", entries)
	}
}

// TestDeletedTimer: with propagate_deletions off the periods of a timer deleted in
// Staffomatic stay and the protocol says so (once); with it on they are deleted.
func TestDeletedTimer(t *testing.T) {
	for _, propagate := range []bool{false, true} {
		w := newWorld(t)
		w.env.UpdateSettings(t, func(s *domain.Settings) { s.PropagateDeletions = propagate })
		wt, before := w.transferred(t)
		w.staffomatic(t, http.MethodDelete, "/work_timers/"+strconv.FormatInt(wt.ID, 10)+".json", "")
		w.env.Advance(time.Minute)
		_, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
		if err != nil || len(entries) != 1 {
			t.Fatalf("propagate %v: %v %+v", propagate, err, entries)
		}
		left := 0
		for _, p := range w.env.P.AttendancePeriods() {
			if id, _, ok := timesync.ParseMarker(p.Comment); ok && id == strconv.FormatInt(wt.ID, 10) {
				left++
			}
		}
		switch {
		case propagate && (entries[0].Action != string(timesync.ActDelete) || left != 0):
			t.Fatalf("propagate on: %+v, %d periods left", entries[0], left)
		case !propagate && (entries[0].Action != string(timesync.ActDeletionKept) || left != len(before)):
			t.Fatalf("propagate off: %+v, %d of %d periods left", entries[0], left, len(before))
		}
		w.env.Advance(time.Minute)
		if _, again, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil || len(again) != 0 {
			t.Fatalf("propagate %v, next run: %v %+v", propagate, err, again)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestTwoHundredUsersWeekTransfersOnce: 200 users × 7 days of verified timers (every other
// one with a stamped break, the rest with a lump-sum break) transfer once, each as its
// WORK and BREAK periods; a second run makes no write call.
func TestTwoHundredUsersWeekTransfersOnce(t *testing.T) {
	env := synctest.New(t, synctest.Options{Generate: 200, NoPersonioRateLimits: true})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "leave", "inactive"}})
	ctx := context.Background()
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := users.Run(ctx, env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	acc := env.S.Account("demo-gastro")
	maps, err := env.Store.LoadMappings(ctx, synctest.TenantID, domain.KindUser)
	if err != nil || len(maps) < 150 {
		t.Fatalf("%d user mappings: %v", len(maps), err)
	}
	loc := berlin(t)
	timers := 0
	for i, m := range maps {
		uid, err := strconv.ParseInt(m.TargetID(), 10, 64)
		if err != nil {
			continue
		}
		for d := 1; d <= 7; d++ {
			day := env.Now.In(loc).AddDate(0, 0, -d)
			start := time.Date(day.Year(), day.Month(), day.Day(), 8, i%30, 0, 0, loc)
			end := start.Add(8 * time.Hour)
			wt := staffomaticsim.WorkTimer{UserID: uid, State: staffomaticsim.TimerVerified, StartsAt: start, EndsAt: &end, CreatedAt: end, UpdatedAt: end}
			if (i+d)%2 == 1 {
				wt.LumpBreak = 30 * time.Minute
			}
			wt, err = acc.AddWorkTimer(wt)
			if err != nil {
				t.Fatal(err)
			}
			if (i+d)%2 == 0 {
				bs, be := start.Add(4*time.Hour), start.Add(4*time.Hour+30*time.Minute)
				if _, err := acc.AddBreakTimer(staffomaticsim.BreakTimer{WorkTimerID: wt.ID, StartsAt: bs, EndsAt: &be, CreatedAt: end, UpdatedAt: end}); err != nil {
					t.Fatal(err)
				}
			}
			timers++
		}
	}
	ts := phase.New[*timesync.Loaded, timesync.Planned](timesync.NewPhase(timesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	sum, err := ts.Run(ctx, env.Request(domain.PhaseTimesheets, domain.ModeFull, false))
	if err != nil || sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeCreated] != timers {
		t.Fatalf("first run: %v %s %v (%d timers)", err, sum.Status, sum.Counts, timers)
	}
	if n := len(env.P.AttendancePeriods()); n != 2*timers {
		t.Fatalf("%d periods for %d timers, want a WORK and a BREAK each", n, timers)
	}
	env.P.ResetCalls()
	env.Advance(time.Minute)
	sum, err = ts.Run(ctx, env.Request(domain.PhaseTimesheets, domain.ModeFull, false))
	if err != nil || env.P.WriteCalls() != 0 || sum.Counts[domain.OutcomeUnchanged] != timers {
		t.Fatalf("second run: %v, %d writes, %v", err, env.P.WriteCalls(), sum.Counts)
	}
}

// TestPersonioWebhookSetsBackAnEditedPeriod: an HR admin moves a transferred WORK period
// in Personio; the attendance webhook's targeted run reads that timer's periods and sets
// the period back (Staffomatic leads), and a period not written by staffsync is left alone.
func TestPersonioWebhookSetsBackAnEditedPeriod(t *testing.T) {
	w := newWorld(t)
	wt, ps := w.transferred(t)
	var work personiosim.AttendancePeriod
	for _, p := range ps {
		if _, key, _ := timesync.ParseMarker(p.Comment); key == timesync.KeyWork {
			work = p
		}
	}
	want := work.End.Format(timesync.LocalLayout)
	moved := work.End.Add(2 * time.Hour)
	w.env.P.UpdateAttendancePeriodEnd(work.ID, moved)
	foreign := w.env.P.AddAttendancePeriod(personiosim.AttendancePeriod{PersonID: work.PersonID, Type: "WORK",
		Start: work.Start.AddDate(0, 0, -30), End: ptr(work.Start.AddDate(0, 0, -30).Add(time.Hour)), Comment: "by hand", Status: personiosim.StatusConfirmed})
	req := w.env.Request(domain.PhaseTimesheets, domain.ModeTargeted, false,
		domain.Target{Kind: domain.KindAttendance, ID: work.ID}, domain.Target{Kind: domain.KindAttendance, ID: foreign.ID})
	w.env.P.ResetCalls()
	w.env.S.ResetCalls()
	if _, err := w.ts.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	entries := w.env.Protocol(t, domain.AreaOf(domain.PhaseTimesheets), req.RunID)
	if len(entries) != 1 || entries[0].SourceID != strconv.FormatInt(wt.ID, 10) || entries[0].Outcome != domain.OutcomeUpdated || w.env.P.WriteCalls() != 1 {
		t.Fatalf("entries %+v, %d writes", entries, w.env.P.WriteCalls())
	}
	// The reason names the user, read by id (beside the write): a targeted run reads no
	// list of users.
	u, _ := w.env.S.Account(w.env.Demo.StaffomaticSubdomain).User(wt.UserID)
	if name := u.FirstName + " " + u.LastName; !strings.Contains(entries[0].Reason, name+" (user ") || entries[0].Person != name {
		t.Errorf("reason %q (person %q) does not name %s", entries[0].Reason, entries[0].Person, name)
	}
	if n, one := w.env.S.CallCount("GET", "/users"), w.env.S.CallCount("GET", "/users/{id}"); n != 0 || one != 1 {
		t.Errorf("the targeted run read %d pages of users and %d users by id, want 0 and 1", n, one)
	}
	for _, p := range w.env.P.AttendancePeriods() {
		if p.ID == work.ID && p.End.Format(timesync.LocalLayout) != want {
			t.Fatalf("the WORK period ends %s, want it set back to %s", p.End.Format(timesync.LocalLayout), want)
		}
	}
}

// TestTimeTrackingOffSkipsAndSaysSo: with time tracking off in the sources a run reads
// nothing, writes nothing and says why in its protocol.
func TestTimeTrackingOffSkipsAndSaysSo(t *testing.T) {
	w := newWorld(t)
	tn := w.env.Tenant(t)
	tn.Sources.TimeTracking = false
	if err := w.env.Store.SaveTenant(context.Background(), &tn); err != nil {
		t.Fatal(err)
	}
	w.env.P.ResetCalls()
	sum, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded || w.env.P.WriteCalls() != 0 || sum.APICalls[domain.SystemStaffomatic] != 0 {
		t.Fatalf("run: %v %+v, %d writes", err, sum, w.env.P.WriteCalls())
	}
	if len(entries) != 1 || entries[0].Outcome != domain.OutcomeSkipped || !strings.Contains(entries[0].Reason, "time tracking is off") {
		t.Fatalf("entries %+v", entries)
	}
}

// TestFirstRunTakesTheLastSevenDays: the first run after set-up transfers the last 7
// days only; a timer of three weeks ago waits for the late sweep of a later full run.
func TestFirstRunTakesTheLastSevenDays(t *testing.T) {
	w := newWorld(t)
	acc := w.env.S.Account(w.env.Demo.StaffomaticSubdomain)
	start := w.env.Now.AddDate(0, 0, -21)
	end := start.Add(6 * time.Hour)
	old, err := acc.AddWorkTimer(staffomaticsim.WorkTimer{UserID: w.env.Demo.StaffomaticAdminID, State: staffomaticsim.TimerVerified,
		StartsAt: start, EndsAt: &end, CreatedAt: end, UpdatedAt: end})
	if err != nil {
		t.Fatal(err)
	}
	_, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.SourceID == strconv.FormatInt(old.ID, 10) {
			t.Fatalf("the first run handled a timer of three weeks ago: %+v", e)
		}
	}
	// Later full runs sweep the late-verification window slice by slice: within the
	// slices' cycle the old timer is transferred.
	for day := 0; day < 14; day++ {
		w.env.Advance(24 * time.Hour)
		_, entries, err = w.run(t, context.Background(), domain.ModeFull, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.SourceID == strconv.FormatInt(old.ID, 10) && e.Outcome == domain.OutcomeCreated {
				return
			}
		}
	}
	t.Fatal("the late sweep never transferred the timer of three weeks ago")
}

// TestTimersLeavingTheWindowAreNotDeletions: the daily full runs of the nine days after the
// transfer see the timers leave the full window one after the other. Their periods, read
// from a day before the window, are not taken for timers deleted in Staffomatic (which,
// with propagate_deletions on, would delete them in Personio): no run reports or deletes
// anything, and every period stays.
func TestTimersLeavingTheWindowAreNotDeletions(t *testing.T) {
	w := newWorld(t)
	w.env.UpdateSettings(t, func(s *domain.Settings) { s.PropagateDeletions = true })
	if _, _, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	before := w.periodsByMarker()
	if len(before) == 0 {
		t.Fatal("nothing was transferred")
	}
	for day := 1; day <= 9; day++ {
		w.env.Advance(24 * time.Hour)
		w.env.P.ResetCalls()
		_, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		for _, e := range entries {
			if e.Action == string(timesync.ActDeletionKept) || e.Outcome == domain.OutcomeDeleted {
				t.Errorf("day %d: timer %s: %s %s: %s", day, e.SourceID, e.Action, e.Outcome, e.Reason)
			}
		}
		if n := w.env.P.CallCount("DELETE /v2/attendance-periods/{id}"); n != 0 {
			t.Errorf("day %d: %d periods deleted", day, n)
		}
	}
	if after := w.periodsByMarker(); len(after) != len(before) {
		t.Errorf("%d periods after nine days, %d before", len(after), len(before))
	}
}

// TestTimerWebhookRun: a Staffomatic timer hint's targeted run (its reads at once, the
// user's name read beside its writes, the account's zone as an earlier run of the process
// read it within ZoneTTL) creates exactly what its dry run lists, with the same text
// naming the user; once the timer is deleted in Staffomatic, the next hint's run
// finds it gone and deletes its periods (propagate_deletions on), and targets that name no
// timer (not a number, or unknown to Staffomatic) change nothing.
func TestTimerWebhookRun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.env.UpdateSettings(t, func(s *domain.Settings) { s.PropagateDeletions = true })
	_, plan, err := w.run(t, ctx, domain.ModeFull, true)
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, e := range plan {
		if e.Action == string(timesync.ActCreate) && e.Writes >= 2 {
			id = e.SourceID
			break
		}
	}
	if id == "" {
		t.Fatalf("no timer with a WORK and a BREAK period to create: %+v", plan)
	}
	targeted := func(dry bool, ids ...string) []domain.ProtocolEntry {
		t.Helper()
		var ts []domain.Target
		for _, i := range ids {
			ts = append(ts, domain.Target{Kind: domain.KindTimer, ID: i})
		}
		req := w.env.Request(domain.PhaseTimesheets, domain.ModeTargeted, dry, ts...)
		if sum, err := w.ts.Run(ctx, req); err != nil || sum.Status != domain.RunSucceeded {
			t.Fatalf("targeted run of %v: %v %+v", ids, err, sum)
		}
		return w.env.Protocol(t, domain.AreaOf(domain.PhaseTimesheets), req.RunID)
	}
	subject := func(reason string) string { _, s, _ := strings.Cut(reason, ": "); return s }

	w.env.P.ResetCalls()
	w.env.S.ResetCalls()
	dry := targeted(true, id)
	if len(dry) != 1 || dry[0].Outcome != domain.OutcomePlanned || dry[0].Person == "" || w.env.P.WriteCalls() != 0 {
		t.Fatalf("dry run: %+v, %d writes", dry, w.env.P.WriteCalls())
	}
	real := targeted(false, id)
	if len(real) != 1 || real[0].Outcome != domain.OutcomeCreated || real[0].Person != dry[0].Person ||
		subject(real[0].Reason) != subject(dry[0].Reason) || !strings.Contains(real[0].Reason, "of "+dry[0].Person+" (user ") {
		t.Fatalf("the run recorded %+v, its dry run %+v", real, dry)
	}
	if n := w.env.P.WriteCalls(); n != dry[0].Writes {
		t.Fatalf("the run made %d writes, its dry run listed %d", n, dry[0].Writes)
	}
	marked := 0
	for m, n := range w.periodsByMarker() {
		if strings.HasPrefix(m, timesync.MarkerPrefix+id+"/") {
			marked += n
		}
	}
	if marked != dry[0].Writes {
		t.Fatalf("%d periods of timer %s, want %d", marked, id, dry[0].Writes)
	}
	// The account's time zone, read by the full run, served both hints' runs.
	if n := w.env.S.CallCount("GET", "/account"); n != 0 {
		t.Errorf("the targeted runs read the account's time zone %d times within its TTL, want 0", n)
	}

	w.staffomatic(t, http.MethodDelete, "/work_timers/"+id+".json", "")
	w.env.Advance(timesync.ZoneTTL)
	gone := targeted(false, id, "abc", "987654321")
	if n := w.env.S.CallCount("GET", "/account"); n != 1 {
		t.Errorf("a hint's run after the zone's TTL read it %d times, want 1", n)
	}
	if len(gone) != 1 || gone[0].SourceID != id || gone[0].Action != string(timesync.ActDelete) || gone[0].Outcome != domain.OutcomeDeleted {
		t.Fatalf("after the timer's deletion: %+v", gone)
	}
	for m := range w.periodsByMarker() {
		if strings.HasPrefix(m, timesync.MarkerPrefix+id+"/") {
			t.Errorf("period %s left after the timer's deletion", m)
		}
	}
}
