package absencesync

import (
	"strings"
	"testing"
	"time"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// wall is a Personio wall-clock time (its location is ignored by the package).
func wall(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func wallp(s string) *time.Time { t := wall(s); return &t }

func fmtSpans(ss []Span, loc *time.Location) string {
	var out []string
	for _, s := range ss {
		k := "timed"
		if s.AllDay {
			k = "allday"
		}
		out = append(out, k+" "+s.Start.In(loc).Format(time.RFC3339)+" "+s.End.In(loc).Format(time.RFC3339))
	}
	return strings.Join(out, " | ")
}

func TestToStaffomatic(t *testing.T) {
	loc := berlin(t)
	cases := []struct {
		name       string
		start      string
		sh         Half
		end        *time.Time
		eh         Half
		unit       Unit
		want, fail string
	}{
		{name: "vacation week: all day, last day inclusive, ends 23:59:59", start: "2026-08-03T00:00", end: wallp("2026-08-07T00:00"), unit: UnitDay,
			want: "allday 2026-08-03T00:00:00+02:00 2026-08-07T23:59:59+02:00"},
		{name: "single whole day", start: "2026-06-01T00:00", end: wallp("2026-06-01T00:00"), unit: UnitDay,
			want: "allday 2026-06-01T00:00:00+02:00 2026-06-01T23:59:59+02:00"},
		{name: "single day, morning (ends FIRST_HALF)", start: "2026-06-01T00:00", end: wallp("2026-06-01T00:00"), eh: FirstHalf, unit: UnitDay,
			want: "timed 2026-06-01T08:00:00+02:00 2026-06-01T12:00:00+02:00"},
		{name: "single day, afternoon (starts SECOND_HALF)", start: "2026-06-01T00:00", sh: SecondHalf, end: wallp("2026-06-01T00:00"), unit: UnitDay,
			want: "timed 2026-06-01T12:00:00+02:00 2026-06-01T16:00:00+02:00"},
		{name: "single day, both markers the same half", start: "2026-06-01T00:00", sh: FirstHalf, end: wallp("2026-06-01T00:00"), eh: FirstHalf, unit: UnitDay,
			want: "timed 2026-06-01T08:00:00+02:00 2026-06-01T12:00:00+02:00"},
		{name: "single day, FIRST_HALF to SECOND_HALF is the whole day", start: "2026-06-01T00:00", sh: FirstHalf, end: wallp("2026-06-01T00:00"), eh: SecondHalf, unit: UnitDay,
			want: "allday 2026-06-01T00:00:00+02:00 2026-06-01T23:59:59+02:00"},
		{name: "single day, SECOND_HALF to FIRST_HALF is nothing", start: "2026-06-01T00:00", sh: SecondHalf, end: wallp("2026-06-01T00:00"), eh: FirstHalf, unit: UnitDay,
			fail: "second half and ends in the first"},
		{name: "multi-day, half first day", start: "2026-07-01T00:00", sh: SecondHalf, end: wallp("2026-07-03T00:00"), unit: UnitDay,
			want: "timed 2026-07-01T12:00:00+02:00 2026-07-01T16:00:00+02:00 | allday 2026-07-02T00:00:00+02:00 2026-07-03T23:59:59+02:00"},
		{name: "multi-day, half last day", start: "2026-07-13T00:00", end: wallp("2026-07-17T00:00"), eh: FirstHalf, unit: UnitDay,
			want: "allday 2026-07-13T00:00:00+02:00 2026-07-16T23:59:59+02:00 | timed 2026-07-17T08:00:00+02:00 2026-07-17T12:00:00+02:00"},
		{name: "two half days, nothing whole between", start: "2026-07-02T00:00", sh: SecondHalf, end: wallp("2026-07-03T00:00"), eh: FirstHalf, unit: UnitDay,
			want: "timed 2026-07-02T12:00:00+02:00 2026-07-02T16:00:00+02:00 | timed 2026-07-03T08:00:00+02:00 2026-07-03T12:00:00+02:00"},
		{name: "hour unit keeps its times", start: "2026-05-05T09:30", end: wallp("2026-05-05T11:15"), unit: UnitHour,
			want: "timed 2026-05-05T09:30:00+02:00 2026-05-05T11:15:00+02:00"},
		{name: "hour unit without end", start: "2026-05-05T09:30", unit: UnitHour, fail: "without an end"},
		{name: "open-ended day period runs to the window's end", start: "2026-11-02T00:00", unit: UnitDay,
			want: "allday 2026-11-02T00:00:00+01:00 2026-12-31T23:59:59+01:00"},
		{name: "ends before it starts", start: "2026-12-05T00:00", end: wallp("2026-12-04T00:00"), unit: UnitDay, fail: "before it starts"},
		// DST: 29 March 2026 has no 02:00–03:00, 25 October 2026 has it twice.
		{name: "DST spring day: all day from 00:00+01:00 to 23:59:59+02:00", start: "2026-03-29T00:00", end: wallp("2026-03-29T00:00"), unit: UnitDay,
			want: "allday 2026-03-29T00:00:00+01:00 2026-03-29T23:59:59+02:00"},
		{name: "DST spring day: morning is 08:00–12:00 wall clock", start: "2026-03-29T00:00", end: wallp("2026-03-29T00:00"), eh: FirstHalf, unit: UnitDay,
			want: "timed 2026-03-29T08:00:00+02:00 2026-03-29T12:00:00+02:00"},
		{name: "DST autumn: week across the change", start: "2026-10-23T00:00", end: wallp("2026-10-26T00:00"), unit: UnitDay,
			want: "allday 2026-10-23T00:00:00+02:00 2026-10-26T23:59:59+01:00"},
		{name: "DST autumn day: afternoon", start: "2026-10-25T00:00", sh: SecondHalf, end: wallp("2026-10-25T00:00"), unit: UnitDay,
			want: "timed 2026-10-25T12:00:00+01:00 2026-10-25T16:00:00+01:00"},
		{name: "DST autumn: hour period across 02:00", start: "2026-10-25T01:00", end: wallp("2026-10-25T04:00"), unit: UnitHour,
			want: "timed 2026-10-25T01:00:00+02:00 2026-10-25T04:00:00+01:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ToStaffomatic(wall(c.start), c.sh, c.end, c.eh, c.unit, HalfDays{}, loc, wall("2026-12-31T00:00"))
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err = %v, want %q (got %s)", err, c.fail, fmtSpans(got, loc))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmtSpans(got, loc); s != c.want {
				t.Errorf("got  %s\nwant %s", s, c.want)
			}
		})
	}
}

