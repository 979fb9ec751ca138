package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

// RunView is one run as clients see it (the shape scripts rely on). Counts are record
// outcomes only, every outcome of domain.RecordOutcomes present (zero included) so that a
// no-op run reads {"created":0,…,"unchanged":50}; a dry run adds "planned". API calls are
// the separate api_calls figure.
type RunView struct {
	RunID string       `json:"run_id"`
	Phase domain.Phase `json:"phase"`
	Mode  domain.Mode  `json:"mode"`
	// RequestedMode is the mode asked for; Mode is the mode that ran (a partial run that
	// fell back to full says mode full, requested_mode partial and mode_reason why).
	RequestedMode domain.Mode            `json:"requested_mode"`
	ModeReason    string                 `json:"mode_reason,omitempty"`
	Trigger       domain.Trigger         `json:"trigger"`
	DryRun        bool                   `json:"dry_run"`
	Status        domain.RunStatus       `json:"status"`
	QueuedAt      *time.Time             `json:"queued_at"`
	StartedAt     *time.Time             `json:"started_at"`
	FinishedAt    *time.Time             `json:"finished_at"`
	Counts        map[domain.Outcome]int `json:"counts"`
	APICalls      map[domain.System]int  `json:"api_calls"`
	Reason        string                 `json:"reason,omitempty"`
	Error         *string                `json:"error"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func runView(r domain.RunSummary) RunView {
	v := RunView{RunID: r.RunID, Phase: r.Phase, Mode: r.Mode, Trigger: r.Trigger, DryRun: r.DryRun, Status: r.Status,
		QueuedAt: timePtr(r.QueuedAt), StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt),
		Counts: map[domain.Outcome]int{}, APICalls: map[domain.System]int{}, Reason: r.Reason,
		RequestedMode: r.RequestedMode, ModeReason: r.ModeReason}
	if v.RequestedMode == "" {
		v.RequestedMode = r.Mode
	}
	for _, o := range domain.RecordOutcomes {
		v.Counts[o] = 0
	}
	if r.DryRun {
		v.Counts[domain.OutcomePlanned] = 0
	}
	for k, n := range r.Counts {
		v.Counts[k] = n
	}
	for k, n := range r.APICalls {
		v.APICalls[k] = n
	}
	if r.Error != "" {
		e := r.Error
		v.Error = &e
	}
	return v
}

// SyncInput is the optional body of Sync Now.
type SyncInput struct {
	Mode   string `json:"mode,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// PhaseRef names one queued run; SkippedPhase one phase Sync Now of all did not queue.
type PhaseRef struct {
	Phase domain.Phase `json:"phase"`
	RunID string       `json:"run_id"`
}

// SkippedPhase is a phase "Sync Now" of all phases left out, with the reason.
type SkippedPhase struct {
	Phase  domain.Phase `json:"phase"`
	Reason string       `json:"reason"`
}

func (a *API) syncNow(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	if err := a.syncLimit.allow(w, t.ID, a.now()); err != nil {
		return err
	}
	var phases []domain.Phase
	skipped := []SkippedPhase{}
	if p := r.PathValue("phase"); p == "all" {
		// All phases the tenant can run, in the timetable's order; the answer says which
		// were left out and why, so "all" never silently means fewer.
		for _, ph := range domain.Phases {
			switch {
			case !slices.Contains(a.phases, ph):
				skipped = append(skipped, SkippedPhase{ph, "not deployed here yet (SYNC_PHASES)"})
			case ph == domain.PhaseTimesheets && !t.Sources.TimeTracking:
				skipped = append(skipped, SkippedPhase{ph, "time tracking is off in the sources (PUT /v1/tenants/{id}/sources {\"timesheets\":\"staffomatic\"} turns it on)"})
			default:
				phases = append(phases, ph)
			}
		}
		if len(phases) == 0 {
			return unprocessable("phase_unavailable", "phase", "no sync phase can run for this tenant: %s", skippedText(skipped))
		}
		// The chain's first run starts at once: while a run of that phase is going, the
		// new one would only be skipped by the lease (the README's Sync Now of users
		// followed by Sync Now of all did that), so the phase is left out, naming the run
		// to follow, and the chain starts with the next one.
		for len(phases) > 0 {
			var busy *Error
			if err := a.runInProgress(r.Context(), t.ID, phases[0]); !errors.As(err, &busy) {
				break
			}
			if len(phases) == 1 {
				return busy
			}
			skipped = append(skipped, SkippedPhase{phases[0], busy.Message})
			phases = phases[1:]
		}
	} else {
		ph, err := domain.ParsePhase(p)
		if err != nil {
			return notFound("phase %q: use users, workspaces, timesheets, absences or all", p)
		}
		if !slices.Contains(a.phases, ph) {
			return unprocessable("phase_unavailable", "phase", "the %s phase is not deployed here, so a run would never start; available: %s", ph, joinPhases(a.phases))
		}
		phases = []domain.Phase{ph}
		if err := a.runInProgress(r.Context(), t.ID, ph); err != nil {
			return err
		}
	}
	var in SyncInput
	if err := optionalBody(r, &in); err != nil {
		return err
	}
	mode := domain.ModeFull
	if in.Mode != "" {
		if in.Mode != string(domain.ModeFull) && in.Mode != string(domain.ModePartial) {
			return badRequest("mode", "mode: %q: use full (reads everything, finds deletions) or partial (changes since the last run)", in.Mode)
		}
		mode = domain.Mode(in.Mode)
	}
	if a.bus == nil {
		return errNoStore
	}
	reqs := make([]domain.SyncRequest, len(phases))
	now := a.now()
	for i, p := range phases {
		reqs[i] = domain.SyncRequest{Tenant: t.ID, Phase: p, Mode: mode, Trigger: domain.TriggerManual, RunID: domain.NewRunID(p, now), DryRun: in.DryRun}
	}
	ids, err := a.enqueue(r.Context(), reqs)
	if err != nil {
		return err
	}
	queued := make([]PhaseRef, len(reqs))
	for i, rq := range reqs {
		queued[i] = PhaseRef{rq.Phase, rq.RunID}
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"run_ids": ids, "queued": queued, "skipped": skipped})
	return nil
}

