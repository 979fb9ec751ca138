package absencesync_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// world is the demo company after a users run: every employee with an e-mail has a
// Staffomatic user.
type world struct {
	env *synctest.Env
	as  *phase.Harness[*absencesync.Loaded, absencesync.Planned]
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	as := phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	return &world{env: env, as: as}
}

func (w *world) run(t *testing.T, ctx context.Context, m domain.Mode, dry bool, targets ...domain.Target) (domain.RunSummary, []domain.ProtocolEntry, error) {
	t.Helper()
	req := w.env.Request(domain.PhaseAbsences, m, dry, targets...)
	sum, err := w.as.Run(ctx, req)
	return sum, w.env.Protocol(t, domain.AreaOf(domain.PhaseAbsences), req.RunID), err
}

func (w *world) account() *staffomaticsim.Account {
	return w.env.S.Account(w.env.Demo.StaffomaticSubdomain)
}

func (w *world) writes() int { return w.env.P.WriteCalls() + w.env.S.WriteCalls() }

// writesNothing runs the phase again in mode m and fails the test (naming what) when the
// run errs, makes a write call or records a protocol entry: an unchanged state is left alone.
func (w *world) writesNothing(t *testing.T, ctx context.Context, m domain.Mode, what string) {
	t.Helper()
	w.resetCalls()
	if _, entries, err := w.run(t, ctx, m, false); err != nil || w.writes() != 0 || len(entries) != 0 {
		t.Fatalf("%s: %v, %d writes, %+v", what, err, w.writes(), entries)
	}
}

func (w *world) resetCalls() {
	w.env.P.ResetCalls()
	w.env.S.ResetCalls()
}

// copies are the Staffomatic absences staffsync wrote (those with its marker).
func (w *world) copies() []staffomaticsim.Absence {
	var out []staffomaticsim.Absence
	for _, x := range w.account().Absences() {
		if strings.HasPrefix(x.Justification, absencesync.MarkerPrefix) {
			out = append(out, x)
		}
	}
	return out
}

// marked counts the records per staffsync marker in both systems.
func (w *world) marked() map[string]int {
	out := map[string]int{}
	for _, x := range w.account().Absences() {
		if strings.HasPrefix(x.Justification, absencesync.MarkerPrefix) {
			out[x.Justification]++
		}
	}
	for _, p := range w.env.P.AbsencePeriods() {
		if strings.HasPrefix(p.Comment, absencesync.MarkerPrefix) {
			out[p.Comment]++
		}
	}
	return out
}

func (w *world) lead(t *testing.T, sys domain.System) {
	t.Helper()
	tn := w.env.Tenant(t)
	tn.Sources.Absences = sys
	if err := w.env.Store.SaveTenant(context.Background(), &tn); err != nil {
		t.Fatal(err)
	}
}

func tally(entries []domain.ProtocolEntry) map[string]int {
	by := map[string]int{}
	for _, e := range entries {
		by[e.Action+"/"+string(e.Outcome)]++
	}
	return by
}

// TestDemoAbsencesPersonioLeading: the demo's Personio absences become Staffomatic
// absences once (approved ones approved, the pending one new, the half day timed); the
// type without a category is reported once; a dry run lists exactly the writes the run
// makes; a second run writes nothing.
func TestDemoAbsencesPersonioLeading(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.resetCalls()
	_, planned, err := w.run(t, ctx, domain.ModeFull, true)
	if err != nil || w.writes() != 0 {
		t.Fatalf("dry run: %v, %d writes", err, w.writes())
	}
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, w.env.Logs.String())
	}
	by := tally(entries)
	if by["create_absence/created"] != 7 || by["report/reported"] != 1 || sum.Counts[domain.OutcomeFailed] != 0 {
		t.Fatalf("first run: %v %+v\n%+v", by, sum.Counts, entries)
	}
	if len(planned) != len(entries) {
		t.Errorf("the dry run planned %d actions, the run recorded %d", len(planned), len(entries))
	}
	// The dry run says what will happen, the run what happened, both naming the employee
	// (in the reason and in the person field) and the absence type.
	plannedWrites := 0
	for _, e := range planned {
		if !strings.HasPrefix(e.Reason, "will ") || !strings.Contains(e.Reason, "'s ") {
			t.Errorf("planned: %s", e.Reason)
		}
		if e.Action == "create_absence" && (e.Person == "" || e.AbsenceType == "" || e.Writes < 1) {
			t.Errorf("planned line without person, absence type or writes: %+v", e)
		}
		plannedWrites += e.Writes
	}
	for _, e := range entries {
		if e.Action == "create_absence" && (e.Person == "" || e.AbsenceType == "" || e.Writes != 0) {
			t.Errorf("protocol entry without person or absence type, or with a planned count: %+v", e)
		}
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Reason, "will ") || !(strings.HasPrefix(e.Reason, "created and approved the Staffomatic absence: ") ||
			strings.HasPrefix(e.Reason, "created the Staffomatic absence: ") || strings.HasPrefix(e.Reason, "reported: ")) {
			t.Errorf("applied: %s", e.Reason)
		}
	}
	var report string
	for _, e := range entries {
		if e.Action == "report" {
			report = e.Reason
		}
	}
	if !strings.Contains(report, "Fortbildung") {
		t.Errorf("report: %s", report)
	}
	states := map[string]int{}
	timed := 0
	for _, x := range w.copies() {
		states[x.State]++
		if !x.AllDay {
			timed++
		}
	}
	// The half day is Hanna Horn's afternoon: her work schedule has 6-hour days, so it
	// covers 11:00–14:00 (08:00 plus half of 6 hours, to the day's end).
	for _, x := range w.copies() {
		if !x.AllDay {
			loc := w.account().TimeZone()
			if f, e := x.StartsAt.In(loc).Format("15:04"), x.EndsAt.In(loc).Format("15:04"); f != "11:00" || e != "14:00" {
				t.Errorf("half day %s–%s, want 11:00–14:00 from the work schedule", f, e)
			}
		}
	}
	// 7 periods, the one across New Year is one absence; the pending one stays new.
	if states["approved"] != 6 || states["new"] != 1 || timed != 1 {
		t.Errorf("Staffomatic absences: states %v, %d timed", states, timed)
	}
	for m, n := range w.marked() {
		if n != 1 {
			t.Errorf("marker %s on %d absences", m, n)
		}
	}
	// Writes: 7 creates and 6 approvals, exactly the writes the dry run's lines counted.
	if w.env.S.WriteCalls() != 13 || w.env.P.WriteCalls() != 0 || plannedWrites != 13 {
		t.Errorf("writes: Staffomatic %d, Personio %d; the dry run listed %d", w.env.S.WriteCalls(), w.env.P.WriteCalls(), plannedWrites)
	}
	w.resetCalls()
	sum, entries, err = w.run(t, ctx, domain.ModeFull, false)
	if err != nil || w.writes() != 0 || len(entries) != 0 {
		t.Fatalf("second run: %v, %d writes, %+v", err, w.writes(), entries)
	}
	if sum.Counts[domain.OutcomeUnchanged] != 7 || sum.Counts[domain.OutcomeSkipped] != 1 {
		t.Errorf("second run counts %v", sum.Counts)
	}
	// A partial run after it writes nothing either.
	w.env.Advance(time.Hour)
	if _, entries, err := w.run(t, ctx, domain.ModePartial, false); err != nil || w.writes() != 0 || len(entries) != 0 {
		t.Fatalf("partial run: %v, %d writes, %+v", err, w.writes(), entries)
	}
}

