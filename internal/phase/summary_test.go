package phase_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/store"
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
	// The names the template's alarm (internal/deploy checks it) and dashboards use.
	for _, want := range []string{`"` + obs.MetricRunPartiallyFailed + `":1`, `"` + obs.MetricRecordsFailed + `":1`, `"Records_created":2`, `"Records_unchanged":0`} {
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

// TestRunStopsBeforeTheFunctionsDeadline: the phase works under a context that ends
// DeadlineMargin before the invocation's deadline; a run that reaches it fails with an
// error saying so, and its summary and lease release are still written. Without a
// deadline the phase's context has none.
func TestRunStopsBeforeTheFunctionsDeadline(t *testing.T) {
	e := setup(t, &fakePhase{})
	dl := time.Now().Add(10 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	if _, err := e.h.Run(ctx, request(false)); err != nil {
		t.Fatal(err)
	}
	if want := dl.Add(-phase.DeadlineMargin); !e.ph.loadDeadline.Equal(want) {
		t.Fatalf("Load's deadline %v, want %v (%s before the function's)", e.ph.loadDeadline, want, phase.DeadlineMargin)
	}
	if _, err := e.h.Run(context.Background(), request(false)); err != nil || !e.ph.loadDeadline.IsZero() {
		t.Fatalf("without a deadline: %v, Load's deadline %v", err, e.ph.loadDeadline)
	}

	// Less than the margin left: Load finds its context ended (it waits for that).
	e.ph.waitCtx = true
	near, cancelNear := context.WithDeadline(context.Background(), time.Now().Add(phase.DeadlineMargin/3))
	defer cancelNear()
	r := request(false)
	_, err := e.h.Run(near, r)
	if !errors.Is(err, phase.ErrStoppedBeforeDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run error %v, want one wrapping ErrStoppedBeforeDeadline and the deadline", err)
	}
	sum, gerr := e.st.GetRun(context.Background(), "acme", r.RunID)
	if gerr != nil || sum.Status != domain.RunFailed || !strings.Contains(sum.Error, "before the function's deadline") || sum.FinishedAt.IsZero() {
		t.Fatalf("summary %+v %v", sum, gerr)
	}
	if _, lerr := e.st.GetLease(context.Background(), "acme", domain.PhaseUsers); !errors.Is(lerr, store.ErrNotFound) {
		t.Fatalf("lease not released: %v", lerr)
	}
}

// TestRunStoppedDuringApplyKeepsTheCursor: a phase whose apply is stopped by the deadline
// margin but returns nil (its last records were under way: the apply loop returns once
// every item has started) must not move the cursor past records it did not finish; the
// run fails as stopped, so the retry and the next partial run read them again.
func TestRunStoppedDuringApplyKeepsTheCursor(t *testing.T) {
	e := setup(t, &fakePhase{swallowStop: true})
	near, cancel := context.WithDeadline(context.Background(), time.Now().Add(phase.DeadlineMargin+300*time.Millisecond))
	defer cancel()
	r := request(false)
	_, err := e.h.Run(near, r)
	if !errors.Is(err, phase.ErrStoppedBeforeDeadline) {
		t.Fatalf("run error %v, want ErrStoppedBeforeDeadline", err)
	}
	if c, cerr := e.st.GetCursor(context.Background(), "acme", domain.PhaseUsers); cerr != nil || c != "" {
		t.Fatalf("cursor %q (%v) stored by a run stopped during its apply", c, cerr)
	}
	if sum, gerr := e.st.GetRun(context.Background(), "acme", r.RunID); gerr != nil || sum.Status != domain.RunFailed {
		t.Fatalf("summary %+v %v", sum, gerr)
	}
}

// TestRunCancelledDuringApplyKeepsTheCursor: the same when the invocation's own context is
// cancelled (the local runner stopping) rather than the deadline margin reached.
func TestRunCancelledDuringApplyKeepsTheCursor(t *testing.T) {
	e := setup(t, &fakePhase{swallowStop: true})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	r := request(false)
	if _, err := e.h.Run(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("run error %v, want one wrapping the cancellation", err)
	}
	if c, cerr := e.st.GetCursor(context.Background(), "acme", domain.PhaseUsers); cerr != nil || c != "" {
		t.Fatalf("cursor %q (%v) stored by a run cancelled during its apply", c, cerr)
	}
	if sum, gerr := e.st.GetRun(context.Background(), "acme", r.RunID); gerr != nil || sum.Status != domain.RunFailed {
		t.Fatalf("summary %+v %v", sum, gerr)
	}
}