// queuedRunBlocks is how long a queued run of a phase keeps Sync Now of that phase from
// queuing another: the longest lease a phase run holds (the function's 15-minute timeout
// plus the harness's minute), so a run waiting behind the one before it in Sync Now of all
// still counts, while a queued run no function ever started (an event lost, a dev process
// stopped) blocks no longer than that.
const queuedRunBlocks = 16 * time.Minute

// queuedScanPages bounds the pages of 50 runs Sync Now reads looking for a queued run.
const queuedScanPages = 4

// runInProgress is the 409 for Sync Now of a phase whose run is still going or is queued
// and about to start: a second run now would only be skipped by the lease (or run twice,
// one after the other), so the admin is pointed at the existing one.
func (a *API) runInProgress(ctx context.Context, tenant string, ph domain.Phase) error {
	conflict := func(state string, run domain.RunSummary, since, then string) error {
		return &Error{Status: http.StatusConflict, Code: "run_in_progress", Field: "phase",
			Message: fmt.Sprintf("a %s run is %s (run %s, %s); a second one now would %s: follow it at GET /v1/tenants/%s/runs/%s",
				ph, state, run.RunID, since, then, tenant, run.RunID)}
	}
	if l, err := a.store.GetLease(ctx, tenant, ph); err == nil && time.UnixMilli(l.UntilMs).After(a.now()) {
		if run, err := a.store.GetRun(ctx, tenant, l.Holder); err == nil && run.Status == domain.RunRunning {
			return conflict("in progress", run, "started "+run.StartedAt.UTC().Format(time.RFC3339), "be skipped")
		}
	}
	// Runs list newest first (their ids begin with the time they were queued), so the
	// scan ends at the first run older than the window; and after queuedScanPages pages
	// (a burst of webhook runs), so that Sync Now stays a few reads.
	since := a.now().Add(-queuedRunBlocks)
	for next, pages := "", 0; pages < queuedScanPages; pages++ {
		page, err := a.store.ListRuns(ctx, tenant, 50, next)
		if err != nil {
			return nil // none readable: the run may start, as without a lease
		}
		for _, run := range page.Runs {
			if run.QueuedAt.Before(since) {
				return nil
			}
			if run.Phase == ph && run.Status == domain.RunQueued {
				return conflict("queued", run, "queued "+run.QueuedAt.UTC().Format(time.RFC3339), "only run the same sync again after it")
			}
		}
		if next = page.Next; next == "" {
			return nil
		}
	}
	return nil
}

func skippedText(s []SkippedPhase) string {
	parts := make([]string, len(s))
	for i, p := range s {
		parts[i] = string(p.Phase) + ": " + p.Reason
	}
	return strings.Join(parts, "; ")
}

