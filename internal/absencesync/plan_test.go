package absencesync

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

type world struct {
	loc *time.Location
	in  Input
}

// fixture: Ada and Bob in location L1 (categories Bezahlter Urlaub, Krankheit,
// Arzttermin), Cy in L2 (only Bezahlter Urlaub). Bezahlter Urlaub is vacation and paid by
// its v1 id 101 (id_v2 present), Krankheit paid by 102 (no id_v2: bridged by name).
// Fortbildung has no category anywhere. The clock is 2026-12-02 10:00 Berlin.
func fixture(t testing.TB, lead domain.System) Input {
	loc := berlin(t)
	s := domain.DefaultSettings()
	s.PersonioTimeOffTypeIDsForVacationDaysDeduction = []int64{101}
	s.PersonioTimeOffTypeIDsForPaidVacations = []int64{101, 102}
	return Input{
		Leading: lead, Settings: s, Location: loc,
		Now:       time.Date(2026, 12, 2, 10, 0, 0, 0, loc),
		WindowEnd: time.Date(2027, 12, 31, 0, 0, 0, 0, loc),
		People: []Person{
			{PersonioID: "1", UserID: "U1", Name: "Ada Lovelace", LocationID: "L1"},
			{PersonioID: "2", UserID: "U2", Name: "Bob Builder", LocationID: "L1"},
			{PersonioID: "3", UserID: "U3", Name: "Cy Young", LocationID: "L2"},
		},
		Types: []AbsenceType{{ID: "u-vac", Name: "Bezahlter Urlaub", Unit: UnitDay}, {ID: "u-sick", Name: "Krankheit", Unit: UnitDay},
			{ID: "u-doc", Name: "Arzttermin", Unit: UnitHour}, {ID: "u-edu", Name: "Fortbildung", Unit: UnitDay}},
		TimeOffTypes: []TimeOffType{{ID: 101, IDv2: "u-vac", Name: "Bezahlter Urlaub"}, {ID: 102, Name: "Krankheit"}, {ID: 104, Name: "Fortbildung"}},
		Categories: []Category{{ID: "C1", Name: "Bezahlter Urlaub", LocationID: "L1"}, {ID: "C2", Name: "Krankheit", LocationID: "L1"},
			{ID: "C3", Name: "Arzttermin", LocationID: "L1"}, {ID: "C4", Name: "Bezahlter Urlaub", LocationID: "L2"}},
	}
}

func period(id, person, typ, start string, sh Half, end string, eh Half, st Approval) Period {
	p := Period{ID: id, PersonID: person, TypeID: typ, Start: wall(start), StartHalf: sh, EndHalf: eh, Status: st}
	if end != "" {
		p.End = wallp(end)
	}
	return p
}

func absence(loc *time.Location, id, user, cat, start, end string, allDay bool, st State) Absence {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		if err != nil {
			panic(err)
		}
		return v
	}
	return Absence{ID: id, UserID: user, CategoryID: cat, State: st, Start: at(start), End: at(end), AllDay: allDay}
}

// apply performs a plan on the input the way the applier would (each create gets an id,
// each mapping is recorded), so a second Compute shows what the next run does.
func apply(in Input, p Plan) Input {
	out := in
	out.Mappings = slices.Clone(in.Mappings)
	out.Absences = slices.Clone(in.Absences)
	out.Periods = slices.Clone(in.Periods)
	out.Reported = map[string]string{}
	for k, v := range in.Reported {
		out.Reported[k] = v
	}
	idx := map[string]int{}
	for i, m := range out.Mappings {
		idx[m.SourceID] = i
	}
	get := func(src string) *domain.Mapping {
		if i, ok := idx[src]; ok {
			return &out.Mappings[i]
		}
		out.Mappings = append(out.Mappings, domain.Mapping{Tenant: "t", Kind: domain.KindAbsence, SourceID: src, State: domain.StatePending})
		idx[src] = len(out.Mappings) - 1
		return &out.Mappings[len(out.Mappings)-1]
	}
	for _, a := range p.Actions {
		if a.Kind == ActReport {
			out.Reported[a.Source] = a.Report
			continue
		}
		m := get(a.Source)
		out.Absences = slices.DeleteFunc(out.Absences, func(x Absence) bool { return slices.Contains(a.Delete, x.ID) })
		out.Periods = slices.DeleteFunc(out.Periods, func(x Period) bool { return slices.Contains(a.Delete, x.ID) })
		var ids []string
		for _, x := range a.Absences {
			seq++
			id := fmt.Sprintf("S%d", seq)
			ids = append(ids, id)
			st := StateNew
			if x.Approve {
				st = StateApproved
			}
			out.Absences = append(out.Absences, Absence{ID: id, UserID: x.UserID, CategoryID: x.CategoryID, State: st, Start: x.Start, End: x.End, AllDay: x.AllDay, Paid: x.Paid, Vacation: x.Vacation})
		}
		for _, x := range a.Periods {
			seq++
			id := fmt.Sprintf("P%d", seq)
			ids = append(ids, id)
			st := ApprovalPending
			if x.SkipApproval {
				st = ApprovalApproved
			}
			e := x.End
			out.Periods = append(out.Periods, Period{ID: id, PersonID: x.PersonID, TypeID: x.TypeID, Start: x.Start, StartHalf: x.StartHalf, End: &e, EndHalf: x.EndHalf, Status: st})
		}
		for _, id := range a.Approve {
			for i := range out.Absences {
				if out.Absences[i].ID == id {
					out.Absences[i].State = StateApproved
				}
			}
		}
		switch a.Kind {
		case ActRemove, ActForget:
			m.State, m.TargetIDs, m.Hash = domain.StateDeleted, nil, ""
		case ActApprove:
			m.RecordSuccess(in.Now, a.Hash)
		default:
			m.RecordSuccess(in.Now, a.Hash, ids...)
		}
	}
	return out
}

// seq numbers the ids apply hands out, unique across runs like a vendor's.
var seq int