func TestToStaffomaticWorkSchedule(t *testing.T) {
	loc := berlin(t)
	h := HalfDays{MorningStart: 7*time.Hour + 30*time.Minute, MorningEnd: 11*time.Hour + 30*time.Minute, AfternoonStart: 12 * time.Hour, AfternoonEnd: 16 * time.Hour}
	got, err := ToStaffomatic(wall("2026-06-01T00:00"), "", wallp("2026-06-01T00:00"), FirstHalf, UnitDay, h, loc, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmtSpans(got, loc); s != "timed 2026-06-01T07:30:00+02:00 2026-06-01T11:30:00+02:00" {
		t.Errorf("got %s", s)
	}
}

func fmtPeriods(ps []PeriodSpan) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Start.Format("2006-01-02T15:04")+string(prefix(p.StartHalf))+" "+p.End.Format("2006-01-02T15:04")+string(prefix(p.EndHalf)))
	}
	return strings.Join(out, " | ")
}

func prefix(h Half) string {
	if h == "" {
		return ""
	}
	return "/" + string(h)
}

func TestToPersonio(t *testing.T) {
	loc := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		if err != nil {
			panic(err)
		}
		return v
	}
	cases := []struct {
		name       string
		span       Span
		unit       Unit
		want, fail string
	}{
		{name: "all-day week: first and last day at 00:00", span: Span{at("2026-08-03T00:00:00"), at("2026-08-07T23:59:59"), true}, unit: UnitDay,
			want: "2026-08-03T00:00 2026-08-07T00:00"},
		{name: "all day ending at 00:00 next day is one day", span: Span{at("2026-08-03T00:00:00"), at("2026-08-04T00:00:00"), true}, unit: UnitDay,
			want: "2026-08-03T00:00 2026-08-03T00:00"},
		{name: "crossing New Year: split at Dec 31/Jan 1", span: Span{at("2026-12-28T00:00:00"), at("2027-01-03T23:59:59"), true}, unit: UnitDay,
			want: "2026-12-28T00:00 2026-12-31T00:00 | 2027-01-01T00:00 2027-01-03T00:00"},
		{name: "morning half day: one FIRST_HALF end marker", span: Span{at("2026-09-01T08:00:00"), at("2026-09-01T12:00:00"), false}, unit: UnitDay,
			want: "2026-09-01T00:00 2026-09-01T00:00/FIRST_HALF"},
		{name: "afternoon half day: one SECOND_HALF start marker", span: Span{at("2026-09-01T12:00:00"), at("2026-09-01T16:00:00"), false}, unit: UnitDay,
			want: "2026-09-01T00:00/SECOND_HALF 2026-09-01T00:00"},
		{name: "half days at both ends across New Year", span: Span{at("2026-12-30T12:00:00"), at("2027-01-02T12:00:00"), false}, unit: UnitDay,
			want: "2026-12-30T00:00/SECOND_HALF 2026-12-31T00:00 | 2027-01-01T00:00 2027-01-02T00:00/FIRST_HALF"},
		{name: "odd times do not fit a day type", span: Span{at("2026-09-01T09:17:00"), at("2026-09-01T12:00:00"), false}, unit: UnitDay, fail: "starts at 09:17"},
		{name: "hour type keeps times", span: Span{at("2026-09-01T09:17:00"), at("2026-09-01T11:00:00"), false}, unit: UnitHour,
			want: "2026-09-01T09:17 2026-09-01T11:00"},
		{name: "hour type across New Year ends 23:59", span: Span{at("2026-12-31T22:00:00"), at("2027-01-01T02:00:00"), false}, unit: UnitHour,
			want: "2026-12-31T22:00 2026-12-31T23:59 | 2027-01-01T00:00 2027-01-01T02:00"},
		{name: "all day on an hour type is reported", span: Span{at("2026-09-01T00:00:00"), at("2026-09-01T23:59:59"), true}, unit: UnitHour, fail: "all-day"},
		{name: "DST spring day all day", span: Span{at("2026-03-29T00:00:00"), at("2026-03-29T23:59:59"), true}, unit: UnitDay,
			want: "2026-03-29T00:00 2026-03-29T00:00"},
		{name: "DST autumn, read in UTC instants", span: Span{at("2026-10-25T00:00:00").UTC(), at("2026-10-25T23:59:59").UTC(), true}, unit: UnitDay,
			want: "2026-10-25T00:00 2026-10-25T00:00"},
		{name: "DST autumn hour period keeps wall clock", span: Span{at("2026-10-25T01:00:00").UTC(), at("2026-10-25T04:00:00").UTC(), false}, unit: UnitHour,
			want: "2026-10-25T01:00 2026-10-25T04:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ToPersonio(c.span, c.unit, HalfDays{}, loc)
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err = %v, want %q (got %s)", err, c.fail, fmtPeriods(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmtPeriods(got); s != c.want {
				t.Errorf("got  %s\nwant %s", s, c.want)
			}
		})
	}
}

