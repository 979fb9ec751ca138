package staffomatic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/obs"
	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

var testNow = time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)

type fixture struct {
	sim    *sim.Server
	acc    *sim.Account
	srv    *httptest.Server
	client *staffomatic.Client
	admin  sim.User
	loc    sim.Location
	staff  sim.User
	types  []sim.AbsenceType
}

const adminPassword = "s3cret-Passw0rd"

// newFixture starts a simulator with one small account and a client with fast backoff.
func newFixture(t *testing.T, cfg sim.Config) *fixture {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	f := &fixture{sim: sim.New(cfg)}
	acc, err := f.sim.AddAccount(sim.AccountSpec{Subdomain: "acme", Name: "ACME GmbH", TimeZone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	f.acc = acc
	f.loc = acc.AddLocation(sim.Location{Name: "Hamburg"})
	if f.admin, err = acc.AddUser(sim.User{Email: "admin@acme.example", Password: adminPassword, FirstName: "Ada", LastName: "Admin", Role: "admin", LocationIDs: []int64{f.loc.ID}}); err != nil {
		t.Fatal(err)
	}
	if f.staff, err = acc.AddUser(sim.User{Email: "sam@acme.example", FirstName: "Sam", LastName: "Staff", LocationIDs: []int64{f.loc.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Urlaub", "Krankheit"} {
		at, err := acc.AddAbsenceType(sim.AbsenceType{LocationID: f.loc.ID, Name: n})
		if err != nil {
			t.Fatal(err)
		}
		f.types = append(f.types, at)
	}
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(f.srv.Close)
	f.client = f.newClient(t, staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword})
	return f
}

func (f *fixture) newClient(t *testing.T, cred staffomatic.Credentials) *staffomatic.Client {
	t.Helper()
	c, err := staffomatic.New(staffomatic.Config{
		BaseURL: f.srv.URL + "/v3", Subdomain: "acme", Credentials: cred,
		UserAgent:   "staffsync-test (ops@example.com)",
		BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxRetryAfter: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestNewValidatesConfig(t *testing.T) {
	good := staffomatic.Config{Subdomain: "acme", UserAgent: "x (y@z)", Credentials: staffomatic.Credentials{Token: "t"}}
	tests := []struct {
		name   string
		mutate func(*staffomatic.Config)
		ok     bool
	}{
		{"valid token", func(*staffomatic.Config) {}, true},
		{"valid basic", func(c *staffomatic.Config) { c.Credentials = staffomatic.Credentials{Email: "a@b", Password: "p"} }, true},
		{"no subdomain", func(c *staffomatic.Config) { c.Subdomain = "" }, false},
		{"subdomain with slash", func(c *staffomatic.Config) { c.Subdomain = "a/b" }, false},
		{"no user agent", func(c *staffomatic.Config) { c.UserAgent = " " }, false},
		{"no credentials", func(c *staffomatic.Config) { c.Credentials = staffomatic.Credentials{Email: "a@b"} }, false},
		{"bad base url", func(c *staffomatic.Config) { c.BaseURL = "ftp://x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			_, err := staffomatic.New(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New() error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if s := (staffomatic.Credentials{Password: "hunter2"}).String(); strings.Contains(s, "hunter2") {
		t.Fatalf("credentials leak in String(): %s", s)
	}
}

func TestAccountAndTimeZone(t *testing.T) {
	f := newFixture(t, sim.Config{})
	a, err := f.client.Account(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeZone != "Europe/Berlin" || a.Subdomain != "acme" || !a.TimeTracking || a.Webhooks {
		t.Fatalf("account = %+v", a)
	}
	if len(a.Raw) == 0 {
		t.Fatal("raw JSON not kept")
	}
	z, err := f.client.TimeZone(ctx(t))
	if err != nil || z.String() != "Europe/Berlin" {
		t.Fatalf("zone = %v, %v", z, err)
	}
	me, err := f.client.CurrentUser(ctx(t))
	if err != nil || me.ID != f.admin.ID || me.Role != "admin" {
		t.Fatalf("current user = %+v, %v", me, err)
	}
}

func TestPaginationAcrossPages(t *testing.T) {
	f := newFixture(t, sim.Config{})
	gen, err := f.acc.Generate(sim.GenSpec{Seed: 7, Users: 130, TimersPerDay: 1, Days: 1, AbsencesPerUser: 1, End: testNow})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	tests := []struct {
		name  string
		route string
		list  func() (int, error)
		want  int
	}{
		{"users", "/users", func() (int, error) { u, err := f.client.ListUsers(c, staffomatic.UserFilter{}); return len(u), err }, 130 + 3},
		{"absences", "/absences", func() (int, error) {
			a, err := f.client.ListAbsences(c, staffomatic.AbsenceFilter{})
			return len(a), err
		}, gen.Absences},
		{"work timers", "/work_timers", func() (int, error) {
			w, err := f.client.ListWorkTimers(c, staffomatic.TimerFilter{})
			return len(w), err
		}, gen.WorkTimers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetCalls()
			n, err := tt.list()
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Fatalf("listed %d, want %d", n, tt.want)
			}
			pages := (tt.want+49)/50 + 1 // full pages plus the terminating empty page
			if pages < 4 {
				t.Fatalf("fixture too small: %d pages", pages)
			}
			if got := f.sim.CallCount(http.MethodGet, tt.route); got != pages {
				t.Fatalf("GET %s called %d times, want %d", tt.route, got, pages)
			}
		})
	}
	// Filters narrow on the server: one user's timers only.
	u := f.acc.Users()[5]
	wts, err := f.client.ListWorkTimers(c, staffomatic.TimerFilter{UserIDs: []int64{u.ID}, From: testNow.Add(-48 * time.Hour), Until: testNow.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(wts) != 1 || wts[0].UserID != u.ID {
		t.Fatalf("filtered timers = %+v", wts)
	}
}

func TestPaginationLoopGuard(t *testing.T) {
	f := newFixture(t, sim.Config{})
	if _, err := f.acc.Generate(sim.GenSpec{Seed: 3, Users: 60}); err != nil {
		t.Fatal(err)
	}
	// A gateway that drops the page parameter makes the real simulator answer page 1
	// (a full page of 50) forever; the client must notice instead of looping, and must
	// not take the first 50 users for all of them.
	c := clientBehind(t, func(w http.ResponseWriter, r *http.Request) {
		dropPage(r)
		f.sim.ServeHTTP(w, r)
	})
	_, err := c.ListUsers(ctx(t), staffomatic.UserFilter{})
	if !errors.Is(err, staffomatic.ErrPaginationLoop) {
		t.Fatalf("err = %v, want ErrPaginationLoop", err)
	}
	if n := f.sim.CallCount(http.MethodGet, "/users"); n != 2 {
		t.Fatalf("GET /users %d times, want 2 (the second page repeats the first)", n)
	}
}

// TestUnpaginatedCollection: "most" collections are paginated [doc], so one that ignores
// the page parameter answers every page with the whole collection. A repeated page that
// is not a full page of 50 is then the complete list, not a loop that makes the sync fail.
func TestUnpaginatedCollection(t *testing.T) {
	f := newFixture(t, sim.Config{})
	f.acc.AddLocation(sim.Location{Name: "Berlin"})
	f.acc.AddLocation(sim.Location{Name: "Köln"})
	c := clientBehind(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, ".json"), "/locations") {
			dropPage(r)
		}
		f.sim.ServeHTTP(w, r)
	})
	locs, err := c.ListLocations(ctx(t))
	if err != nil || len(locs) != 3 {
		t.Fatalf("locations = %+v, %v; want all 3", locs, err)
	}
	if n := f.sim.CallCount(http.MethodGet, "/locations"); n != 2 {
		t.Fatalf("GET /locations %d times, want 2", n)
	}
}

func TestUserLifecycle(t *testing.T) {
	f := newFixture(t, sim.Config{})
	c := ctx(t)
	dep, err := f.client.CreateDepartment(c, f.loc.ID, staffomatic.NewDepartment{Name: "Küche", Color: "d9be50"})
	if err != nil {
		t.Fatal(err)
	}
	vac := 28.0
	u, err := f.client.CreateUser(c, f.loc.ID, staffomatic.NewUser{FirstName: "Lena", LastName: "Lang", CustomID: "4711",
		DepartmentIDs: []int64{dep.ID}, MaxVacationDays: &vac})
	if err != nil {
		t.Fatal(err)
	}
	if u.CustomID != "4711" || u.Email != "" || u.MaxVacationDays == nil || *u.MaxVacationDays != 28 || u.Locked() {
		t.Fatalf("created user = %+v", u)
	}

	tests := []struct {
		name  string
		do    func() (staffomatic.User, error)
		check func(staffomatic.User) bool
	}{
		{"lock", func() (staffomatic.User, error) { return f.client.LockUser(c, u.ID) }, func(u staffomatic.User) bool { return u.Locked() }},
		{"unlock", func() (staffomatic.User, error) { return f.client.UnlockUser(c, u.ID) }, func(u staffomatic.User) bool { return !u.Locked() }},
		{"update e-mail", func() (staffomatic.User, error) {
			e := "lena@acme.example"
			return f.client.UpdateUser(c, u.ID, staffomatic.UserUpdate{Email: &e})
		}, func(u staffomatic.User) bool { return u.Email == "lena@acme.example" }},
		{"invite existing", func() (staffomatic.User, error) { return f.client.SendInvitation(c, u.ID) },
			func(u staffomatic.User) bool { return u.InvitationState == "pending" }},
		{"clear departments", func() (staffomatic.User, error) {
			empty := []int64{}
			return f.client.UpdateUser(c, u.ID, staffomatic.UserUpdate{DepartmentIDs: &empty})
		}, func(u staffomatic.User) bool { return len(u.DepartmentIDs) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Fatalf("unexpected user after %s: %+v", tt.name, got)
			}
			stored, _ := f.acc.User(u.ID)
			if tt.name == "lock" && stored.LockedAt == nil {
				t.Fatal("the simulator did not store the lock")
			}
		})
	}

	// Locked users are listed with state=all, the client's default.
	if _, err := f.client.LockUser(c, f.staff.ID); err != nil {
		t.Fatal(err)
	}
	all, err := f.client.ListUsers(c, staffomatic.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	active, err := f.client.ListUsers(c, staffomatic.UserFilter{State: staffomatic.UserStateActive})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(active) != 2 {
		t.Fatalf("all=%d active=%d, want 3 and 2", len(all), len(active))
	}

	// Membership through the department endpoints.
	d, err := f.client.AddDepartmentUsers(c, f.loc.ID, dep.ID, []int64{u.ID, f.staff.ID})
	if err != nil || len(d.UserIDs) != 2 {
		t.Fatalf("add users: %+v %v", d, err)
	}
	d, err = f.client.RemoveDepartmentUsers(c, f.loc.ID, dep.ID, []int64{f.staff.ID})
	if err != nil || len(d.UserIDs) != 1 || d.UserIDs[0] != u.ID {
		t.Fatalf("remove users: %+v %v", d, err)
	}
	deps, err := f.client.ListDepartments(c, f.loc.ID)
	if err != nil || len(deps) != 1 || deps[0].Name != "Küche" {
		t.Fatalf("departments: %+v %v", deps, err)
	}
	locs, err := f.client.ListLocations(c)
	if err != nil || len(locs) != 1 || len(locs[0].UserIDs) != 3 {
		t.Fatalf("locations: %+v %v", locs, err)
	}
}

func TestInvitation(t *testing.T) {
	f := newFixture(t, sim.Config{})
	c := ctx(t)
	u, err := f.client.CreateUser(c, f.loc.ID, staffomatic.NewUser{FirstName: "Ina", LastName: "Invite", Email: "ina@acme.example", Invite: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.InvitationState != "pending" || u.InvitedByID == nil || *u.InvitedByID != f.admin.ID {
		t.Fatalf("invited user = %+v", u)
	}
	inv := f.acc.Invitations()
	if len(inv) != 1 || inv[0].Email != "ina@acme.example" || inv[0].UserID != u.ID {
		t.Fatalf("invitations = %+v", inv)
	}
	// Without e-mail there is nothing to invite: the client refuses before sending.
	if _, err := f.client.CreateUser(c, f.loc.ID, staffomatic.NewUser{FirstName: "No", LastName: "Mail", Invite: true}); err == nil {
		t.Fatal("an invitation without e-mail was accepted")
	}
	// The server refuses a duplicate e-mail with 422 and a readable message.
	_, err = f.client.CreateUser(c, f.loc.ID, staffomatic.NewUser{FirstName: "Dup", Email: "INA@acme.example"})
	var apiErr *staffomatic.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || !strings.Contains(apiErr.Message, "email has already been taken") || apiErr.Retryable {
		t.Fatalf("duplicate e-mail: %v", err)
	}
	if f.sim.CallCount(http.MethodPost, "/locations/{lid}/users") != 2 {
		t.Fatalf("POST calls = %d, want 2 (the refused invitation never left the client)", f.sim.CallCount(http.MethodPost, "/locations/{lid}/users"))
	}
}

// allDay returns the bounds Staffomatic stores for an all-day absence from the first to
// the last day: 00:00:00 on the first to 23:59:59 on the last, in the account's zone z.
func allDay(z *time.Location, first, last time.Time) (time.Time, time.Time) {
	return time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, z),
		time.Date(last.Year(), last.Month(), last.Day(), 23, 59, 59, 0, z)
}

func TestAbsenceApproveDecline(t *testing.T) {
	f := newFixture(t, sim.Config{})
	c := ctx(t)
	z, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		name    string
		act     func(id int64) (staffomatic.Absence, error)
		want    staffomatic.AbsenceState
		handler bool
	}{
		{"approve", func(id int64) (staffomatic.Absence, error) { return f.client.ApproveAbsence(c, id, false) }, staffomatic.AbsenceApproved, true},
		{"approve destroying applications", func(id int64) (staffomatic.Absence, error) { return f.client.ApproveAbsence(c, id, true) }, staffomatic.AbsenceApproved, true},
		{"decline", func(id int64) (staffomatic.Absence, error) { return f.client.DeclineAbsence(c, id) }, staffomatic.AbsenceDeclined, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := allDay(z, time.Date(2026, 4, 6+i*7, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 8+i*7, 0, 0, 0, 0, time.UTC))
			a, err := f.client.CreateAbsence(c, staffomatic.NewAbsence{LocationID: f.loc.ID, ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID,
				StartsAt: start.UTC(), EndsAt: end.UTC().Add(-5 * time.Hour), AllDay: true, Vacation: true, Paid: true})
			if err != nil {
				t.Fatal(err)
			}
			if a.State != staffomatic.AbsenceNew || !a.StartsAt.Equal(start) || !a.EndsAt.Equal(end) || a.LocationID == nil {
				t.Fatalf("created = %+v (want %v..%v, all-day normalised)", a, start, end)
			}
			if a.AdjustedDuration == nil || *a.AdjustedDuration != 3*86400 {
				t.Fatalf("adjusted_duration = %v, want 3 days", a.AdjustedDuration)
			}
			got, err := tt.act(a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.want || got.ProcessedAt == nil || got.HandlerID == nil || *got.HandlerID != f.admin.ID {
				t.Fatalf("after %s: %+v", tt.name, got)
			}
			// Processed absences are immutable.
			_, err = f.client.DeclineAbsence(c, a.ID)
			if staffomatic.StatusOf(err) != 422 {
				t.Fatalf("second transition: %v, want 422", err)
			}
			list, err := f.client.ListAbsences(c, staffomatic.AbsenceFilter{States: []staffomatic.AbsenceState{tt.want}, UserIDs: []int64{f.staff.ID},
				From: start, Until: end})
			if err != nil || len(list) != 1 || list[0].ID != a.ID {
				t.Fatalf("filtered list = %+v, %v", list, err)
			}
		})
	}
}

func TestApprovedAbsenceDeleteAndRecreate(t *testing.T) {
	f := newFixture(t, sim.Config{})
	c := ctx(t)
	z, _ := f.client.TimeZone(c)
	// A half day: not all-day, explicit times.
	start := time.Date(2026, 5, 4, 8, 0, 0, 0, z)
	a, err := f.client.CreateAbsence(c, staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID, StartsAt: start, EndsAt: start.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if a.AllDay || a.LocationID != nil || *a.AdjustedDuration != 4*3600 {
		t.Fatalf("half day = %+v", a)
	}
	if _, err := f.client.ApproveAbsence(c, a.ID, false); err != nil {
		t.Fatal(err)
	}
	// The change (a full day instead) is delete + create + approve.
	if err := f.client.DeleteAbsence(c, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.GetAbsence(c, a.ID); !staffomatic.IsNotFound(err) {
		t.Fatalf("deleted absence still readable: %v", err)
	}
	if err := f.client.DeleteAbsence(c, a.ID); !staffomatic.IsNotFound(err) {
		t.Fatalf("second delete: %v, want 404", err)
	}
	s, e := allDay(z, start, start)
	b, err := f.client.CreateAbsence(c, staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID, StartsAt: s, EndsAt: e, AllDay: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, err = f.client.ApproveAbsence(c, b.ID, false); err != nil {
		t.Fatal(err)
	}
	stored := f.acc.Absences()
	if len(stored) != 1 || stored[0].ID != b.ID || stored[0].State != sim.StateApproved || !stored[0].AllDay {
		t.Fatalf("stored absences = %+v", stored)
	}
	if n := f.sim.CallCount(http.MethodDelete, "/absences/{id}"); n != 2 {
		t.Fatalf("DELETE calls = %d", n)
	}
}

func TestTimersAndEvents(t *testing.T) {
	f := newFixture(t, sim.Config{})
	c := ctx(t)
	z, _ := f.client.TimeZone(c)
	day := time.Date(2026, 3, 9, 0, 0, 0, 0, z)
	wt, err := f.acc.AddWorkTimer(sim.WorkTimer{UserID: f.staff.ID, LocationID: &f.loc.ID, State: sim.TimerVerified,
		StartsAt: day.Add(8 * time.Hour), EndsAt: ptrT(day.Add(16*time.Hour + 30*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.AddBreakTimer(sim.BreakTimer{WorkTimerID: wt.ID, StartsAt: day.Add(12 * time.Hour), EndsAt: ptrT(day.Add(12*time.Hour + 30*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.AddWorkTimer(sim.WorkTimer{UserID: f.staff.ID, StartsAt: day.Add(32 * time.Hour), LumpBreak: 45 * time.Minute, EndsAt: ptrT(day.Add(41 * time.Hour))}); err != nil {
		t.Fatal(err)
	}
	timers, err := f.client.ListWorkTimers(c, staffomatic.TimerFilter{From: day, Until: day.Add(48 * time.Hour), LocationID: f.loc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(timers) != 1 {
		t.Fatalf("location timers = %d, want 1", len(timers))
	}
	got := timers[0]
	if got.State != staffomatic.TimerVerified || got.Duration != 8*3600+1800 || got.BreakDuration != 1800 || got.NetDuration != 8*3600 {
		t.Fatalf("timer = %+v", got)
	}
	if _, off := got.StartsAt.Zone(); off != 3600 {
		t.Fatalf("starts_at offset = %d, want +01:00 (account zone)", off)
	}
	all, err := f.client.ListWorkTimers(c, staffomatic.TimerFilter{UserIDs: []int64{f.staff.ID}})
	if err != nil || len(all) != 2 || all[1].State != staffomatic.TimerStopped || all[1].BreakDuration != 45*60 {
		t.Fatalf("all timers = %+v, %v", all, err)
	}
	f.sim.ResetCalls()
	breaks, err := f.client.ListWorkTimerBreaks(c, wt.ID)
	if err != nil || len(breaks) != 1 || breaks[0].Duration != 1800 {
		t.Fatalf("breaks = %+v, %v", breaks, err)
	}
	// Its page and the empty one, asked for at once: no page after the short one but that.
	if n := f.sim.CallCount("GET", "/work_timers/{wid}/break_timers"); n != 2 {
		t.Fatalf("%d requests for one page of breaks, want 2", n)
	}
	if bs, err := f.client.ListBreakTimers(c, staffomatic.TimerFilter{From: day, Until: day.Add(24 * time.Hour)}); err != nil || len(bs) != 1 {
		t.Fatalf("break timers = %+v, %v", bs, err)
	}

	// Writes produce events; the feed is read with delivery_state=all and a watermark,
	// so a second read sees the same events again.
	if _, err := f.client.LockUser(c, f.staff.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ev, err := f.client.ListEvents(c, staffomatic.EventFilter{From: testNow.Add(-time.Minute)})
		if err != nil || len(ev) != 1 || ev[0].EventableType != "User" || ev[0].EventableID != f.staff.ID || ev[0].Type != "user_locked_event" {
			t.Fatalf("events = %+v, %v", ev, err)
		}
	}
	if ev, err := f.client.ListEvents(c, staffomatic.EventFilter{From: testNow.Add(time.Minute)}); err != nil || len(ev) != 0 {
		t.Fatalf("events after the watermark = %+v, %v", ev, err)
	}
}

func ptrT(t time.Time) *time.Time { return &t }

func TestRateLimit429Recovery(t *testing.T) {
	f := newFixture(t, sim.Config{RateLimit: 3, RateWindow: 300 * time.Millisecond})
	// A client whose own limiter is off, so only the server's 429s hold it back.
	c, err := staffomatic.New(staffomatic.Config{BaseURL: f.srv.URL + "/v3", Subdomain: "acme", UserAgent: "t (t@t)",
		Credentials: staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword},
		Limiter:     staffomatic.NewRateLimiter(0, 0), BackoffBase: time.Millisecond, MaxAttempts: 6})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := c.GetUser(ctx(t), f.staff.ID); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	ok, limited := 0, 0
	for _, call := range f.sim.Calls() {
		switch call.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		}
	}
	if ok != 7 {
		t.Fatalf("%d successful calls, want 7", ok)
	}
	// Remaining=0 on the third answer pauses the client until the reset, so it should
	// rarely provoke a 429 at all; it must never hammer the server.
	if limited > 3 {
		t.Fatalf("%d answers were 429: the client did not honour X-RateLimit-*", limited)
	}

	// An injected 429 with Retry-After is retried and succeeds.
	f.sim.SetRateLimit(-1, 0)
	f.sim.InjectFault(sim.Fault{Method: http.MethodPost, Route: "/absences", Status: http.StatusTooManyRequests, RetryAfter: "0"})
	if _, err := c.CreateAbsence(ctx(t), staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID, StartsAt: testNow, EndsAt: testNow.Add(time.Hour)}); err != nil {
		t.Fatalf("create after 429: %v", err)
	}
	if n := f.sim.CallCount(http.MethodPost, "/absences"); n != 2 {
		t.Fatalf("POST /absences %d times, want 2", n)
	}
}

func TestRetriesAndErrors(t *testing.T) {
	tests := []struct {
		name      string
		fault     sim.Fault
		call      func(*fixture) error
		wantErr   bool
		status    int
		retryable bool
		calls     int
	}{
		{"503 on GET is retried", sim.Fault{Method: "GET", Route: "/users/{id}", Status: 503, Times: 2},
			func(f *fixture) error { _, err := f.client.GetUser(context.Background(), f.staff.ID); return err }, false, 0, false, 3},
		{"dropped connection on GET is retried", sim.Fault{Method: "GET", Route: "/users/{id}", Drop: true},
			func(f *fixture) error { _, err := f.client.GetUser(context.Background(), f.staff.ID); return err }, false, 0, false, 2},
		{"persistent 500 gives up", sim.Fault{Method: "GET", Route: "/users/{id}", Status: 500, Times: -1},
			func(f *fixture) error { _, err := f.client.GetUser(context.Background(), f.staff.ID); return err }, true, 500, true, 5},
		{"503 on POST is not retried", sim.Fault{Method: "POST", Route: "/locations/{lid}/users", Status: 503},
			func(f *fixture) error {
				_, err := f.client.CreateUser(context.Background(), f.loc.ID, staffomatic.NewUser{FirstName: "X"})
				return err
			}, true, 503, true, 1},
		{"404 with body", sim.Fault{Method: "PATCH"},
			func(f *fixture) error { _, err := f.client.GetUser(context.Background(), 999999); return err }, true, 404, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sim.Config{})
			f.sim.InjectFault(tt.fault)
			err := tt.call(f)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if staffomatic.StatusOf(err) != tt.status || staffomatic.IsRetryable(err) != tt.retryable {
					t.Fatalf("err = %v: status %d retryable %v", err, staffomatic.StatusOf(err), staffomatic.IsRetryable(err))
				}
			}
			if n := len(f.sim.Calls()); n != tt.calls {
				t.Fatalf("%d calls, want %d", n, tt.calls)
			}
		})
	}
}

func TestBadCredentials(t *testing.T) {
	f := newFixture(t, sim.Config{})
	tests := []struct {
		name string
		cred staffomatic.Credentials
	}{
		{"wrong password", staffomatic.Credentials{Email: "admin@acme.example", Password: "wrong-horse-battery"}},
		{"unknown user", staffomatic.Credentials{Email: "nobody@acme.example", Password: adminPassword}},
		{"unknown token", staffomatic.Credentials{Token: "tok-not-issued-0123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.sim.ResetCalls()
			c := f.newClient(t, tt.cred)
			_, err := c.Account(ctx(t))
			if !staffomatic.IsUnauthorized(err) || staffomatic.IsRetryable(err) {
				t.Fatalf("err = %v, want a non-retryable 401", err)
			}
			for _, secret := range []string{tt.cred.Password, tt.cred.Token} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks the credential: %v", err)
				}
			}
			if n := len(f.sim.Calls()); n != 1 {
				t.Fatalf("%d calls for a 401, want 1 (no retry)", n)
			}
		})
	}
	// A bearer token issued by the account works; a staff user cannot write (403).
	tok, err := f.acc.IssueToken(f.staff.ID)
	if err != nil {
		t.Fatal(err)
	}
	staff := f.newClient(t, staffomatic.Credentials{Token: tok})
	if _, err := staff.Account(ctx(t)); err != nil {
		t.Fatalf("bearer read: %v", err)
	}
	if _, err := staff.LockUser(ctx(t), f.admin.ID); !staffomatic.IsForbidden(err) {
		t.Fatalf("staff write: %v, want 403", err)
	}
}

func TestContextCancellation(t *testing.T) {
	f := newFixture(t, sim.Config{Latency: 2 * time.Second})
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.ListUsers(c, staffomatic.UserFilter{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestCreateLocation: the create sends the documented body without a root element and
// reads back the location as created; invalid names come back as 422 with the server's
// message, a non-admin gets 403, and the new location is usable for departments at once.
func TestCreateLocation(t *testing.T) {
	f := newFixture(t, sim.Config{})
	slot, minT, maxT, first := 15, 6, 22, 0
	no, yes := false, true
	l, err := f.client.CreateLocation(ctx(t), staffomatic.NewLocation{Name: " München ", FirstDayOfWeek: &first, SlotMinutes: &slot,
		MinTime: &minT, MaxTime: &maxT, SwapShifts: &no, AllowSelfAssign: &yes, MannersAddress: "first_name", UsersSortBy: "working_hours"})
	if err != nil {
		t.Fatal(err)
	}
	if l.ID == 0 || l.Name != "München" || l.FirstDayOfWeek != 0 || l.SlotMinutes != 15 || l.MinTime != 6 || l.MaxTime != 22 ||
		l.SwapShifts || !l.AllowSelfAssign || l.MannersAddress != "first_name" || l.UsersSortBy != "working_hours" ||
		!l.NotesVisible || l.DefaultView != "list_week" || l.DefaultEventMinutes != 240 || len(l.UserIDs) != 0 || len(l.Raw) == 0 {
		t.Fatalf("created location: %+v", l)
	}
	stored := f.acc.Locations()
	if len(stored) != 2 || stored[1].ID != l.ID || stored[1].Settings.SlotMinutes != 15 {
		t.Fatalf("stored: %+v", stored)
	}
	all, err := f.client.ListLocations(ctx(t))
	if err != nil || len(all) != 2 || all[1].ID != l.ID || all[1].SlotMinutes != 15 || !all[0].SwapShifts {
		t.Fatalf("list after the create: %v %+v", err, all)
	}
	d, err := f.client.CreateDepartment(ctx(t), l.ID, staffomatic.NewDepartment{Name: "Küche"})
	if err != nil || d.LocationID != l.ID {
		t.Fatalf("department in the new location: %v %+v", err, d)
	}
	if _, err := f.client.AddDepartmentUsers(ctx(t), l.ID, d.ID, []int64{f.staff.ID}); err != nil {
		t.Fatal(err)
	}
	if all, err = f.client.ListLocations(ctx(t)); err != nil || len(all[1].UserIDs) != 1 || all[1].UserIDs[0] != f.staff.ID || all[1].DepartmentCount != 1 {
		t.Fatalf("members join the location through its department: %v %+v", err, all)
	}

	for _, name := range []string{"münchen", "HAMBURG"} {
		_, err := f.client.CreateLocation(ctx(t), staffomatic.NewLocation{Name: name})
		if staffomatic.StatusOf(err) != 422 || !strings.Contains(err.Error(), "has already been taken") {
			t.Fatalf("duplicate %q: %v", name, err)
		}
	}
	if _, err := f.client.CreateLocation(ctx(t), staffomatic.NewLocation{Name: "  "}); err == nil || staffomatic.StatusOf(err) != 0 {
		t.Fatalf("blank name must fail before any request: %v", err)
	}
	f.sim.ResetCalls()
	if _, err := f.client.CreateLocation(ctx(t), staffomatic.NewLocation{Name: "Kiel", SlotMinutes: new(int)}); staffomatic.StatusOf(err) != 422 {
		t.Fatalf("slot_minutes 0: %v", err)
	}
	if n := f.sim.CallCount(http.MethodPost, "/locations"); n != 1 {
		t.Fatalf("a 422 is not retried: %d calls", n)
	}
	if _, err := f.acc.AddUser(sim.User{Email: "mia@acme.example", Password: "mia-pw", FirstName: "Mia", Role: "manager", LocationIDs: []int64{f.loc.ID}}); err != nil {
		t.Fatal(err)
	}
	staff := f.newClient(t, staffomatic.Credentials{Email: "mia@acme.example", Password: "mia-pw"})
	if _, err := staff.CreateLocation(ctx(t), staffomatic.NewLocation{Name: "Kiel"}); !staffomatic.IsForbidden(err) {
		t.Fatalf("create as staff: %v", err)
	}
	if n := len(f.acc.Locations()); n != 2 {
		t.Fatalf("%d locations after refused creates, want 2", n)
	}
}

// TestCreateLocationRetries: like every create, POST /locations is retried on 429 (the
// server did nothing) and not on 5xx or a dropped connection (it may have created it).
func TestCreateLocationRetries(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fault   sim.Fault
		wantErr bool
		calls   int
		created int
	}{
		{"429 is retried", sim.Fault{Method: "POST", Route: "/locations", Status: 429, RetryAfter: "0"}, false, 2, 1},
		{"503 is not retried", sim.Fault{Method: "POST", Route: "/locations", Status: 503}, true, 1, 0},
		{"dropped connection is not retried", sim.Fault{Method: "POST", Route: "/locations", Drop: true}, true, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sim.Config{})
			f.sim.InjectFault(tt.fault)
			_, err := f.client.CreateLocation(ctx(t), staffomatic.NewLocation{Name: "Kiel"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if n := f.sim.CallCount(http.MethodPost, "/locations"); n != tt.calls {
				t.Fatalf("%d calls, want %d", n, tt.calls)
			}
			if n := len(f.acc.Locations()) - 1; n != tt.created {
				t.Fatalf("%d locations created, want %d", n, tt.created)
			}
		})
	}
}

// TestLogLinesCarryTheRun: the client logs its retries and failures with the caller's
// context, so a run's lines carry its tenant, phase and run id.
func TestLogLinesCarryTheRun(t *testing.T) {
	f := newFixture(t, sim.Config{})
	var buf bytes.Buffer
	c, err := staffomatic.New(staffomatic.Config{
		BaseURL: f.srv.URL + "/v3", Subdomain: "acme", Credentials: staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword},
		UserAgent: "staffsync-test (ops@example.com)", Logger: obs.NewLogger(&buf, true, slog.LevelDebug),
		BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxRetryAfter: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.sim.InjectFault(sim.Fault{Method: "GET", Route: "/users/{id}", Status: 503, Times: 1})
	rc := obs.WithRun(ctx(t), obs.RunInfo{Tenant: "acme", Phase: "users", RunID: "20260311T100000Z-users-abc"})
	if _, err := c.GetUser(rc, f.staff.ID); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	msgs := map[string]bool{}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		msgs[fmt.Sprint(m["msg"])] = true
		if m["tenant"] != "acme" || m["phase"] != "users" || m["run_id"] != "20260311T100000Z-users-abc" {
			t.Errorf("line without the run: %s", line)
		}
	}
	for _, want := range []string{"staffomatic request failed", "retrying staffomatic request", "staffomatic request"} {
		if !msgs[want] {
			t.Errorf("no %q line in %s", want, buf.String())
		}
	}
}

// TestCredentialsNeverEncoded: the credentials, alone or inside a Config, show no password
// or token in a JSON log line (the Lambda format), a text log line, %v or JSON.
func TestCredentialsNeverEncoded(t *testing.T) {
	creds := staffomatic.Credentials{Email: "ada@acme.example", Password: "PW-leak-1", Token: "TOK-leak-2"}
	cfg := staffomatic.Config{Subdomain: "acme", Credentials: creds}
	var buf bytes.Buffer
	for _, asJSON := range []bool{true, false} {
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		if !asJSON {
			log = slog.New(slog.NewTextHandler(&buf, nil))
		}
		log.Info("x", "staffomatic", creds, "cfg", cfg)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String() + string(b) + fmt.Sprintf("%v %+v %#v", creds, cfg, cfg)
	if strings.Contains(out, "PW-leak-1") || strings.Contains(out, "TOK-leak-2") || !strings.Contains(out, "ada@acme.example") {
		t.Fatalf("encoded: %s", out)
	}
}

// clientBehind is the admin's client of the "acme" account, talking to h (a gateway in
// front of the simulator).
func clientBehind(t *testing.T, h http.HandlerFunc) *staffomatic.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := staffomatic.New(staffomatic.Config{BaseURL: srv.URL + "/v3", Subdomain: "acme", UserAgent: "t (t@t)",
		Credentials: staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dropPage removes the page parameter, as a gateway that ignores pagination would.
func dropPage(r *http.Request) {
	q := r.URL.Query()
	q.Del("page")
	r.URL.RawQuery = q.Encode()
}

// TestEachUserReadsPagesAheadInOrder: EachUser sees every user once, in the order of the
// pages, without raw JSON, asking for at most UsersAhead-1 pages past the empty one; an
// error of the callback ends the listing and is returned.
func TestEachUserReadsPagesAheadInOrder(t *testing.T) {
	f := newFixture(t, sim.Config{})
	if _, err := f.acc.Generate(sim.GenSpec{Seed: 7, Users: 230}); err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	want, err := f.client.ListUsers(c, staffomatic.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	f.sim.ResetCalls()
	var got []int64
	err = f.client.EachUser(c, staffomatic.UserFilter{}, func(u staffomatic.User) error {
		if u.Raw != nil {
			t.Errorf("user %d keeps its raw JSON", u.ID)
		}
		got = append(got, u.ID)
		return nil
	})
	if err != nil || len(got) != len(want) {
		t.Fatalf("EachUser: %d users, %v; ListUsers: %d", len(got), err, len(want))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("user %d is %d, ListUsers has %d", i, got[i], want[i].ID)
		}
	}
	pages := len(want)/staffomatic.PageSize + 1
	if n := f.sim.CallCount("GET", "/users"); n < pages || n > pages+staffomatic.UsersAhead-1 {
		t.Errorf("%d page requests for %d pages", n, pages)
	}
	stop := errors.New("enough")
	seen := 0
	err = f.client.EachUser(c, staffomatic.UserFilter{}, func(staffomatic.User) error {
		if seen++; seen == 60 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 60 {
		t.Fatalf("the callback's error ended nothing: %v after %d users", err, seen)
	}
}
