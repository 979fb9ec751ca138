package staffomaticsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

type env struct {
	s   *sim.Server
	acc *sim.Account
	srv *httptest.Server
	tok string
	own sim.User
	stf sim.User
	loc sim.Location
	typ sim.AbsenceType
}

var clock = time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{s: sim.New(sim.Config{Now: func() time.Time { return clock }})}
	var err error
	if e.acc, err = e.s.AddAccount(sim.AccountSpec{Subdomain: "acme"}); err != nil {
		t.Fatal(err)
	}
	e.loc = e.acc.AddLocation(sim.Location{Name: "Berlin"})
	if e.own, err = e.acc.AddUser(sim.User{Email: "own@x.example", Password: "pw", Role: "admin", LocationIDs: []int64{e.loc.ID}}); err != nil {
		t.Fatal(err)
	}
	if e.stf, err = e.acc.AddUser(sim.User{Email: "stf@x.example", Password: "pw2", LocationIDs: []int64{e.loc.ID}}); err != nil {
		t.Fatal(err)
	}
	if e.typ, err = e.acc.AddAbsenceType(sim.AbsenceType{LocationID: e.loc.ID, Name: "Urlaub", IncludeWeekends: true}); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.s)
	t.Cleanup(e.srv.Close)
	return e
}

type req struct {
	method, path, body string
	user, pass         string // basic auth; "" uses the owner
	noUA, noCT         bool
}

func (e *env) do(t *testing.T, r req) (int, http.Header, map[string]any) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+"/v3/acme"+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	ua := "simtest (t@example.com)"
	if r.noUA {
		ua = "" // an empty value stops net/http from sending its default User-Agent
	}
	hr.Header.Set("User-Agent", ua)
	if r.body != "" && !r.noCT {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if r.user == "" {
		r.user, r.pass = "own@x.example", "pw"
	}
	hr.SetBasicAuth(r.user, r.pass)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

func TestProtocolRules(t *testing.T) {
	e := newEnv(t)
	uid := strconv.FormatInt(e.stf.ID, 10)
	tests := []struct {
		name   string
		r      req
		status int
		errKey string // key expected in the error body
	}{
		{"json suffix", req{method: "GET", path: "/users/" + uid + ".json"}, 200, ""},
		{"no suffix", req{method: "GET", path: "/users/" + uid}, 200, ""},
		{"nested path", req{method: "GET", path: "/locations/" + strconv.FormatInt(e.loc.ID, 10) + "/users/" + uid + ".json"}, 200, ""},
		{"no user agent", req{method: "GET", path: "/account.json", noUA: true}, 400, "error"},
		{"wrong password", req{method: "GET", path: "/account.json", user: "own@x.example", pass: "nope"}, 401, "error"},
		{"staff write", req{method: "PUT", path: "/users/" + uid + ".json", body: `{"do":"lock"}`, user: "stf@x.example", pass: "pw2"}, 403, "error"},
		{"staff read", req{method: "GET", path: "/account.json", user: "stf@x.example", pass: "pw2"}, 200, ""},
		{"unknown record", req{method: "GET", path: "/absences/1.json"}, 404, "error"},
		{"unknown route", req{method: "GET", path: "/shifts_and_more.json"}, 404, "error"},
		{"no content type", req{method: "PUT", path: "/users/" + uid + ".json", body: `{"do":"lock"}`, noCT: true}, 415, "error"},
		{"validation", req{method: "POST", path: "/absences.json", body: `{"applicant_id":` + uid + `}`}, 422, "errors"},
		{"bad action", req{method: "PUT", path: "/users/" + uid + ".json", body: `{"do":"explode"}`}, 422, "errors"},
		{"bad filter", req{method: "GET", path: "/absences.json?from=yesterday"}, 400, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do(t, tt.r)
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, body)
			}
			if tt.errKey != "" && body[tt.errKey] == nil {
				t.Fatalf("error body %v lacks %q", body, tt.errKey)
			}
		})
	}
	// Nothing was changed by the refused writes.
	if u, _ := e.acc.User(e.stf.ID); u.LockedAt != nil {
		t.Fatal("a refused lock was stored")
	}
	if n := e.s.CallCount("PUT", "/users/{id}"); n != 3 {
		t.Fatalf("PUT /users/{id} counted %d, want 3", n)
	}
}

