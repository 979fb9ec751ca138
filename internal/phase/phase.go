// Package phase is the harness every sync phase function runs in. It turns a
// SyncRequested event into one run: load the tenant, take the phase's lease (or record a
// skipped run when a previous run still holds it), run the phase's load → plan → apply,
// write the protocol, the cursor, the run summary and EMF metrics, and release the lease —
// also after a panic, which becomes a failed run instead of a lease stuck until expiry.
// A dry run stores the plan in the protocol (outcome "planned") instead of applying it.
// A run that ended with failed records is "partially_failed": it is not re-run by a
// repeated delivery (the records wait for the next run) and carries its own metric.
package phase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
)

// Plan is what a phase's planner produces. Actions describes it for a dry run's protocol.
type Plan interface {
	Actions() []domain.PlannedAction
}

// Phase is one sync phase as a reconciler (DESIGN §2.1). Load reads source, target and
// mappings; Plan is pure: it sees only the loaded state (no *Run, so no I/O, no clock, no
// counting), which keeps the rules testable from a literal state and makes a dry run plan
// exactly what the real run would; Apply performs the actions and records each outcome
// with run.Record (or run.Count for records that need no protocol entry).
type Phase[S any, P Plan] interface {
	Name() domain.Phase
	Load(ctx context.Context, run *Run) (S, error)
	Plan(state S) (P, error)
	Apply(ctx context.Context, run *Run, plan P) error
}

// Deps are the adapters the harness uses.
type Deps struct {
	Store   *store.Store
	Sealer  seal.Sealer
	Log     *slog.Logger
	Metrics *obs.Metrics
	// Bus starts the runs that follow a run (SyncRequest.Then: "Sync Now" of all phases).
	// Without it such runs are recorded as failed instead of staying queued.
	Bus bus.Publisher
	// LeaseTTL overrides the lease duration; by default it is the time left until the
	// invocation's deadline plus a minute (or 16 minutes without a deadline), so a crashed
	// run's lease expires soon after Lambda gave up on it.
	LeaseTTL time.Duration
}

// Harness runs one phase.
type Harness[S any, P Plan] struct {
	phase Phase[S, P]
	deps  Deps
}

// New returns the harness for p.
func New[S any, P Plan](p Phase[S, P], deps Deps) *Harness[S, P] {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	return &Harness[S, P]{phase: p, deps: deps}
}

// Handle is the Lambda (and local bus) handler: the raw EventBridge event in. It returns
// an error only for a failed run or broken infrastructure, so Lambda's retry and the
// function's error alarm see exactly those.
func (h *Harness[S, P]) Handle(ctx context.Context, event json.RawMessage) error {
	req, err := bus.Parse(event)
	if err != nil {
		h.deps.Log.ErrorContext(ctx, "phase: dropping an event that is not a valid SyncRequested event", "error", err)
		return nil // re-delivering a malformed event cannot help
	}
	_, err = h.Run(ctx, req)
	return err
}

