// Command absencesync is the absences phase (Personio absence periods ⇄ Staffomatic absences,
// in the direction the admin chose), invoked by the EventBridge rule for SyncRequested events
// with phase "absences".
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/awsenv"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/vendors"
)

func main() {
	p := phases.Get(domain.PhaseAbsences)
	env, err := awsenv.Load(context.Background(), p.Dir(), phases.Names())
	if err == nil {
		err = env.RequireSealer()
	}
	if err != nil {
		env.Exit(err)
	}
	lambda.Start(p.New(phases.Deps{Harness: env.PhaseDeps(), Vendors: env.Vendors(vendors.Options{})}))
}
