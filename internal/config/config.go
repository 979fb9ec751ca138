// Package config reads a function's configuration from its environment, which template.yaml
// sets for AWS and the local runner sets for `make run`.
package config

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Environment variable names, documented in the README.
const (
	EnvTenantsTable     = "TENANTS_TABLE"
	EnvMappingsTable    = "MAPPINGS_TABLE"
	EnvProtocolTable    = "PROTOCOL_TABLE"
	EnvEventBusName     = "EVENT_BUS_NAME"
	EnvKMSKeyID         = "KMS_KEY_ID"
	EnvOperatorKeyHash  = "OPERATOR_KEY_HASH"
	EnvStage            = "STAGE"
	EnvScheduleTimezone = "SCHEDULE_TIMEZONE"
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
	EnvPublicBaseURL    = "PUBLIC_BASE_URL"
	EnvSyncPhases       = "SYNC_PHASES"
	// EnvAllowedVendorHosts lists hosts the vendor clients may reach besides the
	// vendors' production hosts (the AllowedVendorHosts stack parameter).
	EnvAllowedVendorHosts = "ALLOWED_VENDOR_HOSTS"
)

// Config is what every function needs to know about its deployment.
type Config struct {
	Stage            string
	Tables           store.Tables
	EventBusName     string
	KMSKeyID         string
	OperatorKeyHash  string
	ScheduleTimezone string
	// DynamoDBEndpoint overrides the DynamoDB endpoint (local runs and tests).
	DynamoDBEndpoint string
	// PublicBaseURL is where the API is reachable from the vendors (webhook registration).
	PublicBaseURL string
	// Phases are the sync phases deployed with a function (SYNC_PHASES, comma-separated;
	// default the registered phases), so dispatch and the API queue runs only for phases
	// that will run.
	Phases []domain.Phase
	// AllowedVendorHosts are the operator's additions to the vendor hosts a deployed
	// function may call (ALLOWED_VENDOR_HOSTS, comma-separated; see vendors.Policy).
	AllowedVendorHosts []string
}

// FromEnv reads the configuration. Missing table names fall back to the local runner's
// defaults so that a developer can start a function without setting a dozen variables; an
// invalid time zone is an error because schedules would otherwise fire at the wrong hour.
//
// registered are the phases that have code (phases.Names()): the default of SYNC_PHASES,
// and the only phases it may name, since a run queued for a phase without code would wait
// in "queued" for good. The caller passes them because the registry imports the sync
// packages, which must stay free to import config.
func FromEnv(registered []domain.Phase) (Config, error) {
	c := Config{
		Stage: get(EnvStage, "dev"),
		Tables: store.Tables{
			Tenants:  get(EnvTenantsTable, "staffsync-tenants"),
			Mappings: get(EnvMappingsTable, "staffsync-mappings"),
			Protocol: get(EnvProtocolTable, "staffsync-protocol"),
		},
		EventBusName:     get(EnvEventBusName, "staffsync"),
		KMSKeyID:         os.Getenv(EnvKMSKeyID),
		OperatorKeyHash:  os.Getenv(EnvOperatorKeyHash),
		ScheduleTimezone: get(EnvScheduleTimezone, domain.DefaultScheduleTimezone),
		DynamoDBEndpoint: os.Getenv(EnvDynamoDBEndpoint),
		PublicBaseURL:    os.Getenv(EnvPublicBaseURL),
	}
	if _, err := schedule.LoadLocation(c.ScheduleTimezone); err != nil {
		return Config{}, fmt.Errorf("%s: %w", EnvScheduleTimezone, err)
	}
	hosts, err := vendors.ParseHosts(os.Getenv(EnvAllowedVendorHosts))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", EnvAllowedVendorHosts, err)
	}
	c.AllowedVendorHosts = hosts
	c.Phases = slices.Clone(registered)
	if v := strings.TrimSpace(os.Getenv(EnvSyncPhases)); v != "" {
		c.Phases = nil
		for _, name := range strings.Split(v, ",") {
			p, err := domain.ParsePhase(strings.TrimSpace(name))
			if err != nil {
				return Config{}, fmt.Errorf("%s: %w", EnvSyncPhases, err)
			}
			if !slices.Contains(registered, p) {
				return Config{}, fmt.Errorf("%s: phase %s has no code in this build (registered: %v)", EnvSyncPhases, p, registered)
			}
			c.Phases = append(c.Phases, p)
		}
	}
	return c, nil
}

func get(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