// TestPersonioDeletionMirroredByFullRun: a period deleted in Personio removes its
// Staffomatic absence in the next full run, and only that one.
func TestPersonioDeletionMirroredByFullRun(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	before := len(w.account().Absences())
	if err := w.env.P.RemoveAbsencePeriod(w.env.Demo.HalfDayAbsenceID); err != nil {
		t.Fatal(err)
	}
	w.resetCalls()
	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	by := tally(entries)
	if by["remove_absence/deleted"] != 1 || len(entries) != 1 || w.env.S.WriteCalls() != 1 {
		t.Fatalf("deletion run: %v, %d writes\n%+v", by, w.env.S.WriteCalls(), entries)
	}
	if n := len(w.account().Absences()); n != before-1 {
		t.Errorf("%d Staffomatic absences, want %d", n, before-1)
	}
	w.writesNothing(t, ctx, domain.ModeFull, "after the deletion")
}

// TestPersonioWebhookDeletion: a targeted run for a deleted period removes its copy.
func TestPersonioWebhookDeletion(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	id := w.env.Demo.YearBoundaryAbsenceID
	if err := w.env.P.RemoveAbsencePeriod(id); err != nil {
		t.Fatal(err)
	}
	_, entries, err := w.run(t, ctx, domain.ModeTargeted, false, domain.Target{Kind: domain.KindAbsence, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if by := tally(entries); by["remove_absence/deleted"] != 1 || len(entries) != 1 {
		t.Fatalf("targeted run: %v %+v", by, entries)
	}
}

// TestCrashAfterEachCreateDuplicatesNothing: the run is stopped right after its first,
// second, … create; the reruns leave exactly one Staffomatic absence per marker, and then
// a run writes nothing.
func TestCrashAfterEachCreateDuplicatesNothing(t *testing.T) {
	w := newWorld(t)
	for crash := int32(1); crash <= 8; crash++ {
		ctx, cancel := context.WithCancel(context.Background())
		var posts atomic.Int32
		w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/absences") && resp.StatusCode < 300 {
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
	marks := w.marked()
	if len(marks) != 7 {
		t.Errorf("%d markers, want 7: %v", len(marks), marks)
	}
	for m, n := range marks {
		if n != 1 {
			t.Errorf("marker %s on %d absences after the crashes", m, n)
		}
	}
	if n := len(w.copies()) + w.env.Demo.StaffomaticAbsences; n != len(w.account().Absences()) || len(w.copies()) != 7 {
		t.Errorf("%d Staffomatic absences, %d of them copies, want 7 copies beside the demo's %d", len(w.account().Absences()), len(w.copies()), w.env.Demo.StaffomaticAbsences)
	}
	w.writesNothing(t, context.Background(), domain.ModeFull, "after recovery")
}

// staffomaticAbsences seeds Staffomatic absences of a mapped user for the Staffomatic-led
// tests: an approved vacation week, a new sick day, an approved half day (afternoon) and
// an approved vacation across New Year (Dec 30 to Jan 1).
func (w *world) staffomaticAbsences(t *testing.T) []staffomaticsim.Absence {
	t.Helper()
	acc := w.account()
	loc := acc.TimeZone()
	cats := map[string]int64{}
	var user staffomaticsim.User
	for _, u := range acc.Users() {
		if len(u.LocationIDs) > 0 && u.CustomID != "" {
			user = u
			break
		}
	}
	if user.ID != 0 {
		for _, c := range acc.AbsenceTypes() {
			if c.LocationID == user.LocationIDs[0] {
				cats[c.Name] = c.ID
			}
		}
	}
	if user.ID == 0 {
		t.Fatal("no user in a location")
	}
	day := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	var out []staffomaticsim.Absence
	for _, x := range []staffomaticsim.Absence{
		{ApplicantID: user.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], State: "approved", StartsAt: day(4, 6, 0, 0), EndsAt: day(4, 10, 23, 59), AllDay: true},
		{ApplicantID: user.ID, AbsenceTypeID: cats["Krankheit"], State: "new", StartsAt: day(3, 16, 0, 0), EndsAt: day(3, 16, 23, 59), AllDay: true},
		{ApplicantID: user.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], State: "approved", StartsAt: day(5, 4, 12, 0), EndsAt: day(5, 4, 16, 0)},
		{ApplicantID: user.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], State: "approved", StartsAt: day(12, 30, 0, 0), EndsAt: day(12, 30, 0, 0).AddDate(0, 0, 3).Add(-time.Second), AllDay: true},
	} {
		a, err := acc.AddAbsence(x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// TestStaffomaticLeading: with Staffomatic leading, its absences of the current year move
// to Personio once (approved ones with approval skipped), the demo's Personio periods are
// left alone, a second run writes nothing, and a crash after each create duplicates
// nothing.
func TestStaffomaticLeading(t *testing.T) {
	w := newWorld(t)
	w.lead(t, domain.SystemStaffomatic)
	w.staffomaticAbsences(t)
	ctx := context.Background()
	periodsBefore := len(w.env.P.AbsencePeriods())
	for crash := int32(1); crash <= 3; crash++ {
		cctx, cancel := context.WithCancel(ctx)
		var posts atomic.Int32
		w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v2/absence-periods") && resp.StatusCode < 300 {
				if posts.Add(1) == crash {
					cancel()
				}
			}
		})
		_, _, _ = w.run(t, cctx, domain.ModeFull, false)
		cancel()
		w.env.Transport.SetAfter(nil)
		w.env.Advance(time.Minute)
	}
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Counts[domain.OutcomeFailed] != 0 {
		t.Fatalf("run: %v %v %+v\n%s", err, sum.Counts, entries, w.env.Logs.String())
	}
	// With only_approved_staffomatic_absences (the default) the three approved ones move,
	// the one across New Year as two periods (Dec 30–31 and Jan 1); the new one waits. The
	// demo's own Staffomatic absences move too (demo: 5 periods, its Schulung is reported).
	demo := 5
	checkMarks := func(want int) {
		t.Helper()
		marks := w.marked()
		if len(marks) != want {
			t.Errorf("markers %v, want %d", marks, want)
		}
		for m, n := range marks {
			if n != 1 {
				t.Errorf("marker %s on %d periods", m, n)
			}
		}
		if n := len(w.env.P.AbsencePeriods()); n != periodsBefore+want {
			t.Errorf("%d Personio periods, want %d", n, periodsBefore+want)
		}
	}
	checkMarks(4 + demo)
	halves := 0
	for _, p := range w.env.P.AbsencePeriods() {
		if !strings.HasPrefix(p.Comment, absencesync.MarkerPrefix) {
			continue
		}
		if p.Status != "APPROVED" {
			t.Errorf("period %s: %s, want APPROVED (skip_approval)", p.Comment, p.Status)
		}
		if p.StartHalf == "SECOND_HALF" {
			halves++
		}
		if p.End == nil || p.Start.Year() != p.End.Year() {
			t.Errorf("period %s crosses the year boundary: %v to %v", p.Comment, p.Start, p.End)
		}
	}
	if halves != 2 { // ours and the demo's
		t.Errorf("%d afternoon half days, want 2", halves)
	}
	w.writesNothing(t, ctx, domain.ModeFull, "second run")
	// Without the setting the open request moves too, pending approval.
	w.env.UpdateSettings(t, func(s *domain.Settings) { s.OnlyApprovedStaffomaticAbsences = false })
	w.resetCalls()
	if _, entries, err := w.run(t, ctx, domain.ModeFull, false); err != nil || w.env.P.WriteCalls() != 1 || w.env.S.WriteCalls() != 0 {
		t.Fatalf("run with all requests: %v, %d/%d writes, %+v", err, w.env.P.WriteCalls(), w.env.S.WriteCalls(), entries)
	}
	checkMarks(5 + demo)
	w.writesNothing(t, ctx, domain.ModeFull, "last run")
}

