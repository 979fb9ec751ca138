package phase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
)

const (
	personioSecret = "PERSONIO-secret-7f3a9"
	staffoPassword = "STAFFO-pass-c41d2"
)

type fakePlan struct{ acts []domain.PlannedAction }

func (p fakePlan) Actions() []domain.PlannedAction { return p.acts }

// fakePhase plans one create_user per employee and applies them, using the credentials
// and logging carelessly (secrets as attributes) to prove the redaction.
type fakePhase struct {
	panicIn string
	loaded  atomic.Int32
	applied atomic.Int32
	block   chan struct{} // when set, Load waits on it
	started chan struct{}
	// fallback, when set, is the mode Load says it runs in (SetMode).
	fallback domain.Mode
	// failOne makes Apply record the first action as failed (a partial failure).
	failOne bool
	// waitCtx makes Load wait for its context to end and return its error.
	waitCtx bool
	// loadDeadline is the deadline of the context Load got.
	loadDeadline time.Time
	// swallowStop makes Apply wait for its context to end and then, like a phase that
	// takes a stop for the end of its work, set its cursor and return nil.
	swallowStop bool
}

func (f *fakePhase) Name() domain.Phase { return domain.PhaseUsers }

func (f *fakePhase) Load(ctx context.Context, run *phase.Run) ([]string, error) {
	f.loaded.Add(1)
	if f.started != nil {
		close(f.started)
	}
	if f.block != nil {
		<-f.block
	}
	f.loadDeadline, _ = ctx.Deadline()
	if f.waitCtx {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.fallback != "" {
		run.SetMode(f.fallback, "no earlier successful run: full sync instead of partial")
	}
	if f.panicIn == "load" {
		var m map[string]int
		m["boom"]++ // nil map write
	}
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	run.Log.InfoContext(ctx, "authenticated", "client_secret", creds.PersonioClientSecret, "creds", creds, "password", creds.StaffomaticPassword)
	run.CountAPICall(domain.SystemPersonio)
	return []string{"101", "102", "103"}, nil
}

func (f *fakePhase) Plan(ids []string) (fakePlan, error) {
	var p fakePlan
	for _, id := range ids {
		p.acts = append(p.acts, domain.PlannedAction{Kind: domain.KindUser, Action: "create_user", SourceID: id, Reason: "selected and not in Staffomatic"})
	}
	return p, nil
}

func (f *fakePhase) Apply(ctx context.Context, run *phase.Run, p fakePlan) error {
	if f.panicIn == "apply" {
		panic("apply exploded")
	}
	for _, a := range p.acts {
		f.applied.Add(1)
		run.CountAPICall(domain.SystemStaffomatic)
		o := domain.OutcomeCreated
		if f.failOne && a.SourceID == p.acts[0].SourceID {
			o = domain.OutcomeFailed
		}
		if err := run.Record(ctx, domain.ProtocolEntry{Kind: a.Kind, SourceID: a.SourceID, TargetID: "u" + a.SourceID, Action: a.Action, Outcome: o}); err != nil {
			return err
		}
	}
	if f.swallowStop {
		<-ctx.Done()
	}
	run.SetCursor("2026-03-01T10:00:00Z")
	return nil
}

type env struct {
	st      *store.Store
	sealer  seal.Sealer
	db      *dynamodb.Client
	logs    *syncBuffer
	metrics *syncBuffer
	h       *phase.Harness[[]string, fakePlan]
	ph      *fakePhase
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func setup(t testing.TB, ph *fakePhase) *env {
	t.Helper()
	ctx := context.Background()
	db, _ := awstest.MiniDyn(t)
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, tables)
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := seal.SealCredentials(ctx, sealer, "acme", domain.Credentials{PersonioClientID: "pid", PersonioClientSecret: personioSecret, StaffomaticEmail: "a@acme.example", StaffomaticPassword: staffoPassword})
	if err != nil {
		t.Fatal(err)
	}
	tn := &domain.Tenant{ID: "acme", Owner: domain.Owner{Email: "a@acme.example"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources(), Sealed: sealed}
	if err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, db: db, logs: &syncBuffer{}, metrics: &syncBuffer{}, ph: ph, sealer: sealer}
	e.h = phase.New(phase.Phase[[]string, fakePlan](ph), phase.Deps{Store: st, Sealer: sealer,
		Log: obs.NewLogger(e.logs, true, slog.LevelDebug), Metrics: obs.NewMetrics(e.metrics, "usersync"), LeaseTTL: time.Minute})
	return e
}

func request(dry bool) domain.SyncRequest {
	now := time.Now()
	return domain.SyncRequest{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual, RunID: domain.NewRunID(domain.PhaseUsers, now), DryRun: dry}
}

// event wraps a request as the rule delivers it.
func event(t testing.TB, r domain.SyncRequest) json.RawMessage {
	d, err := bus.Detail(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(bus.Envelope{Version: "0", ID: "1", Source: bus.Source, DetailType: bus.DetailType, Time: time.Now(), Region: "eu-central-1", Detail: d})
	return b
}

func protocol(t *testing.T, e *env, runID string) []domain.ProtocolEntry {
	page, err := e.st.QueryProtocol(context.Background(), store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers, RunID: runID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Entries
}

func TestRunAppliesAndRecords(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatal(err)
	}
	sum, err := e.st.GetRun(ctx, "acme", r.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeCreated] != 3 || sum.APICalls[domain.SystemStaffomatic] != 3 || sum.APICalls[domain.SystemPersonio] != 1 || sum.FinishedAt.IsZero() {
		t.Fatalf("summary %+v", sum)
	}
	if n := len(protocol(t, e, r.RunID)); n != 3 {
		t.Fatalf("%d protocol entries", n)
	}
	if c, _ := e.st.GetCursor(ctx, "acme", domain.PhaseUsers); c != "2026-03-01T10:00:00Z" {
		t.Fatalf("cursor %q", c)
	}
	if _, err := e.st.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease not released: %v", err)
	}
	if m := e.metrics.String(); !strings.Contains(m, `"Run_succeeded":1`) || !strings.Contains(m, `"Records_created":3`) || !strings.Contains(m, `"APICalls_staffomatic":3`) {
		t.Fatalf("EMF %s", m)
	}
	if !strings.Contains(e.logs.String(), `"run_id":"`+r.RunID+`"`) {
		t.Fatalf("logs lack the run id: %s", e.logs.String())
	}
	// A second delivery of the same event runs nothing.
	if err := e.h.Handle(ctx, event(t, r)); err != nil || e.ph.applied.Load() != 3 {
		t.Fatalf("duplicate delivery: %v, applied %d", err, e.ph.applied.Load())
	}
}

func TestLeaseHeldRecordsSkippedRun(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	if _, err := e.st.AcquireLease(ctx, "acme", domain.PhaseUsers, "20260301T000000Z-users-other", time.Hour); err != nil {
		t.Fatal(err)
	}
	r := request(false)
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatalf("skip is not a failure: %v", err)
	}
	sum, err := e.st.GetRun(ctx, "acme", r.RunID)
	if err != nil || sum.Status != domain.RunSkipped || !strings.Contains(sum.Reason, domain.ReasonPreviousRunActive) || !strings.Contains(sum.Reason, "20260301T000000Z-users-other") {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if e.ph.loaded.Load() != 0 {
		t.Fatal("phase ran without the lease")
	}
	if l, _ := e.st.GetLease(ctx, "acme", domain.PhaseUsers); l.Holder != "20260301T000000Z-users-other" {
		t.Fatalf("skipped run touched the lease: %+v", l)
	}
}

func TestConcurrentDeliveriesRunOnce(t *testing.T) {
	ph := &fakePhase{block: make(chan struct{}), started: make(chan struct{})}
	e := setup(t, ph)
	ctx := context.Background()
	r := request(false)
	done := make(chan error)
	go func() { done <- e.h.Handle(ctx, event(t, r)) }()
	<-ph.started
	// The same event again while the first is inside Load: ignored, summary untouched.
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatal(err)
	}
	other := request(false)
	if err := e.h.Handle(ctx, event(t, other)); err != nil {
		t.Fatal(err)
	}
	close(ph.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ph.loaded.Load() != 1 {
		t.Fatalf("loaded %d times", ph.loaded.Load())
	}
	first, _ := e.st.GetRun(ctx, "acme", r.RunID)
	second, _ := e.st.GetRun(ctx, "acme", other.RunID)
	if first.Status != domain.RunSucceeded || second.Status != domain.RunSkipped {
		t.Fatalf("statuses %s %s", first.Status, second.Status)
	}
}

func TestPanicBecomesFailedRunAndReleasesLease(t *testing.T) {
	for _, where := range []string{"load", "apply"} {
		t.Run(where, func(t *testing.T) {
			e := setup(t, &fakePhase{panicIn: where})
			ctx := context.Background()
			r := request(false)
			err := e.h.Handle(ctx, event(t, r))
			if err == nil || !strings.Contains(err.Error(), "panic") {
				t.Fatalf("error %v", err)
			}
			sum, _ := e.st.GetRun(ctx, "acme", r.RunID)
			if sum.Status != domain.RunFailed || !strings.Contains(sum.Error, "panic") {
				t.Fatalf("summary %+v", sum)
			}
			if _, err := e.st.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("lease kept after panic: %v", err)
			}
			if !strings.Contains(e.metrics.String(), `"Run_failed":1`) {
				t.Fatalf("EMF %s", e.metrics.String())
			}
			// The failed run is re-run when its event is re-delivered (Lambda's retry).
			e.ph.panicIn = ""
			if err := e.h.Handle(ctx, event(t, r)); err != nil {
				t.Fatal(err)
			}
			if sum, _ := e.st.GetRun(ctx, "acme", r.RunID); sum.Status != domain.RunSucceeded || sum.Error != "" {
				t.Fatalf("retry: %+v", sum)
			}
		})
	}
}

