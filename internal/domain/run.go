package domain

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// RunStatus is where a run stands.
type RunStatus string

const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	// RunPartiallyFailed: the run ended, but some records failed (counts.failed > 0); they
	// are in the protocol and the next run tries them again. The function does not fail
	// (a Lambda retry would apply the whole run again), so its errors alarm stays quiet
	// and the EMF metric Run_partially_failed carries it to an alarm instead.
	RunPartiallyFailed RunStatus = "partially_failed"
	RunFailed          RunStatus = "failed"
	// RunSkipped: the run did nothing, e.g. because a previous run still held the lease.
	RunSkipped RunStatus = "skipped"
)

// RunStatuses lists every status.
var RunStatuses = []RunStatus{RunQueued, RunRunning, RunSucceeded, RunPartiallyFailed, RunFailed, RunSkipped}

// Done reports whether the status is final.
func (s RunStatus) Done() bool {
	return s == RunSucceeded || s == RunPartiallyFailed || s == RunFailed || s == RunSkipped
}

// Handled reports whether a delivery of the run's event must not run it again: it ended
// (succeeded or partially failed: the failed records wait for the next run, re-running
// the whole run would not help them) or was skipped. A failed run, or one left running
// by a crashed invocation, is run again.
func (s RunStatus) Handled() bool {
	return s == RunSucceeded || s == RunPartiallyFailed || s == RunSkipped
}

// ReasonPreviousRunActive is the skip reason when the phase's lease is held.
const ReasonPreviousRunActive = "previous run still in progress"

