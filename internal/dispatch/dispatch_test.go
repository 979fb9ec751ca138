package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

// recorder is a Publisher that records requests and fails the tenants in fail.
type recorder struct {
	mu   sync.Mutex
	got  []domain.SyncRequest
	fail map[string]bool
}

func (r *recorder) Publish(_ context.Context, reqs ...domain.SyncRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pe bus.PublishError
	for _, q := range reqs {
		if r.fail[q.Tenant] {
			pe.Failed = append(pe.Failed, bus.FailedEntry{Request: q, Code: "InternalFailure"})
			continue
		}
		r.got = append(r.got, q)
	}
	if len(pe.Failed) > 0 {
		return &pe
	}
	return nil
}

func setup(t testing.TB, tenants map[string]bool, opts ...store.Option) *store.Store {
	t.Helper()
	db, _ := awstest.MiniDyn(t)
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	if err := store.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, tables, opts...)
	for id, on := range tenants {
		tn := &domain.Tenant{ID: id, Owner: domain.Owner{Email: "o@x.example"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
		tn.Settings.EnableBackgroundSync = on
		if err := st.CreateTenant(context.Background(), tn); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestDispatchOncePerSchedule(t *testing.T) {
	ctx := context.Background()
	st := setup(t, map[string]bool{"ta": true, "tb": false, "tc": true})
	rec := &recorder{}
	var logs, emf bytes.Buffer
	d := dispatch.New(st, rec, obs.NewLogger(&logs, true, slog.LevelInfo), obs.NewMetrics(&emf, "dispatch"))
	in := dispatch.Input{Phase: domain.PhaseTimesheets, Mode: domain.ModePartial, ScheduledTime: "2026-03-01T09:10:00Z"}
	res, err := d.Dispatch(ctx, in)
	if err != nil || res.Published != 2 || res.Tenants != 2 || res.Duplicates != 0 {
		t.Fatalf("first: %+v %v", res, err)
	}
	res, err = d.Dispatch(ctx, in)
	if err != nil || res.Published != 0 || res.Duplicates != 2 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	var tenants []string
	for _, r := range rec.got {
		tenants = append(tenants, r.Tenant)
		if r.RunID != "20260301T091000Z-timesheets-sched" || r.Trigger != domain.TriggerSchedule || r.Mode != domain.ModePartial {
			t.Errorf("request %+v", r)
		}
	}
	slices.Sort(tenants)
	if fmt.Sprint(tenants) != "[ta tc]" {
		t.Fatalf("events for %v", tenants)
	}
	run, err := st.GetRun(ctx, "ta", "20260301T091000Z-timesheets-sched")
	if err != nil || run.Status != domain.RunQueued {
		t.Fatalf("queued run: %+v %v", run, err)
	}
	// The next slot is a different run.
	in.ScheduledTime = "2026-03-01T09:20:00Z"
	if res, err := d.Dispatch(ctx, in); err != nil || res.Published != 2 {
		t.Fatalf("next slot: %+v %v", res, err)
	}
	if !strings.Contains(emf.String(), `"Dispatched":2`) {
		t.Errorf("no EMF line: %s", emf.String())
	}
}

// TestDispatchSkipsUndeployedPhases: the timetable holds every phase, but a phase without
// a function gets no claim and no event, so no run waits in "queued" forever.
func TestDispatchSkipsUndeployedPhases(t *testing.T) {
	ctx := context.Background()
	st := setup(t, map[string]bool{"ta": true})
	rec := &recorder{}
	d := dispatch.New(st, rec, obs.NewLogger(&bytes.Buffer{}, true, slog.LevelInfo), nil).
		WithPhases([]domain.Phase{domain.PhaseUsers, domain.PhaseWorkspaces})
	res, err := d.Dispatch(ctx, dispatch.Input{Phase: domain.PhaseTimesheets, Mode: domain.ModePartial, ScheduledTime: "2026-03-01T09:10:00Z"})
	if err != nil || !res.NotDeployed || res.Published != 0 || len(rec.got) != 0 {
		t.Fatalf("undeployed phase: %+v %v, %d events", res, err, len(rec.got))
	}
	if runs, _ := st.ListRuns(ctx, "ta", 10, ""); len(runs.Runs) != 0 {
		t.Fatalf("claimed %d runs for an undeployed phase", len(runs.Runs))
	}
	res, err = d.Dispatch(ctx, dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "2026-03-01T04:00:00Z"})
	if err != nil || res.NotDeployed || res.Published != 1 {
		t.Fatalf("deployed phase: %+v %v", res, err)
	}
}

func TestDispatchFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	st := setup(t, map[string]bool{"ta": true, "tc": true})
	rec := &recorder{fail: map[string]bool{"tc": true}}
	d := dispatch.New(st, rec, slog.New(slog.DiscardHandler), nil)
	in := dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "2026-03-01T04:00:00Z"}
	res, err := d.Dispatch(ctx, in)
	var pe *bus.PublishError
	if !errors.As(err, &pe) || res.Published != 1 || res.Failed != 1 {
		t.Fatalf("failing publish: %+v %v", res, err)
	}
	if _, err := st.GetRun(ctx, "tc", domain.ScheduledRunID(domain.PhaseUsers, time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim of the unsent event not withdrawn: %v", err)
	}
	rec.fail = nil
	res, err = d.Dispatch(ctx, in) // the Scheduler's retry
	if err != nil || res.Published != 1 || res.Duplicates != 1 || len(rec.got) != 2 {
		t.Fatalf("retry: %+v %v, %d events", res, err, len(rec.got))
	}
}

func TestDispatchInputValidation(t *testing.T) {
	cases := []struct {
		in   dispatch.Input
		want string
	}{
		{dispatch.Input{Phase: "payroll", Mode: domain.ModeFull, ScheduledTime: "2026-01-01T00:00:00Z"}, "phase"},
		{dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeTargeted, ScheduledTime: "2026-01-01T00:00:00Z"}, "mode"},
		{dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "<aws.scheduler.scheduled-time>"}, "scheduled_time"},
		{dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "0000-01-01T00:00:00+01:00"}, "scheduled_time"},
		{dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "9999-12-31T23:59:59-01:00"}, "scheduled_time"},
	}
	d := dispatch.New(setup(t, nil), &recorder{}, slog.New(slog.DiscardHandler), nil)
	for _, c := range cases {
		if _, err := d.Dispatch(context.Background(), c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.in, err, c.want)
		}
	}
}