// TestRateLimitHeaders: the documented 429 carries X-RateLimit-Limit, -Remaining and
// -Reset and nothing else; a Retry-After is not documented, so a client must recover
// from the X-RateLimit-* headers alone.
func TestRateLimitHeaders(t *testing.T) {
	e := newEnv(t)
	e.s.SetRateLimit(2, time.Minute)
	var last http.Header
	for i := range 3 {
		status, h, _ := e.do(t, req{method: "GET", path: "/account"})
		want := []int{200, 200, 429}[i]
		if status != want {
			t.Fatalf("request %d: %d, want %d", i, status, want)
		}
		last = h
	}
	if last.Get("X-RateLimit-Limit") != "2" || last.Get("X-RateLimit-Remaining") != "0" || last.Get("Retry-After") != "" {
		t.Fatalf("headers = %v", last)
	}
	reset, err := strconv.ParseInt(last.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || reset < time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() {
		t.Fatalf("X-RateLimit-Reset = %q", last.Get("X-RateLimit-Reset"))
	}
}

func TestAbsenceLifecycle(t *testing.T) {
	e := newEnv(t)
	uid := strconv.FormatInt(e.stf.ID, 10)
	tid := strconv.FormatInt(e.typ.ID, 10)
	// All-day: times are normalised to 00:00:00 … 23:59:59 in the account zone (recorded).
	status, _, a := e.do(t, req{method: "POST", path: "/locations/" + strconv.FormatInt(e.loc.ID, 10) + "/absences.json",
		body: `{"starts_at":"2026-07-20T07:20:00.000+02:00","ends_at":"2026-07-22T07:40:00.000+02:00","applicant_id":` + uid +
			`,"absence_type_id":` + tid + `,"all_day":true,"include_weekends":true,"commentable":"false"}`})
	if status != 200 || a["starts_at"] != "2026-07-20T00:00:00+02:00" || a["ends_at"] != "2026-07-22T23:59:59+02:00" ||
		a["state"] != "new" || a["adjusted_duration"] != float64(3*86400) || a["commentable"] != false {
		t.Fatalf("create: %d %v", status, a)
	}
	id := strconv.FormatInt(int64(a["id"].(float64)), 10)
	steps := []struct {
		body   string
		status int
		state  string
	}{
		{`{"justification":"Hochzeit"}`, 200, "new"},
		{`{"do":"approve","handle_applications":"destroy"}`, 200, "approved"},
		{`{"do":"decline"}`, 422, ""},
		{`{"justification":"changed"}`, 422, ""},
	}
	for i, st := range steps {
		status, _, body := e.do(t, req{method: "PATCH", path: "/absences/" + id, body: st.body})
		if status != st.status || (st.state != "" && body["state"] != st.state) {
			t.Fatalf("step %d: %d %v", i, status, body)
		}
	}
	stored := e.acc.Absences()[0]
	if stored.State != sim.StateApproved || stored.Justification != "Hochzeit" || stored.ProcessedAt == nil {
		t.Fatalf("stored = %+v", stored)
	}
	if status, _, _ := e.do(t, req{method: "DELETE", path: "/absences/" + id + ".json"}); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if len(e.acc.Absences()) != 0 {
		t.Fatal("absence not deleted")
	}
	types := []string{}
	for _, ev := range e.acc.Events() {
		types = append(types, ev.Type)
	}
	want := []string{"absence_created_event", "absence_updated_event", "absence_approved_event", "absence_destroyed_event"}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("events = %v", types)
	}
}

