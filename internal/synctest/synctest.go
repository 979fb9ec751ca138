// Package synctest sets up what the end-to-end tests of the sync phases
// run against: both vendor simulators on loopback HTTP servers, minidyn in-process with
// the three tables, a tenant with sealed credentials, and the harness dependencies. It is
// a test helper package: nothing in production imports it.
package synctest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// TenantID is the tenant every environment creates.
const TenantID = "demo-gastro"

// Env is one isolated world: simulators, DynamoDB, tenant.
type Env struct {
	Now            time.Time
	P              *personiosim.Server
	S              *staffomaticsim.Server
	PersonioURL    string
	StaffomaticURL string
	Store          *store.Store
	Sealer         seal.Sealer
	Log            *slog.Logger
	// Logs receives the JSON log lines of the runs.
	Logs *SafeBuffer
	// Demo describes the demo company (zero for a generated company).
	Demo demo.Info
	// Transport is the vendors' HTTP transport; tests replace Hook to intercept calls.
	Transport *HookTransport
	// DynamoDBEndpoint, Tables and LocalKey let a separate process (a bootstrap under
	// aws-lambda-rie) use the same tables and open the tenant's credentials.
	DynamoDBEndpoint string
	Tables           store.Tables
	LocalKey         string
	seq              int
	fastPersonio     bool
	mu               sync.Mutex
}

// Clock is the world's clock: the simulators, the store and the phases read it.
func (e *Env) Clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Now
}

// Advance moves the world's clock.
func (e *Env) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Now = e.Now.Add(d)
}

// SafeBuffer is a bytes.Buffer safe for concurrent writers.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SafeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *SafeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// HookTransport passes requests to http.DefaultTransport and lets a test observe or stop
// them: After runs after each response (for example to cancel the run after the n-th
// create, which is how the tests simulate a crash).
type HookTransport struct {
	mu    sync.Mutex
	After func(*http.Request, *http.Response)
}

// SetAfter replaces the hook.
func (h *HookTransport) SetAfter(f func(*http.Request, *http.Response)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.After = f
}

// RoundTrip implements http.RoundTripper.
func (h *HookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	h.mu.Lock()
	after := h.After
	h.mu.Unlock()
	if err == nil && after != nil {
		after(r, resp)
	}
	return resp, err
}

// Options shape an environment.
type Options struct {
	// Now is the business date of the world (default 2026-03-11 09:30 UTC).
	Now time.Time
	// Generate, when > 0, generates a company of this many employees instead of the demo.
	Generate int
	// NoPersonioRateLimits disables the Personio simulator's rate limits, and lifts the
	// client's pacing to match (default: the documented limits apply on both sides).
	NoPersonioRateLimits bool
	// StaffomaticLatency is added to every Staffomatic request.
	StaffomaticLatency time.Duration
	// DynamoDB is the database the world's tables are created in (default: a minidyn of
	// its own); a test that must also hold on moto_server passes a client of it.
	DynamoDB *dynamodb.Client
}