func dump(p Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "  %s %s del=%v appr=%v abs=%d per=%d: %s\n", a.Kind, a.Source, a.Delete, a.Approve, len(a.Absences), len(a.Periods), a.Reason)
	}
	fmt.Fprintf(&b, "  unchanged=%d repeated=%d foreign=%d skipped=%d writes=%d\n", p.Unchanged, p.Repeated, p.Foreign, p.Skipped, p.Writes())
	return b.String()
}

func only(t *testing.T, p Plan, kind ActionKind) Action {
	t.Helper()
	var got []Action
	for _, a := range p.Actions {
		if a.Kind == kind {
			got = append(got, a)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one %s:\n%s", kind, dump(p))
	}
	return got[0]
}

func contains(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q lacks %q", s, p)
		}
	}
}

func TestPersonioLeading(t *testing.T) {
	base := fixture(t, domain.SystemPersonio)
	loc := base.loc()
	type want struct {
		kinds  string // action kinds in order
		writes int
		check  func(t *testing.T, p Plan)
	}
	cases := []struct {
		name string
		in   func(in *Input)
		want want
	}{
		{"approved: created and approved, vacation and paid from the settings (id_v2)", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			x := a.Absences[0]
			if len(a.Absences) != 1 || !x.Approve || !x.Vacation || !x.Paid || !x.AllDay || x.CategoryID != "C1" || x.UserID != "U1" || x.LocationID != "L1" ||
				x.End.Format(time.RFC3339) != "2026-08-07T23:59:59+02:00" {
				t.Errorf("%+v", a.Absences)
			}
			contains(t, a.Reason, "Ada Lovelace", "Bezahlter Urlaub", "2026-08-03 to 2026-08-07", "approved in Personio", "vacation true, paid true")
			if a.Source != SourceKey(domain.SystemPersonio, "p1") || a.To != domain.SystemStaffomatic {
				t.Errorf("source %s to %s", a.Source, a.To)
			}
		}}},
		{"pending: created as new; paid bridged by name (no id_v2), not vacation", func(in *Input) {
			in.Periods = []Period{period("p1", "2", "u-sick", "2026-09-01T00:00", "", "2026-09-02T00:00", "", ApprovalPending)}
		}, want{"create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Absences[0]
			if x.Approve || x.Vacation || !x.Paid || x.CategoryID != "C2" {
				t.Errorf("%+v", x)
			}
			contains(t, only(t, p, ActCreate).Reason, "Bob Builder", "Krankheit", "pending in Personio", "as new")
		}}},
		{"unknown status counts as pending, never approved", func(in *Input) {
			in.Periods = []Period{period("p1", "2", "u-sick", "2026-09-01T00:00", "", "2026-09-01T00:00", "", "REQUESTED")}
		}, want{"create_absence", 1, nil}},
		{"rejected, never transferred: nothing", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalRejected)}
		}, want{"", 0, func(t *testing.T, p Plan) {
			if p.Unchanged != 1 {
				t.Error(dump(p))
			}
		}}},
		{"rejected after transfer: removed", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalRejected)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p1", TargetIDs: []string{"S1", "S2"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, want{"remove_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActRemove)
			contains(t, a.Reason, "Ada Lovelace", "Bezahlter Urlaub", "2026-08-03 to 2026-08-07", "rejected in Personio")
			if strings.Join(a.Delete, ",") != "S1,S2" {
				t.Error(a.Delete)
			}
		}}},
		{"deleted (webhook): removed", func(in *Input) {
			in.Deleted = []string{"personio/p9"}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, want{"remove_absence", 1, nil}},
		{"deleted, its removal failed before: retried with the message", func(in *Input) {
			in.Deleted = []string{"personio/p9"}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateFailed, Hash: removalHash,
				Attempts: 1, FirstFailureAt: in.Now.Add(-time.Hour), LastError: "delete staffomatic S9: 403 Forbidden"}}
		}, want{"remove_absence", 1, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "retry 2", "403 Forbidden")
		}}},
		{"deleted, its removal given up: reported once, not retried every run", func(in *Input) {
			in.Deleted = []string{"personio/p9"}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateGaveUp, Hash: removalHash,
				Attempts: 9, FirstFailureAt: in.Now.Add(-8 * 24 * time.Hour), LastError: "delete staffomatic S9: 403 Forbidden"}}
		}, want{"report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "deleted in Personio", "given up after 9 attempts since 2026-11-24", "403 Forbidden", "S9")
		}}},
		{"given up creating, then deleted: its leftover copy is still removed", func(in *Input) {
			in.Deleted = []string{"personio/p9"}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateGaveUp, Hash: "c.approved",
				Attempts: 9, FirstFailureAt: in.Now.Add(-8 * 24 * time.Hour), LastError: "approve Staffomatic absence S9: 422"}}
		}, want{"remove_absence", 1, nil}},
		{"deleted (full run: source missing beside its present target): removed, named by the target", func(in *Input) {
			in.Full = true
			in.Absences = []Absence{absence(loc, "S9", "U1", "C1", "2026-05-04T00:00:00", "2026-05-05T23:59:59", true, StateApproved)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, want{"remove_absence", 1, func(t *testing.T, p Plan) {
			contains(t, only(t, p, ActRemove).Reason, "Ada Lovelace's Bezahlter Urlaub 2026-05-04 to 2026-05-05", "deleted in Personio")
		}}},
		{"source and target both outside the window: left alone", func(in *Input) {
			in.Full = true
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, want{"", 0, nil}},
		{"partial run: a missing source is not a deletion", func(in *Input) {
			in.Absences = []Absence{absence(loc, "S9", "U1", "C1", "2026-05-04T00:00:00", "2026-05-05T23:59:59", true, StateApproved)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p9", TargetIDs: []string{"S9"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, want{"", 0, nil}},
		{"half first day, multi-day: a timed afternoon and the whole days", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-07-01T00:00", SecondHalf, "2026-07-03T00:00", "", ApprovalApproved)}
		}, want{"create_absence", 4, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			if s := fmtSpans([]Span{a.Absences[0].Span, a.Absences[1].Span}, loc); s != "timed 2026-07-01T12:00:00+02:00 2026-07-01T16:00:00+02:00 | allday 2026-07-02T00:00:00+02:00 2026-07-03T23:59:59+02:00" {
				t.Error(s)
			}
			contains(t, a.Reason, "2026-07-01 (second half) to 2026-07-03", "2026-07-01 12:00–16:00 + 2026-07-02 to 2026-07-03")
		}}},
		{"half last day (morning), single day", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-09-04T00:00", "", "2026-09-04T00:00", FirstHalf, ApprovalPending)}
		}, want{"create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Absences[0]
			if x.AllDay || x.Start.Format("15:04") != "08:00" || x.End.Format("15:04") != "12:00" {
				t.Errorf("%+v", x)
			}
		}}},
		{"half day from the employee's work schedule", func(in *Input) {
			in.People[0].HalfDays = HalfDays{MorningStart: 7 * time.Hour, MorningEnd: 11 * time.Hour, AfternoonStart: 11 * time.Hour, AfternoonEnd: 15 * time.Hour}
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-09-04T00:00", SecondHalf, "2026-09-04T00:00", "", ApprovalPending)}
		}, want{"create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Absences[0]
			if x.Start.Format("15:04") != "11:00" || x.End.Format("15:04") != "15:00" {
				t.Errorf("%+v", x)
			}
		}}},
		{"half first day (FIRST_HALF) to half last day (SECOND_HALF) of one day: the whole day", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-09-04T00:00", FirstHalf, "2026-09-04T00:00", SecondHalf, ApprovalApproved)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			if x := only(t, p, ActCreate).Absences[0]; !x.AllDay || fmtSpans([]Span{x.Span}, loc) != "allday 2026-09-04T00:00:00+02:00 2026-09-04T23:59:59+02:00" {
				t.Errorf("%+v", x)
			}
		}}},
		{"second half to first half of one day is no time: reported, not transferred", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-09-04T00:00", SecondHalf, "2026-09-04T00:00", FirstHalf, ApprovalApproved)}
		}, want{"report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "Ada Lovelace", "starts in the second half and ends in the first", "not transferred")
		}}},
		{"half last day (morning) of a multi-day period: the whole days and a timed morning", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-09-02T00:00", "", "2026-09-04T00:00", FirstHalf, ApprovalPending)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			if s := fmtSpans([]Span{a.Absences[0].Span, a.Absences[1].Span}, loc); s != "allday 2026-09-02T00:00:00+02:00 2026-09-03T23:59:59+02:00 | timed 2026-09-04T08:00:00+02:00 2026-09-04T12:00:00+02:00" {
				t.Error(s)
			}
		}}},
		{"id_v2 naming no v2 type: the flag is bridged by name", func(in *Input) {
			in.TimeOffTypes[0].IDv2 = "u-stale"
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			if x := only(t, p, ActCreate).Absences[0]; !x.Vacation || !x.Paid {
				t.Errorf("%+v", x)
			}
		}}},
		{"hour type keeps its times; neither vacation nor paid", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-doc", "2026-10-25T01:30", "", "2026-10-25T04:00", "", ApprovalApproved)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Absences[0]
			if x.AllDay || x.Vacation || x.Paid || x.CategoryID != "C3" || fmtSpans([]Span{x.Span}, loc) != "timed 2026-10-25T01:30:00+02:00 2026-10-25T04:00:00+01:00" {
				t.Errorf("%+v", x)
			}
		}}},
		{"type without a same-named category: one report per type and location, never guessed", func(in *Input) {
			in.Periods = []Period{
				period("p1", "1", "u-edu", "2026-10-05T00:00", "", "2026-10-06T00:00", "", ApprovalApproved),
				period("p2", "2", "u-edu", "2026-11-05T00:00", "", "2026-11-05T00:00", "", ApprovalPending),
				period("p3", "3", "u-sick", "2026-11-09T00:00", "", "2026-11-09T00:00", "", ApprovalApproved), // Krankheit exists in L1 only
				period("p4", "3", "u-vac", "2026-11-10T00:00", "", "2026-11-10T00:00", "", ApprovalApproved),  // found in L2
			}
		}, want{"create_absence report report", 2, func(t *testing.T, p Plan) {
			var reps []string
			for _, a := range p.Actions {
				if a.Kind == ActReport {
					reps = append(reps, a.Source+": "+a.Reason)
				}
			}
			contains(t, reps[0], "category|L1|u-edu", `type "Fortbildung" has no Staffomatic category`, "location L1", "2 absences held back",
				"Ada Lovelace's Fortbildung 2026-10-05 to 2026-10-06", "Bob Builder's Fortbildung 2026-11-05")
			contains(t, reps[1], "category|L2|u-sick", "1 absence held back", "Cy Young's Krankheit 2026-11-09")
			if a := p.Actions[0]; a.Absences[0].CategoryID != "C4" {
				t.Errorf("%+v", a)
			}
		}}},
		{"a settings id naming no type is reported", func(in *Input) {
			in.Settings.PersonioTimeOffTypeIDsForPaidVacations = []int64{101, 999}
		}, want{"report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "settings.personio_time_off_type_ids_for_paid_vacations names 999")
		}}},
		{"an employee without a user is skipped (the user sync reports it)", func(in *Input) {
			in.Periods = []Period{period("p1", "7", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
		}, want{"", 0, func(t *testing.T, p Plan) {
			if p.Skipped != 1 {
				t.Error(dump(p))
			}
		}}},
		{"failed before (Personio or Staffomatic answered 422): retried with the message", func(in *Input) {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "personio/p1", State: domain.StateFailed, Attempts: 2,
				FirstFailureAt: in.Now.Add(-48 * time.Hour), LastError: "422 ends_at is invalid"}}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "retry 3 since 2026-11-30", "422 ends_at is invalid")
		}}},
		{"open-ended sick leave runs to the window's end", func(in *Input) {
			in.Periods = []Period{period("p1", "2", "u-sick", "2026-11-02T00:00", "", "", "", ApprovalApproved)}
		}, want{"create_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			if a.Absences[0].End.Format(time.DateOnly) != "2027-12-31" {
				t.Error(a.Absences[0])
			}
			contains(t, a.Reason, "2026-11-02 open-ended")
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := fixture(t, domain.SystemPersonio)
			c.in(&in)
			p := Compute(in)
			var kinds []string
			for _, a := range p.Actions {
				kinds = append(kinds, string(a.Kind))
			}
			if strings.Join(kinds, " ") != c.want.kinds || p.Writes() != c.want.writes {
				t.Fatalf("kinds %q writes %d, want %q %d\n%s", strings.Join(kinds, " "), p.Writes(), c.want.kinds, c.want.writes, dump(p))
			}
			if c.want.check != nil {
				c.want.check(t, p)
			}
			// A second run after applying writes nothing and repeats no report.
			again := Compute(apply(in, p))
			if again.Writes() != 0 || len(again.Actions) != 0 {
				t.Errorf("second run:\n%s", dump(again))
			}
		})
	}
}

