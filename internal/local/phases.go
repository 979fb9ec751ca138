package local

import (
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/usersync"
)

// DefaultPhases are the registered phases (internal/phases), each in the same harness as
// its Lambda function. The phases share one vendor builder and with it one Staffomatic
// rate limiter, as Staffomatic budgets per caller, not per tenant.
func DefaultPhases() []PhaseFactory {
	vendors := usersync.NewVendors(nil)
	var out []PhaseFactory
	for _, e := range phases.All() {
		out = append(out, func(d phase.Deps) (PhaseHandler, error) {
			v := vendors
			v.Log = d.Log
			return PhaseHandler{Phase: e.Phase, Handle: e.New(phases.Deps{Harness: d, Vendors: v})}, nil
		})
	}
	return out
}
