package awsenv

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/seal"
)

func TestLoad(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv(config.EnvKMSKeyID, "")
	t.Setenv(seal.EnvLocalKey, "")
	t.Setenv(config.EnvTenantsTable, "tt")
	t.Setenv(config.EnvSyncPhases, "")
	ctx := context.Background()
	registered := []domain.Phase{domain.PhaseUsers}
	e, err := Load(ctx, "test", registered)
	if err != nil {
		t.Fatal(err)
	}
	if e.Store == nil || e.Log == nil || e.Metrics == nil || e.Store.Tables().Tenants != "tt" || e.Bus() == nil {
		t.Fatalf("env %+v", e)
	}
	if !errors.Is(e.RequireSealer(), ErrNoSealer) {
		t.Fatal("no sealer configured, but none required")
	}

	t.Setenv(seal.EnvLocalKey, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if e, err = Load(ctx, "test", registered); err != nil || e.RequireSealer() != nil {
		t.Fatalf("local key not used: %v", err)
	}
	sealed, err := seal.SealCredentials(ctx, e.Sealer, "t1", domain.Credentials{PersonioClientID: "c", PersonioClientSecret: "s", StaffomaticToken: "x"})
	if err != nil || sealed.Scheme == "" {
		t.Fatalf("seal: %v", err)
	}

	if len(e.Config.Phases) != 1 || e.Config.Phases[0] != domain.PhaseUsers {
		t.Fatalf("phases %v, want the registered ones", e.Config.Phases)
	}

	t.Setenv(config.EnvScheduleTimezone, "Nowhere/Town")
	if e, err := Load(ctx, "test", registered); err == nil || e.Log == nil {
		t.Fatal("bad configuration accepted, or no logger to report it")
	}
}