func TestDryRunStoresPlan(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(true)
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatal(err)
	}
	if e.ph.applied.Load() != 0 {
		t.Fatal("dry run applied actions")
	}
	sum, _ := e.st.GetRun(ctx, "acme", r.RunID)
	if sum.Status != domain.RunSucceeded || !sum.DryRun || sum.Counts[domain.OutcomePlanned] != 3 || sum.Counts[domain.OutcomeCreated] != 0 {
		t.Fatalf("summary %+v", sum)
	}
	entries := protocol(t, e, r.RunID)
	if len(entries) != 3 || entries[0].Outcome != domain.OutcomePlanned || entries[0].Action != "create_user" || entries[0].Reason == "" {
		t.Fatalf("plan in protocol: %+v", entries)
	}
	if c, _ := e.st.GetCursor(ctx, "acme", domain.PhaseUsers); c != "" {
		t.Fatalf("dry run moved the cursor to %q", c)
	}
}

func TestWrongPhaseAndMalformedEvents(t *testing.T) {
	e := setup(t, &fakePhase{})
	r := request(false)
	r.Phase, r.RunID = domain.PhaseAbsences, domain.NewRunID(domain.PhaseAbsences, time.Now())
	if err := e.h.Handle(context.Background(), event(t, r)); err == nil || !strings.Contains(err.Error(), "rule pattern") {
		t.Fatalf("wrong phase: %v", err)
	}
	if err := e.h.Handle(context.Background(), json.RawMessage(`{"source":"x"}`)); err != nil {
		t.Fatalf("malformed event should be dropped, not retried: %v", err)
	}
	if e.ph.loaded.Load() != 0 {
		t.Fatal("phase ran")
	}
}

