package usersync

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// UserAgent identifies staffsync to the vendor APIs (Staffomatic requires one).
const UserAgent = "staffsync (sync phases; https://github.com/staffsync/staffsync)"

// Vendors builds a run's vendor clients from the tenant's connection data and its
// credentials, which the run opens from their sealed form. The workspace sync uses the
// same builder.
type Vendors struct {
	// HTTPClient is the base client of both vendors (nil: a client with a 60 s timeout).
	// Its transport is wrapped per run to count the API calls for the run summary.
	HTTPClient *http.Client
	// PersonioBaseURL and StaffomaticBaseURL replace a tenant's empty base URL (the
	// simulators of `make run`); empty: the vendors' production APIs.
	PersonioBaseURL    string
	StaffomaticBaseURL string
	// StaffomaticLimiter is shared by all runs of a process, because Staffomatic's budget
	// is per egress IP (nil: one limiter per run).
	StaffomaticLimiter *staffomatic.RateLimiter
	Log                *slog.Logger
}

// NewVendors returns the vendor builder of one process: all its runs share one Staffomatic
// rate limiter (500 requests per 10 s), because Staffomatic budgets per caller, not per
// tenant.
func NewVendors(log *slog.Logger) Vendors {
	return Vendors{StaffomaticLimiter: staffomatic.NewRateLimiter(500, 10*time.Second), Log: log}
}

// Connect opens the run's credentials and returns the clients.
func (v Vendors) Connect(ctx context.Context, run *phase.Run) (*personio.Client, *staffomatic.Client, error) {
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open credentials: %w", err)
	}
	base := v.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 60 * time.Second}
	}
	counted := func(sys domain.System) *http.Client {
		c := *base
		next := c.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		c.Transport = countingTransport{next: next, count: func() { run.CountAPICall(sys) }}
		return &c
	}
	log := v.Log
	if log == nil {
		log = run.Log
	}
	t := run.Tenant
	pbase := t.Personio.BaseURL
	if pbase == "" {
		pbase = v.PersonioBaseURL
	}
	p, err := personio.New(personio.Config{BaseURL: pbase, ClientID: creds.PersonioClientID, ClientSecret: creds.PersonioClientSecret,
		PartnerID: t.Personio.PartnerID, AppID: t.Personio.AppID, HTTPClient: counted(domain.SystemPersonio), Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("Personio client: %w", err)
	}
	sbase := t.Staffomatic.BaseURL
	if sbase == "" {
		sbase = v.StaffomaticBaseURL
	}
	s, err := staffomatic.New(staffomatic.Config{BaseURL: sbase, Subdomain: t.Staffomatic.Subdomain,
		Credentials: staffomatic.Credentials{Email: creds.StaffomaticEmail, Password: creds.StaffomaticPassword, Token: creds.StaffomaticToken},
		UserAgent:   UserAgent, HTTPClient: counted(domain.SystemStaffomatic), Logger: log, Limiter: v.StaffomaticLimiter})
	if err != nil {
		return nil, nil, fmt.Errorf("Staffomatic client: %w", err)
	}
	return p, s, nil
}

// countingTransport counts every request a vendor client sends.
type countingTransport struct {
	next  http.RoundTripper
	count func()
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.count()
	return t.next.RoundTrip(r)
}

// Deps are what the users phase needs besides the harness.
type Deps struct {
	Store   *store.Store
	Vendors Vendors
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

// Actions describes the plan for a dry run's protocol.
func (p Planned) Actions() []domain.PlannedAction {
	out := make([]domain.PlannedAction, 0, len(p.Plan.Actions))
	for _, a := range p.Plan.Actions {
		target := a.UserID
		if target == "" && len(a.UserIDs) > 0 {
			target = joinIDs(a.UserIDs)
		}
		reason := a.Reason
		if len(a.Changes) > 0 {
			reason += " (" + describeChanges(a.Changes) + ")"
		}
		out = append(out, domain.PlannedAction{Kind: domain.KindUser, Action: string(a.Kind), SourceID: a.PersonioID, TargetID: target, Reason: reason})
	}
	return out
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id
	}
	return s
}

func describeChanges(ch []Change) string {
	s := ""
	for i, c := range ch {
		if i > 0 {
			s += "; "
		}
		s += c.Field + ": " + fmt.Sprintf("%q → %q", c.From, c.To)
	}
	return s
}

// Name implements phase.Phase.
func (p *Phase) Name() domain.Phase { return domain.PhaseUsers }

// Load implements phase.Phase: it connects to both vendors and reads the run's state.
func (p *Phase) Load(ctx context.Context, run *phase.Run) (*Loaded, error) {
	pc, sc, err := p.deps.Vendors.Connect(ctx, run)
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