// New starts an environment with the demo company (or a generated one) and a tenant whose
// settings are domain.DefaultSettings.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	awstest.LongLane(t, "end-to-end against the vendor simulators")
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 3, 11, 9, 30, 0, 0, time.UTC)
	}
	now := o.Now
	e := &Env{Now: now, Logs: &SafeBuffer{}, Transport: &HookTransport{}, fastPersonio: o.NoPersonioRateLimits}
	clock := e.Clock
	e.Log = obs.NewLogger(e.Logs, true, slog.LevelInfo)
	e.P = personiosim.New(personiosim.Config{Now: clock, NoRateLimits: o.NoPersonioRateLimits, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(e.P.Close)
	e.S = staffomaticsim.New(staffomaticsim.Config{Now: clock, Latency: o.StaffomaticLatency, Logger: slog.New(slog.DiscardHandler)})
	ps, ss := httptest.NewServer(e.P), httptest.NewServer(e.S)
	t.Cleanup(ps.Close)
	t.Cleanup(ss.Close)
	e.PersonioURL, e.StaffomaticURL = ps.URL, ss.URL+"/v3"

	creds := domain.Credentials{PersonioClientID: demo.PersonioClientID, PersonioClientSecret: demo.PersonioClientSecret,
		StaffomaticEmail: demo.StaffomaticEmail, StaffomaticPassword: demo.StaffomaticPassword}
	if o.Generate > 0 {
		e.P.AddCredential(personiosim.Credential{ClientID: demo.PersonioClientID, ClientSecret: demo.PersonioClientSecret})
		e.P.Generate(personiosim.GenerateOptions{Employees: o.Generate, Seed: 7})
		acc, err := e.S.AddAccount(staffomaticsim.AccountSpec{Subdomain: demo.StaffomaticSubdomain, Name: "Generated", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := acc.Generate(staffomaticsim.GenSpec{Seed: 7, Users: 0, Locations: 1, AdminEmail: demo.StaffomaticEmail,
			AdminPassword: demo.StaffomaticPassword}); err != nil {
			t.Fatal(err)
		}
	} else {
		info, err := demo.Seed(e.P, e.S, now)
		if err != nil {
			t.Fatal(err)
		}
		e.Demo = info
	}

	db := o.DynamoDB
	if db == nil {
		db, _ = awstest.MiniDyn(t)
	}
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	ctx := context.Background()
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	e.Store = store.New(db, tables, store.WithClock(clock))
	e.Tables = tables
	if ep := db.Options().BaseEndpoint; ep != nil {
		e.DynamoDBEndpoint = *ep
	}
	key := sha256.Sum256([]byte("synctest"))
	sealer, err := seal.NewLocal(key[:])
	if err != nil {
		t.Fatal(err)
	}
	e.Sealer = sealer
	e.LocalKey = hex.EncodeToString(key[:])
	sealed, err := seal.SealCredentials(ctx, sealer, TenantID, creds)
	if err != nil {
		t.Fatal(err)
	}
	tn := &domain.Tenant{ID: TenantID, Name: "Demo Gastro GmbH", Owner: domain.Owner{Email: demo.StaffomaticEmail},
		Settings: domain.DefaultSettings(), Sources: domain.DefaultSources(),
		Personio:    domain.Personio{ClientID: demo.PersonioClientID, BaseURL: e.PersonioURL},
		Staffomatic: domain.Staffomatic{BaseURL: e.StaffomaticURL, Subdomain: demo.StaffomaticSubdomain, AdminEmail: demo.StaffomaticEmail},
		Sealed:      sealed, CreatedAt: now, UpdatedAt: now}
	if err := e.Store.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	return e
}

// Quiesce waits until both simulators have answered every request they are answering: a
// run whose context was cancelled no longer awaits its last requests, while the simulators
// may still carry them out (as the real APIs do). A test that counts records or calls, or
// starts the next run, after such a run calls it first.
func (e *Env) Quiesce() {
	e.P.Quiesce()
	e.S.Quiesce()
}

// Tenant reads the tenant.
func (e *Env) Tenant(t testing.TB) domain.Tenant {
	t.Helper()
	tn, err := e.Store.GetTenant(context.Background(), TenantID)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// UpdateSettings changes the tenant's settings.
func (e *Env) UpdateSettings(t testing.TB, change func(*domain.Settings)) {
	t.Helper()
	tn := e.Tenant(t)
	change(&tn.Settings)
	if _, err := e.Store.UpdateSettings(context.Background(), tn.ID, tn.Version, tn.Settings); err != nil {
		t.Fatal(err)
	}
}

// Select stores the employee selection.
func (e *Env) Select(t testing.TB, employees map[string]bool, rules ...domain.AutoInclude) {
	t.Helper()
	ctx := context.Background()
	sel, err := e.Store.GetSelection(ctx, TenantID)
	if err != nil {
		t.Fatal(err)
	}
	sel.Tenant, sel.Employees, sel.Rules, sel.UpdatedAt = TenantID, employees, rules, e.Clock()
	if err := e.Store.SaveSelection(ctx, &sel); err != nil {
		t.Fatal(err)
	}
}

// Vendors returns the vendor builder of the environment: the local runner's open policy
// (the simulators listen on loopback) over the environment's hook transport.
func (e *Env) Vendors() *vendors.Builder {
	o := vendors.Options{Policy: vendors.Policy{Open: true}, Transport: e.Transport, Timeout: time.Minute, Log: e.Log}
	if e.fastPersonio {
		fast := map[personio.Family]personio.Limit{}
		for f := range personio.DefaultLimits() {
			fast[f] = personio.Limit{PerSecond: 1000, Burst: 1000}
		}
		o.Limiters = vendors.NewRegistry(0, nil).WithPersonioLimits(fast)
	}
	return vendors.New(o)
}

// HarnessDeps returns the harness dependencies of the environment.
func (e *Env) HarnessDeps() phase.Deps {
	return phase.Deps{Store: e.Store, Sealer: e.Sealer, Log: e.Log, LeaseTTL: 10 * time.Minute}
}

// Request returns a manual request of a phase; the run id is unique per call.
func (e *Env) Request(p domain.Phase, m domain.Mode, dry bool, targets ...domain.Target) domain.SyncRequest {
	e.mu.Lock()
	e.seq++
	at := e.Now.Add(time.Duration(e.seq) * time.Second)
	e.mu.Unlock()
	return domain.SyncRequest{Tenant: TenantID, Phase: p, Mode: m, Trigger: domain.TriggerManual, DryRun: dry, Targets: targets,
		RunID: domain.NewRunID(p, at)}
}

// Protocol returns a run's protocol entries.
func (e *Env) Protocol(t testing.TB, area domain.Area, runID string) []domain.ProtocolEntry {
	t.Helper()
	var out []domain.ProtocolEntry
	q := store.ProtocolQuery{Tenant: TenantID, Area: area, RunID: runID, Limit: 100}
	for {
		pg, err := e.Store.QueryProtocol(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pg.Entries...)
		if pg.Next == "" {
			return out
		}
		q.Next = pg.Next
	}
}

// Recorder is a run's protocol and counts as a phase's apply sees them (the part of
// *phase.Run it writes to), for tests that apply a plan without the harness.
type Recorder struct {
	mu      sync.Mutex
	Entries []domain.ProtocolEntry
	Counts  map[domain.Outcome]int
	Cursor  string
}

// Record keeps the entry.
func (r *Recorder) Record(_ context.Context, e domain.ProtocolEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Entries = append(r.Entries, e)
	return nil
}

// Count adds n records of outcome o.
func (r *Recorder) Count(o domain.Outcome, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Counts == nil {
		r.Counts = map[domain.Outcome]int{}
	}
	r.Counts[o] += n
}

// SetCursor keeps the cursor.
func (r *Recorder) SetCursor(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Cursor = c
}

// Store returns a store on fresh tables in an in-process minidyn.
func Store(t testing.TB) *store.Store {
	t.Helper()
	db, _ := awstest.MiniDyn(t)
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	if err := store.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	return store.New(db, tables)
}

// BootstrapEnv is the environment a phase function's bootstrap runs with under
// aws-lambda-rie against this world: its tables, the sealing key and a vendor policy that
// admits the simulators (a deployed stack's policy refuses loopback unless the operator's
// list names it).
func (e *Env) BootstrapEnv() map[string]string {
	return map[string]string{
		"DYNAMODB_ENDPOINT": e.DynamoDBEndpoint, "TENANTS_TABLE": e.Tables.Tenants, "MAPPINGS_TABLE": e.Tables.Mappings,
		"PROTOCOL_TABLE": e.Tables.Protocol, "STAFFSYNC_LOCAL_KEY": e.LocalKey, "AWS_REGION": "eu-central-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"ALLOWED_VENDOR_HOSTS": "http://127.0.0.1",
	}
}