func TestWorkTimerStateMachine(t *testing.T) {
	e := newEnv(t)
	uid := strconv.FormatInt(e.stf.ID, 10)
	status, _, wt := e.do(t, req{method: "POST", path: "/work_timers.json", body: `{"user_id":` + uid + `,"starts_at":"2026-03-10 08:00:00.000+01:00","do":"start"}`})
	if status != 200 || wt["state"] != "running" || wt["ends_at"] != nil || wt["location_id"] != nil {
		t.Fatalf("start: %d %v", status, wt)
	}
	id := strconv.FormatInt(int64(wt["id"].(float64)), 10)
	steps := []struct {
		method, path, body string
		status             int
		check              func(map[string]any) bool
	}{
		{"PUT", "/work_timers/" + id, `{"do":"verify"}`, 422, nil},
		{"POST", "/work_timers/" + id + "/break_timers", `{"starts_at":"2026-03-10T12:00:00+01:00","do":"start"}`, 200,
			func(b map[string]any) bool { return b["ends_at"] == nil && b["duration"] == float64(0) }},
		{"PUT", "/work_timers/" + id, `{"do":"stop","ends_at":"2026-03-10T16:30:00+01:00"}`, 200,
			func(b map[string]any) bool {
				// The running break ends with the timer: 12:00–16:30 = 4.5 h of break.
				return b["state"] == "stopped" && b["duration"] == float64(8.5*3600) && b["break_duration"] == float64(4.5*3600) && b["net_duration"] == float64(4*3600)
			}},
		{"PATCH", "/work_timers/" + id, `{"do":"verify"}`, 200, func(b map[string]any) bool { return b["state"] == "verified" }},
		{"PUT", "/work_timers/" + id, `{"do":"stop"}`, 422, nil},
	}
	for i, st := range steps {
		status, _, body := e.do(t, req{method: st.method, path: st.path, body: st.body})
		if status != st.status || (st.check != nil && !st.check(body)) {
			t.Fatalf("step %d (%s %s %s): %d %v", i, st.method, st.path, st.body, status, body)
		}
	}
}

func TestUsersAndDepartments(t *testing.T) {
	e := newEnv(t)
	lid := strconv.FormatInt(e.loc.ID, 10)
	status, _, d := e.do(t, req{method: "POST", path: "/locations/" + lid + "/departments.json", body: `{"name":"Küche","position":2}`})
	if status != 200 || d["location_id"] != float64(e.loc.ID) || d["position"] != float64(2) {
		t.Fatalf("department: %d %v", status, d)
	}
	did := strconv.FormatInt(int64(d["id"].(float64)), 10)
	status, _, u := e.do(t, req{method: "POST", path: "/locations/" + lid + "/users.json",
		body: `{"first_name":"Peter","last_name":"Quill","custom_id":4711,"department_ids":[` + did + `]}`})
	if status != 200 || u["custom_id"] != "4711" || u["email"] != nil || u["locked_at"] != nil || u["invitation_state"] != nil {
		t.Fatalf("user: %d %v", status, u)
	}
	uid := strconv.FormatInt(int64(u["id"].(float64)), 10)
	if status, _, u = e.do(t, req{method: "PUT", path: "/users/" + uid, body: `{"do":"lock"}`}); status != 200 || u["locked_at"] != "2026-03-11T10:00:00+01:00" {
		t.Fatalf("lock: %d %v", status, u)
	}
	// state filters
	for state, want := range map[string]int{"": 2, "active": 2, "all": 3, "locked": 1, "pending": 0} {
		path := "/users.json"
		if state != "" {
			path += "?state=" + state
		}
		hr, _ := http.NewRequest("GET", e.srv.URL+"/v3/acme"+path, nil)
		hr.Header.Set("User-Agent", "x")
		hr.SetBasicAuth("own@x.example", "pw")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if len(list) != want {
			t.Fatalf("state %q: %d users, want %d", state, len(list), want)
		}
	}
	if status, _, d = e.do(t, req{method: "PUT", path: "/locations/" + lid + "/departments/" + did + "/remove_users.json", body: `{"user_ids":[` + uid + `]}`}); status != 200 || len(d["user_ids"].([]any)) != 0 {
		t.Fatalf("remove_users: %d %v", status, d)
	}
	if status, _, _ = e.do(t, req{method: "PUT", path: "/locations/" + lid + "/departments/" + did + "/add_users.json", body: `{"user_ids":[999]}`}); status != 422 {
		t.Fatalf("add unknown user: %d", status)
	}
}