// TestRoundTrip: a Personio day period shown in Staffomatic and read back gives the same
// period (each part), the property that keeps the two directions consistent.
func TestRoundTrip(t *testing.T) {
	loc := berlin(t)
	for _, c := range []struct {
		start, end string
		sh, eh     Half
	}{
		{"2026-08-03T00:00", "2026-08-07T00:00", "", ""},
		{"2026-03-29T00:00", "2026-03-29T00:00", "", FirstHalf},
		{"2026-10-25T00:00", "2026-10-25T00:00", SecondHalf, ""},
	} {
		spans, err := ToStaffomatic(wall(c.start), c.sh, wallp(c.end), c.eh, UnitDay, HalfDays{}, loc, time.Time{})
		if err != nil || len(spans) != 1 {
			t.Fatalf("%v: %v %v", c, spans, err)
		}
		back, err := ToPersonio(spans[0], UnitDay, HalfDays{}, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmtPeriods(back), fmtPeriods([]PeriodSpan{{wall(c.start), wall(c.end), c.sh, c.eh}}); got != want {
			t.Errorf("round trip %s, want %s", got, want)
		}
	}
}

func TestBridgeTypeIDs(t *testing.T) {
	v2 := []AbsenceType{{ID: "u-vac", Name: "Bezahlter Urlaub", Unit: UnitDay}, {ID: "u-sick", Name: "Krankheit", Unit: UnitDay}, {ID: "u-dup", Name: "Dup"}, {ID: "u-dup2", Name: "Dup"}}
	v1 := []TimeOffType{
		{ID: 1, IDv2: "u-vac", Name: "renamed in v1"}, // id_v2 wins over the name
		{ID: 2, Name: " Krankheit "},                  // no id_v2 (older credential): by name
		{ID: 3, Name: "Sonderurlaub"},                 // no id_v2, no name
		{ID: 4, IDv2: "u-gone", Name: "Weg"},          // id_v2 naming nothing, no name
		{ID: 5, Name: "Dup"},                          // ambiguous name
	}
	got, problems := BridgeTypeIDs(SettingPaid, []int64{1, 2, 3, 4, 5, 99}, v1, v2)
	if len(got) != 2 || !got["u-vac"] || !got["u-sick"] {
		t.Errorf("mapped %v", got)
	}
	want := []string{"3 (\"Sonderurlaub\"), which has no id_v2", "4 (\"Weg\"), which has id_v2 u-gone", "5 (\"Dup\")", "99, which is no Personio time-off type"}
	if len(problems) != len(want) {
		t.Fatalf("problems %+v", problems)
	}
	for i, w := range want {
		if !strings.Contains(problems[i].Reason, w) || problems[i].Setting != SettingPaid || !strings.Contains(problems[i].Reason, "settings."+SettingPaid) {
			t.Errorf("problem %d = %q, want %q", i, problems[i].Reason, w)
		}
	}
}

// TestHalfDaysFromWorkSchedule: Personio's work schedule gives each weekday's working
// time; a half day covers the first or second half of it from DayStart (08:00), a day off
// or no schedule uses DefaultHalfDays, and ToPersonio reads those hours back as halves.
func TestHalfDaysFromWorkSchedule(t *testing.T) {
	loc := berlin(t)
	// Monday 6 h, Tuesday 8 h, Wednesday 4.5 h, Friday 0 (day off).
	week := HalfDaysFrom([7]time.Duration{time.Monday: 6 * time.Hour, time.Tuesday: 8 * time.Hour, time.Wednesday: 4*time.Hour + 30*time.Minute})
	for _, c := range []struct {
		name             string
		h                HalfDays
		day              string // 2026-06-01 is a Monday
		half             Half
		wantFrom, wantTo string
	}{
		{"Monday 6 h, morning", week, "2026-06-01", FirstHalf, "08:00", "11:00"},
		{"Monday 6 h, afternoon", week, "2026-06-01", SecondHalf, "11:00", "14:00"},
		{"Tuesday 8 h, afternoon", week, "2026-06-02", SecondHalf, "12:00", "16:00"},
		{"Wednesday 4.5 h, afternoon", week, "2026-06-03", SecondHalf, "10:15", "12:30"},
		{"Friday off: the default", week, "2026-06-05", FirstHalf, "08:00", "12:00"},
		{"no schedule: the default", HalfDaysFrom([7]time.Duration{}), "2026-06-01", SecondHalf, "12:00", "16:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh, eh := Half(""), Half("")
			if c.half == SecondHalf {
				sh = SecondHalf
			} else {
				eh = FirstHalf
			}
			got, err := ToStaffomatic(wall(c.day+"T00:00"), sh, wallp(c.day+"T00:00"), eh, UnitDay, c.h, loc, time.Time{})
			if err != nil || len(got) != 1 {
				t.Fatalf("%v %v", got, err)
			}
			if f, to := got[0].Start.Format("15:04"), got[0].End.Format("15:04"); f != c.wantFrom || to != c.wantTo || got[0].AllDay {
				t.Fatalf("%s–%s, want %s–%s", f, to, c.wantFrom, c.wantTo)
			}
			back, err := ToPersonio(got[0], UnitDay, c.h, loc)
			if err != nil || len(back) != 1 || back[0].StartHalf != sh || back[0].EndHalf != eh {
				t.Fatalf("back: %+v %v", back, err)
			}
		})
	}
}
