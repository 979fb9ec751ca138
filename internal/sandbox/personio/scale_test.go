package personiosim_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// company is a generated company served through the handler (no network), with a v1
// and a v2 token.
type company struct {
	sim        *personiosim.Server
	g          personiosim.Generated
	v1, v2     string
	employees  []personiosim.Employee
	absences   []personiosim.AbsencePeriod
	attendance []personiosim.AttendancePeriod
}

func newCompany(tb testing.TB, employees, absencesEach, attendanceDays int) *company {
	tb.Helper()
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	sim := personiosim.New(personiosim.Config{NoRateLimits: true, Now: func() time.Time { return now }})
	tb.Cleanup(sim.Close)
	sim.AddCredential(personiosim.Credential{ClientID: "id", ClientSecret: "secret"})
	c := &company{sim: sim, g: sim.Generate(personiosim.GenerateOptions{Employees: employees, Seed: 5, Year: 2026,
		AbsencesPerEmployee: absencesEach, AttendanceDays: attendanceDays})}
	var tok struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
		AccessToken string `json:"access_token"`
	}
	if code, raw := c.serve("POST", "/v1/auth", "application/json", `{"client_id":"id","client_secret":"secret"}`, ""); code != 200 || json.Unmarshal(raw, &tok) != nil {
		tb.Fatalf("v1 auth: %d %s", code, raw)
	}
	c.v1 = tok.Data.Token
	if code, raw := c.serve("POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=id&client_secret=secret", ""); code != 200 || json.Unmarshal(raw, &tok) != nil {
		tb.Fatalf("v2 auth: %d %s", code, raw)
	}
	c.v2 = tok.AccessToken
	c.employees, c.absences, c.attendance = sim.Employees(), sim.AbsencePeriods(), sim.AttendancePeriods()
	return c
}

func (c *company) serve(method, target, contentType, body, token string) (int, []byte) {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	c.sim.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// listV2 follows the next links of a v2 list and returns the ids in the order read.
func (c *company) listV2(tb testing.TB, target string) []string {
	tb.Helper()
	var ids []string
	for target != "" {
		code, raw := c.serve("GET", target, "", "", c.v2)
		var page v2Page
		if code != 200 || json.Unmarshal(raw, &page) != nil {
			tb.Fatalf("GET %s: %d %s", target, code, raw)
		}
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		target = page.Meta.Links["next"].Href
		if i := strings.Index(target, "/v2/"); i > 0 {
			target = target[i:]
		}
	}
	return ids
}

// TestV2IDListFilters: id and person.id lists (long ones included) select exactly the
// periods whose id is one of the listed values, in store order.
func TestV2IDListFilters(t *testing.T) {
	c := newCompany(t, 300, 4, 3)
	var persons []string
	for i, e := range c.employees {
		if i%3 == 0 {
			persons = append(persons, strconv.FormatInt(e.ID, 10))
		}
	}
	// A duplicate, an empty, an unknown and a padded value (which matches nobody).
	persons = append(persons, persons[0], "", "999999", " "+strconv.FormatInt(c.employees[1].ID, 10))
	abs := func(keep func(personiosim.AbsencePeriod) bool) []string {
		var out []string
		for _, p := range c.absences {
			if keep(p) {
				out = append(out, p.ID)
			}
		}
		return out
	}
	att := func(keep func(personiosim.AttendancePeriod) bool) []string {
		var out []string
		for _, p := range c.attendance {
			if keep(p) {
				out = append(out, p.ID)
			}
		}
		return out
	}
	listed := func(p int64) bool { return slices.Contains(persons, strconv.FormatInt(p, 10)) }
	someAbs := []string{c.absences[3].ID, c.absences[len(c.absences)/2].ID, "nope", c.absences[len(c.absences)-1].ID}
	someAtt := []string{c.attendance[len(c.attendance)-1].ID, c.attendance[0].ID}
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"/v2/absence-periods?limit=50&person.id=" + join(persons), abs(func(p personiosim.AbsencePeriod) bool { return listed(p.PersonID) })},
		{"/v2/absence-periods?id=" + join(someAbs), abs(func(p personiosim.AbsencePeriod) bool { return slices.Contains(someAbs, p.ID) })},
		{"/v2/absence-periods?limit=7&id=" + join(someAbs) + "&person.id=" + join(persons), abs(func(p personiosim.AbsencePeriod) bool {
			return slices.Contains(someAbs, p.ID) && listed(p.PersonID)
		})},
		{"/v2/attendance-periods?limit=100&person.id=" + join(persons), att(func(p personiosim.AttendancePeriod) bool { return listed(p.PersonID) })},
		{"/v2/attendance-periods?id=" + join(someAtt), att(func(p personiosim.AttendancePeriod) bool { return slices.Contains(someAtt, p.ID) })},
	} {
		if got := c.listV2(t, tc.target); !slices.Equal(got, tc.want) || len(got) == 0 {
			t.Fatalf("%.80s…: %d ids, want %d", tc.target, len(got), len(tc.want))
		}
	}
}

func join(ids []string) string { return url.QueryEscape(strings.Join(ids, ",")) }

// BenchmarkV2LongPersonIDList reads the absence periods of 1,000 of 5,000 employees
// (person.id with 1,000 ids) out of 100,000, page by page.
func BenchmarkV2LongPersonIDList(b *testing.B) {
	c := newCompany(b, 5000, 20, 0)
	var persons []string
	want := 0
	for i, e := range c.employees {
		if i%5 == 0 {
			persons = append(persons, strconv.FormatInt(e.ID, 10))
		}
	}
	for _, p := range c.absences {
		if slices.Contains(persons, strconv.FormatInt(p.PersonID, 10)) {
			want++
		}
	}
	target := "/v2/absence-periods?limit=100&person.id=" + join(persons)
	for b.Loop() {
		if got := c.listV2(b, target); len(got) != want {
			b.Fatalf("read %d, want %d", len(got), want)
		}
	}
}

// BenchmarkV1Balance asks for the balance of one employee with entitlements for every
// time-off type, in a company of 5,000 employees with 100,000 absence periods.
func BenchmarkV1Balance(b *testing.B) {
	c := newCompany(b, 5000, 20, 0)
	id := c.employees[len(c.employees)/2].ID
	if err := c.sim.UpdateEmployee(id, func(e *personiosim.Employee) {
		for _, t := range c.g.TimeOffTypes {
			e.Entitlements[t.ID] = 20
		}
	}); err != nil {
		b.Fatal(err)
	}
	target := "/v1/company/employees/" + strconv.FormatInt(id, 10) + "/absences/balance"
	for b.Loop() {
		if code, raw := c.serve("GET", target, "", "", c.v1); code != 200 {
			b.Fatalf("%d %s", code, raw)
		}
	}
}