// Run executes one request and returns its final summary.
func (h *Harness[S, P]) Run(ctx context.Context, req domain.SyncRequest) (domain.RunSummary, error) {
	st, name := h.deps.Store, h.phase.Name()
	ctx = obs.WithRun(ctx, obs.RunInfo{Tenant: req.Tenant, Phase: string(req.Phase), RunID: req.RunID})
	log := h.deps.Log
	if req.Phase != name {
		return domain.RunSummary{}, fmt.Errorf("the %s function received a %s request: check the rule pattern", name, req.Phase)
	}
	// The tenant and the run's summary are read at once: two DynamoDB round trips in front
	// of every run, a webhook's included, for the time of one.
	var tenant domain.Tenant
	var terr error
	var reads sync.WaitGroup
	reads.Go(func() { tenant, terr = st.GetTenant(ctx, req.Tenant) })
	sum, err := st.GetRun(ctx, req.Tenant, req.RunID)
	reads.Wait()
	if errors.Is(terr, store.ErrNotFound) {
		log.WarnContext(ctx, "phase: tenant no longer exists; nothing to do")
		return domain.RunSummary{}, nil
	}
	if terr != nil {
		return domain.RunSummary{}, terr
	}
	// read is the summary as this delivery found it (nil: none): a skip is recorded only
	// over that, never over what another delivery of the run wrote since.
	var read *domain.RunSummary
	if err == nil {
		prev := sum
		read = &prev
	}
	switch {
	case err == nil && sum.Status.Handled():
		// At-least-once delivery: this run was already handled. A failed run, or one left
		// "running" by a crashed invocation, is run again (its lease decides when).
		log.InfoContext(ctx, "phase: duplicate delivery ignored", "status", sum.Status)
		return sum, nil
	case errors.Is(err, store.ErrNotFound):
		sum = req.Summary(st.Now().UTC())
	case err != nil:
		return domain.RunSummary{}, err
	}
	started := st.Now()
	sum.StartedAt, sum.FinishedAt, sum.Error, sum.Reason = started.UTC(), time.Time{}, "", ""
	// A retried run starts from the requested mode again; its Load says what it runs.
	sum.Mode, sum.RequestedMode, sum.ModeReason = req.Mode, "", ""

	lease, err := st.AcquireLeaseFor(ctx, req.Tenant, name, req.RunID, invocationID(ctx), h.leaseTTL(ctx))
	var held *store.LeaseHeldError
	if errors.As(err, &held) && held.Holder == req.RunID {
		log.InfoContext(ctx, "phase: duplicate delivery of a run in progress ignored", "until", held.Until)
		return sum, nil
	}
	if errors.As(err, &held) {
		sum.Status, sum.Reason, sum.FinishedAt = domain.RunSkipped, held.Error(), st.Now().UTC()
		switch werr := st.PutRunIfUnchanged(ctx, sum, read); {
		case errors.Is(werr, store.ErrConflict):
			// Another delivery of this run took the lease once it was free and started
			// (or ended) the run: its summary stands, and it requests the next run.
			log.InfoContext(ctx, "phase: duplicate delivery ignored: another delivery of the run started it meanwhile")
			return sum, nil
		case werr != nil:
			log.ErrorContext(ctx, "phase: write run summary", "error", werr)
		}
		log.InfoContext(ctx, "phase: skipped", "reason", sum.Reason)
		h.report(ctx, sum, started)
		h.startNext(ctx, req)
		return sum, nil
	}
	if err != nil {
		return domain.RunSummary{}, err
	}
	// The run's bookkeeping must be written even when the invocation's context is
	// cancelled or a panic unwinds, so it uses a detached context.
	bg := context.WithoutCancel(ctx)
	// At the end the final summary and the release are one write (FinishRun): a client
	// that sees the run ended and starts the phase again is not refused by this run's
	// lease, and no delivery finds the lease free while the summary still says running.
	// The deferred call covers an early return or a panic; the release happens once.
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		if err := st.ReleaseLease(bg, lease); err != nil {
			log.ErrorContext(bg, "phase: release lease", "error", err)
		}
	}
	defer release()
	// Another delivery of this run may have read the summary before it ended, and got
	// the lease only when that run released it: read the summary again under the lease.
	switch cur, err := st.GetRun(ctx, req.Tenant, req.RunID); {
	case err == nil && cur.Status.Handled():
		log.InfoContext(ctx, "phase: duplicate delivery ignored", "status", cur.Status)
		return cur, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return domain.RunSummary{}, err
	}
	sum.Status = domain.RunRunning
	// The cursor is read while the summary says "running" (independent: at once).
	var cursor string
	var cerr error
	reads.Go(func() { cursor, cerr = st.GetCursor(ctx, req.Tenant, name) })
	err = st.PutRun(ctx, sum)
	reads.Wait()
	if err != nil {
		return domain.RunSummary{}, err
	}

	run := &Run{Request: req, Tenant: tenant, Log: log, Started: started, store: st, sealer: h.deps.Sealer,
		counts: map[domain.Outcome]int{}, calls: map[domain.System]int{}, Cursor: cursor}
	if err = cerr; err == nil {
		work, cancel := withMargin(ctx)
		err = h.execute(work, run)
		// Stopped (at the deadline margin, or the invocation or the local runner cancelled),
		// even when the phase returned nil: an apply loop returns once every record has
		// started, so the last ones may have been cut off. The cursor must not move past
		// them; the failed run is retried and reads them again.
		switch cause := context.Cause(work); {
		case cause == nil:
		case errors.Is(cause, ErrStoppedBeforeDeadline) && err != nil:
			err = fmt.Errorf("%w: %w", ErrStoppedBeforeDeadline, err)
		case err == nil:
			err = fmt.Errorf("run stopped before it ended: %w", cause)
		}
		cancel()
	}
	if ferr := run.flush(bg); ferr != nil && err == nil {
		err = ferr
	}
	if err == nil && !req.DryRun && run.newCursor != nil {
		err = st.SetCursor(bg, req.Tenant, name, *run.newCursor)
	}
	sum.Counts, sum.APICalls = run.snapshot()
	if mode, why := run.effectiveMode(); mode != "" && mode != sum.Mode {
		sum.RequestedMode, sum.Mode, sum.ModeReason = sum.Mode, mode, why
	}
	sum.FinishedAt = st.Now().UTC()
	if err != nil {
		sum.Status, sum.Error = domain.RunFailed, err.Error()
		log.ErrorContext(ctx, "phase: run failed", "error", err)
	} else if sum.Counts[domain.OutcomeFailed] > 0 {
		sum.Status = domain.RunPartiallyFailed
		log.WarnContext(ctx, "phase: run ended with failed records", "failed", sum.Counts[domain.OutcomeFailed])
	} else {
		sum.Status = domain.RunSucceeded
	}
	if ferr := st.FinishRun(bg, lease, sum); ferr == nil || errors.Is(ferr, store.ErrLeaseLost) {
		released = true
		if ferr != nil {
			log.ErrorContext(bg, "phase: release lease", "error", ferr)
		}
		h.report(bg, sum, started)
	} else {
		// The transaction failed: the summary first, then the lease (as above, a free
		// lease must not meet a "running" summary).
		log.ErrorContext(bg, "phase: write run summary and release lease", "error", ferr)
		if perr := h.finish(bg, sum, started); perr != nil && err == nil {
			// The work is done but the store still says "running": fail the invocation,
			// so that Lambda's retry (which takes over this invocation's lease) runs the
			// run again — a run without changes — and stores its summary, instead of a
			// summary that says "running" for good.
			err = fmt.Errorf("%w: %w", ErrSummaryNotStored, perr)
		}
		release()
	}
	h.startNext(bg, req)
	if err != nil {
		return sum, fmt.Errorf("%s run %s of %s failed: %w", name, req.RunID, req.Tenant, err)
	}
	return sum, nil
}

