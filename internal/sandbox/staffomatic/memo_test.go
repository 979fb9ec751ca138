package staffomaticsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// getList reads a collection page as a list of objects.
func (e *env) getList(t *testing.T, path string) []map[string]any {
	t.Helper()
	hr, _ := http.NewRequest("GET", e.srv.URL+"/v3/acme"+path, nil)
	hr.Header.Set("User-Agent", "simtest (t@example.com)")
	hr.SetBasicAuth("own@x.example", "pw")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	return out
}

func idsOf(v any) []int64 {
	var out []int64
	for _, x := range v.([]any) {
		out = append(out, int64(x.(float64)))
	}
	return out
}

// TestDerivedFieldsFollowEveryChange: the fields computed from other records
// (approved_absences_hours, break_duration/net_duration, department and location
// user_ids, list order) are cached between requests, so every kind of change (API
// write, seeding) must show in the next read.
func TestDerivedFieldsFollowEveryChange(t *testing.T) {
	e := newEnv(t)
	uid := strconv.FormatInt(e.stf.ID, 10)
	userPath := "/users/" + uid
	hours := func() any {
		_, _, u := e.do(t, req{method: "GET", path: userPath})
		return u["approved_absences_hours"]
	}
	if h := hours(); h != float64(0) {
		t.Fatalf("hours before any absence = %v", h)
	}
	// API: create (new: not counted) then approve (counted).
	status, _, a := e.do(t, req{method: "POST", path: "/absences", body: `{"starts_at":"2026-07-20T00:00:00+02:00","ends_at":"2026-07-21T00:00:00+02:00","applicant_id":` +
		uid + `,"absence_type_id":` + strconv.FormatInt(e.typ.ID, 10) + `,"all_day":true,"include_weekends":true}`})
	if status != 200 {
		t.Fatalf("create: %d %v", status, a)
	}
	if h := hours(); h != float64(0) {
		t.Fatalf("a new absence counted: %v", h)
	}
	aid := strconv.FormatInt(int64(a["id"].(float64)), 10)
	if status, _, _ := e.do(t, req{method: "PUT", path: "/absences/" + aid, body: `{"do":"approve"}`}); status != 200 {
		t.Fatalf("approve: %d", status)
	}
	if h := hours(); h != float64(48) {
		t.Fatalf("hours after approving two days = %v, want 48", h)
	}
	// Seeding: an approved absence added behind the API's back.
	if _, err := e.acc.AddAbsence(sim.Absence{ApplicantID: e.stf.ID, AbsenceTypeID: e.typ.ID, State: sim.StateApproved, AllDay: true,
		IncludeWeekends: true, StartsAt: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if h := hours(); h != float64(72) {
		t.Fatalf("hours after seeding one more day = %v, want 72", h)
	}
	if status, _, _ := e.do(t, req{method: "DELETE", path: "/absences/" + aid}); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if h := hours(); h != float64(24) {
		t.Fatalf("hours after deleting = %v, want 24", h)
	}

	// Timers: a break added and deleted through the API changes the timer's durations.
	status, _, wt := e.do(t, req{method: "POST", path: "/work_timers", body: `{"user_id":` + uid + `,"starts_at":"2026-03-10T08:00:00+01:00","ends_at":"2026-03-10T16:00:00+01:00"}`})
	if status != 200 || wt["break_duration"] != float64(0) || wt["net_duration"] != float64(8*3600) {
		t.Fatalf("timer: %d %v", status, wt)
	}
	wid := strconv.FormatInt(int64(wt["id"].(float64)), 10)
	status, _, b := e.do(t, req{method: "POST", path: "/work_timers/" + wid + "/break_timers", body: `{"starts_at":"2026-03-10T12:00:00+01:00","ends_at":"2026-03-10T12:45:00+01:00"}`})
	if status != 200 {
		t.Fatalf("break: %d %v", status, b)
	}
	timers := e.getList(t, "/work_timers?user_ids[]="+uid)
	if len(timers) != 1 || timers[0]["break_duration"] != float64(45*60) || timers[0]["net_duration"] != float64(8*3600-45*60) {
		t.Fatalf("timer after the break: %v", timers)
	}
	if got := e.getList(t, "/work_timers/"+wid+"/break_timers"); len(got) != 1 || got[0]["duration"] != float64(45*60) {
		t.Fatalf("nested breaks: %v", got)
	}
	reports := e.getList(t, "/work_reports")
	if len(reports) != 1 || reports[0]["cached_break_duration"] != float64(45*60) || reports[0]["cached_total_duration"] != float64(8*3600) {
		t.Fatalf("work report: %v", reports)
	}
	if status, _, _ := e.do(t, req{method: "DELETE", path: "/break_timers/" + strconv.FormatInt(int64(b["id"].(float64)), 10)}); status != 204 {
		t.Fatalf("delete break: %d", status)
	}
	if _, _, got := e.do(t, req{method: "GET", path: "/work_timers/" + wid}); got["break_duration"] != float64(0) {
		t.Fatalf("timer after deleting the break: %v", got)
	}

	// Departments and locations: membership changes show in user_ids.
	lid := strconv.FormatInt(e.loc.ID, 10)
	status, _, d := e.do(t, req{method: "POST", path: "/locations/" + lid + "/departments", body: `{"name":"Lager"}`})
	if status != 200 || len(idsOf(d["user_ids"])) != 0 {
		t.Fatalf("department: %d %v", status, d)
	}
	did := strconv.FormatInt(int64(d["id"].(float64)), 10)
	if _, _, got := e.do(t, req{method: "PUT", path: "/departments/" + did + "/add_users", body: `{"user_ids":[` + uid + `]}`}); len(idsOf(got["user_ids"])) != 1 {
		t.Fatalf("after add_users: %v", got)
	}
	if _, _, got := e.do(t, req{method: "GET", path: "/departments/" + did}); len(idsOf(got["user_ids"])) != 1 || idsOf(got["user_ids"])[0] != e.stf.ID {
		t.Fatalf("department read after add_users: %v", got)
	}
	if _, _, got := e.do(t, req{method: "PUT", path: "/departments/" + did + "/remove_users", body: `{"user_ids":[` + uid + `]}`}); len(idsOf(got["user_ids"])) != 0 {
		t.Fatalf("after remove_users: %v", got)
	}
	other := e.acc.AddLocation(sim.Location{Name: "Hamburg"})
	nu, err := e.acc.AddUser(sim.User{FirstName: "Neu", LocationIDs: []int64{e.loc.ID, other.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, got := e.do(t, req{method: "GET", path: "/locations/" + lid}); len(idsOf(got["user_ids"])) != 3 || idsOf(got["user_ids"])[2] != nu.ID ||
		got["department_count"] != float64(1) {
		t.Fatalf("location after seeding a user: %v", got)
	}
	// List order and membership of users follow a create through the API.
	status, _, cu := e.do(t, req{method: "POST", path: "/locations/" + lid + "/users", body: `{"first_name":"Via","last_name":"API"}`})
	if status != 200 {
		t.Fatalf("create user: %d %v", status, cu)
	}
	users := e.getList(t, "/users?state=all")
	if len(users) != 4 || int64(users[3]["id"].(float64)) != int64(cu["id"].(float64)) {
		t.Fatalf("users after create: %v", users)
	}
}

// newLargeAccount seeds users with absences and timers, the shape of a real account
// the syncs read page by page.
func newLargeAccount(tb testing.TB, users, absencesPerUser int) (*sim.Server, sim.GenResult) {
	tb.Helper()
	s := sim.New(sim.Config{RateLimit: -1, Now: func() time.Time { return clock }})
	acc, err := s.AddAccount(sim.AccountSpec{Subdomain: "big"})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := acc.Generate(sim.GenSpec{Seed: 1, Users: users, AbsencesPerUser: absencesPerUser, TimersPerDay: 1, Days: 5, End: clock})
	if err != nil {
		tb.Fatal(err)
	}
	return s, res
}

// readAll reads every page of a collection through the handler and returns the records.
func readAll(tb testing.TB, s *sim.Server, path string) int {
	tb.Helper()
	n := 0
	for page := 1; ; page++ {
		r := httptest.NewRequest("GET", path+"&page="+strconv.Itoa(page), nil)
		r.Header.Set("User-Agent", "bench")
		r.SetBasicAuth("admin@big.example.com", "secret-big")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var items []json.RawMessage
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &items) != nil {
			tb.Fatalf("%s page %d: %d", path, page, w.Code)
		}
		if len(items) == 0 {
			return n
		}
		n += len(items)
	}
}

// TestLargeAccountListsEverything reads all users, absences and timers of a 2,000-user
// account page by page, as a sync does.
func TestLargeAccountListsEverything(t *testing.T) {
	s, res := newLargeAccount(t, 2000, 10)
	if n := readAll(t, s, "/v3/big/users.json?state=all"); n != res.Users+1 {
		t.Fatalf("read %d users, want %d", n, res.Users+1)
	}
	if n := readAll(t, s, "/v3/big/absences.json?x=1"); n != res.Absences {
		t.Fatalf("read %d absences, want %d", n, res.Absences)
	}
	if n := readAll(t, s, "/v3/big/work_timers.json?x=1"); n != res.WorkTimers {
		t.Fatalf("read %d timers, want %d", n, res.WorkTimers)
	}
}

// BenchmarkListAllUsers2000 reads every user page of a 2,000-user account with 20,000
// absences (approved_absences_hours is derived from them) and 10,000 work timers.
func BenchmarkListAllUsers2000(b *testing.B) {
	s, res := newLargeAccount(b, 2000, 10)
	b.ResetTimer()
	for b.Loop() {
		if n := readAll(b, s, "/v3/big/users.json?state=all"); n != res.Users+1 {
			b.Fatal(n)
		}
	}
}

// BenchmarkListAllTimers2000 reads every work timer page (durations derive from the
// break timers).
func BenchmarkListAllTimers2000(b *testing.B) {
	s, res := newLargeAccount(b, 2000, 10)
	b.ResetTimer()
	for b.Loop() {
		if n := readAll(b, s, "/v3/big/work_timers.json?x=1"); n != res.WorkTimers {
			b.Fatal(n)
		}
	}
}

// TestCreatedLocationShowsInNextRead: a location created through the API is in the next
// list, and its derived fields (department_count, user_ids, active_users_count) follow
// the departments and memberships added afterwards, although the memo was built before.
func TestCreatedLocationShowsInNextRead(t *testing.T) {
	e := newEnv(t)
	if got := e.getList(t, "/locations"); len(got) != 1 { // builds the memo
		t.Fatalf("locations before: %v", got)
	}
	status, _, l := e.do(t, req{method: "POST", path: "/locations", body: `{"name":"Hamburg"}`})
	if status != 200 {
		t.Fatalf("create: %d %v", status, l)
	}
	lid := strconv.FormatInt(int64(l["id"].(float64)), 10)
	got := e.getList(t, "/locations")
	if len(got) != 2 || got[1]["name"] != "Hamburg" || got[1]["department_count"] != float64(0) {
		t.Fatalf("locations after the create: %v", got)
	}
	status, _, d := e.do(t, req{method: "POST", path: "/locations/" + lid + "/departments", body: `{"name":"Küche"}`})
	if status != 200 {
		t.Fatalf("department: %d %v", status, d)
	}
	did := strconv.FormatInt(int64(d["id"].(float64)), 10)
	uid := strconv.FormatInt(e.stf.ID, 10)
	if status, _, _ := e.do(t, req{method: "PUT", path: "/locations/" + lid + "/departments/" + did + "/add_users", body: `{"user_ids":[` + uid + `]}`}); status != 200 {
		t.Fatalf("add_users: %d", status)
	}
	got = e.getList(t, "/locations")
	if got[1]["department_count"] != float64(1) || got[1]["active_users_count"] != float64(1) || len(idsOf(got[1]["user_ids"])) != 1 || idsOf(got[1]["user_ids"])[0] != e.stf.ID {
		t.Fatalf("new location after a department and a member: %v", got[1])
	}
	if users := e.getList(t, "/locations/"+lid+"/users"); len(users) != 1 || users[0]["id"] != float64(e.stf.ID) {
		t.Fatalf("users of the new location: %v", users)
	}
}
