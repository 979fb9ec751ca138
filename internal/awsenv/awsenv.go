// Package awsenv builds, from a Lambda function's environment, the adapters every function
// shares: configuration, the DynamoDB store, the credential sealer, the event bus, the
// logger and EMF metrics. Each functions/<name>/main.go is then a few lines of wiring, and
// the choices (which endpoint, which sealer) are made once.
package awsenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Env is what a function is built from.
type Env struct {
	Config  config.Config
	AWS     aws.Config
	Log     *slog.Logger
	Metrics *obs.Metrics
	Store   *store.Store
	// Sealer is KMS with KMS_KEY_ID, the local AES key of STAFFSYNC_LOCAL_KEY outside AWS
	// (aws-lambda-rie), or nil when neither is set.
	Sealer seal.Sealer
}

// ErrNoSealer is returned by RequireSealer when no key is configured.
var ErrNoSealer = errors.New("set KMS_KEY_ID (or STAFFSYNC_LOCAL_KEY outside AWS) to seal and open tenant credentials")

// Load reads the environment of the function named service; registered are the phases
// that have code (phases.Names()), the default of SYNC_PHASES. Its logger is always set,
// so a caller can log the error it returns.
func Load(ctx context.Context, service string, registered []domain.Phase) (Env, error) {
	e := Env{Log: obs.NewLambdaLogger(service), Metrics: obs.NewMetrics(os.Stdout, service)}
	var err error
	if e.Config, err = config.FromEnv(registered); err != nil {
		return e, err
	}
	if e.AWS, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
		return e, fmt.Errorf("aws config: %w", err)
	}
	e.Store = store.New(store.NewClient(e.AWS, e.Config.DynamoDBEndpoint), e.Config.Tables)
	switch {
	case e.Config.KMSKeyID != "":
		e.Sealer, err = seal.NewKMS(kms.NewFromConfig(e.AWS), e.Config.KMSKeyID)
	case os.Getenv(seal.EnvLocalKey) != "":
		e.Sealer, err = seal.LocalFromEnv("")
	}
	if err != nil {
		return e, fmt.Errorf("sealer: %w", err)
	}
	return e, nil
}

// RequireSealer fails when the function cannot open credentials; the phases need them.
func (e Env) RequireSealer() error {
	if e.Sealer == nil {
		return ErrNoSealer
	}
	return nil
}

// PhaseDeps are the phase harness's adapters; the bus starts the run that follows a run
// of "Sync Now" for all phases.
func (e Env) PhaseDeps() phase.Deps {
	return phase.Deps{Store: e.Store, Sealer: e.Sealer, Log: e.Log, Metrics: e.Metrics, Bus: e.Bus()}
}

// Vendors returns the function's vendor builder under a deployed stack's policy: only
// https to the vendors' production hosts and the operator's ALLOWED_VENDOR_HOSTS, checked
// at connect time. o carries what differs per function (the API's fewer retries); its
// Policy and Log are set here.
func (e Env) Vendors(o vendors.Options) *vendors.Builder {
	o.Policy = vendors.Policy{Hosts: e.Config.AllowedVendorHosts}
	o.Log = e.Log
	return vendors.New(o)
}

// Bus returns the EventBridge publisher of the sync bus.
func (e Env) Bus() *bus.EventBridge {
	return bus.NewEventBridge(eventbridge.NewFromConfig(e.AWS), e.Config.EventBusName)
}

// Exit logs a start-up failure and ends the process: a function that cannot be configured
// must fail its init, so that the errors alarm fires, rather than answer wrongly.
func (e Env) Exit(err error) {
	e.Log.Error("start-up failed", "error", err)
	os.Exit(1)
}
