package absencesync

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
)

// recordingVendors is a recording Personio and Staffomatic: every write call is counted,
// and the records they hold are handed back to the next round as the loader would.
type recordingVendors struct {
	mu       sync.Mutex
	calls    int
	next     int64
	absences map[int64]staffomatic.NewAbsence
	approved map[int64]bool
	periods  map[string]personio.AbsencePeriodInput
}

func newRecording() *recordingVendors {
	return &recordingVendors{next: 900, absences: map[int64]staffomatic.NewAbsence{}, approved: map[int64]bool{},
		periods: map[string]personio.AbsencePeriodInput{}}
}

func (r *recordingVendors) CreateAbsence(_ context.Context, a staffomatic.NewAbsence) (staffomatic.Absence, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.next++
	r.absences[r.next] = a
	return staffomatic.Absence{ID: r.next}, nil
}

func (r *recordingVendors) ApproveAbsence(_ context.Context, id int64, _ bool) (staffomatic.Absence, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.approved[id] = true
	return staffomatic.Absence{ID: id}, nil
}

func (r *recordingVendors) DeleteAbsence(_ context.Context, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	delete(r.absences, id)
	return nil
}

func (r *recordingVendors) CreateAbsencePeriod(_ context.Context, in personio.AbsencePeriodInput, _ bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.next++
	id := fmt.Sprintf("p-%d", r.next)
	r.periods[id] = in
	return id, nil
}

func (r *recordingVendors) DeleteAbsencePeriod(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	delete(r.periods, id)
	return nil
}

// TestApplyMakesExactlyThePlannedWrites applies plans of every action kind (create with
// and without approval, half days, approval only, change → delete + recreate, rejection,
// deletion, the year split, a decline) against a recording vendor pair and checks that
// each apply makes exactly Plan.Writes() calls, and that a round without changes plans
// and makes none.
func TestApplyMakesExactlyThePlannedWrites(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	st := synctest.Store(t)
	rv := newRecording()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, loc)
	base := Input{Settings: domain.DefaultSettings(), Now: now, Location: loc, Full: true,
		WindowEnd:  time.Date(2027, 12, 31, 0, 0, 0, 0, loc),
		People:     []Person{{PersonioID: "1", UserID: "11", Name: "Ada Lovelace", LocationID: "21"}},
		Types:      []AbsenceType{{ID: "u-vac", Name: "Bezahlter Urlaub", Unit: UnitDay}, {ID: "u-sick", Name: "Krankheit", Unit: UnitDay}},
		Categories: []Category{{ID: "31", Name: "Bezahlter Urlaub", LocationID: "21"}, {ID: "32", Name: "Krankheit", LocationID: "21"}},
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	dp := func(m time.Month, d int) *time.Time { v := day(m, d); return &v }
	round := func(name string, lead domain.System, periods []Period, absences []Absence, wantWrites bool) {
		t.Helper()
		in := base
		in.Leading = lead
		in.Periods, in.Absences = periods, absences
		ms, err := st.LoadMappings(context.Background(), "t", domain.KindAbsence)
		if err != nil {
			t.Fatal(err)
		}
		in.Mappings, in.Reported = ms, map[string]string{}
		for _, m := range ms {
			if m.Reported != "" {
				in.Reported[m.SourceID] = m.Reported
			}
		}
		p := Compute(in)
		l := &Loaded{Input: in, pw: rv, sw: rv, st: st, tid: "t", now: now, mode: domain.ModeFull, mappings: map[string]domain.Mapping{}}
		for _, m := range ms {
			l.mappings[m.SourceID] = m
		}
		rv.calls = 0
		rec := &synctest.Recorder{}
		if err := applyPlan(context.Background(), rec, l, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rv.calls != p.Writes() || (wantWrites && p.Writes() == 0) || (!wantWrites && p.Writes() != 0) {
			t.Fatalf("%s: %d calls, the plan has %d writes\n%s", name, rv.calls, p.Writes(), dump(p))
		}
		for _, e := range rec.Entries {
			if e.Outcome == domain.OutcomeFailed {
				t.Errorf("%s: failed %+v", name, e)
			}
		}
	}
	// Staffomatic's absences as the loader would read them back.
	staffomaticSide := func() []Absence {
		var out []Absence
		for id, a := range rv.absences {
			st := StateNew
			if rv.approved[id] {
				st = StateApproved
			}
			out = append(out, Absence{ID: strconv.FormatInt(id, 10), UserID: strconv.FormatInt(a.ApplicantID, 10),
				CategoryID: strconv.FormatInt(a.AbsenceTypeID, 10), State: st, Start: a.StartsAt, End: a.EndsAt, AllDay: a.AllDay})
		}
		return out
	}

	week := Period{ID: "a", PersonID: "1", TypeID: "u-vac", Start: day(12, 14), End: dp(12, 18), Status: ApprovalApproved}
	sick := Period{ID: "b", PersonID: "1", TypeID: "u-sick", Start: day(12, 7), End: dp(12, 7), Status: ApprovalPending}
	half := Period{ID: "c", PersonID: "1", TypeID: "u-vac", Start: day(12, 21), End: dp(12, 21), StartHalf: SecondHalf, Status: ApprovalApproved}
	halves := Period{ID: "d", PersonID: "1", TypeID: "u-vac", Start: day(12, 22), End: dp(12, 24), StartHalf: SecondHalf, EndHalf: FirstHalf, Status: ApprovalApproved}
	round("Personio leading, first run", domain.SystemPersonio, []Period{week, sick, half, halves}, nil, true)
	round("Personio leading, unchanged", domain.SystemPersonio, []Period{week, sick, half, halves}, staffomaticSide(), false)
	week.End = dp(12, 19)
	sick.Status = ApprovalApproved
	half.Status = ApprovalRejected
	round("Personio leading, changes", domain.SystemPersonio, []Period{week, sick, half}, staffomaticSide(), true)
	round("Personio leading, unchanged again", domain.SystemPersonio, []Period{week, sick, half}, staffomaticSide(), false)

	// Staffomatic leading (a fresh store's worth of sources: ids the first direction never used).
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, loc) }
	ny := Absence{ID: "501", UserID: "11", CategoryID: "31", State: StateApproved, Start: at(12, 30, 0), End: at(12, 31, 0).AddDate(0, 0, 2).Add(-time.Second), AllDay: true}
	pm := Absence{ID: "502", UserID: "11", CategoryID: "31", State: StateApproved, Start: at(11, 3, 12), End: at(11, 3, 16)}
	round("Staffomatic leading, first run", domain.SystemStaffomatic, nil, []Absence{ny, pm}, true)
	periodsNow := func() []Period {
		var out []Period
		for id, in := range rv.periods {
			e := in.End.In(time.UTC)
			out = append(out, Period{ID: id, PersonID: in.PersonID, TypeID: in.AbsenceTypeID, Start: in.Start.In(time.UTC), End: &e,
				StartHalf: Half(in.StartHalf), EndHalf: Half(in.EndHalf), Status: ApprovalApproved})
		}
		return out
	}
	if len(rv.periods) != 3 {
		t.Fatalf("%d Personio periods, want 3 (New Year split in two, the half day)", len(rv.periods))
	}
	round("Staffomatic leading, unchanged", domain.SystemStaffomatic, periodsNow(), []Absence{ny, pm}, false)
	pm.State = StateDeclined
	round("Staffomatic leading, declined", domain.SystemStaffomatic, periodsNow(), []Absence{ny, pm}, true)
	round("Staffomatic leading, unchanged again", domain.SystemStaffomatic, periodsNow(), []Absence{ny, pm}, false)
}

