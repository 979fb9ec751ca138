package domain

import (
	"fmt"
	"slices"
)

// Phase names one sync phase. Each phase has its own run lease per tenant and, once its
// code exists, its own Lambda function and EventBridge rule on the sync bus; the phases
// with code are those registered in internal/phases.
type Phase string

// The four sync phases of DESIGN §2, whether or not their code exists yet.
const (
	PhaseUsers      Phase = "users"
	PhaseWorkspaces Phase = "workspaces"
	PhaseTimesheets Phase = "timesheets"
	PhaseAbsences   Phase = "absences"
)

// Phases lists every phase in the order a full sync runs them: users first, because timers
// and absences can only move once their person is mapped.
var Phases = []Phase{PhaseUsers, PhaseWorkspaces, PhaseTimesheets, PhaseAbsences}

// Valid reports whether p is one of Phases.
func (p Phase) Valid() bool { return slices.Contains(Phases, p) }

// ParsePhase returns the phase named s or an error naming the accepted values.
func ParsePhase(s string) (Phase, error) {
	p := Phase(s)
	if !p.Valid() {
		return "", fmt.Errorf("unknown phase %q: use one of users, workspaces, timesheets, absences", s)
	}
	return p, nil
}

// Mode says how much of a tenant's data a run looks at.
type Mode string

const (
	// ModeFull reads everything in the phase's window and reconciles it (finds deletions).
	ModeFull Mode = "full"
	// ModePartial reads only what changed since the phase's cursor, minus an overlap window.
	ModePartial Mode = "partial"
	// ModeTargeted handles only the records named in the request (from webhooks).
	ModeTargeted Mode = "targeted"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeFull || m == ModePartial || m == ModeTargeted }

// Trigger says what started a run.
type Trigger string

const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
	TriggerWebhook  Trigger = "webhook"
)

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool {
	return t == TriggerSchedule || t == TriggerManual || t == TriggerWebhook
}