// ErrSummaryNotStored wraps the store's error when a run's final summary could not be
// written: the run's work is done, but it is reported as failed so that it is run again.
var ErrSummaryNotStored = errors.New("the run's final summary could not be stored (it still says running)")

// DeadlineMargin is how long before the invocation's deadline Load, Plan and Apply are
// stopped. What follows them — the protocol flush, the cursor, the final summary with
// the lease release, the next run's event — runs on a detached context and needs a few
// DynamoDB and EventBridge calls; stopped at the deadline itself, Lambda would kill the
// process before they were written, leaving the run "running" and its lease held until
// it expires. 30 s covers those calls with retries and throttling to spare.
const DeadlineMargin = 30 * time.Second

// ErrStoppedBeforeDeadline is the cause of a run's context ending DeadlineMargin before
// the invocation's deadline; a run stopped by it fails with an error wrapping it.
var ErrStoppedBeforeDeadline = fmt.Errorf("stopped %s before the function's deadline, so that the run's protocol, summary and lease release are still written; the next run continues", DeadlineMargin)

// withMargin returns the context the phase works under: ctx ending DeadlineMargin before
// its deadline (already ended when less is left), or ctx itself without a deadline.
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadlineCause(ctx, dl.Add(-DeadlineMargin), ErrStoppedBeforeDeadline)
}