// TestNoSecretInStoreOrLogs runs a phase that opens the credentials and logs them
// carelessly, then searches every stored item of every table, every log line and every
// metric line for the plaintext secrets.
func TestNoSecretInStoreOrLogs(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	for _, dry := range []bool{false, true} {
		if err := e.h.Handle(ctx, event(t, request(dry))); err != nil {
			t.Fatal(err)
		}
	}
	e.ph.panicIn = "apply"
	_ = e.h.Handle(ctx, event(t, request(false)))

	var dump strings.Builder
	tables := e.st.Tables()
	items := 0
	for _, table := range []string{tables.Tenants, tables.Mappings, tables.Protocol} {
		out, err := e.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			dump.Write(b)
			dump.WriteString(string(mustBytes(m)))
			items++
		}
	}
	if items < 10 || !strings.Contains(dump.String(), "sealed_credentials") {
		t.Fatalf("only %d items scanned; sealed credentials missing", items)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "authenticated") {
		t.Fatalf("the phase's log line is missing: %s", logs)
	}
	for where, text := range map[string]string{"stored items": dump.String(), "logs": logs, "metrics": e.metrics.String()} {
		for _, secret := range []string{personioSecret, staffoPassword} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the plaintext secret %q", where, secret)
			}
		}
	}
}

// mustBytes returns the raw bytes of binary attributes (the sealed blob) so the search
// also covers them undecoded.
func mustBytes(m map[string]any) []byte {
	var out []byte
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []byte:
			out = append(out, v...)
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(m)
	return out
}

