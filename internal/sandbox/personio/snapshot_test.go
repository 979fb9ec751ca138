package personiosim_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestSnapshotRestore keeps a company across simulators, as `make run` does across
// restarts: the restored simulator has the same employees, periods and webhooks, answers
// the v1 API with the same body, accepts the token issued before, and new records get ids
// that were not given out before.
func TestSnapshotRestore(t *testing.T) {
	now := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	cfg := personiosim.Config{Now: func() time.Time { return now }}
	f := start(t, cfg)
	g := f.g
	f.sim.AddAttendancePeriod(personiosim.AttendancePeriod{PersonID: g.Employees[0].ID,
		Start: personiosim.Local(2026, 3, 10, 8, 0), End: ptr(personiosim.Local(2026, 3, 10, 16, 0)), Comment: "kept"})
	before := f.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: g.Employees[1].ID, TypeID: g.TimeOffTypes[0].IDv2,
		Start: personiosim.Local(2026, 3, 12, 0, 0), End: ptr(personiosim.Local(2026, 3, 13, 0, 0))})
	f.sim.AddWebhook(personiosim.Webhook{URL: "http://127.0.0.1:1/hook", EnabledEvents: []string{"person.updated"}})
	if err := f.sim.UpdateEmployee(g.Employees[2].ID, func(e *personiosim.Employee) { e.Position = "Küchenchef" }); err != nil {
		t.Fatal(err)
	}
	tok := f.v1Token(t)
	wantBody := f.do(t, "GET", "/v1/company/employees?limit=100", "", "", tok)
	if wantBody.status != 200 {
		t.Fatalf("employees: %d %s", wantBody.status, wantBody.raw)
	}
	wantTimeOffs := f.do(t, "GET", "/v1/company/time-offs?limit=100", "", "", tok)
	if wantTimeOffs.status != 200 {
		t.Fatalf("time-offs: %d %s", wantTimeOffs.status, wantTimeOffs.raw)
	}

	snap, err := f.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NoRateLimits = true
	restored := personiosim.New(cfg)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(restored)
	defer srv.Close()
	g2 := &fixture{sim: restored, srv: srv}

	for name, pair := range map[string][2]any{
		"employees":   {f.sim.Employees(), restored.Employees()},
		"absences":    {f.sim.AbsencePeriods(), restored.AbsencePeriods()},
		"attendances": {f.sim.AttendancePeriods(), restored.AttendancePeriods()},
		"webhooks":    {f.sim.Webhooks(), restored.Webhooks()},
		"types":       {f.sim.TimeOffTypes(), restored.TimeOffTypes()},
		"offices":     {f.sim.Offices(), restored.Offices()},
	} {
		a, _ := json.Marshal(pair[0])
		b, _ := json.Marshal(pair[1])
		if string(a) != string(b) {
			t.Errorf("%s differ after restore:\n%s\n%s", name, a, b)
		}
	}
	// The token issued before the snapshot still opens the restored simulator.
	got := g2.do(t, "GET", "/v1/company/employees?limit=100", "", "", tok)
	if got.status != 200 || got.raw != wantBody.raw {
		t.Errorf("employees after restore: %d, same body %v", got.status, got.raw == wantBody.raw)
	}
	if gotTO := g2.do(t, "GET", "/v1/company/time-offs?limit=100", "", "", tok); gotTO.raw != wantTimeOffs.raw {
		t.Errorf("time-offs differ after restore:\n%s\n%s", wantTimeOffs.raw, gotTO.raw)
	}
	// New records do not reuse ids given out before the restore.
	after := restored.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: g.Employees[1].ID, TypeID: g.TimeOffTypes[0].IDv2,
		Start: personiosim.Local(2026, 4, 1, 0, 0), End: ptr(personiosim.Local(2026, 4, 1, 0, 0))})
	seen := map[string]bool{}
	for _, p := range f.sim.AbsencePeriods() {
		seen[p.ID] = true
	}
	if seen[after.ID] || after.ID == before.ID {
		t.Errorf("the restored simulator gave out id %s again", after.ID)
	}
	e := restored.AddEmployee(personiosim.Employee{FirstName: "Neu", LastName: "Person", Email: "neu@example.com"})
	for _, old := range f.sim.Employees() {
		if old.ID == e.ID {
			t.Errorf("the restored simulator gave out employee id %d again", e.ID)
		}
	}

	if err := restored.Restore([]byte(`{"version":99}`)); err == nil {
		t.Error("a snapshot of another version was restored")
	}
	if n := len(restored.Employees()); n != len(f.sim.Employees())+1 {
		t.Errorf("a refused restore changed the company: %d employees", n)
	}
}

func ptr[T any](v T) *T { return &v }
