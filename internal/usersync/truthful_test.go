package usersync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/synctest"
)

// callRecorder is a userWriter that records each call as "<action> <user>"; a created
// user is "created:<custom_id>".
type callRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *callRecorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *callRecorder) CreateUser(_ context.Context, f Fields, _ bool) (string, error) {
	r.add(string(ActCreate) + " " + f.CustomID)
	return "created:" + f.CustomID, nil
}
func (r *callRecorder) UpdateUser(_ context.Context, id string, _ Fields) error {
	r.add(string(ActUpdate) + " " + id)
	return nil
}
func (r *callRecorder) LockUser(_ context.Context, id string) error {
	r.add(string(ActLock) + " " + id)
	return nil
}
func (r *callRecorder) UnlockUser(_ context.Context, id string) error {
	r.add(string(ActUnlock) + " " + id)
	return nil
}
func (r *callRecorder) SendInvitation(_ context.Context, id string) error {
	r.add(string(ActInvite) + " " + id)
	return nil
}

// truthful plans in and applies the plan against a recording Staffomatic and a real
// (in-process) DynamoDB, and fails unless apply made exactly the writes the plan lists: a
// dry run shows the plan, so it must be what the run does. Every planner test plans
// through it.
func truthful(t *testing.T, in Input) Plan {
	t.Helper()
	p := Compute(in)
	var want []string
	planned := Planned{Plan: p}.Actions()
	for i, act := range p.Actions {
		before := len(want)
		for _, a := range act.Steps {
			switch a.Kind {
			case ActCreate:
				want = append(want, string(ActCreate)+" "+a.Fields.CustomID)
				if a.Lock {
					want = append(want, string(ActLock)+" created:"+a.Fields.CustomID)
				}
			case ActUpdate, ActLock, ActUnlock, ActInvite:
				want = append(want, string(a.Kind)+" "+a.UserID)
			}
		}
		// The dry run's line of the employee counts exactly the calls listed for it.
		if planned[i].Writes != len(want)-before {
			t.Fatalf("the dry-run line of %s (%s) counts %d writes, its steps list %d: %v", act.PersonioID, act.Kind, planned[i].Writes, len(want)-before, want[before:])
		}
	}
	if len(want) != p.Writes() {
		t.Fatalf("the plan counts %d writes but lists %d: %v", p.Writes(), len(want), want)
	}
	w, rec := &callRecorder{}, &synctest.Recorder{}
	j := &job{rec: rec, Tenant: domain.Tenant{ID: "acme"}, writer: w, Store: synctest.Store(t), Now: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), Concurrency: 4}
	l := &Loaded{Input: in, Mode: domain.ModeFull, links: map[string]domain.Link{}, job: j}
	for _, lk := range in.Links {
		l.links[lk.PersonioID] = lk
	}
	err := apply(context.Background(), l, p)
	if err != nil && !errors.Is(err, ErrRequiredAttributes) {
		t.Fatalf("apply: %v", err)
	}
	got := slices.Clone(w.calls)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("apply wrote\n  %s\nthe plan lists\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Every action is told in the protocol (the ones that write nothing too): one entry
	// per employee, with the planned action, name and diff, in the past tense.
	if len(rec.Entries) != len(p.Actions) {
		t.Fatalf("apply wrote %d protocol entries for %d planned actions", len(rec.Entries), len(p.Actions))
	}
	told := map[string]domain.ProtocolEntry{}
	for _, e := range rec.Entries {
		told[e.SourceID] = e
	}
	for _, a := range p.Actions {
		e, ok := told[a.PersonioID]
		if !ok || e.Action != string(a.Kind) || e.Person != a.Person || !slices.Equal(e.Changes, a.Changes) ||
			e.Reason != a.Tell(e.Outcome, len(a.Steps), nil) || strings.HasPrefix(e.Reason, "will ") {
			t.Fatalf("action %s of %s (%s) is told as %+v", a.Kind, a.PersonioID, a.Person, e)
		}
	}
	return p
}

// failingLock is a recording writer whose lock calls fail.
type failingLock struct{ callRecorder }

func (r *failingLock) LockUser(_ context.Context, id string) error {
	r.add(string(ActLock) + " " + id)
	return errors.New("staffomatic: 503 service unavailable")
}

// TestFailedStepToldInTheEmployeesEntry: when the lock of an employee's update-and-lock
// fails, the employee's one protocol entry is failed, names the person, keeps the diff,
// and says what was done, what failed and why.
func TestFailedStepToldInTheEmployeesEntry(t *testing.T) {
	e := domain.Employee{PersonioID: "1", FirstName: "Frieda", LastName: "Fischer", Email: "f@x.de", LastWorkingDay: "2026-11-01"}
	u := domain.User{ID: "u1", CustomID: "1", Email: "f@x.de", FirstName: "Frida", LastName: "Fischer"}
	in := Input{Employees: []domain.Employee{e}, Users: []domain.User{u}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}},
		Settings: Settings{EnablePersonioLastWorkingDay: true}, Today: "2026-12-01"}
	p := Compute(in)
	w, rec := &failingLock{}, &synctest.Recorder{}
	j := &job{rec: rec, Tenant: domain.Tenant{ID: "acme"}, writer: w, Store: synctest.Store(t), Now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Concurrency: 1}
	l := &Loaded{Input: in, Mode: domain.ModeFull, links: map[string]domain.Link{"1": in.Links[0]}, job: j}
	if err := apply(context.Background(), l, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.calls, []string{"update_user u1", "lock_user u1"}) {
		t.Fatalf("calls %v", w.calls)
	}
	want := "updated first_name: Personio is the leading system; could not lock user: last working day 2026-11-01 has passed " +
		"(a locked user is still billed by Staffomatic until deleted); failed: lock_user: staffomatic: 503 service unavailable"
	if len(rec.Entries) != 1 {
		t.Fatalf("entries %+v", rec.Entries)
	}
	if got := rec.Entries[0]; got.Outcome != domain.OutcomeFailed || got.Action != string(ActUpdate) || got.Person != "Frieda Fischer" ||
		got.TargetID != "u1" || got.Reason != want || len(got.Changes) != 2 {
		t.Fatalf("entry %+v\nwant reason %q", got, want)
	}
}
