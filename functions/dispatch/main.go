// Command dispatch is invoked by the EventBridge Scheduler timetable with
// {phase, mode, scheduled_time} and requests one run per tenant with background sync on.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

func main() {
	log := obs.NewLambdaLogger("dispatch")
	cfg, err := config.FromEnv()
	aws, err2 := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil || err2 != nil {
		log.Error("dispatch: configuration", "error", err, "aws_error", err2)
		os.Exit(1)
	}
	st := store.New(store.NewClient(aws, cfg.DynamoDBEndpoint), cfg.Tables)
	pub := bus.NewEventBridge(eventbridge.NewFromConfig(aws), cfg.EventBusName)
	lambda.Start(dispatch.New(st, pub, log, obs.NewMetrics(os.Stdout, "dispatch")).Dispatch)
}
