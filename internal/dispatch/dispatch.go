// Package dispatch fans a schedule out to tenants: EventBridge Scheduler invokes the
// dispatch function with {phase, mode, scheduled_time}; dispatch finds every tenant with
// background sync on and requests one run per tenant on the bus.
//
// Scheduler delivers at least once and retries, so the same schedule can arrive twice.
// Each run's id is derived from phase and scheduled time (domain.ScheduledRunID) and its
// summary is created with a conditional write before the event is sent: the second
// delivery finds the run and sends nothing. When sending fails, the claim is withdrawn so
// that the retry of the schedule dispatches that tenant again. When the invocation dies
// between claim and send (a timeout, a crash), the retry finds the run still "queued"
// after RequeueAfter and sends it again; the phase harness ignores a run that is already
// running or ended, so a second event for one run never runs it twice.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

// Input is what a ScheduleV2 event of template.yaml sends.
type Input struct {
	Phase         domain.Phase `json:"phase"`
	Mode          domain.Mode  `json:"mode"`
	ScheduledTime string       `json:"scheduled_time"`
}

// Result says what one invocation did.
type Result struct {
	RunID string `json:"run_id"`
	// NotDeployed is set when the schedule's phase has no function in this deployment:
	// nothing is claimed or sent, so no run waits in "queued" for a function that does
	// not exist.
	NotDeployed bool `json:"not_deployed,omitempty"`
	Tenants     int  `json:"tenants"`
	Published   int  `json:"published"`
	Duplicates  int  `json:"duplicates"`
	// Resent counts runs a previous invocation claimed but may not have sent: they were
	// still queued RequeueAfter after their claim.
	Resent int `json:"resent"`
	Failed int `json:"failed"`
}

// RequeueAfter is how long a claimed run may stay "queued" before a repeated delivery of
// its schedule sends it again. A duplicate delivery arrives within seconds of the first
// and must not double the events; the retry of a crashed invocation comes a minute or
// more later (Lambda's asynchronous retry).
const RequeueAfter = 45 * time.Second

// Validate checks the input and returns the scheduled time.
func (in Input) Validate() (time.Time, error) {
	var errs []error
	if !in.Phase.Valid() {
		errs = append(errs, fmt.Errorf("phase: %q: use one of users, workspaces, timesheets, absences", in.Phase))
	}
	if in.Mode != domain.ModeFull && in.Mode != domain.ModePartial {
		errs = append(errs, fmt.Errorf("mode: %q: a schedule runs full or partial", in.Mode))
	}
	at, err := time.Parse(time.RFC3339, in.ScheduledTime)
	if err != nil {
		errs = append(errs, fmt.Errorf("scheduled_time: %q is not an RFC 3339 time (the Scheduler fills <aws.scheduler.scheduled-time>)", in.ScheduledTime))
	} else if domain.ValidateRunID(domain.ScheduledRunID(domain.PhaseUsers, at)) != nil {
		// An offset can push a parseable time out of the years a run id holds; every
		// tenant's request would then be refused one by one while the schedule succeeded.
		errs = append(errs, fmt.Errorf("scheduled_time: %q is outside the years 0000 to 9999 in UTC (the Scheduler fills <aws.scheduler.scheduled-time>)", in.ScheduledTime))
	}
	return at, errors.Join(errs...)
}

// Dispatcher turns schedule inputs into SyncRequested events.
type Dispatcher struct {
	store    *store.Store
	bus      bus.Publisher
	log      *slog.Logger
	metrics  *obs.Metrics
	pageSize int32
	phases   []domain.Phase
}

// New returns a dispatcher. metrics may be nil.
func New(st *store.Store, pub bus.Publisher, log *slog.Logger, metrics *obs.Metrics) *Dispatcher {
	return &Dispatcher{store: st, bus: pub, log: log, metrics: metrics, pageSize: 100, phases: domain.Phases}
}

// WithPhases limits dispatch to the phases that have a function (SYNC_PHASES); the
// timetable keeps every phase, so a phase's schedule starts working the day its function
// is deployed.
func (d *Dispatcher) WithPhases(phases []domain.Phase) *Dispatcher {
	d.phases = phases
	return d
}