func (in Input) loc() *time.Location { return in.Location }

// TestPersonioLeadingChanges runs two syncs with a change in between.
func TestPersonioLeadingChanges(t *testing.T) {
	cases := []struct {
		name   string
		before Period
		after  Period
		full   bool
		edit   func(in *Input)
		kind   ActionKind
		writes int
		reason string
	}{
		{name: "pending → approved, same days: only approved", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalPending),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved), kind: ActApprove, writes: 1, reason: "approved in Personio"},
		{name: "changed period: deleted and created again (approved absences are immutable)", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-10T00:00", "", ApprovalApproved), kind: ActRecreate, writes: 3, reason: "changed; the old one is deleted and created again"},
		{name: "changed to a half-day end: one delete, two creates, two approvals", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", FirstHalf, ApprovalApproved), kind: ActRecreate, writes: 5, reason: "2026-08-07 (first half)"},
		{name: "approved → pending again: recreated as new", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalPending), kind: ActRecreate, writes: 2, reason: "as new"},
		{name: "settings change the flags: recreated", before: period("p1", "2", "u-sick", "2026-09-01T00:00", "", "2026-09-01T00:00", "", ApprovalApproved),
			after: period("p1", "2", "u-sick", "2026-09-01T00:00", "", "2026-09-01T00:00", "", ApprovalApproved),
			edit:  func(in *Input) { in.Settings.PersonioTimeOffTypeIDsForPaidVacations = []int64{101} }, kind: ActRecreate, writes: 3, reason: "paid false"},
		{name: "deleted in Staffomatic (full run): created again", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved), full: true,
			edit: func(in *Input) { in.Absences = nil }, kind: ActRecreate, writes: 3, reason: "deleted in Staffomatic"},
		{name: "deleted in Staffomatic (targeted run, its targets read): created again", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved),
			edit:  func(in *Input) { in.Absences, in.TargetsRead = nil, true }, kind: ActRecreate, writes: 3, reason: "deleted in Staffomatic"},
		{name: "declined in Staffomatic: overwritten", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalPending),
			after: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalPending),
			edit:  func(in *Input) { in.Absences[0].State = StateDeclined }, kind: ActRecreate, writes: 2, reason: "declined in Staffomatic"},
		{name: "deleted in Personio, full run", before: period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved), full: true,
			edit: func(in *Input) { in.Periods = nil }, kind: ActRemove, writes: 1, reason: "Ada Lovelace's Bezahlter Urlaub 2026-08-03 to 2026-08-07: deleted in Personio"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := fixture(t, domain.SystemPersonio)
			in.Full = c.full
			in.Periods = []Period{c.before}
			next := apply(in, Compute(in))
			if c.after.ID != "" {
				next.Periods = []Period{c.after}
			}
			if c.edit != nil {
				c.edit(&next)
			}
			p := Compute(next)
			a := only(t, p, c.kind)
			if len(p.Actions) != 1 || p.Writes() != c.writes {
				t.Fatalf("writes %d, want %d\n%s", p.Writes(), c.writes, dump(p))
			}
			contains(t, a.Reason, c.reason)
			if c.kind == ActRecreate && len(a.Delete) != 1 {
				t.Errorf("deletes %v", a.Delete)
			}
			if again := Compute(apply(next, p)); again.Writes() != 0 {
				t.Errorf("third run:\n%s", dump(again))
			}
		})
	}
}

