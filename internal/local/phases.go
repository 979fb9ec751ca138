package local

import (
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

// DefaultPhases are the sync phases the local bus runs, each in the same harness as its
// Lambda function. One Staffomatic rate limiter is shared, as Staffomatic budgets per
// caller, not per tenant.
func DefaultPhases() []PhaseFactory {
	vendors := usersync.Vendors{StaffomaticLimiter: staffomatic.NewRateLimiter(500, 10*time.Second)}
	return []PhaseFactory{
		func(d phase.Deps) (PhaseHandler, error) {
			v := vendors
			v.Log = d.Log
			h := phase.New(usersync.NewPhase(usersync.Deps{Store: d.Store, Vendors: v}), d)
			return PhaseHandler{Phase: domain.PhaseUsers, Handle: h.Handle}, nil
		},
		func(d phase.Deps) (PhaseHandler, error) {
			v := vendors
			v.Log = d.Log
			h := phase.New(workspacesync.NewPhase(workspacesync.Deps{Store: d.Store, Vendors: v}), d)
			return PhaseHandler{Phase: domain.PhaseWorkspaces, Handle: h.Handle}, nil
		},
	}
}