// TestChainStartsNextRun: a run that carries following steps (Sync Now of all phases)
// requests the next one on the bus after it ends, whether it succeeded or failed, and a
// redelivery of an ended run starts nothing again.
func TestChainStartsNextRun(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		ph := &fakePhase{}
		if failFirst {
			ph.panicIn = "apply"
		}
		e := setup(t, ph)
		ctx := context.Background()
		events := bus.NewLocal(obs.NewLogger(e.logs, true, slog.LevelDebug))
		var mu sync.Mutex
		var got []domain.SyncRequest
		events.Subscribe(domain.PhaseWorkspaces, func(_ context.Context, raw json.RawMessage) error {
			r, err := bus.Parse(raw)
			mu.Lock()
			defer mu.Unlock()
			got = append(got, r)
			return err
		})
		e.h = phase.New(phase.Phase[[]string, fakePlan](ph), phase.Deps{Store: e.st, Sealer: e.sealer, Bus: events,
			Log: obs.NewLogger(e.logs, true, slog.LevelDebug), Metrics: obs.NewMetrics(e.metrics, "usersync"), LeaseTTL: time.Minute})
		r := request(false)
		next := domain.Step{Phase: domain.PhaseWorkspaces, RunID: domain.NewRunID(domain.PhaseWorkspaces, time.Now())}
		r.Then = []domain.Step{next, {Phase: domain.PhaseAbsences, RunID: domain.NewRunID(domain.PhaseAbsences, time.Now())}}
		err := e.h.Handle(ctx, event(t, r))
		if failFirst != (err != nil) {
			t.Fatalf("failFirst=%v: handle error %v", failFirst, err)
		}
		events.Wait()
		if len(got) != 1 || got[0].Phase != domain.PhaseWorkspaces || got[0].RunID != next.RunID || len(got[0].Then) != 1 || got[0].Then[0].Phase != domain.PhaseAbsences {
			t.Fatalf("failFirst=%v: next requests %+v", failFirst, got)
		}
		if !failFirst {
			if err := e.h.Handle(ctx, event(t, r)); err != nil {
				t.Fatal(err)
			}
			events.Wait()
			if len(got) != 1 {
				t.Fatalf("a redelivered, finished run started its successor again: %+v", got)
			}
		}
	}
}

// TestChainWithoutBusFailsTheQueuedRuns: when the next run cannot be requested, the queued
// runs are recorded as failed with the reason, instead of waiting forever.
func TestChainWithoutBusFailsTheQueuedRuns(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	steps := []domain.Step{{Phase: domain.PhaseWorkspaces, RunID: domain.NewRunID(domain.PhaseWorkspaces, time.Now())},
		{Phase: domain.PhaseAbsences, RunID: domain.NewRunID(domain.PhaseAbsences, time.Now())}}
	r.Then = steps
	for _, s := range steps {
		q := domain.SyncRequest{Tenant: "acme", Phase: s.Phase, Mode: r.Mode, Trigger: r.Trigger, RunID: s.RunID}
		if err := e.st.CreateRun(ctx, q.Summary(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		sum, err := e.st.GetRun(ctx, "acme", s.RunID)
		if err != nil || sum.Status != domain.RunFailed || !strings.Contains(sum.Error, "not started") || sum.FinishedAt.IsZero() {
			t.Fatalf("queued run %s: %+v %v", s.Phase, sum, err)
		}
	}
}

// leaseProbe is a log handler that, when the harness reports a run as finished (after
// the final summary is written), records whether the phase's lease is still held.
type leaseProbe struct {
	slog.Handler
	st        *store.Store
	mu        sync.Mutex
	heldAtEnd []bool
}

func (p *leaseProbe) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "phase: run finished" {
		_, err := p.st.GetLease(ctx, "acme", domain.PhaseUsers)
		p.mu.Lock()
		p.heldAtEnd = append(p.heldAtEnd, !errors.Is(err, store.ErrNotFound))
		p.mu.Unlock()
	}
	return p.Handler.Handle(ctx, r)
}

// TestLeaseReleasedBeforeRunReportedEnded: a client that sees a run ended and starts the
// phase again at once (Sync Now after Sync Now) must not be refused by the ended run's lease.
func TestLeaseReleasedBeforeRunReportedEnded(t *testing.T) {
	e := setup(t, &fakePhase{})
	probe := &leaseProbe{Handler: slog.NewJSONHandler(e.logs, nil), st: e.st}
	h := phase.New(phase.Phase[[]string, fakePlan](e.ph), phase.Deps{Store: e.st, Sealer: e.sealer, Log: slog.New(probe), LeaseTTL: time.Minute})
	ctx := context.Background()
	first := request(false)
	if err := h.Handle(ctx, event(t, first)); err != nil {
		t.Fatal(err)
	}
	second := request(false)
	second.RunID = domain.NewRunID(domain.PhaseUsers, time.Now().Add(time.Second))
	if err := h.Handle(ctx, event(t, second)); err != nil {
		t.Fatal(err)
	}
	if sum, _ := e.st.GetRun(ctx, "acme", second.RunID); sum.Status != domain.RunSucceeded {
		t.Fatalf("second run right after the first: %+v", sum)
	}
	if len(probe.heldAtEnd) != 2 || probe.heldAtEnd[0] || probe.heldAtEnd[1] {
		t.Fatalf("lease still held when the run was reported ended: %v", probe.heldAtEnd)
	}
}

// hookedStore returns a store on e's tables whose client calls before with the input of
// every DynamoDB request before it is sent, and after once it is answered.
func hookedStore(e *env, before func(in any), after func(in any, err error)) *store.Store {
	c := dynamodb.New(e.db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("hook", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if before != nil {
					before(in.Parameters)
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if after != nil {
					after(in.Parameters, err)
				}
				return out, md, err
			}), middleware.After)
		})
	})
	return store.New(c, e.st.Tables())
}

