package workspacesync

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/synctest"
)

// callRecorder is a workspaceWriter that records each call; a created workspace's id is
// "new:<name>".
type callRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *callRecorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *callRecorder) CreateLocation(_ context.Context, name string) (string, error) {
	r.add(string(ActCreateLocation) + " " + name)
	return "new:" + name, nil
}
func (r *callRecorder) CreateDepartment(_ context.Context, loc, name string) (string, error) {
	r.add(string(ActCreateDepartment) + " " + name)
	return "new:" + loc + "/" + name, nil
}
func (r *callRecorder) AddDepartmentUsers(_ context.Context, _, dep string, users []string) error {
	r.add(string(ActAddMembers) + " " + strings.Join(users, ","))
	return nil
}

// truthful plans in and applies the plan against a recording Staffomatic and a real
// (in-process) DynamoDB, and fails unless apply made exactly the writes the plan lists and
// told every planned action in the protocol: a dry run shows the plan, so it must be what
// the run does. Every planner table case plans through it.
func truthful(t *testing.T, in Input) Plan {
	t.Helper()
	p := Compute(in)
	var want []string
	for _, a := range p.Actions {
		before := len(want)
		switch a.Kind {
		case ActCreateLocation, ActCreateDepartment:
			want = append(want, string(a.Kind)+" "+strings.TrimSpace(a.Name))
		case ActAddMembers:
			want = append(want, string(a.Kind)+" "+strings.Join(a.UserIDs, ","))
		}
		// The dry run's line counts exactly the calls listed for it.
		if n := a.Planned().Writes; n != len(want)-before {
			t.Fatalf("the dry-run line of %s %s counts %d writes, the plan lists %d", a.Kind, a.SourceID, n, len(want)-before)
		}
	}
	if len(want) != p.Writes() {
		t.Fatalf("the plan counts %d writes but lists %d: %v", p.Writes(), len(want), want)
	}
	w, rec := &callRecorder{}, &synctest.Recorder{}
	l := &Loaded{Input: in, depLoc: map[string]string{}, w: w, now: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	for _, d := range in.Departments {
		l.depLoc[d.ID] = d.LocationID
	}
	if err := apply(context.Background(), rec, slog.New(slog.NewTextHandler(io.Discard, nil)), synctest.Store(t), "acme", l, p); err != nil {
		t.Fatalf("apply: %v", err)
	}
	got := slices.Clone(w.calls)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("apply wrote\n  %s\nthe plan lists\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(rec.Entries) != len(p.Actions) {
		t.Fatalf("apply wrote %d protocol entries for %d planned actions: %+v", len(rec.Entries), len(p.Actions), rec.Entries)
	}
	for i, e := range rec.Entries {
		if e.Outcome == domain.OutcomeFailed {
			t.Fatalf("apply failed an action: %+v", e)
		}
		// Told in the past, with the workspace's name and the people, as planned.
		a := p.Actions[i]
		if e.Action != string(a.Kind) || e.Workspace != strings.TrimSpace(a.Name) || e.Person != a.Person ||
			e.Reason != a.Wording().Reason(e.Outcome, a.Reason) || strings.HasPrefix(e.Reason, "will ") {
			t.Fatalf("action %d %+v is told as %+v", i, a, e)
		}
	}
	return p
}
