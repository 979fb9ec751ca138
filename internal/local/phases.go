package local

import (
	"sync"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

// localVendors is the local runner's one vendor builder, shared by the API and every
// phase as in a Lambda process, so a tenant's clients share its rate limits. Its policy is
// open: the simulators of `staffsync dev` listen on loopback ports.
var localVendors = sync.OnceValue(func() *vendors.Builder {
	return vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}})
})

// DefaultPhases are the sync phases the local bus runs, each in the same harness as its
// Lambda function.
func DefaultPhases() []PhaseFactory {
	return []PhaseFactory{
		func(d phase.Deps) (PhaseHandler, error) {
			v := localVendors().WithLog(d.Log)
			h := phase.New(usersync.NewPhase(usersync.Deps{Store: d.Store, Vendors: v}), d)
			return PhaseHandler{Phase: domain.PhaseUsers, Handle: h.Handle}, nil
		},
		func(d phase.Deps) (PhaseHandler, error) {
			v := localVendors().WithLog(d.Log)
			h := phase.New(workspacesync.NewPhase(workspacesync.Deps{Store: d.Store, Vendors: v}), d)
			return PhaseHandler{Phase: domain.PhaseWorkspaces, Handle: h.Handle}, nil
		},
	}
}
