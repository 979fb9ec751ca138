package staffomaticsim_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// pagingEnv is a generated account read through the handler.
type pagingEnv struct {
	s   *sim.Server
	acc *sim.Account
	res sim.GenResult
	now time.Time
}

func (e *pagingEnv) get(t *testing.T, path string) []map[string]any {
	t.Helper()
	r := httptest.NewRequest("GET", "/v3/pg"+path, nil)
	r.Header.Set("User-Agent", "pagingtest")
	r.SetBasicAuth("admin@pg.example.com", "secret-pg")
	w := httptest.NewRecorder()
	e.s.ServeHTTP(w, r)
	var out []map[string]any
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body.Bytes())
	}
	return out
}

func (e *pagingEnv) write(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	r := httptest.NewRequest(method, "/v3/pg"+path, strings.NewReader(body))
	r.Header.Set("User-Agent", "pagingtest")
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth("admin@pg.example.com", "secret-pg")
	w := httptest.NewRecorder()
	e.s.ServeHTTP(w, r)
	var out map[string]any
	if !(w.Code == 204 && method == "DELETE") && (w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil) {
		t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.Bytes())
	}
	e.now = e.now.Add(time.Minute)
	return out
}

// pageIDs reads one page and returns the ids on it.
func (e *pagingEnv) pageIDs(t *testing.T, path string, page int) []int64 {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var out []int64
	for _, v := range e.get(t, path+sep+"page="+strconv.Itoa(page)) {
		out = append(out, int64(v["id"].(float64)))
	}
	return out
}

// checkPages compares every page of path (and two past the end) with want cut into
// pages of 50, reading the pages in order, backwards, and in a random order with
// repeats, with and without the derived views built by earlier reads.
func (e *pagingEnv) checkPages(t *testing.T, path string, want []int64) {
	t.Helper()
	var pages [][]int64
	for c := range slices.Chunk(want, 50) {
		pages = append(pages, c)
	}
	last := len(pages) + 2
	expect := func(p int) []int64 {
		if p <= len(pages) {
			return pages[p-1]
		}
		return nil
	}
	forward := make([]int, 0, last)
	for p := 1; p <= last; p++ {
		forward = append(forward, p)
	}
	backward := slices.Clone(forward)
	slices.Reverse(backward)
	rng := rand.New(rand.NewPCG(uint64(len(path)), uint64(len(want))))
	random := append(slices.Clone(forward), forward[:last/2]...)
	rng.Shuffle(len(random), func(i, j int) { random[i], random[j] = random[j], random[i] })
	for _, run := range []struct {
		name  string
		order []int
		cold  bool
	}{{"forward cold", forward, true}, {"backward warm", backward, false}, {"random cold", random, true},
		{"backward cold", backward, true}, {"forward warm", forward, false}} {
		if run.cold {
			e.acc.TimeZone() // seeding access: drops the derived views
		}
		for _, p := range run.order {
			if got := e.pageIDs(t, path, p); !slices.Equal(got, expect(p)) {
				t.Fatalf("%s, %s: page %d of %d = %v, want %v", path, run.name, p, len(pages), got, expect(p))
			}
		}
	}
}

func newPagingEnv(t *testing.T) *pagingEnv {
	t.Helper()
	e := &pagingEnv{now: clock}
	e.s = sim.New(sim.Config{RateLimit: -1, Now: func() time.Time { return e.now }})
	var err error
	if e.acc, err = e.s.AddAccount(sim.AccountSpec{Subdomain: "pg"}); err != nil {
		t.Fatal(err)
	}
	if e.res, err = e.acc.Generate(sim.GenSpec{Seed: 3, Users: 150, Locations: 2, TimersPerDay: 2, Days: 10,
		AbsencesPerUser: 3, End: clock}); err != nil {
		t.Fatal(err)
	}
	return e
}

