package phase_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
)

// TestStoredModeIsTheModeThatRan: a partial run whose Load fell back to full is stored as
// full, with the requested mode and the reason; a retry of the run starts from the
// requested mode again.
func TestStoredModeIsTheModeThatRan(t *testing.T) {
	e := setup(t, &fakePhase{fallback: domain.ModeFull})
	ctx := context.Background()
	r := request(false)
	r.Mode = domain.ModePartial
	sum, err := e.h.Run(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetRun(ctx, "acme", r.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []domain.RunSummary{sum, got} {
		if s.Mode != domain.ModeFull || s.RequestedMode != domain.ModePartial || s.ModeReason == "" {
			t.Fatalf("summary mode %q requested %q reason %q, want full instead of partial with a reason", s.Mode, s.RequestedMode, s.ModeReason)
		}
	}
	// A run whose Load keeps the mode stores it alone.
	e.ph.fallback = ""
	r2 := request(false)
	r2.Mode = domain.ModePartial
	if sum, err := e.h.Run(ctx, r2); err != nil || sum.Mode != domain.ModePartial || sum.RequestedMode != "" || sum.ModeReason != "" {
		t.Fatalf("unchanged mode: %v %+v", err, sum)
	}
}

// TestNoOpRunCountsWithoutProtocol: records counted with Run.Count appear in the summary
// and in the EMF line, without protocol entries.
func TestNoOpRunCountsWithoutProtocol(t *testing.T) {
	e := setup(t, &fakePhase{})
	ctx := context.Background()
	r := request(false)
	h := newCountingHarness(e, 50)
	sum, err := h.Run(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeUnchanged] != 50 || len(sum.Counts) != 1 || sum.APICalls[domain.SystemPersonio] != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if n := len(protocol(t, e, r.RunID)); n != 0 {
		t.Fatalf("%d protocol entries for a no-op run", n)
	}
	if got, _ := e.st.GetRun(ctx, "acme", r.RunID); got.Counts[domain.OutcomeUnchanged] != 50 {
		t.Fatalf("stored %+v", got)
	}
}

// noopPhase compares n records and finds nothing to do.
type noopPhase struct{ n int }

func (p noopPhase) Name() domain.Phase { return domain.PhaseUsers }
func (p noopPhase) Load(_ context.Context, run *phase.Run) (int, error) {
	run.CountAPICall(domain.SystemPersonio)
	return p.n, nil
}
func (p noopPhase) Plan(n int) (fakePlan, error) { return fakePlan{}, nil }
func (p noopPhase) Apply(_ context.Context, run *phase.Run, _ fakePlan) error {
	run.Count(domain.OutcomeUnchanged, p.n)
	run.Count(domain.OutcomeSkipped, 0) // counts nothing
	return nil
}

func newCountingHarness(e *env, n int) *phase.Harness[int, fakePlan] {
	return phase.New[int, fakePlan](noopPhase{n: n}, phase.Deps{Store: e.st, Sealer: e.sealer, Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		Metrics: obs.NewMetrics(e.metrics, "usersync"), LeaseTTL: time.Minute})
}

// TestFailedRecordsMakeAPartiallyFailedRun: a run that ended with a failed record is
// stored as partially_failed (not an error of the function: a Lambda retry would apply
// everything again), its EMF line carries Run_partially_failed and Records_failed for the
// alarm, and a repeated delivery treats it as ended.
func TestFailedRecordsMakeAPartiallyFailedRun(t *testing.T) {
	e := setup(t, &fakePhase{failOne: true})
	ctx := context.Background()
	r := request(false)
	if err := e.h.Handle(ctx, event(t, r)); err != nil {
		t.Fatalf("a partial failure failed the function: %v", err)
	}
	sum, err := e.st.GetRun(ctx, "acme", r.RunID)
	if err != nil || sum.Status != domain.RunPartiallyFailed || sum.Counts[domain.OutcomeFailed] != 1 || sum.Counts[domain.OutcomeCreated] != 2 || sum.Error != "" {
		t.Fatalf("summary %+v %v", sum, err)
	}
	m := e.metrics.String()
	for _, want := range []string{`"Run_partially_failed":1`, `"Records_failed":1`, `"Records_created":2`, `"Records_unchanged":0`} {
		if !strings.Contains(m, want) {
			t.Errorf("EMF lacks %s: %s", want, m)
		}
	}
	if err := e.h.Handle(ctx, event(t, r)); err != nil || e.ph.applied.Load() != 3 {
		t.Fatalf("repeated delivery: %v, applied %d times, want 3 (once)", err, e.ph.applied.Load())
	}
	if got, _ := e.st.GetRun(ctx, "acme", r.RunID); got.Status != domain.RunPartiallyFailed || !got.StartedAt.Equal(sum.StartedAt) {
		t.Fatalf("repeated delivery changed the summary: %+v", got)
	}
	// A clean run after it succeeds (and emits Records_failed 0 for the alarm's data).
	e.ph.failOne = false
	if sum, err := e.h.Run(ctx, request(false)); err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("clean run: %v %+v", err, sum)
	}
	if !strings.Contains(e.metrics.String(), `"Records_failed":0`) {
		t.Fatalf("EMF %s", e.metrics.String())
	}
}
