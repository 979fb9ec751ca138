// Command dispatch is invoked by the EventBridge Scheduler timetable with
// {phase, mode, scheduled_time} and requests one run per tenant with background sync on.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/awsenv"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/phases"
)

func main() {
	env, err := awsenv.Load(context.Background(), "dispatch", phases.Names())
	if err != nil {
		env.Exit(err)
	}
	lambda.Start(dispatch.New(env.Store, env.Bus(), env.Log, env.Metrics).WithPhases(env.Config.Phases).Dispatch)
}
