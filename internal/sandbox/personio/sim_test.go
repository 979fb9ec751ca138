package personiosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

type fixture struct {
	sim *personiosim.Server
	srv *httptest.Server
	g   personiosim.Generated
}

func start(t *testing.T, cfg personiosim.Config) *fixture {
	t.Helper()
	if cfg.RateLimits == nil {
		cfg.NoRateLimits = true
	}
	sim := personiosim.New(cfg)
	sim.AddCredential(personiosim.Credential{ClientID: "id", ClientSecret: "secret"})
	g := sim.Generate(personiosim.GenerateOptions{Employees: 12, Seed: 4, Year: 2026, AbsencesPerEmployee: 1})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return &fixture{sim, srv, g}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(t *testing.T, method, path, contentType, body, token string) resp {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	out := resp{status: r.StatusCode, header: r.Header, raw: string(b)}
	_ = json.Unmarshal(b, &out.body)
	return out
}

func (f *fixture) v1Token(t *testing.T) string {
	r := f.do(t, "POST", "/v1/auth", "application/json", `{"client_id":"id","client_secret":"secret"}`, "")
	if r.status != 200 {
		t.Fatalf("v1 auth: %d %s", r.status, r.raw)
	}
	return r.body["data"].(map[string]any)["token"].(string)
}

func (f *fixture) v2Token(t *testing.T) string {
	r := f.do(t, "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=id&client_secret=secret", "")
	if r.status != 200 {
		t.Fatalf("v2 auth: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

func TestAuth(t *testing.T) {
	f := start(t, personiosim.Config{})
	tests := []struct {
		name, method, path, ct, body string
		wantStatus                   int
		wantInBody                   string
	}{
		{"v1 form", "POST", "/v1/auth", "application/x-www-form-urlencoded", "client_id=id&client_secret=secret", 200, `"token":"papi-`},
		{"v1 json", "POST", "/v1/auth", "application/json", `{"client_id":"id","client_secret":"secret"}`, 200, `"expires_in":86`},
		{"v1 wrong secret", "POST", "/v1/auth", "application/json", `{"client_id":"id","client_secret":"nope"}`, 401, `"success":false`},
		{"v2 form", "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=id&client_secret=secret", 200, `"token_type":"Bearer"`},
		{"v2 json refused", "POST", "/v2/auth/token", "application/json", `{"grant_type":"client_credentials","client_id":"id","client_secret":"secret"}`, 400, `"error":"invalid_request"`},
		{"v2 missing grant", "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "client_id=id&client_secret=secret", 400, `"missing_parameters":["grant_type"]`},
		{"v2 wrong secret", "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=id&client_secret=x", 400, `"error":"invalid_client"`},
		{"v1 no token", "GET", "/v1/company/employees", "", "", 401, "Authorization is not provided"},
		{"v2 no token", "GET", "/v2/absence-periods", "", "", 401, `"errors"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, tt.ct, tt.body, "")
			if r.status != tt.wantStatus || !strings.Contains(r.raw, tt.wantInBody) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	t.Run("tokens are stable, echoed and expire", func(t *testing.T) {
		clock := &struct {
			sync.Mutex
			t time.Time
		}{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		now := func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.t }
		f := start(t, personiosim.Config{Now: now, TokenTTL: time.Hour})
		a, b := f.v1Token(t), f.v1Token(t)
		if a != b {
			t.Fatal("same credentials must get the same token within its lifetime")
		}
		r := f.do(t, "GET", "/v1/company/time-off-types", "", "", a)
		if r.status != 200 || r.header.Get("Authorization") != "Bearer "+a {
			t.Fatalf("%d, echoed %q", r.status, r.header.Get("Authorization"))
		}
		v2 := f.v2Token(t)
		clock.Lock()
		clock.t = clock.t.Add(2 * time.Hour)
		clock.Unlock()
		if r := f.do(t, "GET", "/v1/company/time-off-types", "", "", a); r.status != 403 || !strings.Contains(r.raw, "Provided authorization is not valid") {
			t.Fatalf("expired v1: %d %s", r.status, r.raw)
		}
		if r := f.do(t, "GET", "/v2/absence-periods", "", "", v2); r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("expired v2: %d %s", r.status, r.raw)
		}
		if c := f.v1Token(t); c == a {
			t.Fatal("a new token must be issued after expiry")
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		f := start(t, personiosim.Config{})
		f.sim.AddCredential(personiosim.Credential{ClientID: "ro", ClientSecret: "s", Scopes: []string{"personio:absences:read"}})
		r := f.do(t, "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=ro&client_secret=s", "")
		tok := r.body["access_token"].(string)
		if r := f.do(t, "GET", "/v2/absence-periods", "", "", tok); r.status != 200 {
			t.Fatalf("read: %d", r.status)
		}
		if r := f.do(t, "GET", "/v2/attendance-periods", "", "", tok); r.status != 403 || !strings.Contains(r.raw, "Insufficient access scope") {
			t.Fatalf("attendances without scope: %d %s", r.status, r.raw)
		}
	})
}

func TestV1EmployeesShape(t *testing.T) {
	f := start(t, personiosim.Config{})
	tok := f.v1Token(t)
	if r := f.do(t, "GET", "/v1/company/employees?limit=101", "", "", tok); r.status != 400 || !strings.Contains(r.raw, "The limit must be between 1 and 100.") {
		t.Fatalf("limit 101: %d %s", r.status, r.raw)
	}
	summer := f.sim.AddEmployee(personiosim.Employee{FirstName: "Sommer", LastName: "Kind", Email: "sommer@example.com",
		HireDate: personiosim.Date(2024, 7, 1), WeeklyHours: 37.5, OfficeID: f.g.Offices[0].ID})
	r := f.do(t, "GET", "/v1/company/employees?limit=5&offset=10", "", "", tok)
	meta := r.body["metadata"].(map[string]any)
	if r.status != 200 || meta["current_page"] != 2.0 || meta["total_elements"] != 13.0 || meta["total_pages"] != 3.0 ||
		r.body["offset"] != 10.0 || r.body["limit"] != 5.0 || len(r.body["data"].([]any)) != 3 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	last := r.body["data"].([]any)[2].(map[string]any)["attributes"].(map[string]any)
	get := func(k string) any { return last[k].(map[string]any)["value"] }
	if get("id") != float64(summer.ID) || get("weekly_working_hours") != "37.5" || get("hire_date") != "2024-07-01T00:00:00+02:00" ||
		get("team") != nil || get("office").(map[string]any)["attributes"].(map[string]any)["name"] != "Berlin" {
		t.Fatalf("attributes %v", last)
	}
	if _, present := last["vacation_day_balance"]; present {
		t.Fatal("vacation_day_balance was removed from responses in 2024")
	}
	if err := f.sim.SetAttributeWhitelist("id", []string{"first_name"}); err != nil {
		t.Fatal(err)
	}
	r = f.do(t, "GET", "/v1/company/employees?limit=1&email=SOMMER@example.com", "", "", tok)
	attrs := r.body["data"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
	if len(attrs) != 2 || attrs["first_name"] == nil || attrs["id"] == nil {
		t.Fatalf("whitelist/email filter: %v", attrs)
	}
	if r := f.do(t, "GET", "/v1/company/employees/424242", "", "", tok); r.status != 404 || r.raw != `{"error":{"code":0,"message":"Es ist ein Problem aufgetreten"},"success":false}`+"\n" {
		t.Fatalf("404: %d %q", r.status, r.raw)
	}
}

func TestV2PeriodsBehaviour(t *testing.T) {
	f := start(t, personiosim.Config{})
	tok := f.v2Token(t)
	pid := f.g.Employees[0].ID
	person := `{"id":"` + itoa(pid) + `"}`
	vacation := f.g.TimeOffTypes[0].IDv2
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantInBody               string
	}{
		{"absence pending by default", "POST", "/v2/absence-periods", `{"person":` + person + `,"absence_type":{"id":"` + vacation + `"},"starts_from":{"date_time":"2026-11-02T00:00:00"},"ends_at":{"date_time":"2026-11-03T00:00:00"}}`, 201, `"id"`},
		{"absence overlap", "POST", "/v2/absence-periods?skip_approval=true", `{"person":` + person + `,"absence_type":{"id":"` + vacation + `"},"starts_from":{"date_time":"2026-11-03T00:00:00"},"ends_at":{"date_time":"2026-11-04T00:00:00"}}`, 409, "Absence period conflict"},
		{"absence start after end", "POST", "/v2/absence-periods", `{"person":` + person + `,"absence_type":{"id":"` + vacation + `"},"starts_from":{"date_time":"2026-12-05T00:00:00"},"ends_at":{"date_time":"2026-12-04T00:00:00"}}`, 422, "Start date greater than end date"},
		{"absence time with Z", "POST", "/v2/absence-periods", `{"person":` + person + `,"absence_type":{"id":"` + vacation + `"},"starts_from":{"date_time":"2026-12-05T00:00:00Z"}}`, 400, "Invalid request content"},
		{"attendance invalid json", "POST", "/v2/attendance-periods", `{`, 400, "Invalid JSON"},
		{"attendance bad type", "POST", "/v2/attendance-periods", `{"person":` + person + `,"type":"SLEEP","start":{"date_time":"2026-03-02T09:00:00"}}`, 400, "Invalid request content"},
		{"attendance start after end", "POST", "/v2/attendance-periods", `{"person":` + person + `,"type":"WORK","start":{"date_time":"2026-03-02T09:00:00"},"end":{"date_time":"2026-03-02T08:00:00"}}`, 422, "Start date greater than end date"},
		{"attendance too long", "POST", "/v2/attendance-periods", `{"person":` + person + `,"type":"WORK","start":{"date_time":"2026-03-02T09:00:00"},"end":{"date_time":"2026-03-03T10:00:00"}}`, 422, "Period time range too long"},
		{"break with project", "POST", "/v2/attendance-periods", `{"person":` + person + `,"type":"BREAK","project":{"id":"p"},"start":{"date_time":"2026-03-02T12:00:00"},"end":{"date_time":"2026-03-02T12:30:00"}}`, 422, "Break periods with project"},
		{"filter with Z", "GET", "/v2/attendance-periods?start.date_time.gte=2024-06-07T00:00:00Z", "", 400, "Invalid request content"},
		{"limit over 100", "GET", "/v2/absence-periods?limit=101", "", 400, "invalid"},
		{"unknown id", "GET", "/v2/absence-periods/nope", "", 404, "There is no resource for the specified id."},
		{"unknown endpoint", "GET", "/v2/nothing", "", 404, "The endpoint with /v2/nothing was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, "application/json", tt.body, tok)
			if r.status != tt.wantStatus || !strings.Contains(r.raw, tt.wantInBody) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("error content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	var pending int
	for _, p := range f.sim.AbsencePeriods() {
		if p.CreatedViaAPI && p.Status == personiosim.StatusPending {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("skip_approval default must create PENDING, got %d pending", pending)
	}
	t.Run("absolute next links across pages", func(t *testing.T) {
		r := f.do(t, "GET", "/v2/absence-periods?limit=1&person.id="+itoa(pid)+","+itoa(f.g.Employees[1].ID)+","+itoa(f.g.Employees[2].ID), "", "", tok)
		pages := 1
		for {
			next, ok := r.body["_meta"].(map[string]any)["links"].(map[string]any)["next"].(map[string]any)
			if !ok {
				break
			}
			href := next["href"].(string)
			u, _ := url.Parse(href)
			if !u.IsAbs() || u.Query().Get("person.id") == "" || u.Query().Get("limit") != "1" {
				t.Fatalf("next link %q", href)
			}
			r = f.do(t, "GET", u.RequestURI(), "", "", tok)
			pages++
		}
		if pages != 4 { // one generated period each plus the one created above
			t.Fatalf("pages %d", pages)
		}
	})
}

func TestRateLimitsFaultsAndInspection(t *testing.T) {
	f := start(t, personiosim.Config{RateLimits: map[personiosim.Family]personiosim.RateLimit{
		personiosim.FamilyEmployees: {PerSecond: 0.001, Burst: 2},
	}})
	tok := f.v1Token(t)
	var last resp
	for range 3 {
		last = f.do(t, "GET", "/v1/company/employees?limit=1", "", "", tok)
	}
	if last.status != 429 || last.header.Get("Retry-After") != "" || last.header.Get("x-ratelimit-remaining") != "0" ||
		last.header.Get("x-ratelimit-burst-capacity") != "2" || last.header.Get("x-ratelimit-replenish-rate") != "0.001" {
		t.Fatalf("429: %d %v", last.status, last.header)
	}
	f.sim.SetRateLimit(personiosim.FamilyEmployees, personiosim.RateLimit{})
	f.sim.InjectFault("GET /v1/company/time-off-types", 1, personiosim.Fault{})
	f.sim.InjectFault("GET /v1/company/time-off-types", 1, personiosim.Fault{Status: 503})
	codes := []int{}
	for range 3 {
		codes = append(codes, f.do(t, "GET", "/v1/company/time-off-types", "", "", tok).status)
	}
	if !reflect.DeepEqual(codes, []int{200, 503, 200}) {
		t.Fatalf("fault sequence %v", codes)
	}
	if n := f.sim.CallCount("GET /v1/company/time-off-types"); n != 3 {
		t.Fatalf("call count %d", n)
	}
	if f.sim.WriteCalls() != 0 || f.sim.MethodCount("GET") != 6 {
		t.Fatalf("writes %d gets %d", f.sim.WriteCalls(), f.sim.MethodCount("GET"))
	}
	v2 := f.v2Token(t)
	f.do(t, "DELETE", "/v2/absence-periods/"+f.sim.AbsencePeriods()[0].ID, "", "", v2)
	if f.sim.WriteCalls() != 1 {
		t.Fatalf("writes %d", f.sim.WriteCalls())
	}
	t.Run("auth cool-down", func(t *testing.T) {
		f := start(t, personiosim.Config{RateLimits: map[personiosim.Family]personiosim.RateLimit{
			// A bucket that refills within a few ms: wall-clock timing decides whether the
			// second call finds a token, so this checks only that the cool-down answers 429
			// without Retry-After once it started. The cool-down's timing itself is tested
			// on synthetic times in TestBucketCooldown.
			personiosim.FamilyAuthV1: {PerSecond: 1e-6, Burst: 1, Cooldown: time.Hour},
		}})
		f.v1Token(t)
		for _, call := range []string{"second auth", "during cool-down"} {
			r := f.do(t, "POST", "/v1/auth", "application/json", `{"client_id":"id","client_secret":"secret"}`, "")
			if r.status != 429 || r.header.Get("Retry-After") != "" {
				t.Fatalf("%s: %d, Retry-After %q", call, r.status, r.header.Get("Retry-After"))
			}
		}
	})
}

func TestGeneratorIsDeterministic(t *testing.T) {
	gen := func(seed uint64) []personiosim.Employee {
		s := personiosim.New(personiosim.Config{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
		s.Generate(personiosim.GenerateOptions{Employees: 200, Seed: seed, AbsencesPerEmployee: 2, AttendanceDays: 3})
		return s.Employees()
	}
	a, b, c := gen(1), gen(1), gen(2)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed must give the same company")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds must differ")
	}
	emails := map[string]bool{}
	statuses := map[string]int{}
	for _, e := range a {
		if emails[e.Email] || e.Email == "" || e.WeeklyHours <= 0 || e.HireDate.IsZero() || e.OfficeID == 0 {
			t.Fatalf("unrealistic employee %+v", e)
		}
		emails[e.Email] = true
		statuses[e.Status]++
	}
	if len(statuses) < 3 {
		t.Fatalf("status mix %v", statuses)
	}
}

func TestWebhookDelivery(t *testing.T) {
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
	}))
	defer recv.Close()
	f := start(t, personiosim.Config{})
	tok := f.v2Token(t)
	body := `{"url":"` + recv.URL + `","description":"d","status":"ENABLED","auth_type":"TOKEN","token":"tkn","enabled_events":["person.updated","attendance-period.created"]}`
	if r := f.do(t, "POST", "/v2/webhooks", "application/json", body, tok); r.status != 201 || r.body["id"] == "" {
		t.Fatalf("create webhook %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v2/webhooks", "application/json", strings.Replace(body, recv.URL, "http://example.com/x", 1), tok); r.status != 422 {
		t.Fatalf("plain http to a public host must be refused: %d", r.status)
	}
	if err := f.sim.UpdateEmployee(f.g.Employees[0].ID, func(e *personiosim.Employee) { e.Position = "Koch" }); err != nil {
		t.Fatal(err)
	}
	f.sim.WaitWebhooks()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "tkn ") || !strings.Contains(got[0], `"event_name":"person.updated"`) ||
		!strings.Contains(got[0], `"payload":{"id":"`+itoa(f.g.Employees[0].ID)+`"}`) {
		t.Fatalf("deliveries %q", got)
	}
	if d := f.sim.Deliveries(); len(d) != 1 || d[0].Status != 200 {
		t.Fatalf("recorded deliveries %+v", d)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