func TestStaffomaticLeading(t *testing.T) {
	base := fixture(t, domain.SystemStaffomatic)
	loc := base.Location
	ab := func(id, user, cat, start, end string, allDay bool, st State) Absence {
		return absence(loc, id, user, cat, start, end, allDay, st)
	}
	cases := []struct {
		name         string
		onlyApproved bool
		in           func(in *Input)
		kinds        string
		writes       int
		check        func(t *testing.T, p Plan)
	}{
		{"only approved: an approved one is created with approval skipped", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			x := a.Periods[0]
			if !x.SkipApproval || x.TypeID != "u-vac" || x.PersonID != "1" || fmtPeriods([]PeriodSpan{x.PeriodSpan}) != "2026-08-03T00:00 2026-08-07T00:00" || a.To != domain.SystemPersonio {
				t.Errorf("%+v", a)
			}
			contains(t, a.Reason, "Ada Lovelace's Bezahlter Urlaub 2026-08-03 to 2026-08-07 (approved in Staffomatic)", "approval skipped")
		}},
		{"only approved: a new request does not move yet", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateNew)}
		}, "", 0, func(t *testing.T, p Plan) {
			if p.Skipped != 1 {
				t.Error(dump(p))
			}
		}},
		{"only approved: declined after transfer is removed from Personio", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateDeclined)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", TargetIDs: []string{"P1"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, "remove_absence", 1, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "declined in Staffomatic; removed from Personio")
		}},
		{"all requests: declined after transfer (pending in Personio) is removed from Personio", false, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateDeclined)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", TargetIDs: []string{"P1"}, State: domain.StateTransferred, Hash: "x.pending"}}
		}, "remove_absence", 1, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "declined in Staffomatic; removed from Personio")
		}},
		{"declined, never transferred: nothing", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateDeclined)}
		}, "", 0, nil},
		{"all requests: a new one moves pending (skip_approval=false)", false, func(in *Input) {
			in.Absences = []Absence{ab("11", "U2", "C2", "2026-09-01T00:00:00", "2026-09-01T23:59:59", true, StateNew)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate)
			if x.Periods[0].SkipApproval {
				t.Error(x)
			}
			contains(t, x.Reason, "Bob Builder's Krankheit 2026-09-01 (new in Staffomatic)", "pending approval")
		}},
		{"crossing New Year: split into two periods, both tracked", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-12-28T00:00:00", "2027-01-03T23:59:59", true, StateApproved)}
		}, "create_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			var ps []PeriodSpan
			for _, x := range a.Periods {
				ps = append(ps, x.PeriodSpan)
			}
			if s := fmtPeriods(ps); s != "2026-12-28T00:00 2026-12-31T00:00 | 2027-01-01T00:00 2027-01-03T00:00" {
				t.Error(s)
			}
			contains(t, a.Reason, "2026-12-28 to 2026-12-31 + 2027-01-01 to 2027-01-03", "split at the year boundary")
		}},
		{"current year only: next year's and last year's absences do not move", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2027-02-01T00:00:00", "2027-02-05T23:59:59", true, StateApproved),
				ab("12", "U1", "C1", "2025-06-01T00:00:00", "2025-06-05T23:59:59", true, StateApproved)}
		}, "", 0, func(t *testing.T, p Plan) {
			if p.Skipped != 2 {
				t.Error(dump(p))
			}
		}},
		{"half day morning: a FIRST_HALF end", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-09-04T08:00:00", "2026-09-04T12:00:00", false, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Periods[0]
			if x.EndHalf != FirstHalf || x.StartHalf != "" {
				t.Error(x)
			}
			contains(t, only(t, p, ActCreate).Reason, "2026-09-04 08:00–12:00", "2026-09-04 to 2026-09-04 (first half)")
		}},
		{"hour type: times kept", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C3", "2026-09-04T09:30:00", "2026-09-04T11:00:00", false, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			if x := only(t, p, ActCreate).Periods[0]; x.TypeID != "u-doc" || x.Start.Format("15:04") != "09:30" || x.End.Format("15:04") != "11:00" {
				t.Error(x)
			}
		}},
		{"times that fit no half day of a day type: reported", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-09-04T09:30:00", "2026-09-04T11:00:00", false, StateApproved)}
		}, "report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "Ada Lovelace", "starts at 09:30", `"Bezahlter Urlaub" (day unit)`)
		}},
		{"category without a same-named Personio type: reported", true, func(in *Input) {
			in.Categories = append(in.Categories, Category{ID: "C9", Name: "Homeoffice", LocationID: "L1"})
			in.Absences = []Absence{ab("11", "U1", "C9", "2026-09-04T00:00:00", "2026-09-04T23:59:59", true, StateApproved)}
		}, "report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, `category "Homeoffice" (location L1) has no Personio absence type`, "Ada Lovelace's Homeoffice 2026-09-04")
		}},
		{"Personio answered 409 before: retried with Personio's message, not fatal", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateApproved)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", State: domain.StateFailed, Attempts: 1,
				FirstFailureAt: in.Now.Add(-time.Hour), LastError: "409 Absence period conflict"}}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "retry 2", "409 Absence period conflict")
		}},
		{"given up and unchanged: reported once, not retried", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateApproved)}
			first := Compute(*in).Actions[0]
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", State: domain.StateGaveUp, Attempts: 9, Hash: first.Hash,
				FirstFailureAt: in.Now.Add(-8 * 24 * time.Hour), LastError: "422 Substitute required"}}
		}, "report", 0, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "Ada Lovelace", "given up after 9 attempts since 2026-11-24", "422 Substitute required")
		}},
		{"half day afternoon: a SECOND_HALF start", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-09-04T12:00:00", "2026-09-04T16:00:00", false, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Periods[0]
			if x.StartHalf != SecondHalf || x.EndHalf != "" || fmtPeriods([]PeriodSpan{x.PeriodSpan}) != "2026-09-04T00:00/SECOND_HALF 2026-09-04T00:00" {
				t.Error(x)
			}
		}},
		{"half first and half last day of a multi-day absence: one period with both markers", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-09-02T12:00:00", "2026-09-04T12:00:00", false, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			x := only(t, p, ActCreate).Periods[0]
			if x.StartHalf != SecondHalf || x.EndHalf != FirstHalf || fmtPeriods([]PeriodSpan{x.PeriodSpan}) != "2026-09-02T00:00/SECOND_HALF 2026-09-04T00:00/FIRST_HALF" {
				t.Error(x)
			}
		}},
		{"all requests: an approved one is created with approval skipped", false, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C1", "2026-08-03T00:00:00", "2026-08-07T23:59:59", true, StateApproved)}
		}, "create_absence", 1, func(t *testing.T, p Plan) {
			if x := only(t, p, ActCreate).Periods[0]; !x.SkipApproval {
				t.Error(x)
			}
		}},
		{"hour type across New Year: split, the first part ending 23:59 on Dec 31", true, func(in *Input) {
			in.Absences = []Absence{ab("11", "U1", "C3", "2026-12-31T22:00:00", "2027-01-01T02:00:00", false, StateApproved)}
		}, "create_absence", 2, func(t *testing.T, p Plan) {
			a := only(t, p, ActCreate)
			var ps []PeriodSpan
			for _, x := range a.Periods {
				ps = append(ps, x.PeriodSpan)
			}
			if s := fmtPeriods(ps); s != "2026-12-31T22:00 2026-12-31T23:59 | 2027-01-01T00:00 2027-01-01T02:00" {
				t.Error(s)
			}
		}},
		{"deleted in Staffomatic (named by the change feed or a hint): removed from Personio", true, func(in *Input) {
			in.Deleted = []string{"staffomatic/11"}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", TargetIDs: []string{"P1", "P2"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, "remove_absence", 2, func(t *testing.T, p Plan) {
			if a := only(t, p, ActRemove); a.To != domain.SystemPersonio || !slices.Equal(a.Delete, []string{"P1", "P2"}) {
				t.Errorf("%+v", a)
			}
		}},
		{"deleted in Staffomatic (full run, its period present): removed from Personio", true, func(in *Input) {
			in.Full = true
			in.Periods = []Period{period("P1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
			in.Mappings = []domain.Mapping{{Kind: domain.KindAbsence, SourceID: "staffomatic/11", TargetIDs: []string{"P1"}, State: domain.StateTransferred, Hash: "x.y"}}
		}, "remove_absence", 1, func(t *testing.T, p Plan) {
			contains(t, p.Actions[0].Reason, "Ada Lovelace's Bezahlter Urlaub 2026-08-03 to 2026-08-07: deleted in Staffomatic")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := fixture(t, domain.SystemStaffomatic)
			in.Settings.OnlyApprovedStaffomaticAbsences = c.onlyApproved
			c.in(&in)
			p := Compute(in)
			var kinds []string
			for _, a := range p.Actions {
				kinds = append(kinds, string(a.Kind))
			}
			if strings.Join(kinds, " ") != c.kinds || p.Writes() != c.writes {
				t.Fatalf("kinds %q writes %d, want %q %d\n%s", strings.Join(kinds, " "), p.Writes(), c.kinds, c.writes, dump(p))
			}
			if c.check != nil {
				c.check(t, p)
			}
			if again := Compute(apply(in, p)); again.Writes() != 0 || len(again.Actions) != 0 {
				t.Errorf("second run:\n%s", dump(again))
			}
		})
	}
}

