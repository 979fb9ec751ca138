package personiosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// largeCompany is a company of n employees with absences and attendances, served over
// HTTP, with a v2 token.
func largeCompany(tb testing.TB, n int) (*personiosim.Server, *httptest.Server, personiosim.Generated, string) {
	tb.Helper()
	sim := personiosim.New(personiosim.Config{NoRateLimits: true})
	sim.AddCredential(personiosim.Credential{ClientID: "id", ClientSecret: "secret"})
	g := sim.Generate(personiosim.GenerateOptions{Employees: n, Seed: 9, Year: 2026, AbsencesPerEmployee: 5, AttendanceDays: 5})
	srv := httptest.NewServer(sim)
	tb.Cleanup(func() { srv.Close(); sim.Close() })
	resp, err := http.Post(srv.URL+"/v2/auth/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials&client_id=id&client_secret=secret"))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		tb.Fatalf("token: %v", err)
	}
	return sim, srv, g, tok.AccessToken
}

// readAllV2 follows the next links of a v2 list and returns the ids read and the pages.
func readAllV2(tb testing.TB, next, token string) (map[string]bool, int) {
	tb.Helper()
	ids, pages := map[string]bool{}, 0
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var page v2Page
		if resp.StatusCode != 200 || json.Unmarshal(raw, &page) != nil {
			tb.Fatalf("GET %s: %d %s", next, resp.StatusCode, raw)
		}
		pages++
		for _, d := range page.Data {
			ids[d.ID] = true
		}
		next = page.Meta.Links["next"].Href
	}
	return ids, pages
}

// TestLargeCompanyPeriods reads every absence and attendance period of a 2,000-employee
// company page by page (each page renders only its own 100 periods), and checks that
// the per-person overlap index knows the generated periods.
func TestLargeCompanyPeriods(t *testing.T) {
	sim, srv, _, tok := largeCompany(t, 2000)
	abs, att := sim.AbsencePeriods(), sim.AttendancePeriods()
	if len(abs) < 2000 || len(att) < 2000 {
		t.Fatalf("generated %d absences and %d attendances", len(abs), len(att))
	}
	ids, pages := readAllV2(t, srv.URL+"/v2/absence-periods", tok)
	if len(ids) != len(abs) || pages != (len(abs)+99)/100 {
		t.Fatalf("read %d absences in %d pages, stored %d", len(ids), pages, len(abs))
	}
	for _, p := range abs {
		if !ids[p.ID] {
			t.Fatalf("absence %s not listed", p.ID)
		}
	}
	ids, pages = readAllV2(t, srv.URL+"/v2/attendance-periods?limit=50", tok)
	if len(ids) != len(att) || pages != (len(att)+49)/50 {
		t.Fatalf("read %d attendances in %d pages, stored %d", len(ids), pages, len(att))
	}

	// A copy of a generated attendance period overlaps it: 422; the same times for
	// another person are fine.
	p := att[len(att)-1]
	body := func(person int64) string {
		end := ""
		if p.End != nil {
			end = `,"end":{"date_time":"` + p.End.Format("2006-01-02T15:04:05") + `"}`
		}
		return `{"person":{"id":"` + strconv.FormatInt(person, 10) + `"},"type":"` + p.Type + `","start":{"date_time":"` +
			p.Start.Format("2006-01-02T15:04:05") + `"}` + end + `}`
	}
	post := func(b string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/v2/attendance-periods?skip_approval=true", strings.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(body(p.PersonID)); st != http.StatusUnprocessableEntity {
		t.Fatalf("overlapping copy answered %d, want 422", st)
	}
	other := sim.AddEmployee(personiosim.Employee{FirstName: "Neu", LastName: "Person", Email: "neu@example.com"}).ID
	if st := post(body(other)); st != http.StatusCreated {
		t.Fatalf("the same times for another person answered %d, want 201", st)
	}
	if st := post(body(other)); st != http.StatusUnprocessableEntity {
		t.Fatalf("the period created through the API is not in the overlap index: %d", st)
	}
}

// BenchmarkListAllAbsencePeriods reads all absence periods of a 2,000-employee company.
func BenchmarkListAllAbsencePeriods(b *testing.B) {
	sim, srv, _, tok := largeCompany(b, 2000)
	want := len(sim.AbsencePeriods())
	b.ResetTimer()
	for b.Loop() {
		if ids, _ := readAllV2(b, srv.URL+"/v2/absence-periods", tok); len(ids) != want {
			b.Fatal(len(ids))
		}
	}
}

// TestCursorSurvivesDeletes: a period deleted after its page was read must not push a
// later period out of the next page (the cursor was an offset into the current
// selection, so every delete on an earlier page lost one unread period). The cursor is
// a position in the store order, which also makes a page cost only its own records.
func TestCursorSurvivesDeletes(t *testing.T) {
	sim, srv, _, tok := largeCompany(t, 60)
	filters := "?limit=50&start.date_time.gte=2026-01-01T00:00:00" // a filtered list, as syncs read
	var all []string
	for _, p := range sim.AttendancePeriods() {
		all = append(all, p.ID)
	}
	if len(all) < 120 {
		t.Fatalf("fixture too small: %d periods", len(all))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v2/attendance-periods"+filters, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page v2Page
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || len(page.Data) != 50 || page.Meta.Links["next"].Href == "" {
		t.Fatalf("first page: %d items, %v", len(page.Data), err)
	}
	read := map[string]bool{}
	for _, d := range page.Data {
		read[d.ID] = true
	}
	// Three periods of the first page are deleted while the reader is between pages.
	for _, d := range page.Data[:3] {
		req, _ := http.NewRequest("DELETE", srv.URL+"/v2/attendance-periods/"+d.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	rest, _ := readAllV2(t, page.Meta.Links["next"].Href, tok)
	for id := range rest {
		read[id] = true
	}
	for _, id := range all {
		if !read[id] {
			t.Fatalf("period %s was never listed (%d of %d read)", id, len(read), len(all))
		}
	}
}

// v2Page is what the tests read of a v2 list page: the record ids and the _meta links.
type v2Page struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"_data"`
	Meta struct {
		Links map[string]struct {
			Href string `json:"href"`
		} `json:"links"`
	} `json:"_meta"`
}
