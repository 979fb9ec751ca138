// Command workspacesync is the workspaces phase (Personio offices, departments and teams →
// Staffomatic locations and departments), invoked by the EventBridge rule for
// SyncRequested events with phase "workspaces".
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/awsenv"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/vendors"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

func main() {
	env, err := awsenv.Load(context.Background(), "workspacesync")
	if err == nil {
		err = env.RequireSealer()
	}
	if err != nil {
		env.Exit(err)
	}
	p := workspacesync.NewPhase(workspacesync.Deps{Store: env.Store, Vendors: env.Vendors(vendors.Options{})})
	lambda.Start(phase.New(p, env.PhaseDeps()).Handle)
}