// Dispatch requests one run of in.Phase for every tenant with background sync on. It
// returns an error when an event could not be sent, so that the Scheduler retries; the
// tenants already dispatched are then recognised as duplicates.
func (d *Dispatcher) Dispatch(ctx context.Context, in Input) (Result, error) {
	at, err := in.Validate()
	if err != nil {
		return Result{}, fmt.Errorf("dispatch input: %w", err)
	}
	res := Result{RunID: domain.ScheduledRunID(in.Phase, at)}
	ctx = obs.WithRun(ctx, obs.RunInfo{Phase: string(in.Phase), RunID: res.RunID})
	if !slices.Contains(d.phases, in.Phase) {
		res.NotDeployed = true
		d.log.InfoContext(ctx, "dispatch: the phase has no function in this deployment; nothing dispatched")
		return res, nil
	}
	var failures []error
	var page []domain.SyncRequest
	flush := func() {
		if len(page) == 0 {
			return
		}
		err := d.bus.Publish(ctx, page...)
		failed := bus.FailedRequests(err, page)
		res.Published += len(page) - len(failed)
		res.Failed += len(failed)
		for _, r := range failed {
			// Withdraw the claim so the Scheduler's retry dispatches this tenant again.
			if derr := d.store.DeleteRun(ctx, r.Tenant, r.RunID); derr != nil {
				d.log.ErrorContext(ctx, "dispatch: withdrawing the run of an unsent event failed; a retry of the schedule sends it again once it has waited RequeueAfter", "tenant", r.Tenant, "error", derr)
			}
		}
		if err != nil {
			failures = append(failures, err)
		}
		page = page[:0]
	}
	err = d.store.BackgroundTenants(ctx, d.pageSize, func(t domain.Tenant) error {
		res.Tenants++
		r := domain.SyncRequest{Tenant: t.ID, Phase: in.Phase, Mode: in.Mode, Trigger: domain.TriggerSchedule, RunID: res.RunID, ScheduledTime: at}
		if err := r.Validate(); err != nil {
			d.log.ErrorContext(ctx, "dispatch: skipping tenant with an invalid request", "tenant", t.ID, "error", err)
			res.Failed++
			return nil
		}
		switch err := d.store.CreateRun(ctx, r.Summary(d.store.Now().UTC())); {
		case errors.Is(err, store.ErrExists):
			prev, gerr := d.store.GetRun(ctx, r.Tenant, r.RunID)
			if gerr != nil {
				return gerr
			}
			if prev.Status != domain.RunQueued || d.store.Now().Sub(prev.QueuedAt) < RequeueAfter {
				res.Duplicates++
				return nil
			}
			res.Resent++
			d.log.WarnContext(ctx, "dispatch: sending a run again that an earlier invocation claimed but may not have sent",
				"tenant", r.Tenant, "queued_at", prev.QueuedAt)
		case err != nil:
			return err
		}
		page = append(page, r)
		if len(page) >= int(d.pageSize) {
			flush()
		}
		return nil
	})
	flush()
	if err != nil {
		failures = append(failures, fmt.Errorf("list tenants: %w", err))
	}
	d.log.InfoContext(ctx, "dispatched", "mode", in.Mode, "scheduled_time", in.ScheduledTime, "tenants", res.Tenants,
		"published", res.Published, "duplicates", res.Duplicates, "resent", res.Resent, "failed", res.Failed)
	if d.metrics != nil {
		_ = d.metrics.Emit(string(in.Phase), "", obs.Metric{Name: "Dispatched", Value: float64(res.Published)},
			obs.Metric{Name: "DispatchDuplicates", Value: float64(res.Duplicates)}, obs.Metric{Name: "DispatchFailed", Value: float64(res.Failed)})
	}
	if len(failures) > 0 {
		return res, fmt.Errorf("dispatch %s: %w", res.RunID, errors.Join(failures...))
	}
	return res, nil
}
