package personio_test

import (
	"context"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestWorkSchedule: the v1 work_schedule attribute is read per weekday; an employee
// without one, or a credential that does not expose it, has none.
func TestWorkSchedule(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	part := personiosim.WorkSchedule{ID: 7, Name: "Teilzeit 30h", Hours: [7]time.Duration{0, 6 * time.Hour, 6 * time.Hour, 6*time.Hour + 30*time.Minute, 6 * time.Hour, 5*time.Hour + 30*time.Minute, 0}}
	with := e.sim.AddEmployee(personiosim.Employee{FirstName: "A", LastName: "B", Email: "a@b.example", WorkSchedule: &part})
	without := e.sim.AddEmployee(personiosim.Employee{FirstName: "C", LastName: "D", Email: "c@d.example"})
	ctx := context.Background()
	got, err := e.cl.Employee(ctx, with.ID)
	if err != nil {
		t.Fatal(err)
	}
	ws, ok := got.WorkSchedule()
	if !ok || ws.Name != "Teilzeit 30h" || ws.Hours != part.Hours {
		t.Fatalf("work schedule %+v %t, want %+v", ws, ok, part)
	}
	got, err = e.cl.Employee(ctx, without.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ws, ok := got.WorkSchedule(); ok {
		t.Fatalf("no schedule expected: %+v", ws)
	}
}
