// Command api is the admin HTTP API behind API Gateway: set-up, Sync Now, runs, protocol
// and the vendors' webhooks.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/awsenv"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/lambdahttp"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/vendors"
)

func main() {
	env, err := awsenv.Load(context.Background(), "api", phases.Names())
	if err != nil {
		env.Exit(err)
	}
	loc, _ := schedule.LoadLocation(env.Config.ScheduleTimezone) // Load validated it
	// Without a sealer (no KMS_KEY_ID or local key) the routes that seal answer 503 and
	// the health check still works.
	api := httpapi.New(httpapi.Options{Logger: env.Log, Store: env.Store, Sealer: env.Sealer, Bus: env.Bus(),
		Vendors: httpapi.NewVendors(env.Vendors(vendors.Options{MaxRetries: httpapi.APIMaxRetries})), OperatorKeyHash: env.Config.OperatorKeyHash,
		PublicBaseURL: env.Config.PublicBaseURL, Location: loc, Phases: env.Config.Phases})
	lambda.Start(lambdahttp.Handler(api))
}
