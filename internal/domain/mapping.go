package domain

import (
	"fmt"
	"slices"
	"time"
)

// RecordKind names the kind of record a mapping or protocol entry is about.
type RecordKind string

const (
	KindUser          RecordKind = "user"
	KindLocation      RecordKind = "location"
	KindDepartment    RecordKind = "department"
	KindMembership    RecordKind = "membership"
	KindAbsence       RecordKind = "absence"
	KindTimer         RecordKind = "timer"
	KindAttendance    RecordKind = "attendance_period"
	KindAbsenceType   RecordKind = "absence_type"
	KindEntitlement   RecordKind = "entitlement"
	KindTenantSetting RecordKind = "tenant"
)

// RecordKinds lists every kind.
var RecordKinds = []RecordKind{KindUser, KindLocation, KindDepartment, KindMembership, KindAbsence,
	KindTimer, KindAttendance, KindAbsenceType, KindEntitlement, KindTenantSetting}

// Valid reports whether k is a known kind.
func (k RecordKind) Valid() bool { return slices.Contains(RecordKinds, k) }

// TransferState is where a mapped record stands.
type TransferState string

const (
	// StatePending: seen, not yet transferred.
	StatePending TransferState = "pending"
	// StateTransferred: the target holds the source's content with hash Hash.
	StateTransferred TransferState = "transferred"
	// StateFailed: the last attempt failed; retried until RetryWindow after FirstFailureAt.
	StateFailed TransferState = "failed"
	// StateGaveUp: failed for longer than RetryWindow; reported, not retried until it changes.
	StateGaveUp TransferState = "gave_up"
	// StateDeleted: the source was deleted and the deletion handled.
	StateDeleted TransferState = "deleted"
)

// RetryWindow is how long a failing change is retried before it is reported as failed
// (DESIGN §1.3, time tracking).
const RetryWindow = 7 * 24 * time.Hour

// Mapping links a record of the leading system to its counterpart(s). Apply is keyed by
// mappings, so re-running after a crash creates nothing twice.
type Mapping struct {
	Tenant   string     `json:"tenant_id"`
	Kind     RecordKind `json:"kind"`
	SourceID string     `json:"source_id"`
	// TargetIDs: usually one; an absence split at the year boundary has two.
	TargetIDs []string `json:"target_ids,omitempty"`
	// Hash is the content hash of the source as last transferred.
	Hash           string        `json:"hash,omitempty"`
	State          TransferState `json:"state"`
	FirstFailureAt time.Time     `json:"first_failure_at,omitzero"`
	Attempts       int           `json:"attempts,omitempty"`
	LastError      string        `json:"last_error,omitempty"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// Validate checks the identifying fields.
func (m Mapping) Validate() error {
	if m.Tenant == "" {
		return fmt.Errorf("mapping: tenant_id is required")
	}
	if !m.Kind.Valid() {
		return fmt.Errorf("mapping %s: unknown kind %q", m.SourceID, m.Kind)
	}
	if m.SourceID == "" {
		return fmt.Errorf("mapping (%s): source_id is required", m.Kind)
	}
	return nil
}

// TargetID returns the primary target id, or "" when not transferred yet.
func (m Mapping) TargetID() string {
	if len(m.TargetIDs) == 0 {
		return ""
	}
	return m.TargetIDs[0]
}

// Changed reports whether a source with content hash h must be transferred again.
func (m Mapping) Changed(h string) bool { return m.State != StateTransferred || m.Hash != h }

// RecordFailure updates the retry bookkeeping after a failed attempt at now and reports
// whether to keep retrying (false once RetryWindow has passed since the first failure).
func (m *Mapping) RecordFailure(now time.Time, reason string) bool {
	if m.FirstFailureAt.IsZero() {
		m.FirstFailureAt = now
	}
	m.Attempts++
	m.LastError = reason
	m.UpdatedAt = now
	if now.Sub(m.FirstFailureAt) > RetryWindow {
		m.State = StateGaveUp
		return false
	}
	m.State = StateFailed
	return true
}

// RecordSuccess marks a transfer of content hash h to targets at now.
func (m *Mapping) RecordSuccess(now time.Time, h string, targets ...string) {
	if len(targets) > 0 {
		m.TargetIDs = targets
	}
	m.Hash, m.State, m.UpdatedAt = h, StateTransferred, now
	m.FirstFailureAt, m.Attempts, m.LastError = time.Time{}, 0, ""
}
