// Command api is the admin HTTP API behind API Gateway: set-up, Sync Now, runs, protocol
// and the vendors' webhooks.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/lambdahttp"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
)

func main() {
	log := obs.NewLambdaLogger("api")
	cfg, err := config.FromEnv()
	if err == nil {
		var aws awsConfig
		if aws, err = load(cfg); err == nil {
			loc, _ := schedule.LoadLocation(cfg.ScheduleTimezone) // FromEnv validated it
			lambda.Start(lambdahttp.Handler(httpapi.New(httpapi.Options{Logger: log, Store: aws.store, Sealer: aws.sealer, Bus: aws.bus,
				Vendors: httpapi.DefaultVendors{Logger: log, MaxRetries: 2}, OperatorKeyHash: cfg.OperatorKeyHash,
				PublicBaseURL: cfg.PublicBaseURL, Location: loc})))
			return
		}
	}
	log.Error("api: start-up failed", "error", err)
	os.Exit(1)
}

type awsConfig struct {
	store  *store.Store
	sealer seal.Sealer
	bus    bus.Publisher
}

// load builds the adapters. Without KMS_KEY_ID (aws-lambda-rie, make run) credentials are
// sealed with the local key in STAFFSYNC_LOCAL_KEY; with neither, routes that seal answer
// 503 rather than the function failing to start.
func load(cfg config.Config) (awsConfig, error) {
	ac, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return awsConfig{}, err
	}
	out := awsConfig{store: store.New(store.NewClient(ac, cfg.DynamoDBEndpoint), cfg.Tables),
		bus: bus.NewEventBridge(eventbridge.NewFromConfig(ac), cfg.EventBusName)}
	switch {
	case cfg.KMSKeyID != "":
		out.sealer, err = seal.NewKMS(kms.NewFromConfig(ac), cfg.KMSKeyID)
	case os.Getenv(seal.EnvLocalKey) != "":
		out.sealer, err = seal.LocalFromEnv("")
	}
	return out, err
}
