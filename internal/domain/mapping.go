package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
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
	// StateReported: nothing was transferred; the record was reported (a conflict, a
	// missing workspace) and Reported says what, so an unchanged report is not repeated.
	// Unlike StateFailed it is not retried: it changes when its cause changes.
	StateReported TransferState = "reported"
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
	// Hash is the content hash of the source as last transferred, and nothing else.
	Hash  string        `json:"hash,omitempty"`
	State TransferState `json:"state"`
	// Reported is the fingerprint (ReportFingerprint) of the report last written to the
	// protocol for this record: a mapped record keeps its target and flags beside it.
	Reported string `json:"reported,omitempty"`
	// Invited (users): staffsync sent or found the user's invitation; never sent twice.
	Invited bool `json:"invited,omitempty"`
	// LockedBySync (users): the lock on the user is staffsync's (hire date, last working
	// day), so only such a lock is ever lifted.
	LockedBySync   bool      `json:"locked_by_sync,omitempty"`
	FirstFailureAt time.Time `json:"first_failure_at,omitzero"`
	Attempts       int       `json:"attempts,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
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
// whether to try again (state failed) or not (state gave_up) once more than window
// (RetryWindow when <= 0) has passed since the first failure; a failure exactly at the
// window's end is still retried. A given-up record that fails again was attempted because
// its source changed, so its window starts anew. It is the one place of this rule:
// phase.Retry applies it.
func (m *Mapping) RecordFailure(now time.Time, reason string, window time.Duration) (retry bool) {
	if m.FirstFailureAt.IsZero() || m.State == StateGaveUp {
		m.FirstFailureAt, m.Attempts = now, 0
	}
	m.Attempts++
	m.LastError, m.UpdatedAt = reason, now
	if RetryExpired(m.FirstFailureAt, now, window) {
		m.State = StateGaveUp
		return false
	}
	m.State = StateFailed
	return true
}

// RetryExpired reports whether a record that first failed at first and fails again at now
// is past its retry window (RetryWindow when window <= 0).
func RetryExpired(first, now time.Time, window time.Duration) bool {
	if window <= 0 {
		window = RetryWindow
	}
	return !first.IsZero() && now.Sub(first) > window
}

// RecordSuccess marks a transfer of content hash h to targets at now.
func (m *Mapping) RecordSuccess(now time.Time, h string, targets ...string) {
	if len(targets) > 0 {
		m.TargetIDs = targets
	}
	m.Hash, m.State, m.UpdatedAt = h, StateTransferred, now
	m.FirstFailureAt, m.Attempts, m.LastError = time.Time{}, 0, ""
}

// Upgrade turns a mapping stored in an earlier form into the typed one. Earlier, the user
// sync packed its flags into Hash ("invited=true;locked_by_sync=false;reported=report:…"),
// and both syncs stored a report as Hash "report:<fingerprint>" with StateFailed (no
// target) or StateTransferred (a linked workspace). The store calls it on every read, so
// such an item is read in its old form once and written in the new form by the next write.
func (m *Mapping) Upgrade() {
	switch {
	case strings.HasPrefix(m.Hash, "invited=") || strings.HasPrefix(m.Hash, "locked_by_sync="):
		for _, part := range strings.Split(m.Hash, ";") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "invited":
				m.Invited = m.Invited || v == "true"
			case "locked_by_sync":
				m.LockedBySync = m.LockedBySync || v == "true"
			case "reported":
				if m.Reported == "" {
					m.Reported = v
				}
			}
		}
		m.Hash = ""
	case strings.HasPrefix(m.Hash, reportPrefix):
		if m.Reported == "" {
			m.Reported = m.Hash
		}
		m.Hash = ""
		if m.State == StateFailed && m.TargetID() == "" {
			m.State = StateReported
		}
	}
}

const reportPrefix = "report:"

// ReportFingerprint identifies a report (what, about whom, why): a report whose
// fingerprint equals the one stored in its mapping's Reported was written before and is
// not repeated; a changed reason or set of records is reported again.
func ReportFingerprint(action string, ids []string, reason string) string {
	sum := sha256.Sum256([]byte(action + "|" + strings.Join(ids, ",") + "|" + reason))
	return reportPrefix + hex.EncodeToString(sum[:8])
}