// invocationID is the Lambda request id of this invocation ("" outside Lambda): Lambda
// keeps it when it retries a failed or timed-out invocation, which lets the retry take
// over the dead attempt's lease instead of being refused as a duplicate delivery.
func invocationID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// startNext starts the run that follows req, whatever req's outcome: the phases are
// independent, and the admin asked for all of them. A repeated start (a retried failed
// run) is harmless, because the following run's id is fixed and the harness ignores a
// run that has already ended. When the next run cannot be started, it and the ones after
// it are recorded as failed, so none stays "queued" forever.
func (h *Harness[S, P]) startNext(ctx context.Context, req domain.SyncRequest) {
	next, ok := req.Next()
	if !ok {
		return
	}
	log, st := h.deps.Log, h.deps.Store
	err := errors.New("no event bus is configured for the phase functions")
	if h.deps.Bus != nil {
		err = h.deps.Bus.Publish(ctx, next)
	}
	if err == nil {
		log.InfoContext(ctx, "phase: next run requested", "next_phase", next.Phase, "next_run_id", next.RunID)
		return
	}
	log.ErrorContext(ctx, "phase: could not start the next run", "next_phase", next.Phase, "next_run_id", next.RunID, "error", err)
	now := st.Now().UTC()
	for r, more := next, true; more; r, more = r.Next() {
		sum, gerr := st.GetRun(ctx, r.Tenant, r.RunID)
		if gerr != nil {
			sum = r.Summary(now)
		}
		if sum.Status != domain.RunQueued {
			continue
		}
		sum.Status, sum.FinishedAt = domain.RunFailed, now
		sum.Error = fmt.Sprintf("not started: the %s run %s could not request it: %v", req.Phase, req.RunID, err)
		if perr := st.PutRun(ctx, sum); perr != nil {
			log.ErrorContext(ctx, "phase: record the unstarted run", "run_id", r.RunID, "error", perr)
		}
	}
}

// execute runs load → plan → apply (or stores the plan) and turns a panic into an error.
func (h *Harness[S, P]) execute(ctx context.Context, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			run.Log.ErrorContext(ctx, "phase: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error (panic): %v", p)
		}
	}()
	state, err := h.phase.Load(ctx, run)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	plan, err := h.phase.Plan(state)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if run.Request.DryRun {
		for _, a := range plan.Actions() {
			if err := run.Record(ctx, a.Entry(domain.OutcomePlanned)); err != nil {
				return fmt.Errorf("store plan: %w", err)
			}
		}
		return nil
	}
	if err := h.phase.Apply(ctx, run, plan); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// finish writes the summary and reports the run. A failed write is logged and returned:
// Run fails the invocation for it.
func (h *Harness[S, P]) finish(ctx context.Context, sum domain.RunSummary, started time.Time) error {
	err := h.deps.Store.PutRun(ctx, sum)
	if err != nil {
		h.deps.Log.ErrorContext(ctx, "phase: write run summary", "error", err)
	}
	h.report(ctx, sum, started)
	return err
}

// report logs the written summary, emits the metrics and prunes old summaries.
func (h *Harness[S, P]) report(ctx context.Context, sum domain.RunSummary, started time.Time) {
	st, log := h.deps.Store, h.deps.Log
	log.InfoContext(ctx, "phase: run finished", "status", sum.Status, "mode", sum.Mode, "requested_mode", sum.RequestedMode, "trigger", sum.Trigger,
		"dry_run", sum.DryRun, "counts", sum.Counts, "api_calls", sum.APICalls)
	if h.deps.Metrics != nil {
		ms := []obs.Metric{
			{Name: "Run_" + string(sum.Status), Value: 1},
			{Name: "DurationMs", Unit: obs.UnitMilliseconds, Value: float64(st.Now().Sub(started).Milliseconds())},
		}
		// Every record outcome is emitted, zero included, so an alarm on Records_failed
		// (or a dashboard) sees data points from every run, not only from bad ones.
		for _, o := range domain.RecordOutcomes {
			ms = append(ms, obs.Metric{Name: "Records_" + string(o), Value: float64(sum.Counts[o])})
		}
		for o, n := range sum.Counts {
			if !slices.Contains(domain.RecordOutcomes, o) {
				ms = append(ms, obs.Metric{Name: "Records_" + string(o), Value: float64(n)})
			}
		}
		for s, n := range sum.APICalls {
			ms = append(ms, obs.Metric{Name: "APICalls_" + string(s), Value: float64(n)})
		}
		if err := h.deps.Metrics.Emit(string(sum.Phase), sum.Tenant, ms...); err != nil {
			log.ErrorContext(ctx, "phase: metrics", "error", err)
		}
	}
	if _, err := st.PruneRuns(ctx, sum.Tenant, st.Now().Add(-store.RunRetention)); err != nil {
		log.WarnContext(ctx, "phase: prune old run summaries", "error", err)
	}
}

