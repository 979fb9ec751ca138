package usersync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// FromEnv builds what a phase function needs in Lambda from its environment: the store,
// the sealer (KMS with KMS_KEY_ID; the local key of STAFFSYNC_LOCAL_KEY under
// aws-lambda-rie), EMF metrics, and vendor clients that share one Staffomatic rate
// limiter per process, because Staffomatic's budget is per egress IP. Both sync phase
// functions use it, so their main stays a few lines.
func FromEnv(ctx context.Context, service string) (phase.Deps, Vendors, error) {
	log := obs.NewLambdaLogger(service)
	cfg, err := config.FromEnv()
	if err != nil {
		return phase.Deps{Log: log}, Vendors{}, err
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return phase.Deps{Log: log}, Vendors{}, fmt.Errorf("aws config: %w", err)
	}
	var sealer seal.Sealer
	switch {
	case cfg.KMSKeyID != "":
		sealer, err = seal.NewKMS(kms.NewFromConfig(ac), cfg.KMSKeyID)
	case os.Getenv(seal.EnvLocalKey) != "":
		sealer, err = seal.LocalFromEnv("")
	default:
		err = errors.New("set KMS_KEY_ID (or STAFFSYNC_LOCAL_KEY outside AWS) to open tenant credentials")
	}
	if err != nil {
		return phase.Deps{Log: log}, Vendors{}, fmt.Errorf("sealer: %w", err)
	}
	deps := phase.Deps{Store: store.New(store.NewClient(ac, cfg.DynamoDBEndpoint), cfg.Tables), Sealer: sealer, Log: log,
		Metrics: obs.NewMetrics(os.Stdout, service)}
	return deps, Vendors{StaffomaticLimiter: staffomatic.NewRateLimiter(500, 10*time.Second), Log: log}, nil
}