// TestStaffomaticHintNamesTheSourceKey: a Staffomatic hint about a copy reaches the phase
// as the mapping's source key ("personio/<uuid>", the API's reverse lookup); the targeted
// run reads that Personio period and, as nothing changed, writes nothing (it is no
// deletion).
func TestStaffomaticHintNamesTheSourceKey(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	w.resetCalls()
	key := absencesync.SourceKey(domain.SystemPersonio, w.env.Demo.HalfDayAbsenceID)
	sum, entries, err := w.run(t, ctx, domain.ModeTargeted, false, domain.Target{Kind: domain.KindAbsence, ID: key})
	if err != nil || w.writes() != 0 || len(entries) != 0 || sum.Counts[domain.OutcomeUnchanged] != 1 {
		t.Fatalf("targeted run: %v, %d writes, %v %+v", err, w.writes(), sum.Counts, entries)
	}
}

// TestOlderCredentialBridgesSettingsByName: a credential whose v1 time-off types come
// without id_v2 still marks absences vacation and paid as the settings' v1 ids say (the
// types are bridged by name to /v2/absence-types), with no report about the settings.
func TestOlderCredentialBridgesSettingsByName(t *testing.T) {
	for _, older := range []bool{false, true} {
		t.Run(map[bool]string{false: "with id_v2", true: "older credential without id_v2"}[older], func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if older {
				w.env.P.AddCredential(personiosim.Credential{ClientID: demo.PersonioClientID, ClientSecret: demo.PersonioClientSecret, WithoutIDv2: true})
			}
			ids := map[string]int64{}
			for _, ty := range w.env.P.TimeOffTypes() {
				ids[ty.Name] = ty.ID
			}
			w.env.UpdateSettings(t, func(s *domain.Settings) {
				s.PersonioTimeOffTypeIDsForVacationDaysDeduction = []int64{ids["Bezahlter Urlaub"]}
				s.PersonioTimeOffTypeIDsForPaidVacations = []int64{ids["Bezahlter Urlaub"], ids["Krankheit"]}
			})
			_, entries, err := w.run(t, ctx, domain.ModeFull, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Reason, "settings.") {
					t.Errorf("settings reported: %s", e.Reason)
				}
			}
			cats := map[int64]string{}
			for _, c := range w.account().AbsenceTypes() {
				cats[c.ID] = c.Name
			}
			seen := map[string]int{}
			for _, x := range w.account().Absences() {
				name := cats[x.AbsenceTypeID]
				seen[name]++
				wantVac, wantPaid := name == "Bezahlter Urlaub", name == "Bezahlter Urlaub" || name == "Krankheit"
				if x.Vacation != wantVac || x.Paid != wantPaid {
					t.Errorf("%s absence %d: vacation %t paid %t, want %t %t", name, x.ID, x.Vacation, x.Paid, wantVac, wantPaid)
				}
			}
			if seen["Bezahlter Urlaub"] == 0 || seen["Krankheit"] == 0 || seen["Unbezahlter Urlaub"] == 0 {
				t.Fatalf("absences per category %v", seen)
			}
			if w.env.P.CallCount("GET /v2/absence-types") != 1 {
				t.Errorf("absence types read %d times", w.env.P.CallCount("GET /v2/absence-types"))
			}
		})
	}
}