func idList(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func keepIDs[T any](items []T, id func(T) int64, keep func(T) bool) []int64 {
	out := []int64{}
	for _, v := range items {
		if keep(v) {
			out = append(out, id(v))
		}
	}
	return out
}

// TestPagingMatchesBruteForce pins page-number paging of filtered lists: every page of
// every list below equals the brute-force answer (all records, filtered, ordered by id,
// cut into pages of 50), whatever order the pages are read in, and a write between two
// page reads shows in the next page.
func TestPagingMatchesBruteForce(t *testing.T) {
	e := newPagingEnv(t)
	loc1, loc2 := e.res.Locations[0].ID, e.res.Locations[1].ID
	users := e.acc.Users()
	u1, u2, u3 := users[10].ID, users[57].ID, users[101].ID
	ts := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339)) }
	from, until := clock.AddDate(0, 0, -6), clock.AddDate(0, 0, -2)

	t.Run("work timers", func(t *testing.T) {
		timers := e.acc.WorkTimers()
		id := func(w sim.WorkTimer) int64 { return w.ID }
		inWindow := func(w sim.WorkTimer, from, until time.Time) bool {
			return (until.IsZero() || !w.StartsAt.After(until)) && (from.IsZero() || w.EndsAt == nil || !w.EndsAt.Before(from))
		}
		of := func(us ...int64) func(sim.WorkTimer) bool {
			return func(w sim.WorkTimer) bool { return slices.Contains(us, w.UserID) }
		}
		atLoc := func(l int64) func(sim.WorkTimer) bool {
			return func(w sim.WorkTimer) bool { return w.LocationID != nil && *w.LocationID == l }
		}
		for _, c := range []struct {
			path string
			keep func(sim.WorkTimer) bool
		}{
			{"/work_timers", func(sim.WorkTimer) bool { return true }},
			{"/work_timers.json?x=1", func(sim.WorkTimer) bool { return true }},
			{"/work_timers?user_ids[]=" + itoa(u1), of(u1)},
			{"/work_timers?user_ids[]=" + itoa(u1) + "&user_ids[]=" + itoa(u2) + "&user_ids[]=" + itoa(u3), of(u1, u2, u3)},
			{"/work_timers?user_ids=" + itoa(u3) + "," + itoa(u1), of(u1, u3)},
			{"/work_timers?user_ids[]=" + idList([]int64{users[1].ID, users[2].ID, users[3].ID, users[4].ID, users[5].ID, users[6].ID}),
				of(users[1].ID, users[2].ID, users[3].ID, users[4].ID, users[5].ID, users[6].ID)},
			{"/work_timers?user_ids[]=999", of(999)},
			{"/work_timers?from=" + ts(from) + "&until=" + ts(until), func(w sim.WorkTimer) bool { return inWindow(w, from, until) }},
			{"/work_timers?from=" + ts(until), func(w sim.WorkTimer) bool { return inWindow(w, until, time.Time{}) }},
			{"/work_timers?until=" + ts(from), func(w sim.WorkTimer) bool { return inWindow(w, time.Time{}, from) }},
			{"/locations/" + itoa(loc2) + "/work_timers", atLoc(loc2)},
			{"/locations/" + itoa(loc1) + "/work_timers?from=" + ts(from), func(w sim.WorkTimer) bool {
				return atLoc(loc1)(w) && inWindow(w, from, time.Time{})
			}},
			{"/work_timers?user_ids[]=" + itoa(u1) + "&user_ids[]=" + itoa(u2) + "&from=" + ts(from) + "&until=" + ts(until), func(w sim.WorkTimer) bool {
				return of(u1, u2)(w) && inWindow(w, from, until)
			}},
		} {
			e.checkPages(t, c.path, keepIDs(timers, id, c.keep))
		}
	})

	t.Run("break timers", func(t *testing.T) {
		breaks := e.acc.BreakTimers()
		id := func(b sim.BreakTimer) int64 { return b.ID }
		wid := breaks[len(breaks)/2].WorkTimerID
		for _, c := range []struct {
			path string
			keep func(sim.BreakTimer) bool
		}{
			{"/break_timers", func(sim.BreakTimer) bool { return true }},
			{"/break_timers?user_ids[]=" + itoa(u2) + "&user_ids[]=" + itoa(u3), func(b sim.BreakTimer) bool { return b.UserID == u2 || b.UserID == u3 }},
			{"/break_timers?from=" + ts(from) + "&until=" + ts(until), func(b sim.BreakTimer) bool {
				return !b.StartsAt.After(until) && (b.EndsAt == nil || !b.EndsAt.Before(from))
			}},
			{"/work_timers/" + itoa(wid) + "/break_timers", func(b sim.BreakTimer) bool { return b.WorkTimerID == wid }},
			{"/work_timers/" + itoa(wid) + "/break_timers?user_ids[]=" + itoa(u1), func(b sim.BreakTimer) bool { return b.WorkTimerID == wid && b.UserID == u1 }},
		} {
			e.checkPages(t, c.path, keepIDs(breaks, id, c.keep))
		}
	})

	t.Run("absences", func(t *testing.T) {
		absences := e.acc.Absences()
		id := func(x sim.Absence) int64 { return x.ID }
		typ := e.res.AbsenceTypes[0].ID
		for _, c := range []struct {
			path string
			keep func(sim.Absence) bool
		}{
			{"/absences", func(sim.Absence) bool { return true }},
			{"/absences?user_ids[]=" + idList([]int64{u1, u2, u3}), func(x sim.Absence) bool { return slices.Contains([]int64{u1, u2, u3}, x.ApplicantID) }},
			{"/absences?state[]=approved", func(x sim.Absence) bool { return x.State == sim.StateApproved }},
			{"/absences?state=new,declined&absence_type_id[]=" + itoa(typ), func(x sim.Absence) bool {
				return (x.State == sim.StateNew || x.State == sim.StateDeclined) && x.AbsenceTypeID == typ
			}},
			{"/absences?vacation=true&paid=true", func(x sim.Absence) bool { return x.Vacation && x.Paid }},
			{"/absences?from=" + ts(from) + "&until=" + ts(clock), func(x sim.Absence) bool { return !x.EndsAt.Before(from) && !x.StartsAt.After(clock) }},
			{"/locations/" + itoa(loc2) + "/absences?state[]=approved&user_ids[]=" + idList([]int64{u1, u2, u3}), func(x sim.Absence) bool {
				return x.LocationID != nil && *x.LocationID == loc2 && x.State == sim.StateApproved && slices.Contains([]int64{u1, u2, u3}, x.ApplicantID)
			}},
		} {
			e.checkPages(t, c.path, keepIDs(absences, id, c.keep))
		}
	})

	t.Run("users", func(t *testing.T) {
		id := func(u sim.User) int64 { return u.ID }
		dept := e.res.Departments[1].ID
		for _, c := range []struct {
			path string
			keep func(sim.User) bool
		}{
			{"/users?state=all", func(sim.User) bool { return true }},
			{"/users", func(u sim.User) bool { return u.LockedAt == nil }},
			{"/users?state=locked", func(u sim.User) bool { return u.LockedAt != nil }},
			{"/locations/" + itoa(loc1) + "/users?state=all", func(u sim.User) bool { return slices.Contains(u.LocationIDs, loc1) }},
			{"/users?department_ids[]=" + itoa(dept), func(u sim.User) bool { return u.LockedAt == nil && slices.Contains(u.DepartmentIDs, dept) }},
		} {
			e.checkPages(t, c.path, keepIDs(users, id, c.keep))
		}
	})

	t.Run("work reports", func(t *testing.T) {
		// There is no inspection of work reports: the reference is the unfiltered list.
		var all []map[string]any
		for p := 1; ; p++ {
			page := e.get(t, "/work_reports?page="+strconv.Itoa(p))
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
		}
		id := func(r map[string]any) int64 { return int64(r["id"].(float64)) }
		e.checkPages(t, "/work_reports", keepIDs(all, id, func(map[string]any) bool { return true }))
		e.checkPages(t, "/locations/"+itoa(loc2)+"/work_reports", keepIDs(all, id, func(r map[string]any) bool {
			u, _ := e.acc.User(id(map[string]any{"id": r["user_id"]}))
			return slices.Contains(u.LocationIDs, loc2)
		}))
	})

	t.Run("events", func(t *testing.T) {
		typ1, typ2 := e.res.AbsenceTypes[0].ID, e.res.AbsenceTypes[2].ID
		for i := range 70 {
			u := users[1+i%40].ID
			body := fmt.Sprintf(`{"starts_at":"2026-05-%02dT00:00:00+02:00","ends_at":"2026-05-%02dT00:00:00+02:00","applicant_id":%d,"absence_type_id":%d,"all_day":true}`,
				1+i%28, 1+i%28, u, typ1)
			path := "/absences"
			if i%3 == 0 {
				body = strings.Replace(body, itoa(typ1), itoa(typ2), 1)
				path = "/locations/" + itoa(loc2) + "/absences"
			}
			x := e.write(t, "POST", path, body)
			if i%4 == 0 {
				e.write(t, "PUT", "/absences/"+itoa(int64(x["id"].(float64))), `{"do":"approve"}`)
			}
			if i%5 == 0 {
				e.write(t, "PUT", "/users/"+itoa(u), `{"custom_id":"c`+itoa(int64(i))+`"}`)
			}
		}
		events := e.acc.Events()
		id := func(ev sim.Event) int64 { return ev.ID }
		mid := events[len(events)/3].CreatedAt
		for _, c := range []struct {
			path string
			keep func(sim.Event) bool
		}{
			{"/events?delivery_state=all", func(sim.Event) bool { return true }},
			{"/events?delivery_state=all&event_type[]=user", func(ev sim.Event) bool { return ev.EventableType == "User" }},
			{"/events?delivery_state=all&from=" + ts(mid), func(ev sim.Event) bool { return !ev.CreatedAt.Before(mid) }},
			{"/events?delivery_state=all&until=" + ts(mid) + "&user_id=" + itoa(e.res.Admin.ID), func(ev sim.Event) bool { return !ev.CreatedAt.After(mid) }},
			{"/locations/" + itoa(loc2) + "/events?delivery_state=all", func(ev sim.Event) bool { return ev.LocationID != nil && *ev.LocationID == loc2 }},
		} {
			e.checkPages(t, c.path, keepIDs(events, id, c.keep))
		}
		// Unread events: each read marks its page read, so the next page 1 is the next 50.
		for c := range slices.Chunk(keepIDs(events, id, func(sim.Event) bool { return true }), 50) {
			if got := e.pageIDs(t, "/events", 1); !slices.Equal(got, c) {
				t.Fatalf("unread page = %v, want %v", got, c)
			}
		}
		if got := e.pageIDs(t, "/events", 1); len(got) != 0 {
			t.Fatalf("unread after reading all: %v", got)
		}
	})

	t.Run("a write between pages", func(t *testing.T) {
		path := "/work_timers?user_ids[]=" + idList([]int64{u1, u2, u3})
		of := func() [][]int64 {
			ids := keepIDs(e.acc.WorkTimers(), func(w sim.WorkTimer) int64 { return w.ID },
				func(w sim.WorkTimer) bool { return w.UserID == u1 || w.UserID == u2 || w.UserID == u3 })
			return slices.Collect(slices.Chunk(ids, 50))
		}
		before := of()
		if len(before) < 2 {
			t.Fatalf("%d pages, want two or more", len(before))
		}
		if got := e.pageIDs(t, path, 1); !slices.Equal(got, before[0]) {
			t.Fatalf("page 1 = %v, want %v", got, before[0])
		}
		// Delete the first timer of page 1 and add one for u2: page 2 moves up by one.
		e.write(t, "DELETE", "/work_timers/"+itoa(before[0][0]), "")
		created := e.write(t, "POST", "/work_timers", fmt.Sprintf(`{"user_id":%d,"starts_at":"2026-03-10T08:00:00+01:00","ends_at":"2026-03-10T12:00:00+01:00"}`, u2))
		after := of()
		if slices.Equal(after[1], before[1]) || after[len(after)-1][len(after[len(after)-1])-1] != int64(created["id"].(float64)) {
			t.Fatalf("the write did not change the pages: %v → %v", before, after)
		}
		for p := 2; p <= len(after)+1; p++ {
			want := []int64(nil)
			if p <= len(after) {
				want = after[p-1]
			}
			if got := e.pageIDs(t, path, p); !slices.Equal(got, want) {
				t.Fatalf("page %d after the write = %v, want %v", p, got, want)
			}
		}
	})

	t.Run("page parameter", func(t *testing.T) {
		path := "/work_timers?user_ids[]=" + itoa(u3)
		first := e.pageIDs(t, path, 1)
		for _, p := range []string{"0", "-3", "x", "", "99999999999999999999"} {
			if got := e.get(t, path+"&page="+p); len(got) != len(first) || int64(got[0]["id"].(float64)) != first[0] {
				t.Fatalf("page=%q is not page 1: %d records", p, len(got))
			}
		}
		for _, p := range []string{"9223372036854775807", "4611686018427387905", "184467440737095517"} {
			for _, q := range []string{path, "/work_timers?x=1", "/users?state=all"} {
				if got := e.get(t, q+"&page="+p); len(got) != 0 {
					t.Fatalf("%s page=%s: %d records, want none", q, p, len(got))
				}
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
