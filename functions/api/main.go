// Command api is the admin HTTP API behind API Gateway: set-up, Sync Now, runs, protocol
// and the vendors' webhooks.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/lambdahttp"
	"github.com/staffsync/staffsync/internal/obs"
)

func main() {
	log := obs.NewLambdaLogger("api")
	api := httpapi.New(httpapi.Options{Logger: log})
	lambda.Start(lambdahttp.Handler(api))
}