// TestStaffomaticLeadingChanges runs two syncs with a change in Staffomatic in between: a
// change is a delete and a create in Personio (one period per year), a decline or a
// deletion removes the periods.
func TestStaffomaticLeadingChanges(t *testing.T) {
	cases := []struct {
		name         string
		onlyApproved bool
		before       [2]string // start, end (all day)
		edit         func(x *Absence, in *Input)
		kind         ActionKind
		deletes      int
		writes       int
		reason       string
	}{
		{name: "dates changed: the period is deleted and created again", onlyApproved: true, before: [2]string{"2026-08-03T00:00:00", "2026-08-07T23:59:59"},
			edit: func(x *Absence, in *Input) { x.End = x.End.AddDate(0, 0, 3) }, kind: ActRecreate, deletes: 1, writes: 2, reason: "changed; the old one is deleted and created again"},
		{name: "category changed: recreated with the other type", onlyApproved: true, before: [2]string{"2026-08-03T00:00:00", "2026-08-07T23:59:59"},
			edit: func(x *Absence, in *Input) { x.CategoryID = "C2" }, kind: ActRecreate, deletes: 1, writes: 2, reason: `as "Krankheit"`},
		{name: "moved across New Year: one period replaced by two", onlyApproved: true, before: [2]string{"2026-12-21T00:00:00", "2026-12-23T23:59:59"},
			edit: func(x *Absence, in *Input) { x.End = x.End.AddDate(0, 0, 14) }, kind: ActRecreate, deletes: 1, writes: 3, reason: "split at the year boundary"},
		{name: "across New Year, declined later: both periods removed", onlyApproved: true, before: [2]string{"2026-12-28T00:00:00", "2027-01-03T23:59:59"},
			edit: func(x *Absence, in *Input) { x.State = StateDeclined }, kind: ActRemove, deletes: 2, writes: 2, reason: "declined in Staffomatic; removed from Personio"},
		{name: "all requests: a pending request changed is replaced, still pending", before: [2]string{"2026-08-03T00:00:00", "2026-08-07T23:59:59"},
			edit: func(x *Absence, in *Input) { x.State, x.Start = StateNew, x.Start.AddDate(0, 0, 1) }, kind: ActRecreate, deletes: 1, writes: 2, reason: "pending approval"},
		{name: "deleted in Staffomatic, full run: removed from Personio", onlyApproved: true, before: [2]string{"2026-08-03T00:00:00", "2026-08-07T23:59:59"},
			edit: func(x *Absence, in *Input) { in.Absences, in.Full = nil, true }, kind: ActRemove, deletes: 1, writes: 1, reason: "deleted in Staffomatic"},
		{name: "its period deleted in Personio, full run: created again", onlyApproved: true, before: [2]string{"2026-08-03T00:00:00", "2026-08-07T23:59:59"},
			edit: func(x *Absence, in *Input) { in.Periods, in.Full = nil, true }, kind: ActRecreate, deletes: 1, writes: 2, reason: "deleted in Personio"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := fixture(t, domain.SystemStaffomatic)
			in.Settings.OnlyApprovedStaffomaticAbsences = c.onlyApproved
			st := StateApproved
			if !c.onlyApproved {
				st = StateNew
			}
			in.Absences = []Absence{absence(in.Location, "11", "U1", "C1", c.before[0], c.before[1], true, st)}
			next := apply(in, Compute(in))
			if len(next.Periods) == 0 {
				t.Fatal("nothing transferred before the change")
			}
			x := next.Absences[0]
			c.edit(&x, &next)
			if len(next.Absences) > 0 {
				next.Absences = []Absence{x}
			}
			p := Compute(next)
			a := only(t, p, c.kind)
			if len(p.Actions) != 1 || p.Writes() != c.writes || len(a.Delete) != c.deletes || a.To != domain.SystemPersonio {
				t.Fatalf("writes %d, want %d with %d deletes\n%s", p.Writes(), c.writes, c.deletes, dump(p))
			}
			contains(t, a.Reason, c.reason)
			if again := Compute(apply(next, p)); again.Writes() != 0 || len(again.Actions) != 0 {
				t.Errorf("third run:\n%s", dump(again))
			}
		})
	}
}