// isLeasePut reports whether in is the PutItem of AcquireLease.
func isLeasePut(in any) bool {
	p, ok := in.(*dynamodb.PutItemInput)
	if !ok {
		return false
	}
	sk, ok := p.Item[store.AttrSK].(*types.AttributeValueMemberS)
	return ok && strings.HasPrefix(sk.Value, "LEASE#")
}

// TestDuplicateDeliveryAtEveryStepRunsOnce delivers the run's event again after every
// DynamoDB request the first delivery makes once it holds the lease — including the
// moment between releasing the lease and writing the final summary. The phase must be
// applied once, whatever the moment.
func TestDuplicateDeliveryAtEveryStepRunsOnce(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	// The harness makes some of its DynamoDB requests at once (the tenant beside the run
	// record), so the hook's bookkeeping is shared by goroutines.
	var mu sync.Mutex
	armed, deliveries := false, 0
	var dupErr error
	st := hookedStore(e, nil, func(in any, err error) {
		mu.Lock()
		if !armed {
			armed = err == nil && isLeasePut(in)
			mu.Unlock()
			return
		}
		deliveries++
		mu.Unlock()
		if err := e.h.Handle(ctx, event(t, r)); err != nil {
			mu.Lock()
			if dupErr == nil {
				dupErr = err
			}
			mu.Unlock()
		}
	})
	first := phase.New(phase.Phase[[]string, fakePlan](e.ph), phase.Deps{Store: st, Sealer: e.sealer, Log: obs.NewLogger(e.logs, true, slog.LevelDebug), LeaseTTL: time.Minute})
	if err := first.Handle(ctx, event(t, r)); err != nil {
		t.Fatal(err)
	}
	if dupErr != nil {
		t.Fatalf("a duplicate delivery failed: %v", dupErr)
	}
	if deliveries < 5 {
		t.Fatalf("only %d duplicate deliveries while the first ran", deliveries)
	}
	if e.ph.loaded.Load() != 1 || e.ph.applied.Load() != 3 {
		t.Fatalf("after %d duplicate deliveries: loaded %d times, applied %d actions; want once, 3", deliveries, e.ph.loaded.Load(), e.ph.applied.Load())
	}
	if sum, err := e.st.GetRun(ctx, "acme", r.RunID); err != nil || sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeCreated] != 3 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if _, err := e.st.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease after the run: %v, want released", err)
	}
}