func (h *Harness[S, P]) leaseTTL(ctx context.Context) time.Duration {
	if h.deps.LeaseTTL > 0 {
		return h.deps.LeaseTTL
	}
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl) + time.Minute
	}
	return 16 * time.Minute
}

// Run is one run in progress, handed to the phase. It is safe for concurrent use by an
// Apply with bounded concurrency.
type Run struct {
	Request domain.SyncRequest
	Tenant  domain.Tenant
	// Cursor is the phase's cursor as stored before this run ("" on the first run).
	Cursor  string
	Log     *slog.Logger
	Started time.Time

	store     *store.Store
	sealer    seal.Sealer
	mu        sync.Mutex
	counts    map[domain.Outcome]int
	calls     map[domain.System]int
	pending   []domain.ProtocolEntry
	newCursor *string
	mode      domain.Mode
	modeWhy   string
	reporter  *Reporter
}

// SetMode records the mode the run actually runs in and why, when Load decides it differs
// from the requested one (a partial run without a usable cursor, or after the selection
// or settings changed, runs full). The summary then stores the mode that ran, the
// requested mode and the reason: an admin reading "partial" for a run that read
// everything would look for a missed change in the wrong place.
func (r *Run) SetMode(m domain.Mode, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode, r.modeWhy = m, reason
}

func (r *Run) effectiveMode() (domain.Mode, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode, r.modeWhy
}

// Credentials opens the tenant's sealed credentials. Keep the result in memory only.
func (r *Run) Credentials(ctx context.Context) (domain.Credentials, error) {
	if r.sealer == nil {
		return domain.Credentials{}, errors.New("no sealer configured")
	}
	return seal.OpenCredentials(ctx, r.sealer, r.Tenant.ID, r.Tenant.Sealed)
}

// ProtocolBatch is how many protocol entries a run keeps before it writes them (Record):
// a process that dies mid-run loses at most ProtocolBatch-1 of them (the local runner
// says so of a run a killed process left).
const ProtocolBatch = 25

// Record adds a protocol entry for this run and counts its outcome. Entries are written
// in batches of ProtocolBatch and at the end of the run.
func (r *Run) Record(ctx context.Context, e domain.ProtocolEntry) error {
	e.Tenant, e.Area, e.RunID = r.Request.Tenant, domain.AreaOf(r.Request.Phase), r.Request.RunID
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[e.Outcome]++
	r.pending = append(r.pending, e)
	if len(r.pending) >= ProtocolBatch {
		return r.flushLocked(ctx)
	}
	return nil
}

// Count adds n records with outcome o to the run summary without a protocol entry: the
// records that needed nothing (OutcomeUnchanged), or a repeated finding already in the
// protocol. A no-op run over 50 employees says unchanged=50 instead of nothing. n <= 0
// counts nothing.
func (r *Run) Count(o domain.Outcome, n int) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[o] += n
}

// CountAPICall counts one call to a vendor API for the run summary.
func (r *Run) CountAPICall(s domain.System) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[s]++
}

// SetCursor sets the cursor stored after a successful, non-dry run.
func (r *Run) SetCursor(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.newCursor = &c
}

func (r *Run) flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked(ctx)
}

func (r *Run) flushLocked(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	err := r.store.AppendProtocol(ctx, r.pending...)
	r.pending = r.pending[:0]
	return err
}

func (r *Run) snapshot() (map[domain.Outcome]int, map[domain.System]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := make(map[domain.Outcome]int, len(r.counts))
	for k, v := range r.counts {
		counts[k] = v
	}
	calls := make(map[domain.System]int, len(r.calls))
	for k, v := range r.calls {
		calls[k] = v
	}
	return counts, calls
}