// TestApprovalsFollow: without only_approved, a request moves pending, and its approval
// in Staffomatic follows: Personio has no approval call, so the pending period is deleted
// and created again with approval skipped.
func TestApprovalsFollow(t *testing.T) {
	in := fixture(t, domain.SystemStaffomatic)
	in.Settings.OnlyApprovedStaffomaticAbsences = false
	in.Full = true
	in.Absences = []Absence{absence(in.Location, "11", "U1", "C1", "2026-12-28T00:00:00", "2027-01-03T23:59:59", true, StateNew)}
	first := Compute(in)
	if first.Writes() != 2 || first.Actions[0].Periods[0].SkipApproval {
		t.Fatal(dump(first))
	}
	next := apply(in, first)
	next.Absences[0].State = StateApproved
	p := Compute(next)
	a := only(t, p, ActRecreate)
	if p.Writes() != 4 || len(a.Delete) != 2 || !a.Periods[0].SkipApproval || !a.Periods[1].SkipApproval {
		t.Fatal(dump(p))
	}
	// Declined later: both periods are removed.
	next = apply(next, p)
	next.Absences[0].State = StateDeclined
	p = Compute(next)
	if a := only(t, p, ActRemove); len(a.Delete) != 2 || p.Writes() != 2 {
		t.Fatal(dump(p))
	}
	if again := Compute(apply(next, p)); again.Writes() != 0 {
		t.Fatal(dump(again))
	}
}