// TestDispatchResendsRunsLeftQueuedByACrash: an invocation that claimed runs and died
// before sending them leaves them "queued"; the Scheduler's retry a minute later sends
// them again, while a duplicate delivery seconds later and runs that have started do not.
func TestDispatchResendsRunsLeftQueuedByACrash(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 4, 0, 5, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	st := setup(t, map[string]bool{"ta": true, "tb": true, "tc": true}, store.WithClock(now))
	in := dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModeFull, ScheduledTime: "2026-03-01T04:00:00Z"}
	runID := domain.ScheduledRunID(domain.PhaseUsers, time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC))

	// The crashed invocation: claims written, events never sent.
	for _, id := range []string{"ta", "tb", "tc"} {
		r := domain.SyncRequest{Tenant: id, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerSchedule, RunID: runID}
		if err := st.CreateRun(ctx, r.Summary(now())); err != nil {
			t.Fatal(err)
		}
	}
	// tb's run was sent after all and is running.
	sum, _ := st.GetRun(ctx, "tb", runID)
	sum.Status, sum.StartedAt = domain.RunRunning, now()
	if err := st.PutRun(ctx, sum); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d := dispatch.New(st, rec, slog.New(slog.DiscardHandler), nil)

	advance(5 * time.Second) // a duplicate delivery
	if res, err := d.Dispatch(ctx, in); err != nil || res.Published != 0 || res.Resent != 0 || res.Duplicates != 3 {
		t.Fatalf("duplicate delivery: %+v %v", res, err)
	}
	advance(time.Minute) // the retry of the crashed invocation
	res, err := d.Dispatch(ctx, in)
	if err != nil || res.Published != 2 || res.Resent != 2 || res.Duplicates != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	var tenants []string
	for _, r := range rec.got {
		tenants = append(tenants, r.Tenant)
		if r.RunID != runID {
			t.Errorf("resent %+v", r)
		}
	}
	slices.Sort(tenants)
	if fmt.Sprint(tenants) != "[ta tc]" {
		t.Fatalf("resent for %v, want the queued runs of ta and tc", tenants)
	}
	if sum, _ := st.GetRun(ctx, "tb", runID); sum.Status != domain.RunRunning {
		t.Fatalf("the running run was touched: %+v", sum)
	}
}
