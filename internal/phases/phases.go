// Package phases is the one registry of the sync phases that have code (DESIGN §2.3): one
// line per phase names it, its constructor and its Lambda function. The phase functions'
// mains, the local runner, the default of SYNC_PHASES and internal/deploy's check of
// template.yaml, the Makefile and events/ all read this list, so a phase is added here
// once and nowhere else in Go.
package phases

import (
	"fmt"
	"strings"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

// Deps are what every phase constructor is given. They are the same in Lambda and in the
// local runner; only their adapters differ.
type Deps struct {
	// Harness are the harness's adapters (store, sealer, logger, metrics, bus).
	Harness phase.Deps
	// Vendors builds a run's Personio and Staffomatic clients; one builder serves every
	// phase of a process, so they share its Staffomatic rate limiter.
	Vendors *vendors.Builder
}

// Entry is one registered phase.
type Entry struct {
	// Phase is the phase's name, the detail.phase its EventBridge rule matches.
	Phase domain.Phase
	// Function is the logical id of the phase's function in template.yaml (and of its
	// build-<Function> Makefile target and its events/<Function>-<case>.json samples).
	Function string
	// New builds the phase's handler: the harness around the phase, taking the raw
	// EventBridge event as the Lambda function and the local bus deliver it.
	New func(Deps) bus.Handler
}

// registry is the list: one line per phase, in the order of domain.Phases.
var registry = []Entry{
	{Phase: domain.PhaseUsers, Function: "UsersyncFunction", New: func(d Deps) bus.Handler {
		return phase.New(usersync.NewPhase(usersync.Deps{Store: d.Harness.Store, Vendors: d.Vendors}), d.Harness).Handle
	}},
	{Phase: domain.PhaseWorkspaces, Function: "WorkspacesyncFunction", New: func(d Deps) bus.Handler {
		return phase.New(workspacesync.NewPhase(workspacesync.Deps{Store: d.Harness.Store, Vendors: d.Vendors}), d.Harness).Handle
	}},
	{Phase: domain.PhaseTimesheets, Function: "TimesyncFunction", New: func(d Deps) bus.Handler {
		return phase.New(timesync.NewPhase(timesync.Deps{Store: d.Harness.Store, Vendors: d.Vendors}), d.Harness).Handle
	}},
	{Phase: domain.PhaseAbsences, Function: "AbsencesyncFunction", New: func(d Deps) bus.Handler {
		return phase.New(absencesync.NewPhase(absencesync.Deps{Store: d.Harness.Store, Vendors: d.Vendors}), d.Harness).Handle
	}},
}

// Pattern is the EventBridge pattern of the phase's rule on the sync bus, which the
// template's rule and the local bus both use.
func (e Entry) Pattern() string { return bus.RulePattern(e.Phase) }

// EventsPrefix is the prefix of the phase function's sample events, events/<Function>-:
// `make invoke-<Function>` and the function's runtime test use them.
func (e Entry) EventsPrefix() string { return "events/" + e.Function + "-" }

// Dir is the function's directory under functions/ (UsersyncFunction: usersync), which is
// also the service name its logs and metrics carry.
func (e Entry) Dir() string { return strings.ToLower(strings.TrimSuffix(e.Function, "Function")) }

// All returns the registered phases in the order a full sync runs them.
func All() []Entry { return append([]Entry(nil), registry...) }

// Names returns the registered phases' names: the phases that have code, and the default
// of SYNC_PHASES.
func Names() []domain.Phase {
	out := make([]domain.Phase, len(registry))
	for i, e := range registry {
		out[i] = e.Phase
	}
	return out
}

// Get returns the entry of p. A function's main names its phase at compile time, so an
// unregistered phase is a programming error and panics (its runtime test catches it).
func Get(p domain.Phase) Entry {
	for _, e := range registry {
		if e.Phase == p {
			return e
		}
	}
	panic(fmt.Sprintf("phases: %s is not registered (internal/phases)", p))
}