// TestSwitchLeadingSystem: absences copied one way are never read back as new sources
// the other way, and the plan says so once.
func TestSwitchLeadingSystem(t *testing.T) {
	in := fixture(t, domain.SystemPersonio)
	in.Full = true
	in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
	after := apply(in, Compute(in))
	if len(after.Absences) != 1 {
		t.Fatal(after.Absences)
	}

	// Switch to Staffomatic: the copy in Staffomatic is staffsync's, not a new absence.
	sw := after
	sw.Leading = domain.SystemStaffomatic
	p := Compute(sw)
	rep := only(t, p, ActReport)
	if p.Writes() != 0 || p.Foreign != 1 || len(p.Actions) != 1 {
		t.Fatal(dump(p))
	}
	contains(t, rep.Reason, "led by staffomatic now", "1 absences staffsync copied from personio to staffomatic", "nothing is transferred back",
		"changes or deletions of their originals in personio are no longer copied")
	// Reported once: the next run says nothing, even when the copy is declined in Staffomatic.
	sw = apply(sw, p)
	sw.Absences[0].State = StateDeclined
	if again := Compute(sw); again.Writes() != 0 || len(again.Actions) != 0 || again.Repeated != 1 {
		t.Fatal(dump(again))
	}
	// A new Staffomatic absence moves; the Personio copy it creates is not read back when
	// the admin switches to Personio again.
	sw.Absences = append(sw.Absences, absence(sw.Location, "21", "U2", "C1", "2026-10-05T00:00:00", "2026-10-05T23:59:59", true, StateApproved))
	p = Compute(sw)
	if only(t, p, ActCreate); p.Writes() != 1 {
		t.Fatal(dump(p))
	}
	back := apply(sw, p)
	back.Leading = domain.SystemPersonio
	p = Compute(back)
	// Personio leads again: the copy declined in Staffomatic meanwhile is overwritten from
	// Personio (Personio's period never changed), and the period staffsync wrote to
	// Personio while Staffomatic led is no new source.
	if a := only(t, p, ActRecreate); p.Writes() != 3 || p.Foreign != 1 || !strings.Contains(a.Reason, "declined in Staffomatic") {
		t.Fatal(dump(p))
	}
	contains(t, only(t, p, ActReport).Reason, "led by personio now", "1 absences staffsync copied from staffomatic to personio")
	if again := Compute(apply(back, p)); again.Writes() != 0 || len(again.Actions) != 0 {
		t.Fatal(dump(again))
	}
}

