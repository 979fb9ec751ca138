package domain

import (
	"fmt"
	"time"
)

// ProtocolRetention is how long protocol entries live (DESIGN §1.3: two months).
const ProtocolRetention = 62 * 24 * time.Hour

// Area groups protocol entries as the admin reads them: one per phase plus set-up.
type Area string

const (
	AreaUsers      Area = "users"
	AreaWorkspaces Area = "workspaces"
	AreaTimesheets Area = "timesheets"
	AreaAbsences   Area = "absences"
	AreaSetup      Area = "setup"
)

// Areas lists every area, in the order the API names them.
var Areas = []Area{AreaUsers, AreaWorkspaces, AreaTimesheets, AreaAbsences, AreaSetup}

// AreaOf returns the protocol area of a phase.
func AreaOf(p Phase) Area { return Area(p) }

// Valid reports whether a is a known area.
func (a Area) Valid() bool {
	switch a {
	case AreaUsers, AreaWorkspaces, AreaTimesheets, AreaAbsences, AreaSetup:
		return true
	}
	return false
}

// Outcome is what happened to one record in a run.
type Outcome string

const (
	OutcomeCreated Outcome = "created"
	OutcomeUpdated Outcome = "updated"
	OutcomeDeleted Outcome = "deleted"
	OutcomeSkipped Outcome = "skipped"
	OutcomeFailed  Outcome = "failed"
	// OutcomeUnchanged: the record was compared and needed nothing.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomePlanned: a dry run's action that was planned and not applied.
	OutcomePlanned Outcome = "planned"
	// OutcomeReported: nothing was written to the target; a conflict or a finding the
	// admin has to act on was written to the protocol (e.g. an absence type without a
	// same-named category).
	OutcomeReported Outcome = "reported"
)

// Outcomes lists every outcome (the keys of a run's counts).
var Outcomes = []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeDeleted, OutcomeSkipped, OutcomeFailed, OutcomeUnchanged, OutcomePlanned, OutcomeReported}

// RecordOutcomes are the outcomes of an applied run, the counts every run summary shows
// (zero included), so a script or an alarm reads counts.failed without checking that the
// key exists. API calls are no outcome: they are a run's separate api_calls figure.
var RecordOutcomes = []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeDeleted, OutcomeUnchanged, OutcomeSkipped, OutcomeFailed, OutcomeReported}

// ProtocolEntry is one line of the protocol: what a run did (or would do, in a dry run) to
// one record, and why. It never carries a secret.
type ProtocolEntry struct {
	Tenant   string     `json:"tenant_id"`
	Area     Area       `json:"area"`
	Time     time.Time  `json:"time"`
	RunID    string     `json:"run_id"`
	Kind     RecordKind `json:"kind"`
	SourceID string     `json:"source_id,omitempty"`
	TargetID string     `json:"target_id,omitempty"`
	// Action is the planned or applied action, e.g. create_user or lock_user.
	Action  string  `json:"action"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// ExpiresAt is when DynamoDB TTL may delete the entry; reads hide it from then on.
	ExpiresAt time.Time `json:"expires_at"`
}

// Validate checks the fields the protocol is queried by.
func (e ProtocolEntry) Validate() error {
	if e.Tenant == "" {
		return fmt.Errorf("protocol entry: tenant_id is required")
	}
	if !e.Area.Valid() {
		return fmt.Errorf("protocol entry: unknown area %q: use users, workspaces, timesheets, absences or setup", e.Area)
	}
	if e.RunID == "" {
		return fmt.Errorf("protocol entry: run_id is required")
	}
	if e.Outcome == "" {
		return fmt.Errorf("protocol entry: outcome is required")
	}
	return nil
}

// PlannedAction is one action of a plan in the form a dry run stores and the admin reads.
type PlannedAction struct {
	Kind     RecordKind `json:"kind"`
	Action   string     `json:"action"`
	SourceID string     `json:"source_id,omitempty"`
	TargetID string     `json:"target_id,omitempty"`
	Reason   string     `json:"reason,omitempty"`
}
