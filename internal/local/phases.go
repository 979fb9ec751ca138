package local

import (
	"sync"

	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/vendors"
)

// localVendors is the local runner's one vendor builder, shared by the API and every
// phase as in a Lambda process, so a tenant's clients share its rate limits. Its policy is
// open: the simulators of `staffsync dev` listen on loopback ports.
var localVendors = sync.OnceValue(func() *vendors.Builder {
	return vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}})
})

// DefaultPhases are the registered phases (internal/phases), each in the same harness as
// its Lambda function, all with the process's one vendor builder.
func DefaultPhases() []PhaseFactory {
	var out []PhaseFactory
	for _, e := range phases.All() {
		out = append(out, func(d phase.Deps) (PhaseHandler, error) {
			return PhaseHandler{Phase: e.Phase, Handle: e.New(phases.Deps{Harness: d, Vendors: localVendors().WithLog(d.Log)})}, nil
		})
	}
	return out
}