// BenchmarkCompute plans 1,000 employees × 10 absences, half of them mapped unchanged.
func BenchmarkCompute(b *testing.B) {
	in := fixture(b, domain.SystemPersonio)
	in.Full = true
	in.People = nil
	for e := range 1000 {
		pid := fmt.Sprint(1000 + e)
		in.People = append(in.People, Person{PersonioID: pid, UserID: "U" + pid, Name: "Employee " + pid, LocationID: "L1"})
		for k := range 10 {
			d := time.Date(2026, time.Month(1+k), 1+e%20, 0, 0, 0, 0, time.UTC)
			half := Half("")
			if k%3 == 0 {
				half = FirstHalf
			}
			st := ApprovalApproved
			if k%4 == 0 {
				st = ApprovalPending
			}
			in.Periods = append(in.Periods, Period{ID: fmt.Sprintf("p-%s-%d", pid, k), PersonID: pid, TypeID: []string{"u-vac", "u-sick"}[k%2],
				Start: d, End: ptr(d.AddDate(0, 0, k%5)), EndHalf: half, Status: st})
		}
	}
	half := Compute(in)
	half.Actions = half.Actions[:len(half.Actions)/2]
	in = apply(in, half)
	b.ResetTimer()
	for b.Loop() {
		p := Compute(in)
		if p.Unchanged != 5000 {
			b.Fatal(p.Unchanged, len(p.Actions))
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestYearScope: in January the absence that began in December still overlaps the
// current year, so it moves whole, split in two; one that ended on Dec 31 does not.
func TestYearScope(t *testing.T) {
	in := fixture(t, domain.SystemStaffomatic)
	in.Now = time.Date(2027, 1, 5, 9, 0, 0, 0, in.Location)
	in.Absences = []Absence{
		absence(in.Location, "11", "U1", "C1", "2026-12-28T00:00:00", "2027-01-03T23:59:59", true, StateApproved),
		absence(in.Location, "12", "U1", "C1", "2026-12-21T00:00:00", "2026-12-31T23:59:59", true, StateApproved),
	}
	p := Compute(in)
	if a := only(t, p, ActCreate); len(a.Periods) != 2 || p.Skipped != 1 || p.Writes() != 2 {
		t.Fatal(dump(p))
	}
}

func TestPlannedAndJSON(t *testing.T) {
	in := fixture(t, domain.SystemPersonio)
	in.WindowEnd = time.Time{} // defaults to Dec 31 of the current year
	in.Periods = []Period{period("p1", "2", "u-sick", "2026-11-02T00:00", "", "", "", ApprovalApproved)}
	p := Compute(in)
	a := only(t, p, ActCreate)
	if a.Absences[0].End.Format(time.DateOnly) != "2026-12-31" {
		t.Error(a.Absences[0])
	}
	pa := a.Planned()
	if pa.Kind != domain.KindAbsence || pa.Action != "create_absence" || pa.SourceID != "personio/p1" || pa.Reason != "will create and approve the Staffomatic absence: "+a.Reason {
		t.Errorf("%+v", pa)
	}
	if a.Person != "Bob Builder" || a.AbsenceType != "Krankheit" {
		t.Errorf("names %q %q", a.Person, a.AbsenceType)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, string(b), `"kind":"create_absence"`, `"all_day":true`, `"approve":true`, `"category_id":"C2"`, `"person":"Bob Builder"`, `"absence_type":"Krankheit"`)
}

// TestTell: every action kind reads as what will happen in a dry run, what happened in a
// real run and what could not be done when it failed.
func TestTell(t *testing.T) {
	abs := []NewAbsence{{Approve: true}}
	for _, c := range []struct {
		a                     Action
		planned, done, failed string
	}{
		{Action{Kind: ActCreate, To: domain.SystemStaffomatic, Absences: abs, Reason: "x"},
			"will create and approve the Staffomatic absence: x", "created and approved the Staffomatic absence: x", "could not create and approve the Staffomatic absence: x"},
		{Action{Kind: ActCreate, To: domain.SystemStaffomatic, Absences: []NewAbsence{{}, {}}, Reason: "x"},
			"will create 2 Staffomatic absences: x", "created 2 Staffomatic absences: x", "could not create 2 Staffomatic absences: x"},
		{Action{Kind: ActCreate, To: domain.SystemPersonio, Periods: []NewPeriod{{}, {}}, Reason: "x"},
			"will create 2 Personio absence periods: x", "created 2 Personio absence periods: x", "could not create 2 Personio absence periods: x"},
		{Action{Kind: ActApprove, To: domain.SystemStaffomatic, Approve: []string{"1"}, Reason: "x"},
			"will approve the Staffomatic absence: x", "approved the Staffomatic absence: x", "could not approve the Staffomatic absence: x"},
		{Action{Kind: ActRecreate, To: domain.SystemPersonio, Delete: []string{"a"}, Periods: []NewPeriod{{}}, Reason: "x"},
			"will replace the copy by the Personio absence period: x", "replaced the copy by the Personio absence period: x", "could not replace the copy by the Personio absence period: x"},
		{Action{Kind: ActRemove, To: domain.SystemStaffomatic, Delete: []string{"1", "2"}, Reason: "x"},
			"will remove 2 Staffomatic absences: x", "removed 2 Staffomatic absences: x", "could not remove 2 Staffomatic absences: x"},
		{Action{Kind: ActForget, Reason: "x"}, "will forget the absence (no copy is left): x", "forgot the absence (no copy was left): x", "could not forget the absence (no copy is left): x"},
		{Action{Kind: ActReport, Reason: "x"}, "will report: x", "reported: x", "could not report: x"},
	} {
		t.Run(string(c.a.Kind), func(t *testing.T) {
			if got := c.a.Tell(domain.OutcomePlanned, ""); got != c.planned {
				t.Errorf("planned %q, want %q", got, c.planned)
			}
			if got := c.a.Tell(domain.OutcomeCreated, ""); got != c.done {
				t.Errorf("done %q, want %q", got, c.done)
			}
			if got := c.a.Tell(domain.OutcomeFailed, "; failed: no"); got != c.failed+"; failed: no" {
				t.Errorf("failed %q, want %q", got, c.failed)
			}
		})
	}
}

// TestUnreadTargetIsNoDeletion: a mapped target the run did not read (neither a full run
// nor its targets read) is not taken for deleted: nothing is planned.
func TestUnreadTargetIsNoDeletion(t *testing.T) {
	for _, lead := range []domain.System{domain.SystemPersonio, domain.SystemStaffomatic} {
		in := fixture(t, lead)
		if lead == domain.SystemPersonio {
			in.Periods = []Period{period("p1", "1", "u-vac", "2026-08-03T00:00", "", "2026-08-07T00:00", "", ApprovalApproved)}
		} else {
			in.Absences = []Absence{{ID: "9", UserID: "U1", CategoryID: "C1", State: StateApproved, AllDay: true,
				Start: time.Date(2026, 8, 3, 0, 0, 0, 0, in.Location), End: time.Date(2026, 8, 7, 23, 59, 59, 0, in.Location)}}
		}
		next := apply(in, Compute(in))
		if lead == domain.SystemPersonio {
			next.Absences = nil
		} else {
			next.Periods = nil
		}
		if p := Compute(next); p.Writes() != 0 {
			t.Errorf("%s leading, targets not read: %s", lead, dump(p))
		}
		next.TargetsRead = true
		if p := Compute(next); p.Count()[ActRecreate] != 1 {
			t.Errorf("%s leading, targets read: %s", lead, dump(p))
		}
	}
}

// TestIncludeWeekends: a copy covering a Saturday or Sunday is written with
// include_weekends, so Staffomatic blocks the weekend's shifts as Personio's period
// covers those days; a weekday-only copy is not.
func TestIncludeWeekends(t *testing.T) {
	for _, c := range []struct {
		name       string
		start, end string
		startHalf  Half
		want       []bool
	}{
		{"Monday to Friday", "2026-08-03T00:00", "2026-08-07T00:00", "", []bool{false}},
		{"Friday to Monday", "2026-08-07T00:00", "2026-08-10T00:00", "", []bool{true}},
		{"Saturday alone", "2026-08-08T00:00", "2026-08-08T00:00", "", []bool{true}},
		{"half Friday, whole weekend and Monday", "2026-08-07T00:00", "2026-08-10T00:00", SecondHalf, []bool{false, true}},
		{"a Sunday half day", "2026-08-09T00:00", "2026-08-09T00:00", SecondHalf, []bool{true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := fixture(t, domain.SystemPersonio)
			in.Periods = []Period{period("p1", "1", "u-vac", c.start, c.startHalf, c.end, "", ApprovalApproved)}
			a := only(t, Compute(in), ActCreate)
			var got []bool
			for _, x := range a.Absences {
				got = append(got, x.IncludeWeekends)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("include_weekends %v, want %v\n%+v", got, c.want, a.Absences)
			}
		})
	}
}