// staffomaticClient is a client of the demo account, as an admin working in Staffomatic
// (its writes go through the API, so they appear in the change feed).
func (w *world) staffomaticClient(t *testing.T) *staffomatic.Client {
	t.Helper()
	c, err := w.env.Vendors().Staffomatic("admin", w.env.Tenant(t).Staffomatic,
		staffomatic.Credentials{Email: demo.StaffomaticEmail, Password: demo.StaffomaticPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStaffomaticLeadingPartialReadsTheChangeFeed: with Staffomatic leading, a partial run
// learns the changed absences from the change feed (absence events since the cursor) and
// reads those one by one, the employees concerned one by one and their Personio periods
// by person, never the year's absences, the employee list or all periods; it creates the
// new absence's period and removes the deleted absence's period.
func TestStaffomaticLeadingPartialReadsTheChangeFeed(t *testing.T) {
	w := newWorld(t)
	w.lead(t, domain.SystemStaffomatic)
	xs := w.staffomaticAbsences(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	before := len(w.marked())
	w.env.Advance(10 * time.Minute)
	sc := w.staffomaticClient(t)
	loc := w.account().TimeZone()
	created, err := sc.CreateAbsence(ctx, staffomatic.NewAbsence{ApplicantID: xs[0].ApplicantID, AbsenceTypeID: xs[0].AbsenceTypeID,
		StartsAt: time.Date(2026, 6, 1, 0, 0, 0, 0, loc), EndsAt: time.Date(2026, 6, 2, 23, 59, 59, 0, loc), AllDay: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.ApproveAbsence(ctx, created.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := sc.DeleteAbsence(ctx, xs[0].ID); err != nil { // transferred: its period goes
		t.Fatal(err)
	}
	w.env.Advance(10 * time.Minute)
	w.resetCalls()
	sum, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil || sum.Counts[domain.OutcomeFailed] != 0 {
		t.Fatalf("partial run: %v %v %+v", err, sum.Counts, entries)
	}
	by := tally(entries)
	if by["create_absence/created"] != 1 || by["remove_absence/deleted"] != 1 || len(entries) != 2 {
		t.Fatalf("partial run: %v %+v", by, entries)
	}
	if n := len(w.marked()); n != before {
		t.Errorf("%d marked periods, want %d (one created, one removed)", n, before)
	}
	for _, c := range w.env.S.Calls() {
		if c.Method == http.MethodGet && c.Route == "/absences" {
			t.Errorf("the partial run listed absences: %s", c.Path)
		}
	}
	for _, c := range w.env.P.Calls() {
		if c.Endpoint == "GET /v1/company/employees" {
			t.Errorf("the partial run read the employee list")
		}
		if c.Endpoint == "GET /v2/absence-periods" && !strings.Contains(c.Query, "person.id=") {
			t.Errorf("the partial run read all periods: %s", c.Query)
		}
	}
	if w.env.P.CallCount("GET /v1/company/employees/{id}") != 1 {
		t.Errorf("employees read one by one: %d", w.env.P.CallCount("GET /v1/company/employees/{id}"))
	}
	w.writesNothing(t, ctx, domain.ModePartial, "second partial run")
}

// TestTargetedRunRestoresADeletedCopy: a copy deleted in the target system is restored by
// the targeted run of the webhook about it (the hint names the source by the mapping's
// source key, the API's reverse lookup), in both directions, not only by the nightly full
// run; the next targeted run writes nothing.
func TestTargetedRunRestoresADeletedCopy(t *testing.T) {
	for _, lead := range []domain.System{domain.SystemPersonio, domain.SystemStaffomatic} {
		t.Run(string(lead)+" leading", func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if lead == domain.SystemStaffomatic {
				w.lead(t, lead)
				w.staffomaticAbsences(t)
			}
			if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
				t.Fatal(err)
			}
			maps, err := w.env.Store.LoadMappings(ctx, synctest.TenantID, domain.KindAbsence)
			if err != nil {
				t.Fatal(err)
			}
			var m domain.Mapping
			for _, x := range maps {
				if strings.HasPrefix(x.SourceID, string(lead)+"/") && x.State == domain.StateTransferred && len(x.TargetIDs) == 1 {
					m = x
					break
				}
			}
			if m.SourceID == "" {
				t.Fatalf("no transferred absence with one copy: %+v", maps)
			}
			before := w.marked()
			if lead == domain.SystemPersonio {
				id, _ := strconv.ParseInt(m.TargetIDs[0], 10, 64)
				if err := w.staffomaticClient(t).DeleteAbsence(ctx, id); err != nil {
					t.Fatal(err)
				}
			} else if err := w.env.P.RemoveAbsencePeriod(m.TargetIDs[0]); err != nil {
				t.Fatal(err)
			}
			w.env.Advance(time.Minute)
			w.resetCalls()
			target := domain.Target{Kind: domain.KindAbsence, ID: m.SourceID}
			_, entries, err := w.run(t, ctx, domain.ModeTargeted, false, target)
			if err != nil {
				t.Fatal(err)
			}
			if by := tally(entries); by["recreate_absence/updated"] != 1 || len(entries) != 1 || !strings.Contains(entries[0].Reason, "deleted in") {
				t.Fatalf("targeted run: %v %+v", by, entries)
			}
			if after := w.marked(); len(after) != len(before) {
				t.Errorf("markers before %v, after %v", before, after)
			}
			w.resetCalls()
			if _, entries, err := w.run(t, ctx, domain.ModeTargeted, false, target); err != nil || w.writes() != 0 || len(entries) != 0 {
				t.Fatalf("second targeted run: %v, %d writes, %+v", err, w.writes(), entries)
			}
		})
	}
}

// TestDemoAbsencesStaffomaticLeading: with Staffomatic leading, the demo's own Staffomatic
// absences move once: the vacation week, the afternoon half day, the sick day and the one
// across New Year (as one period per year); the category without a Personio type
// (Schulung) is reported with the absence it holds back; a second run writes nothing.
func TestDemoAbsencesStaffomaticLeading(t *testing.T) {
	w := newWorld(t)
	w.lead(t, domain.SystemStaffomatic)
	ctx := context.Background()
	// The dry run writes nothing and lists exactly the writes the run then makes.
	w.resetCalls()
	_, planned, err := w.run(t, ctx, domain.ModeFull, true)
	if err != nil || w.writes() != 0 {
		t.Fatalf("dry run: %v, %d writes", err, w.writes())
	}
	listed := 0
	for _, e := range planned {
		listed += e.Writes
	}
	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	if listed != 5 || w.env.P.WriteCalls() != listed || w.env.S.WriteCalls() != 0 || len(planned) != len(entries) {
		t.Fatalf("the dry run listed %d writes in %d lines, the run made %d Personio and %d Staffomatic writes in %d entries",
			listed, len(planned), w.env.P.WriteCalls(), w.env.S.WriteCalls(), len(entries))
	}
	by := tally(entries)
	if by["create_absence/created"] != 4 || by["report/reported"] != 1 || len(entries) != 5 {
		t.Fatalf("first run: %v %+v", by, entries)
	}
	for _, e := range entries {
		if e.Action == "report" && !strings.Contains(e.Reason, `"`+w.env.Demo.MissingType+`"`) {
			t.Errorf("report: %s", e.Reason)
		}
	}
	if n := len(w.marked()); n != 5 {
		t.Errorf("%d Personio periods written, want 5: %v", n, w.marked())
	}
	w.writesNothing(t, ctx, domain.ModeFull, "second run")
}

// TestStaffomaticLeadingPartialManyChanges: when the change feed names more than MaxNamed
// absences, the partial run lists the year's absences once instead of reading each, and
// transfers them all.
func TestStaffomaticLeadingPartialManyChanges(t *testing.T) {
	w := newWorld(t)
	w.lead(t, domain.SystemStaffomatic)
	xs := w.staffomaticAbsences(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	w.env.Advance(10 * time.Minute)
	sc := w.staffomaticClient(t)
	loc := w.account().TimeZone()
	n := absencesync.MaxNamed + 1
	for i := range n {
		day := time.Date(2026, 7, 1+i, 0, 0, 0, 0, loc)
		x, err := sc.CreateAbsence(ctx, staffomatic.NewAbsence{ApplicantID: xs[0].ApplicantID, AbsenceTypeID: xs[0].AbsenceTypeID,
			StartsAt: day, EndsAt: day.Add(24*time.Hour - time.Second), AllDay: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.ApproveAbsence(ctx, x.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	w.env.Advance(10 * time.Minute)
	w.resetCalls()
	_, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil {
		t.Fatal(err)
	}
	if by := tally(entries); by["create_absence/created"] != n || len(entries) != n {
		t.Fatalf("partial run: %v", by)
	}
	lists, gets := 0, 0
	for _, c := range w.env.S.Calls() {
		switch {
		case c.Method == http.MethodGet && c.Route == "/absences":
			lists++
		case c.Method == http.MethodGet && c.Route == "/absences/{id}":
			gets++
		}
	}
	if lists == 0 || gets != 0 {
		t.Errorf("%d list pages and %d single reads of absences, want the list only", lists, gets)
	}
}

// TestCrashAfterEachWriteOfChangesDuplicatesNothing: after the first transfer, Personio
// approves the pending period, rejects one, deletes the half day, and an admin deletes a
// copy in Staffomatic. The run that mirrors this makes 5 writes (an approval, two deletes,
// the restored copy's create and approval); for each k it is stopped right after its k-th
// write, and the rerun leaves exactly one copy per marker, each in the state Personio
// says, and then a run writes nothing.
func TestCrashAfterEachWriteOfChangesDuplicatesNothing(t *testing.T) {
	const writes = 5
	for crash := int32(1); crash <= writes; crash++ {
		t.Run(fmt.Sprintf("stopped after write %d", crash), func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
				t.Fatal(err)
			}
			var pending, vacation string
			for _, p := range w.env.P.AbsencePeriods() {
				switch {
				case p.Status == personiosim.StatusPending:
					pending = p.ID
				case p.Comment == "Sommerurlaub":
					vacation = p.ID
				}
			}
			if pending == "" || vacation == "" {
				t.Fatal("the demo lacks its pending period or its summer vacation")
			}
			if err := errors.Join(w.env.P.SetAbsenceStatus(pending, personiosim.StatusApproved), w.env.P.SetAbsenceStatus(vacation, personiosim.StatusRejected),
				w.env.P.RemoveAbsencePeriod(w.env.Demo.HalfDayAbsenceID)); err != nil {
				t.Fatal(err)
			}
			deleted := ""
			for _, x := range w.copies() {
				if strings.Contains(x.Justification, w.env.Demo.YearBoundaryAbsenceID) {
					deleted = strconv.FormatInt(x.ID, 10)
					if err := w.staffomaticClient(t).DeleteAbsence(ctx, x.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			if deleted == "" {
				t.Fatal("no copy of the period across New Year")
			}
			w.env.Advance(time.Minute)
			cctx, cancel := context.WithCancel(ctx)
			var n atomic.Int32
			w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
				if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/absences") && resp.StatusCode < 300 {
					if n.Add(1) == crash {
						cancel()
					}
				}
			})
			_, _, _ = w.run(t, cctx, domain.ModeFull, false)
			stopped := cctx.Err() != nil
			cancel()
			w.env.Transport.SetAfter(nil)
			if !stopped {
				t.Fatalf("the run made %d writes and was not stopped after write %d", n.Load(), crash)
			}
			w.env.Advance(time.Minute)
			if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
				t.Fatalf("rerun: %v\n%s", err, w.env.Logs.String())
			}
			for m, n := range w.marked() {
				if n != 1 {
					t.Errorf("marker %s on %d absences after the crash", m, n)
				}
			}
			states := map[string]string{} // Personio period id → its copy's state
			for _, x := range w.copies() {
				k, _ := absencesync.ParseMarker(x.Justification)
				states[strings.TrimPrefix(k, "personio/")] = x.State
				if strconv.FormatInt(x.ID, 10) == deleted {
					t.Errorf("the copy deleted in Staffomatic is back under its old id")
				}
			}
			if _, ok := states[vacation]; ok {
				t.Errorf("the rejected period still has a copy")
			}
			if _, ok := states[w.env.Demo.HalfDayAbsenceID]; ok {
				t.Errorf("the deleted period still has a copy")
			}
			if states[pending] != "approved" || states[w.env.Demo.YearBoundaryAbsenceID] != "approved" {
				t.Errorf("copies %v: want the approved period's and the one across New Year approved", states)
			}
			w.writesNothing(t, ctx, domain.ModeFull, "after recovery")
		})
	}
}

// TestPersonioConflictIsRetriedAndReported: with Staffomatic leading, Personio refuses a
// period with 409 "Absence period conflict" (the employee has a period there already). The
// run goes on with the other absences and ends partially failed, the protocol says what
// Personio said (no raw body), the next run tries again, and once the conflicting period
// is gone the absence moves; then a run writes nothing.
func TestPersonioConflictIsRetriedAndReported(t *testing.T) {
	w := newWorld(t)
	w.lead(t, domain.SystemStaffomatic)
	abs := w.staffomaticAbsences(t)
	ctx := context.Background()
	var pid int64
	for _, u := range w.account().Users() {
		if u.ID == abs[0].ApplicantID {
			pid, _ = strconv.ParseInt(u.CustomID, 10, 64)
		}
	}
	var sick string
	for _, ty := range w.env.P.TimeOffTypes() {
		if ty.Name == "Krankheit" {
			sick = ty.IDv2
		}
	}
	day := time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)
	blocking := w.env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: pid, TypeID: sick, Start: day, End: &day, Status: personiosim.StatusApproved})
	source := "staffomatic/" + strconv.FormatInt(abs[0].ID, 10)
	failed := func(entries []domain.ProtocolEntry) domain.ProtocolEntry {
		t.Helper()
		var out []domain.ProtocolEntry
		for _, e := range entries {
			if e.Outcome == domain.OutcomeFailed {
				out = append(out, e)
			}
		}
		if len(out) != 1 || out[0].SourceID != source {
			t.Fatalf("failed entries %+v, want one for %s", out, source)
		}
		return out[0]
	}
	for attempt := 1; attempt <= 2; attempt++ {
		sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
		if err != nil || sum.Status != domain.RunPartiallyFailed {
			t.Fatalf("run %d: %v, status %s", attempt, err, sum.Status)
		}
		e := failed(entries)
		if !strings.Contains(e.Reason, "409: Absence period conflict") || strings.ContainsAny(e.Reason, "{}") || strings.Contains(e.Reason, "personio_trace_id") {
			t.Errorf("run %d: reason %q", attempt, e.Reason)
		}
		if attempt == 2 && !strings.Contains(e.Reason, "retry 2 since") {
			t.Errorf("the second attempt does not say it is a retry: %q", e.Reason)
		}
		w.env.Advance(time.Hour)
	}
	if err := w.env.P.RemoveAbsencePeriod(blocking.ID); err != nil {
		t.Fatal(err)
	}
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded || len(entries) != 1 || entries[0].SourceID != source || entries[0].Outcome != domain.OutcomeCreated {
		t.Fatalf("run after the conflict is gone: %v, %s, %+v", err, sum.Status, entries)
	}
	w.writesNothing(t, ctx, domain.ModeFull, "last run")
}

// TestPartialRunAfterASwitchReadsTheWholeWindow: a partial run reads only what changed
// since its cursor, which after a switch of the leading system (or a change of the
// settings or the selection) would leave the absences that did not change untransferred
// until the nightly full run. Such a run is full, says why, and transfers the absences of
// the new leading system as a first set-up does; the next partial run is partial again.
func TestPartialRunAfterASwitchReadsTheWholeWindow(t *testing.T) {
	w := newWorld(t)
	w.staffomaticAbsences(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	w.env.Advance(time.Hour)
	w.lead(t, domain.SystemStaffomatic)
	w.env.Advance(time.Hour)
	sum, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil || sum.Mode != domain.ModeFull || !strings.Contains(sum.ModeReason, "changed since the last run") {
		t.Fatalf("partial run after the switch: %v, mode %s (%q)", err, sum.Mode, sum.ModeReason)
	}
	// The three approved absences of staffomaticAbsences and the demo's four Staffomatic
	// absences that have a Personio type; the switch and the demo's Schulung are reported.
	if by := tally(entries); by["create_absence/created"] != 3+4 || by["report/reported"] != 2 {
		t.Fatalf("after the switch: %v\n%+v", by, entries)
	}
	w.env.Advance(time.Hour)
	w.resetCalls()
	sum, entries, err = w.run(t, ctx, domain.ModePartial, false)
	if err != nil || sum.Mode != domain.ModePartial || w.writes() != 0 || len(entries) != 0 {
		t.Fatalf("next partial run: %v, mode %s (%q), %d writes, %+v", err, sum.Mode, sum.ModeReason, w.writes(), entries)
	}
}

// TestPartialRunConcerningManyEmployees: a partial run whose changes concern more than
// MaxNamed employees reads the other side's whole window instead of naming every
// employee in one request (a URL with thousands of ids is refused; the notes keep id
// lists to about 50), in both directions, and transfers the changes.
func TestPartialRunConcerningManyEmployees(t *testing.T) {
	for _, lead := range []domain.System{domain.SystemPersonio, domain.SystemStaffomatic} {
		t.Run(string(lead)+" leading", func(t *testing.T) {
			ctx := context.Background()
			env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true})
			n := absencesync.MaxNamed + 10
			var added []personiosim.Employee
			for i := range n {
				added = append(added, env.P.AddEmployee(personiosim.Employee{FirstName: "Extra", LastName: fmt.Sprint(i), Email: fmt.Sprintf("extra%d@example.com", i)}))
			}
			env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
			users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
			if _, err := users.Run(ctx, env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
				t.Fatal(err)
			}
			w := &world{env: env, as: phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())}
			w.lead(t, lead)
			if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
				t.Fatal(err)
			}
			w.env.Advance(10 * time.Minute)
			// One new absence for each added employee, in the leading system.
			var vacation personiosim.TimeOffType
			for _, ty := range env.P.TimeOffTypes() {
				if ty.Name == "Bezahlter Urlaub" {
					vacation = ty
				}
			}
			acc := w.account()
			loc := acc.TimeZone()
			cat := int64(0)
			for _, c := range acc.AbsenceTypes() {
				if c.Name == "Bezahlter Urlaub" {
					cat = c.ID
				}
			}
			userOf := map[string]int64{}
			for _, u := range acc.Users() {
				userOf[u.CustomID] = u.ID
			}
			sc := w.staffomaticClient(t)
			for i, e := range added {
				day := time.Date(2026, 9, 1+i%28, 0, 0, 0, 0, time.UTC)
				if lead == domain.SystemPersonio {
					env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: e.ID, TypeID: vacation.IDv2, Start: day, End: &day, Status: personiosim.StatusApproved})
					continue
				}
				u := userOf[strconv.FormatInt(e.ID, 10)]
				if u == 0 {
					t.Fatalf("employee %d has no Staffomatic user", e.ID)
				}
				start := time.Date(2026, 9, 1+i%28, 0, 0, 0, 0, loc)
				x, err := sc.CreateAbsence(ctx, staffomatic.NewAbsence{ApplicantID: u, AbsenceTypeID: cat, StartsAt: start, EndsAt: start.Add(24*time.Hour - time.Second), AllDay: true})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sc.ApproveAbsence(ctx, x.ID, false); err != nil {
					t.Fatal(err)
				}
			}
			w.env.Advance(10 * time.Minute)
			longest := 0
			w.env.Transport.SetAfter(func(r *http.Request, _ *http.Response) {
				q := r.URL.Query()
				k := len(q["user_ids[]"])
				if v := q.Get("person.id"); v != "" {
					k += len(strings.Split(v, ","))
				}
				if k > longest {
					longest = k
				}
			})
			sum, entries, err := w.run(t, ctx, domain.ModePartial, false)
			w.env.Transport.SetAfter(nil)
			if err != nil || sum.Mode != domain.ModePartial {
				t.Fatalf("partial run: %v, mode %s (%q)", err, sum.Mode, sum.ModeReason)
			}
			if longest > absencesync.MaxNamed {
				t.Errorf("a request named %d employees, want at most %d", longest, absencesync.MaxNamed)
			}
			handled := 0
			for _, e := range entries {
				if e.Outcome == domain.OutcomeFailed {
					t.Errorf("failed: %+v", e)
				}
				if strings.Contains(e.Person, "Extra") || strings.Contains(e.Reason, "Extra ") {
					handled++
				}
			}
			if handled < n {
				t.Errorf("%d of the %d new absences in the protocol: %v", handled, n, tally(entries))
			}
		})
	}
}