func joinPhases(ps []domain.Phase) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// enqueue stores a queued summary per request and publishes the first request, which
// carries the others as the runs that follow it. It never runs a sync itself: HTTP API
// integrations end after 29 s. When publishing fails the summaries are withdrawn, so
// nothing remains of a refused request.
func (a *API) enqueue(ctx context.Context, reqs []domain.SyncRequest) ([]string, error) {
	ids := make([]string, 0, len(reqs))
	now := a.now()
	// The log lines about these runs carry the first run's phase and id, like its own logs.
	ctx = obs.WithRun(ctx, obs.RunInfo{Tenant: reqs[0].Tenant, Phase: string(reqs[0].Phase), RunID: reqs[0].RunID})
	withdraw := func() {
		for _, id := range ids {
			if err := a.store.DeleteRun(context.WithoutCancel(ctx), reqs[0].Tenant, id); err != nil {
				a.log.ErrorContext(ctx, "could not withdraw a queued run", "tenant_id", reqs[0].Tenant, "run_id", id, "error", err)
			}
		}
	}
	for _, rq := range reqs {
		if err := rq.Validate(); err != nil {
			withdraw()
			return nil, fmt.Errorf("sync request: %w", err)
		}
		if err := a.store.CreateRun(ctx, rq.Summary(now)); err != nil {
			withdraw()
			return nil, storeErr(err, "run "+rq.RunID)
		}
		ids = append(ids, rq.RunID)
	}
	// Several phases run one after the other: only the first is sent, and each run starts
	// the next when it ends (SyncRequest.Then), so the workspace sync sees the users the
	// user sync has just created.
	head := reqs[0]
	for _, rq := range reqs[1:] {
		head.Then = append(head.Then, domain.Step{Phase: rq.Phase, RunID: rq.RunID})
	}
	if err := a.bus.Publish(ctx, head); err != nil {
		withdraw()
		a.log.ErrorContext(ctx, "could not publish sync requests", "tenant_id", reqs[0].Tenant, "error", err)
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "queue_unavailable", Message: "the sync could not be queued; nothing was started, try again in a minute"}
	}
	return ids, nil
}

// runListPages bounds the pages of the run list one GET /runs reads (each page up to the
// runs still missing from the response and one beyond it: at most about 10 × 101 runs).
const runListPages = 10

func (a *API) listRuns(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	q := r.URL.Query()
	var phase domain.Phase
	if p := q.Get("phase"); p != "" {
		ph, err := domain.ParsePhase(p)
		if err != nil {
			return badRequest("phase", "phase: %q: use users, workspaces, timesheets or absences", p)
		}
		phase = ph
	}
	limit, err := intParam(r, "limit", 50, 100)
	if err != nil {
		return err
	}
	// The store checks the cursor (store.ErrBadCursor is the client's 400).
	next := q.Get("cursor")
	runs := []RunView{}
	// A phase filter can thin pages out; read on until the page is full, the runs end or
	// runListPages pages were read: the runs of one phase can be rare among a tenant's
	// (a users run among thousands of webhooks' timesheets runs), and the whole list is
	// not read for one request. The cursor then continues where the reading stopped, so
	// a filtered page can hold fewer runs than limit, even none, with a next_cursor.
	for pages := 1; ; pages++ {
		page, err := a.store.ListRuns(r.Context(), t.ID, int32(limit-len(runs)), next)
		if err != nil {
			return err
		}
		for _, run := range page.Runs {
			if phase == "" || run.Phase == phase {
				runs = append(runs, runView(run))
			}
		}
		next = page.Next
		if next == "" || len(runs) >= limit || pages >= runListPages {
			break
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"runs": runs, "next_cursor": next})
	return nil
}

// RunDetail is a run with, for a dry run, one page of its stored plan.
type RunDetail struct {
	RunView
	Plan *PlanPage `json:"plan,omitempty"`
}

// PlanPage is one page of a dry run's planned actions, in planning order.
type PlanPage struct {
	Actions    []domain.PlannedAction `json:"actions"`
	NextCursor string                 `json:"next_cursor"`
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	id := r.PathValue("run_id")
	if err := domain.ValidateRunID(id); err != nil {
		return notFound("run %q does not exist (run ids look like the ones Sync Now returns)", id)
	}
	run, err := a.store.GetRun(r.Context(), t.ID, id)
	if err != nil {
		return storeErr(err, "run "+id)
	}
	d := RunDetail{RunView: runView(run)}
	if run.DryRun {
		limit, err := intParam(r, "limit", 100, 500)
		if err != nil {
			return err
		}
		cursor := r.URL.Query().Get("cursor")
		// The phase harness stores a dry run's plan as protocol entries with outcome
		// "planned" under the run's id.
		page, err := a.store.QueryProtocol(r.Context(), store.ProtocolQuery{Tenant: t.ID, Area: domain.AreaOf(run.Phase), RunID: id, Limit: limit, Next: cursor})
		if err != nil {
			return err
		}
		d.Plan = &PlanPage{Actions: []domain.PlannedAction{}, NextCursor: page.Next}
		for _, e := range page.Entries {
			d.Plan.Actions = append(d.Plan.Actions, e.Planned())
		}
	}
	WriteJSON(w, http.StatusOK, d)
	return nil
}