// TestDeliveryThatReadTheSummaryBeforeTheRunEndedRunsOnce: a second delivery reads the
// summary (not ended), then the first delivery runs to its end, then the second takes the
// now free lease. It must see that the run has ended and not apply it again.
func TestDeliveryThatReadTheSummaryBeforeTheRunEndedRunsOnce(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	var firstErr error
	done := false
	st := hookedStore(e, func(in any) {
		if !done && isLeasePut(in) {
			done = true
			firstErr = e.h.Handle(ctx, event(t, r))
		}
	}, nil)
	second := phase.New(phase.Phase[[]string, fakePlan](e.ph), phase.Deps{Store: st, Sealer: e.sealer, Log: obs.NewLogger(e.logs, true, slog.LevelDebug), LeaseTTL: time.Minute})
	sum, err := second.Run(ctx, r)
	if err != nil || firstErr != nil || !done {
		t.Fatalf("second delivery: %v; first: %v (ran: %v)", err, firstErr, done)
	}
	if e.ph.loaded.Load() != 1 || e.ph.applied.Load() != 3 {
		t.Fatalf("loaded %d times, applied %d actions; want once, 3", e.ph.loaded.Load(), e.ph.applied.Load())
	}
	if sum.Status != domain.RunSucceeded {
		t.Fatalf("second delivery returned %+v, want the ended run", sum)
	}
	if got, err := e.st.GetRun(ctx, "acme", r.RunID); err != nil || got.Status != domain.RunSucceeded || got.Counts[domain.OutcomeCreated] != 3 {
		t.Fatalf("summary %+v %v", got, err)
	}
	if _, err := e.st.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease after both deliveries: %v, want released", err)
	}
}

// TestSkipNeverOverwritesTheRunAnotherDeliveryRan: a delivery finds the lease held by
// another run and is about to record a skip; meanwhile that run ends and a second
// delivery of the same run takes the lease and runs it. The skip must not replace the
// second delivery's summary.
func TestSkipNeverOverwritesTheRunAnotherDeliveryRan(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	other, err := e.st.AcquireLease(ctx, "acme", domain.PhaseUsers, "20260301T000000Z-users-other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := request(false)
	var secondErr error
	ran := false
	st := hookedStore(e, func(in any) {
		p, ok := in.(*dynamodb.PutItemInput)
		if !ok || ran {
			return
		}
		if s, ok := p.Item["status"].(*types.AttributeValueMemberS); ok && s.Value == string(domain.RunSkipped) {
			ran = true
			if err := e.st.ReleaseLease(ctx, other); err != nil {
				t.Errorf("release of the other run's lease: %v", err)
			}
			secondErr = e.h.Handle(ctx, event(t, r))
		}
	}, nil)
	first := phase.New(phase.Phase[[]string, fakePlan](e.ph), phase.Deps{Store: st, Sealer: e.sealer, Log: obs.NewLogger(e.logs, true, slog.LevelDebug), LeaseTTL: time.Minute})
	if err := first.Handle(ctx, event(t, r)); err != nil || secondErr != nil || !ran {
		t.Fatalf("first delivery: %v; second: %v (ran: %v)", err, secondErr, ran)
	}
	if e.ph.applied.Load() != 3 {
		t.Fatalf("applied %d actions, want 3", e.ph.applied.Load())
	}
	if sum, err := e.st.GetRun(ctx, "acme", r.RunID); err != nil || sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeCreated] != 3 || sum.Reason != "" {
		t.Fatalf("summary %+v %v, want the second delivery's succeeded run", sum, err)
	}
}

// TestLambdaRetryOfADeadAttemptRuns: an attempt that took the lease and died (timeout,
// crash) leaves the run "running"; Lambda's retry carries the same request id and runs
// it at once, while another delivery of the run (another invocation) is still ignored.
func TestLambdaRetryOfADeadAttemptRuns(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	// The dead attempt: summary "running", lease held under its request id for an hour.
	sum := r.Summary(time.Now().UTC())
	sum.Status, sum.StartedAt = domain.RunRunning, time.Now().UTC()
	if err := e.st.PutRun(ctx, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AcquireLeaseFor(ctx, "acme", domain.PhaseUsers, r.RunID, "req-A", time.Hour); err != nil {
		t.Fatal(err)
	}
	invoke := func(requestID string) {
		t.Helper()
		lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
		if err := e.h.Handle(lctx, event(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	invoke("req-B") // another delivery while the attempt's lease lives: ignored
	if got, _ := e.st.GetRun(ctx, "acme", r.RunID); got.Status != domain.RunRunning || e.ph.applied.Load() != 0 {
		t.Fatalf("another invocation ran the run: %+v, %d applied", got, e.ph.applied.Load())
	}
	invoke("req-A") // Lambda's retry of the dead attempt
	if got, _ := e.st.GetRun(ctx, "acme", r.RunID); got.Status != domain.RunSucceeded || e.ph.applied.Load() != 3 {
		t.Fatalf("the retry did not run the run: %+v, %d applied", got, e.ph.applied.Load())
	}
	if _, err := e.st.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease kept after the retry ended: %v", err)
	}
}
