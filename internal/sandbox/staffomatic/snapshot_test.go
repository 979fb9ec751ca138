package staffomaticsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// TestSnapshotRestore keeps the accounts across simulators, as `make run` does across
// restarts: every listing answers the same body, the users still sign in, and records
// created afterwards get new ids.
func TestSnapshotRestore(t *testing.T) {
	e := newEnv(t)
	if _, err := e.acc.Generate(sim.GenSpec{Seed: 3, Users: 30, TimersPerDay: 1, Days: 3, End: clock, AbsencesPerUser: 1}); err != nil {
		t.Fatal(err)
	}
	// A user created through the API (an event the owner has not read yet) and a
	// bearer token.
	if status, _, body := e.do(t, req{method: "POST", path: "/users.json", body: `{"email":"new@x.example","first_name":"Neu","last_name":"Nutzer"}`}); status != 201 && status != 200 {
		t.Fatalf("create user: %d %v", status, body)
	}
	bearer, err := e.acc.IssueToken(e.own.ID)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/users.json", "/users.json?page=2", "/locations.json", "/departments.json", "/absence_types.json",
		"/absences.json", "/work_timers.json", "/break_timers.json", "/work_reports.json", "/account.json"}
	want := map[string]string{}
	firstEvents := raw(t, e.srv.URL, "/events.json", "") // marks the events read by the owner
	for _, p := range paths {
		want[p] = raw(t, e.srv.URL, p, "")
	}

	snap, err := e.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := sim.New(sim.Config{Now: func() time.Time { return clock }})
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(restored)
	defer srv.Close()
	for _, p := range paths {
		if got := raw(t, srv.URL, p, ""); got != want[p] {
			t.Errorf("GET %s differs after restore:\n%s\n%s", p, want[p], got)
		}
	}
	// The token issued before still signs in; the events feed still knows what was read.
	if got := raw(t, srv.URL, "/user.json", bearer); got != raw(t, e.srv.URL, "/user.json", bearer) {
		t.Errorf("the bearer token does not act as the same user after restore: %s", got)
	}
	if got, was := raw(t, srv.URL, "/events.json", ""), raw(t, e.srv.URL, "/events.json", ""); got != was || got == firstEvents {
		t.Errorf("events differ after restore (read marks lost?):\n%s\n%s", was, got)
	}
	acc := restored.Account("acme")
	u, err := acc.AddUser(sim.User{Email: "later@x.example", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range e.acc.Users() {
		if old.ID == u.ID {
			t.Errorf("user id %d given out again after restore", u.ID)
		}
	}
	if err := restored.Restore([]byte(`{"version":2}`)); err == nil {
		t.Error("a snapshot of another version was restored")
	}
	if len(acc.Users()) != len(e.acc.Users())+1 {
		t.Error("a refused restore changed the accounts")
	}
}

// raw GETs path of the acme account as the owner (or with a bearer token) and returns
// status and body.
func raw(t *testing.T, base, path, bearer string) string {
	t.Helper()
	r, err := http.NewRequest("GET", base+"/v3/acme"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("User-Agent", "simtest")
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	} else {
		r.SetBasicAuth("own@x.example", "pw")
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(b)
}
