package phase_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

// FuzzHandle feeds arbitrary event bytes to the harness of a users phase whose tenant
// "acme" exists. It never panics and never leaves a lease behind. An event that is not a
// valid SyncRequested event is dropped (no error, so Lambda does not retry it) without
// starting the phase or writing a run; a valid one for another phase is an error that
// starts nothing; a valid one for acme's users phase ends in a final run summary.
func FuzzHandle(f *testing.F) {
	at := time.Now().UTC().Truncate(time.Hour)
	reqs := []domain.SyncRequest{
		{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerSchedule, RunID: domain.ScheduledRunID(domain.PhaseUsers, at), ScheduledTime: at},
		{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeTargeted, Trigger: domain.TriggerWebhook, RunID: domain.NewRunID(domain.PhaseUsers, at), DryRun: true,
			Targets: []domain.Target{{Kind: domain.KindUser, ID: "101"}}},
		{Tenant: "acme", Phase: domain.PhaseAbsences, Mode: domain.ModePartial, Trigger: domain.TriggerManual, RunID: domain.NewRunID(domain.PhaseAbsences, at)},
		{Tenant: "gone", Phase: domain.PhaseUsers, Mode: domain.ModePartial, Trigger: domain.TriggerManual, RunID: domain.NewRunID(domain.PhaseUsers, at)},
	}
	for _, r := range reqs {
		f.Add([]byte(event(f, r)))
	}
	for _, s := range []string{``, `null`, `{}`, `[1]`, `{"source":"staffsync","detail-type":"SyncRequested","detail":{}}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":{"tenant_id":"acme","phase":"users","mode":"full","trigger":"manual","run_id":"20261101T040000Z-users-x","then":[{"phase":"users","run_id":"20261101T040000Z-users-y"}]}}`} {
		f.Add([]byte(s))
	}
	e := setup(f, &fakePhase{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		loaded := e.ph.loaded.Load()
		req, perr := bus.Parse(raw)
		err := e.h.Handle(ctx, json.RawMessage(raw))
		if perr != nil {
			if err != nil || e.ph.loaded.Load() != loaded {
				t.Fatalf("malformed event (%v): %v, phase started: %v", perr, err, e.ph.loaded.Load() != loaded)
			}
			return
		}
		if req.Phase != domain.PhaseUsers {
			if err == nil || e.ph.loaded.Load() != loaded {
				t.Fatalf("%s event run by the users function: %v", req.Phase, err)
			}
			return
		}
		if req.Tenant != "acme" {
			if err != nil {
				t.Fatalf("event of an unknown tenant: %v", err)
			}
			return
		}
		probe, lerr := e.st.AcquireLease(ctx, "acme", domain.PhaseUsers, "fuzz-probe", time.Minute)
		if lerr != nil {
			t.Fatalf("lease left behind: %v", lerr)
		}
		if rerr := e.st.ReleaseLease(ctx, probe); rerr != nil {
			t.Fatal(rerr)
		}
		sum, gerr := e.st.GetRun(ctx, req.Tenant, req.RunID)
		if started, _ := time.Parse("20060102T150405Z", req.RunID[:16]); time.Since(started) > store.RunRetention-time.Hour {
			return // pruned with the old summaries as soon as it is written
		}
		if gerr != nil {
			t.Fatalf("no run summary after %v: %v", err, gerr)
		}
		switch sum.Status {
		case domain.RunSucceeded, domain.RunSkipped, domain.RunFailed:
		default:
			t.Fatalf("run left %s (%v)", sum.Status, err)
		}
		if sum.Status == domain.RunFailed && err == nil {
			t.Fatalf("failed run reported as success: %s", sum.Error)
		}
	})
}
