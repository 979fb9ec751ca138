package phases_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/vendors"
)

// FuzzPhaseFunctions feeds arbitrary event bytes to every registered phase function's
// entry point — the handler its Lambda main starts, built by the registry with the real
// phase — in a demo world whose users are mapped (simulators and minidyn). Nothing panics.
// An event that is not a valid SyncRequested event is dropped with an error in the log
// (no error returned: Lambda's retry cannot repair it) and writes nothing: no vendor call,
// no run summary. A valid event for another phase is refused as an error and starts
// nothing. A valid event for the function's phase ends in a final run summary with the
// lease free; a dry run among them writes nothing to either vendor; no event holds a
// function for 20 s. The seeds run in every plain go test; to explore, run
// `go test -run '^$' -fuzz FuzzPhaseFunctions -fuzzminimizetime 5s ./internal/phases/`
// (an input that finds new code is minimised for 60 s by default, a run each try, which
// looks like a stall in the exec count).
func FuzzPhaseFunctions(f *testing.F) {
	env := synctest.New(f, synctest.Options{NoPersonioRateLimits: true})
	env.Select(f, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	// Fuzzing sends thousands of events a minute: both simulators' limits are lifted, and
	// the clients' with them, so no run waits for a rate window.
	env.S.SetRateLimit(-1, time.Second)
	unpaced := map[personio.Family]personio.Limit{}
	for fam := range personio.DefaultLimits() {
		unpaced[fam] = personio.Limit{PerSecond: 1e6, Burst: 1e6}
	}
	vb := vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: env.Transport, Timeout: time.Minute, Log: env.Log,
		Limiters: vendors.NewRegistry(0, nil).WithPersonioLimits(unpaced).WithStaffomaticLimit(1e6, time.Second)})
	deps := phases.Deps{Harness: env.HarnessDeps(), Vendors: vb}
	handlers := map[domain.Phase]func(context.Context, json.RawMessage) error{}
	for _, e := range phases.All() {
		handlers[e.Phase] = e.New(deps)
	}
	ctx := context.Background()
	// The later phases' targets need mapped users.
	users := domain.SyncRequest{Tenant: synctest.TenantID, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual,
		RunID: domain.NewRunID(domain.PhaseUsers, time.Now())}
	if err := handlers[domain.PhaseUsers](ctx, event(f, users)); err != nil {
		f.Fatal(err)
	}

	at := time.Now().UTC().Truncate(time.Second)
	seed := func(p domain.Phase, m domain.Mode, dry bool, targets ...domain.Target) {
		f.Add([]byte(event(f, domain.SyncRequest{Tenant: synctest.TenantID, Phase: p, Mode: m, Trigger: domain.TriggerWebhook, DryRun: dry,
			RunID: domain.NewRunID(p, at), Targets: targets})))
	}
	for _, p := range domain.Phases {
		seed(p, domain.ModeFull, true)
		seed(p, domain.ModePartial, true)
	}
	seed(domain.PhaseUsers, domain.ModeTargeted, true, domain.Target{Kind: domain.KindUser, ID: "1001"}, domain.Target{Kind: domain.KindUser, ID: "999999999999999999999"})
	seed(domain.PhaseUsers, domain.ModeTargeted, false, domain.Target{Kind: domain.KindUser, ID: "-7"})
	seed(domain.PhaseTimesheets, domain.ModeTargeted, true, domain.Target{Kind: domain.KindTimer, ID: "9100"}, domain.Target{Kind: domain.KindTimer, ID: "0"})
	seed(domain.PhaseTimesheets, domain.ModeTargeted, false, domain.Target{Kind: domain.KindAttendance, ID: "not-a-period"})
	seed(domain.PhaseAbsences, domain.ModeTargeted, true, domain.Target{Kind: domain.KindAbsence, ID: "personio/00000000-0000-0000-0000-000000000000"})
	seed(domain.PhaseAbsences, domain.ModeTargeted, false, domain.Target{Kind: domain.KindAbsence, ID: "staffomatic/x"})
	for _, s := range []string{``, `null`, `{}`, `[]`, `"x"`, `{"source":"staffsync","detail-type":"SyncRequested"}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":{"tenant_id":"demo-gastro","phase":"users","mode":"targeted","trigger":"webhook","run_id":"20260311T093000Z-users-x","targets":[{"kind":"user"}]}}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":{"tenant_id":"demo-gastro","phase":"timesheets","mode":"full","trigger":"manual","run_id":"99999999T999999Z-timesheets-x"}}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":"users"}`,
	} {
		f.Add([]byte(s))
	}

	runs := func() int {
		page, err := env.Store.ListRuns(ctx, synctest.TenantID, 1000, "")
		if err != nil {
			f.Fatal(err)
		}
		return len(page.Runs)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, perr := bus.Parse(raw)
		for _, e := range phases.All() {
			env.P.ResetCalls()
			env.S.ResetCalls()
			before := runs()
			hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := handlers[e.Phase](hctx, json.RawMessage(raw))
			stalled := hctx.Err() != nil
			cancel()
			if stalled {
				t.Fatalf("%s: the event held the function for 20 s (%v)", e.Phase, err)
			}
			env.S.Quiesce()
			switch {
			case perr != nil:
				if err != nil || runs() != before || len(env.P.Calls()) != 0 || len(env.S.Calls()) != 0 {
					t.Fatalf("%s: malformed event (%v): error %v, %d runs stored, %d Personio and %d Staffomatic calls", e.Phase, perr, err,
						runs()-before, len(env.P.Calls()), len(env.S.Calls()))
				}
			case req.Phase != e.Phase:
				if err == nil || runs() != before || len(env.P.Calls())+len(env.S.Calls()) != 0 {
					t.Fatalf("%s: a %s event: error %v, %d runs stored", e.Phase, req.Phase, err, runs()-before)
				}
			case req.Tenant == synctest.TenantID:
				if req.DryRun && env.P.WriteCalls()+env.S.WriteCalls() != 0 {
					t.Fatalf("%s: a dry run wrote %d times", e.Phase, env.P.WriteCalls()+env.S.WriteCalls())
				}
				probe, lerr := env.Store.AcquireLease(ctx, req.Tenant, e.Phase, "fuzz-probe", time.Minute)
				if lerr != nil {
					t.Fatalf("%s: lease left behind: %v", e.Phase, lerr)
				}
				if rerr := env.Store.ReleaseLease(ctx, probe); rerr != nil {
					t.Fatal(rerr)
				}
				sum, gerr := env.Store.GetRun(ctx, req.Tenant, req.RunID)
				if started, perr := time.Parse("20060102T150405Z", req.RunID[:min(16, len(req.RunID))]); perr == nil && env.Clock().Sub(started) > store.RunRetention-time.Hour {
					continue // pruned with the old summaries as soon as it is written
				}
				if gerr != nil || !sum.Status.Handled() && sum.Status != domain.RunFailed {
					t.Fatalf("%s: run left %q (%v), handler: %v", e.Phase, sum.Status, gerr, err)
				}
			}
		}
	})
}

// event is the EventBridge event of r as a phase function receives it.
func event(t testing.TB, r domain.SyncRequest) json.RawMessage {
	t.Helper()
	d, err := bus.Detail(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(bus.Envelope{Version: "0", ID: "fuzz", Source: bus.Source, DetailType: bus.DetailType, Time: time.Now(),
		Region: "eu-central-1", Detail: d})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
