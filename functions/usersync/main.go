// Command usersync is the users phase (Personio employees → Staffomatic users), invoked by
// the EventBridge rule for SyncRequested events with phase "users".
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/usersync"
)

func main() {
	deps, vendors, err := usersync.FromEnv(context.Background(), "usersync")
	if err != nil {
		deps.Log.Error("usersync: configuration", "error", err)
		os.Exit(1)
	}
	p := usersync.NewPhase(usersync.Deps{Store: deps.Store, Vendors: vendors})
	lambda.Start(phase.New(p, deps).Handle)
}