// RunSummary is what the admin sees of one run of one phase for one tenant.
type RunSummary struct {
	Tenant string `json:"tenant_id"`
	RunID  string `json:"run_id"`
	Phase  Phase  `json:"phase"`
	// Mode is the mode that ran: a partial run that fell back to full (no cursor yet, the
	// selection or settings changed) says full, with RequestedMode partial and ModeReason.
	Mode Mode `json:"mode"`
	// RequestedMode is the mode the request asked for, set only when it differs from Mode.
	RequestedMode Mode `json:"requested_mode,omitempty"`
	// ModeReason says why Mode differs from RequestedMode.
	ModeReason    string    `json:"mode_reason,omitempty"`
	Trigger       Trigger   `json:"trigger"`
	DryRun        bool      `json:"dry_run"`
	Status        RunStatus `json:"status"`
	ScheduledTime time.Time `json:"scheduled_time,omitzero"`
	QueuedAt      time.Time `json:"queued_at,omitzero"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	// Counts per outcome (created, updated, …, planned for a dry run).
	Counts map[Outcome]int `json:"counts,omitempty"`
	// APICalls per system (personio, staffomatic).
	APICalls map[System]int `json:"api_calls,omitempty"`
	// Reason explains a skip; Error a failure. Neither carries a secret.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// NewRunID returns a run id for an on-demand or webhook run. Run ids start with the UTC
// time so that a tenant's runs sort chronologically by id.
func NewRunID(p Phase, now time.Time) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format(runIDTime) + "-" + string(p) + "-" + hex.EncodeToString(b[:])
}

// ScheduledRunID returns the deterministic run id of a scheduled run: the same phase and
// scheduled time always give the same id, so a schedule delivered twice creates one run.
func ScheduledRunID(p Phase, scheduled time.Time) string {
	return scheduled.UTC().Format(runIDTime) + "-" + string(p) + "-sched"
}

const runIDTime = "20060102T150405Z"

// ValidateRunID checks the shape NewRunID and ScheduledRunID produce (time, phase, suffix).
func ValidateRunID(id string) error {
	parts := strings.SplitN(id, "-", 3)
	if len(parts) != 3 || parts[2] == "" {
		return fmt.Errorf("run_id %q: expected <yyyymmddThhmmssZ>-<phase>-<suffix>", id)
	}
	if _, err := time.Parse(runIDTime, parts[0]); err != nil {
		return fmt.Errorf("run_id %q: does not start with a UTC time like 20260101T050000Z", id)
	}
	if !Phase(parts[1]).Valid() {
		return fmt.Errorf("run_id %q: %q is not a phase", id, parts[1])
	}
	for _, r := range parts[2] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return fmt.Errorf("run_id %q: suffix must be lower-case letters and digits", id)
		}
	}
	return nil
}

// Target names one record a targeted run handles.
type Target struct {
	Kind RecordKind `json:"kind"`
	ID   string     `json:"id"`
}

// SyncRequest is the detail of the SyncRequested event: which tenant, phase and records to
// sync, why, and under which run id. Dispatch, Sync Now and webhooks all produce it.
type SyncRequest struct {
	Tenant        string    `json:"tenant_id"`
	Phase         Phase     `json:"phase"`
	Mode          Mode      `json:"mode"`
	Trigger       Trigger   `json:"trigger"`
	RunID         string    `json:"run_id"`
	ScheduledTime time.Time `json:"scheduled_time,omitzero"`
	DryRun        bool      `json:"dry_run"`
	Targets       []Target  `json:"targets,omitempty"`
	// Then lists the runs to start, in order, once this one has ended: "Sync Now" of all
	// phases runs them one after the other, so the workspace sync sees the users the user
	// sync has just created.
	Then []Step `json:"then,omitempty"`
}

// Step is a queued run that follows another run of the same tenant.
type Step struct {
	Phase Phase  `json:"phase"`
	RunID string `json:"run_id"`
}

// Next returns the request of the first following step, which carries the remaining
// steps, or false when none follows.
func (r SyncRequest) Next() (SyncRequest, bool) {
	if len(r.Then) == 0 {
		return SyncRequest{}, false
	}
	n := r
	n.Phase, n.RunID, n.Then, n.Targets = r.Then[0].Phase, r.Then[0].RunID, r.Then[1:], nil
	if n.Mode == ModeTargeted {
		n.Mode = ModePartial
	}
	if len(n.Then) == 0 {
		n.Then = nil
	}
	return n, true
}

// MaxTargets bounds a targeted request so its event stays far below the 256 KB limit.
const MaxTargets = 500

// Validate checks a request before it is sent and after it is received.
func (r SyncRequest) Validate() error {
	var errs []error
	if err := ValidateTenantID(r.Tenant); err != nil {
		errs = append(errs, fmt.Errorf("tenant_id: %w", err))
	}
	if !r.Phase.Valid() {
		errs = append(errs, fmt.Errorf("phase: %q: use one of users, workspaces, timesheets, absences", r.Phase))
	}
	if !r.Mode.Valid() {
		errs = append(errs, fmt.Errorf("mode: %q: use one of full, partial, targeted", r.Mode))
	}
	if !r.Trigger.Valid() {
		errs = append(errs, fmt.Errorf("trigger: %q: use one of schedule, manual, webhook", r.Trigger))
	}
	if err := ValidateRunID(r.RunID); err != nil {
		errs = append(errs, err)
	}
	if r.Trigger == TriggerSchedule && r.ScheduledTime.IsZero() {
		errs = append(errs, errors.New("scheduled_time: required when trigger is schedule"))
	}
	switch {
	case r.Mode == ModeTargeted && len(r.Targets) == 0:
		errs = append(errs, errors.New("targets: a targeted run needs at least one target"))
	case r.Mode != ModeTargeted && len(r.Targets) > 0:
		errs = append(errs, fmt.Errorf("targets: only allowed with mode targeted, not %s", r.Mode))
	case len(r.Targets) > MaxTargets:
		errs = append(errs, fmt.Errorf("targets: %d targets, at most %d: split the request", len(r.Targets), MaxTargets))
	}
	if len(r.Then) >= len(Phases) {
		errs = append(errs, fmt.Errorf("then: %d following runs, at most %d", len(r.Then), len(Phases)-1))
	}
	seen := map[Phase]bool{r.Phase: true}
	for i, s := range r.Then {
		if !s.Phase.Valid() {
			errs = append(errs, fmt.Errorf("then[%d].phase: %q: use one of users, workspaces, timesheets, absences", i, s.Phase))
		} else if seen[s.Phase] {
			errs = append(errs, fmt.Errorf("then[%d].phase: %s runs twice in one chain", i, s.Phase))
		}
		seen[s.Phase] = true
		if err := ValidateRunID(s.RunID); err != nil {
			errs = append(errs, fmt.Errorf("then[%d]: %w", i, err))
		}
	}
	for i, t := range r.Targets {
		if !t.Kind.Valid() {
			errs = append(errs, fmt.Errorf("targets[%d].kind: unknown record kind %q", i, t.Kind))
		}
		switch {
		case strings.TrimSpace(t.ID) == "":
			errs = append(errs, fmt.Errorf("targets[%d].id: required", i))
		case len(t.ID) > MaxTargetIDLen || strings.IndexFunc(t.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			errs = append(errs, fmt.Errorf("targets[%d].id: a record id of at most %d characters without spaces or control characters", i, MaxTargetIDLen))
		}
	}
	return errors.Join(errs...)
}

// MaxTargetIDLen bounds a target's record id: vendor ids are numbers or UUIDs, so a
// longer one is not an id of theirs (and would only bloat events and protocol entries).
const MaxTargetIDLen = 128

// Summary returns the queued run summary for the request at now.
func (r SyncRequest) Summary(now time.Time) RunSummary {
	return RunSummary{Tenant: r.Tenant, RunID: r.RunID, Phase: r.Phase, Mode: r.Mode, Trigger: r.Trigger,
		DryRun: r.DryRun, Status: RunQueued, ScheduledTime: r.ScheduledTime, QueuedAt: now}
}
