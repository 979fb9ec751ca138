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
	for _, a := range p.Actions {
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
	// Every action is told in the protocol (the ones that write nothing too), except a
	// planned action apply would not tell.
	if len(rec.Entries) != len(p.Actions) {
		t.Fatalf("apply wrote %d protocol entries for %d planned actions", len(rec.Entries), len(p.Actions))
	}
	return p
}