// deleteRefused is a Staffomatic that refuses every delete (a role without the right).
type deleteRefused struct{ *recordingVendors }

func (deleteRefused) DeleteAbsence(context.Context, int64) error {
	return fmt.Errorf("staffomatic: DELETE /absences: 403 Forbidden")
}

// TestRemovalGivenUpIsReportedOnce: a removal Staffomatic refuses is retried with its
// message for domain.RetryWindow, then given up, and from then on reported once instead
// of being tried (and failing) again in every run.
func TestRemovalGivenUpIsReportedOnce(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st := synctest.Store(t)
	if err := st.PutMapping(ctx, domain.Mapping{Tenant: "t", Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"901"},
		State: domain.StateTransferred, Hash: "c.approved"}); err != nil {
		t.Fatal(err)
	}
	sw := deleteRefused{newRecording()}
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, loc)
	round := func(now time.Time) (Plan, []domain.ProtocolEntry) {
		t.Helper()
		ms, err := st.LoadMappings(ctx, "t", domain.KindAbsence)
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Leading: domain.SystemPersonio, Settings: domain.DefaultSettings(), Now: now, Location: loc, Deleted: []string{"personio/p9"},
			Mappings: ms, Reported: map[string]string{}}
		l := &Loaded{Input: in, pw: sw, sw: sw, st: st, tid: "t", now: now, mode: domain.ModeTargeted, mappings: map[string]domain.Mapping{}}
		for _, m := range ms {
			l.mappings[m.SourceID] = m
			if m.Reported != "" {
				in.Reported[m.SourceID] = m.Reported
			}
		}
		l.Input = in
		p := Compute(in)
		rec := &synctest.Recorder{}
		if err := applyPlan(ctx, rec, l, p); err != nil {
			t.Fatal(err)
		}
		return p, rec.Entries
	}
	for _, d := range []int{0, 1, 8} {
		p, entries := round(start.AddDate(0, 0, d))
		if p.Writes() != 1 || len(entries) != 1 || entries[0].Outcome != domain.OutcomeFailed || !strings.Contains(entries[0].Reason, "403 Forbidden") {
			t.Fatalf("day %d: %d writes, %+v", d, p.Writes(), entries)
		}
	}
	p, entries := round(start.AddDate(0, 0, 9))
	if p.Writes() != 0 || len(entries) != 1 || entries[0].Outcome != domain.OutcomeReported || !strings.Contains(entries[0].Reason, "given up after") {
		t.Fatalf("after giving up: %d writes, %+v", p.Writes(), entries)
	}
	if p, entries := round(start.AddDate(0, 0, 10)); p.Writes() != 0 || len(entries) != 0 {
		t.Fatalf("the next run: %d writes, %+v", p.Writes(), entries)
	}
}