func TestFaultsAndInspection(t *testing.T) {
	e := newEnv(t)
	e.s.InjectFault(sim.Fault{Method: "GET", Route: "/account", Status: 502, Times: 2})
	for i, want := range []int{502, 502, 200} {
		if status, _, _ := e.do(t, req{method: "GET", path: "/account"}); status != want {
			t.Fatalf("request %d: %d, want %d", i, status, want)
		}
	}
	if e.s.CallCount("GET", "/account") != 3 || e.s.WriteCalls() != 0 {
		t.Fatalf("calls = %+v", e.s.Calls())
	}
	for _, c := range e.s.Calls() {
		if c.Auth != "basic" || c.Subdomain != "acme" {
			t.Fatalf("call = %+v", c)
		}
	}
	e.s.ResetCalls()
	if len(e.s.Calls()) != 0 {
		t.Fatal("calls not reset")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	gen := func() (*sim.Account, sim.GenResult) {
		s := sim.New(sim.Config{Now: func() time.Time { return clock }})
		acc, err := s.AddAccount(sim.AccountSpec{Subdomain: "big"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := acc.Generate(sim.GenSpec{Seed: 42, Users: 60, Locations: 2, TimersPerDay: 2, Days: 5, AbsencesPerUser: 2, End: clock})
		if err != nil {
			t.Fatal(err)
		}
		return acc, res
	}
	a1, r1 := gen()
	a2, r2 := gen()
	if r1.Users != 60 || r1.WorkTimers != 60*2*5 || r1.Absences != 120 || len(r1.Locations) != 2 {
		t.Fatalf("result = %+v", r1)
	}
	if !reflect.DeepEqual(r1, r2) || !reflect.DeepEqual(a1.Users(), a2.Users()) || !reflect.DeepEqual(a1.WorkTimers(), a2.WorkTimers()) ||
		!reflect.DeepEqual(a1.Absences(), a2.Absences()) || !reflect.DeepEqual(a1.BreakTimers(), a2.BreakTimers()) {
		t.Fatal("the same spec generated different accounts")
	}
	for _, wt := range a1.WorkTimers() {
		g, b, n, ok := a1.Durations(wt.ID)
		if !ok || wt.State == sim.TimerRunning || g <= 0 || n != g-b {
			t.Fatalf("timer %+v: %d/%d/%d", wt, g, b, n)
		}
	}
}

// BenchmarkListUsersPage measures one page of users with the simulator's encoding.
func BenchmarkListUsersPage(b *testing.B) {
	s := sim.New(sim.Config{RateLimit: -1})
	acc, _ := s.AddAccount(sim.AccountSpec{Subdomain: "big"})
	if _, err := acc.Generate(sim.GenSpec{Seed: 1, Users: 500}); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v3/big/users.json?state=all&page=3", nil)
	r.Header.Set("User-Agent", "bench")
	r.SetBasicAuth("admin@big.example.com", "secret-big")
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestCreateLocation: POST /locations is for admins, validates the name (blank and
// duplicate names answer 422 with Rails' errors map), stores the documented writable
// fields, answers the location as GET renders it, and is recorded like every write.
func TestCreateLocation(t *testing.T) {
	e := newEnv(t)
	if status, _, m := e.do(t, req{method: "POST", path: "/locations.json", body: `{"name":"Hamburg"}`, user: "stf@x.example", pass: "pw2"}); status != 403 || m["error"] == nil {
		t.Fatalf("staff create: %d %v", status, m)
	}
	for _, c := range []struct{ body, field, msg string }{
		{`{"name":"  "}`, "name", "can't be blank"},
		{`{"slot_minutes":30}`, "name", "can't be blank"},
		{`{"name":" berlin "}`, "name", "has already been taken"},
		{`{"name":"Kiel","slot_minutes":"viele"}`, "slot_minutes", "is not a number"},
		{`{"name":"Kiel","first_day_of_week":9}`, "first_day_of_week", "is not included in the list"},
	} {
		status, _, m := e.do(t, req{method: "POST", path: "/locations.json", body: c.body})
		errs, _ := m["errors"].(map[string]any)
		if status != 422 || errs == nil || !reflect.DeepEqual(errs[c.field], []any{c.msg}) {
			t.Fatalf("%s: %d %v", c.body, status, m)
		}
	}
	if status, _, _ := e.do(t, req{method: "POST", path: "/locations.json", body: `{"name":"Kiel"}`, noCT: true}); status != 415 {
		t.Fatalf("create without Content-Type: %d", status)
	}
	if n := len(e.acc.Locations()); n != 1 {
		t.Fatalf("%d locations after refused creates, want 1", n)
	}

	// The documented example body, with numbers as strings as the docs send them.
	status, _, l := e.do(t, req{method: "POST", path: "/locations.json", body: `{"name":" Hamburg ","allow_self_assign":true,` +
		`"applications_visible":false,"assignments_visible":false,"default_event_minutes":30,"first_day_of_week":0,` +
		`"manners_address":"first_name","max_time":"22","min_time":"6","notes_visible":true,"slot_minutes":"15",` +
		`"swap_shifts":false,"users_sort_by":"working_hours"}`})
	if status != 200 {
		t.Fatalf("create: %d %v", status, l)
	}
	want := map[string]any{"name": "Hamburg", "allow_self_assign": true, "default_event_minutes": float64(30), "first_day_of_week": float64(0),
		"manners_address": "first_name", "max_time": float64(22), "min_time": float64(6), "slot_minutes": float64(15), "swap_shifts": false,
		"users_sort_by": "working_hours", "notes_visible": true, "default_view": "list_week", "active_users_count": float64(0),
		"department_count": float64(0), "created_at": "2026-03-11T10:00:00+01:00"}
	for k, v := range want {
		if !reflect.DeepEqual(l[k], v) {
			t.Errorf("created %s = %v, want %v", k, l[k], v)
		}
	}
	if ids, ok := l["user_ids"].([]any); !ok || len(ids) != 0 {
		t.Errorf("created user_ids = %v, want []", l["user_ids"])
	}
	lid := strconv.FormatInt(int64(l["id"].(float64)), 10)
	if status, _, got := e.do(t, req{method: "GET", path: "/locations/" + lid + ".json"}); status != 200 || !reflect.DeepEqual(got, l) {
		t.Fatalf("GET differs from the create answer:\n%v\n%v", got, l)
	}
	if e.s.CallCount("POST", "/locations") != 8 || e.s.WriteCalls() != 8 {
		t.Fatalf("calls: %d POST /locations, %d writes", e.s.CallCount("POST", "/locations"), e.s.WriteCalls())
	}
	stored := e.acc.Locations()
	if len(stored) != 2 || stored[1].Name != "Hamburg" || stored[1].Settings.SlotMinutes != 15 || stored[1].FirstDayOfWeek != 0 {
		t.Fatalf("stored: %+v", stored)
	}
	events := e.getList(t, "/events.json?delivery_state=all&event_type[]=location")
	if len(events) != 1 || events[0]["eventable_id"] != l["id"] || events[0]["location_id"] != l["id"] {
		t.Fatalf("events: %v", events)
	}
	// A seeded location without settings renders the defaults.
	if _, _, got := e.do(t, req{method: "GET", path: "/locations/" + strconv.FormatInt(e.loc.ID, 10)}); got["slot_minutes"] != float64(30) || got["swap_shifts"] != true {
		t.Fatalf("seeded location: %v", got)
	}
}

// TestSignInFollowsUserChanges: Basic-auth sign-in (remembered per e-mail) follows the
// user's record: a changed e-mail signs in only under the new one, a locked user not at
// all, a wrong password never, an e-mail in another case still does.
func TestSignInFollowsUserChanges(t *testing.T) {
	e := newEnv(t)
	uid := strconv.FormatInt(e.stf.ID, 10)
	as := func(user, pass string) int {
		code, _, _ := e.do(t, req{method: "GET", path: "/account.json", user: user, pass: pass})
		return code
	}
	steps := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"staff signs in", "stf@x.example", "pw2", 200},
		{"again, remembered", "stf@x.example", "pw2", 200},
		{"other case", "STF@x.example", "pw2", 200},
		{"wrong password", "stf@x.example", "nope", 401},
	}
	for _, s := range steps {
		if got := as(s.user, s.pass); got != s.want {
			t.Fatalf("%s: %d, want %d", s.name, got, s.want)
		}
	}
	if code, _, body := e.do(t, req{method: "PUT", path: "/users/" + uid + ".json", body: `{"email":"new@x.example"}`}); code != 200 {
		t.Fatalf("change e-mail: %d %v", code, body)
	}
	if got := as("stf@x.example", "pw2"); got != 401 {
		t.Fatalf("old e-mail after the change: %d", got)
	}
	if got := as("new@x.example", "pw2"); got != 200 {
		t.Fatalf("new e-mail: %d", got)
	}
	if code, _, body := e.do(t, req{method: "PUT", path: "/users/" + uid + ".json", body: `{"do":"lock"}`}); code != 200 {
		t.Fatalf("lock: %d %v", code, body)
	}
	if got := as("new@x.example", "pw2"); got != 401 {
		t.Fatalf("locked user: %d", got)
	}
}
