// Command workspacesync is the workspaces phase (Personio offices, departments and teams →
// Staffomatic locations and departments), invoked by the EventBridge rule for
// SyncRequested events with phase "workspaces".
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

func main() {
	deps, vendors, err := usersync.FromEnv(context.Background(), "workspacesync")
	if err != nil {
		deps.Log.Error("workspacesync: configuration", "error", err)
		os.Exit(1)
	}
	p := workspacesync.NewPhase(workspacesync.Deps{Store: deps.Store, Vendors: vendors})
	lambda.Start(phase.New(p, deps).Handle)
}