// TestPartialRunAfterARunStoppedMidWrite: a partial run stopped while its last writes were
// under way (every action started, one cut off between the create and the approval of its
// copy) does not move the cursor, so the next partial run reads the period again, though
// it changed more than PartialOverlap before, and finishes its copy instead of leaving it
// unapproved until the nightly full run.
func TestPartialRunAfterARunStoppedMidWrite(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	cursor, err := w.env.Store.GetCursor(ctx, synctest.TenantID, domain.PhaseAbsences)
	if err != nil || cursor == "" {
		t.Fatalf("cursor after the full run: %q %v", cursor, err)
	}
	var pid int64
	for _, u := range w.account().Users() {
		if n, err := strconv.ParseInt(u.CustomID, 10, 64); err == nil && n > 0 {
			pid = n
			break
		}
	}
	var sick string
	for _, ty := range w.env.P.TimeOffTypes() {
		if ty.Name == "Krankheit" {
			sick = ty.IDv2
		}
	}
	if pid == 0 || sick == "" {
		t.Fatal("the demo lacks a mapped employee or the type Krankheit")
	}
	w.env.Advance(2 * time.Hour)
	day := time.Date(2026, 9, 14, 0, 0, 0, 0, time.UTC)
	period := w.env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: pid, TypeID: sick, Start: day, End: &day, Status: personiosim.StatusApproved})
	// The run stops after the copy's create, before its approval.
	w.env.Advance(2 * time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/absences.json") && resp.StatusCode < 300 {
			cancel()
		}
	})
	_, entries, err := w.run(t, cctx, domain.ModePartial, false)
	w.env.Transport.SetAfter(nil)
	if err == nil || tally(entries)["create_absence/failed"] != 1 {
		t.Fatalf("the stopped run: %v %+v", err, entries)
	}
	if got, err := w.env.Store.GetCursor(ctx, synctest.TenantID, domain.PhaseAbsences); err != nil || got != cursor {
		t.Fatalf("cursor after the stopped run: %q %v, want it unmoved at %q", got, err, cursor)
	}
	w.env.Advance(2 * time.Hour)
	if _, _, err := w.run(t, ctx, domain.ModePartial, false); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, x := range w.copies() {
		if k, _ := absencesync.ParseMarker(x.Justification); k == "personio/"+period.ID {
			states = append(states, x.State)
		}
	}
	if len(states) != 1 || states[0] != "approved" {
		t.Fatalf("copies of the period after the next partial run: %v, want one approved", states)
	}
	w.writesNothing(t, ctx, domain.ModeFull, "full run after")
}
