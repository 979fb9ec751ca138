// Command usersync is the users phase (Personio employees → Staffomatic users), invoked by
// the EventBridge rule for SyncRequested events with phase "users".
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/awsenv"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
)

func main() {
	env, err := awsenv.Load(context.Background(), "usersync")
	if err == nil {
		err = env.RequireSealer()
	}
	if err != nil {
		env.Exit(err)
	}
	p := usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(vendors.Options{})})
	lambda.Start(phase.New(p, env.PhaseDeps()).Handle)
}
