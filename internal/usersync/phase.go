package usersync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Deps are what the users phase needs besides the harness.
type Deps struct {
	Store *store.Store
	// Vendors builds the run's clients (the process's one builder).
	Vendors *vendors.Builder
	// Concurrency bounds the employees applied at once (default 8): enough to keep
	// Staffomatic's 50 requests a second busy at its usual latency, few enough that one
	// tenant's run leaves budget for the other functions.
	Concurrency int
	// Now is the clock (default time.Now); tests fix it to place hire dates.
	Now func() time.Time
}

// Phase is the users phase (Personio employees → Staffomatic users) for the harness.
type Phase struct{ deps Deps }

// NewPhase returns the users phase. Run it with phase.New(usersync.NewPhase(deps), …).
func NewPhase(deps Deps) *Phase { return &Phase{deps: deps} }

// Planned is a run's plan together with the state it was computed from.
type Planned struct {
	Plan  Plan
	state *Loaded
}

// Actions describes the plan for a dry run's protocol: one action per employee, with
// its name, its field diff, a reason saying what will happen, and the Staffomatic write
// calls apply makes for it (Action.Calls: a locked create is two).
func (p Planned) Actions() []domain.PlannedAction {
	out := make([]domain.PlannedAction, 0, len(p.Plan.Actions))
	for _, a := range p.Plan.Actions {
		out = append(out, domain.PlannedAction{Kind: domain.KindUser, Action: string(a.Kind), SourceID: a.PersonioID, TargetID: a.target(""),
			Reason: a.Tell(domain.OutcomePlanned, 0, nil), Person: a.Person, Changes: a.Changes, Writes: a.Calls()})
	}
	return out
}

// target is the protocol's target id of the action: userID (the user it ended with,
// when known), else its user, else the users of its conflict.
func (a Action) target(userID string) string {
	if userID != "" {
		return userID
	}
	if a.UserID != "" {
		return a.UserID
	}
	for _, s := range a.Steps {
		if len(s.UserIDs) > 0 {
			return strings.Join(s.UserIDs, ",")
		}
	}
	return ""
}

// Name implements phase.Phase.
func (p *Phase) Name() domain.Phase { return domain.PhaseUsers }

// Load implements phase.Phase: it connects to both vendors and reads the run's state.
func (p *Phase) Load(ctx context.Context, run *phase.Run) (*Loaded, error) {
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("open credentials: %w", err)
	}
	pc, sc, err := p.deps.Vendors.Connect(ctx, run.Tenant, creds, run.CountAPICall)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if p.deps.Now != nil {
		now = p.deps.Now
	}
	j := &job{rec: run, cursor: run.Cursor, Tenant: run.Tenant, Request: run.Request, Personio: pc, Staffomatic: sc, writer: clientWriter{sc}, Store: p.deps.Store,
		Now: now(), Log: run.Log, Concurrency: p.deps.Concurrency}
	l, err := load(ctx, j)
	if err != nil {
		return nil, err
	}
	if l.ModeReason != "" {
		run.Log.InfoContext(ctx, "users: "+l.ModeReason)
	}
	run.SetMode(l.Mode, l.ModeReason)
	run.Log.InfoContext(ctx, "users: loaded", "mode", l.Mode, "employees", len(l.Input.Employees),
		"staffomatic_users", len(l.Input.Users), "mappings", len(l.Input.Links))
	return l, nil
}

// Plan implements phase.Phase.
func (p *Phase) Plan(l *Loaded) (Planned, error) {
	return Planned{Plan: l.Plan(), state: l}, nil
}

// Apply implements phase.Phase.
func (p *Phase) Apply(ctx context.Context, _ *phase.Run, pl Planned) error {
	return apply(ctx, pl.state, pl.Plan)
}

var _ phase.Phase[*Loaded, Planned] = (*Phase)(nil)
