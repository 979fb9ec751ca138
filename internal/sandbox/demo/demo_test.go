package demo_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

func seed(t *testing.T, now time.Time) (*personiosim.Server, *staffomaticsim.Server, demo.Info) {
	t.Helper()
	clock := func() time.Time { return now }
	p := personiosim.New(personiosim.Config{Now: clock, NoRateLimits: true})
	s := staffomaticsim.New(staffomaticsim.Config{Now: clock})
	info, err := demo.Seed(p, s, now)
	if err != nil {
		t.Fatal(err)
	}
	return p, s, info
}

func TestSeedContents(t *testing.T) {
	nows := []time.Time{
		time.Date(2026, 3, 11, 9, 30, 0, 0, time.UTC),  // first half of the year: boundary behind
		time.Date(2026, 10, 5, 16, 0, 0, 0, time.UTC),  // second half: boundary ahead
		time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC),   // new year's night
		time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), // already 1 Jan in Berlin
		time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC),   // December: six weeks ahead is next year
		time.Date(2026, 12, 29, 12, 0, 0, 0, time.UTC), // this week's Thursday is next year
	}
	for _, now := range nows {
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			p, s, info := seed(t, now)

			// Personio side.
			emps := p.Employees()
			if len(emps) != 25 || info.Employees != 25 {
				t.Fatalf("employees = %d", len(emps))
			}
			if len(p.Offices()) != 2 || len(p.Departments()) != 4 {
				t.Fatalf("offices %d, departments %d", len(p.Offices()), len(p.Departments()))
			}
			types := p.TimeOffTypes()
			if len(types) != 4 {
				t.Fatalf("time-off types = %d", len(types))
			}
			noEmail := 0
			for _, e := range emps {
				if e.Email == "" {
					noEmail++
				}
			}
			if noEmail != 1 {
				t.Fatalf("%d employees without e-mail, want 1", noEmail)
			}
			abs := p.AbsencePeriods()
			if len(abs) != info.AbsencePeriods || len(abs) < 6 {
				t.Fatalf("absences = %d", len(abs))
			}
			var half, boundary bool
			for _, a := range abs {
				if a.End == nil {
					t.Fatalf("open-ended absence %s", a.ID)
				}
				if a.ID == info.HalfDayAbsenceID && a.StartHalf != "" && a.Start.Equal(*a.End) {
					half = true
				}
				if a.ID == info.YearBoundaryAbsenceID && a.Start.Year()+1 == a.End.Year() {
					boundary = true
				}
			}
			if !half || !boundary {
				t.Fatalf("half day %v, year boundary %v", half, boundary)
			}

			// Staffomatic side, read through the client as the syncs will.
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, err := staffomatic.New(staffomatic.Config{BaseURL: srv.URL + "/v3", Subdomain: info.StaffomaticSubdomain,
				Credentials: staffomatic.Credentials{Email: info.StaffomaticEmail, Password: info.StaffomaticPassword},
				UserAgent:   "staffsync-demo-test (ops@example.com)"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			me, err := c.CurrentUser(ctx)
			if err != nil || me.Role != "admin" || me.ID != info.StaffomaticAdminID {
				t.Fatalf("owner = %+v, %v", me, err)
			}
			locs, err := c.ListLocations(ctx)
			if err != nil || len(locs) != 2 {
				t.Fatalf("locations = %+v, %v", locs, err)
			}
			cats, err := c.ListAbsenceTypes(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]int{}
			for _, at := range cats {
				names[at.Name]++
			}
			matched := 0
			for _, tt := range types {
				if names[tt.Name] == 2 {
					matched++
				} else if tt.Name != info.MissingCategory || names[tt.Name] != 0 {
					t.Fatalf("category %q appears %d times", tt.Name, names[tt.Name])
				}
			}
			if matched != 3 {
				t.Fatalf("%d Personio types have a Staffomatic category in both locations, want 3", matched)
			}
			// The category without a Personio type, and the absences entered in Staffomatic
			// (all approved; a timed half day and one across New Year among them).
			if names[info.MissingType] != 1 || slices.ContainsFunc(types, func(tt personiosim.TimeOffType) bool { return tt.Name == info.MissingType }) {
				t.Fatalf("category %q: %d, or a Personio type of that name", info.MissingType, names[info.MissingType])
			}
			xs, err := c.ListAbsences(ctx, staffomatic.AbsenceFilter{})
			if err != nil || len(xs) != info.StaffomaticAbsences || info.StaffomaticAbsences != 5 {
				t.Fatalf("Staffomatic absences = %d (info %d), %v", len(xs), info.StaffomaticAbsences, err)
			}
			timed, crossing := 0, 0
			for _, x := range xs {
				if x.State != "approved" {
					t.Fatalf("absence %d is %s", x.ID, x.State)
				}
				if !x.AllDay {
					timed++
				}
				if x.StartsAt.In(info.Now.Location()).Year() != x.EndsAt.In(info.Now.Location()).Year() {
					crossing++
				}
				// Staffomatic leading reads only the current year: every absence reaches into it.
				berlin, _ := time.LoadLocation("Europe/Berlin")
				if y := info.Now.In(berlin).Year(); x.StartsAt.In(berlin).Year() > y || x.EndsAt.In(berlin).Year() < y {
					t.Fatalf("absence %d (%s to %s) lies outside %d, the year a Staffomatic-led run reads", x.ID, x.StartsAt, x.EndsAt, y)
				}
			}
			if timed != 1 || crossing != 1 {
				t.Fatalf("%d timed, %d across New Year, want 1 and 1", timed, crossing)
			}

			// The three pre-existing users and how they match (custom_id first, then e-mail).
			users, err := c.ListUsers(ctx, staffomatic.UserFilter{})
			if err != nil || len(users) != 3 {
				t.Fatalf("users = %d, %v", len(users), err)
			}
			want := map[int64]demo.ExistingUser{}
			for _, eu := range info.ExistingUsers {
				want[eu.StaffomaticUserID] = eu
			}
			kinds := map[demo.MatchKind]int{}
			for _, u := range users {
				kind, pid := match(u, emps)
				w := want[u.ID]
				if kind != w.Match || pid != w.PersonioEmployeeID {
					t.Fatalf("user %d (%s): matched %s/%d, demo says %s/%d", u.ID, u.Email, kind, pid, w.Match, w.PersonioEmployeeID)
				}
				kinds[kind]++
			}
			if kinds[demo.MatchEmail] != 1 || kinds[demo.MatchCustomID] != 1 || kinds[demo.MatchUnmatched] != 1 {
				t.Fatalf("match kinds = %v", kinds)
			}

			// A week of work: 5 weekdays × 3 users of day shifts, a night shift crossing
			// midnight and a shift running now.
			timers, err := c.ListWorkTimers(ctx, staffomatic.TimerFilter{From: now.AddDate(0, 0, -8), Until: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(timers) != info.WorkTimers || len(timers) != 17 {
				t.Fatalf("timers = %d (info %d), want 5 weekdays × 3 users, a night shift and a running one", len(timers), info.WorkTimers)
			}
			states := map[staffomatic.TimerState]int{}
			nights := 0
			for _, wt := range timers {
				states[wt.State]++
				if wt.State == staffomatic.TimerRunning {
					if wt.EndsAt != nil || !wt.StartsAt.Before(now) {
						t.Fatalf("running timer = %+v", wt)
					}
					continue
				}
				berlin, _ := time.LoadLocation("Europe/Berlin")
				if wt.StartsAt.In(berlin).YearDay() != wt.EndsAt.In(berlin).YearDay() {
					nights++
					if wt.NetDuration != 8*3600-45*60 {
						t.Fatalf("night shift = %+v", wt)
					}
					continue
				}
				if wt.EndsAt == nil || wt.NetDuration != 8*3600 || wt.BreakDuration != 1800 || !wt.EndsAt.Before(now) {
					t.Fatalf("timer = %+v", wt)
				}
			}
			if states[staffomatic.TimerVerified] == 0 || states[staffomatic.TimerStopped] == 0 || states[staffomatic.TimerRunning] != 1 || nights != 1 {
				t.Fatalf("timer states = %v, %d night shifts", states, nights)
			}
			if s.WriteCalls() != 0 {
				t.Fatalf("reading the demo wrote %d times", s.WriteCalls())
			}
		})
	}
}

// match applies the documented rule: custom_id = Personio id first, then e-mail
// (case-insensitive, trimmed).
func match(u staffomatic.User, emps []personiosim.Employee) (demo.MatchKind, int64) {
	for _, e := range emps {
		if u.CustomID != "" && u.CustomID == strconv.FormatInt(e.ID, 10) {
			return demo.MatchCustomID, e.ID
		}
	}
	for _, e := range emps {
		if e.Email != "" && strings.EqualFold(strings.TrimSpace(e.Email), strings.TrimSpace(u.Email)) {
			return demo.MatchEmail, e.ID
		}
	}
	return demo.MatchUnmatched, 0
}

func TestSeedIsDeterministic(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	p1, s1, i1 := seed(t, now)
	p2, s2, i2 := seed(t, now)
	if !reflect.DeepEqual(i1, i2) {
		t.Fatalf("infos differ:\n%+v\n%+v", i1, i2)
	}
	if !reflect.DeepEqual(p1.Employees(), p2.Employees()) || !reflect.DeepEqual(p1.AbsencePeriods(), p2.AbsencePeriods()) {
		t.Fatal("Personio data differs between two seeds")
	}
	a1, a2 := s1.Account(demo.StaffomaticSubdomain), s2.Account(demo.StaffomaticSubdomain)
	if !reflect.DeepEqual(a1.Users(), a2.Users()) || !reflect.DeepEqual(a1.WorkTimers(), a2.WorkTimers()) ||
		!reflect.DeepEqual(a1.BreakTimers(), a2.BreakTimers()) || !reflect.DeepEqual(a1.AbsenceTypes(), a2.AbsenceTypes()) {
		t.Fatal("Staffomatic data differs between two seeds")
	}
	// Seeding the same simulators twice is refused rather than duplicating the account.
	if _, err := demo.Seed(personiosim.New(personiosim.Config{}), s1, now); err == nil {
		t.Fatal("second seed into the same Staffomatic simulator succeeded")
	}
}
