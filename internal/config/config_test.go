package config

import (
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

func TestFromEnv(t *testing.T) {
	registered := []domain.Phase{domain.PhaseUsers, domain.PhaseWorkspaces}
	t.Setenv(EnvTenantsTable, "tt")
	t.Setenv(EnvScheduleTimezone, "Europe/Vienna")
	t.Setenv(EnvSyncPhases, "")
	c, err := FromEnv(registered)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tables.Tenants != "tt" || c.Tables.Mappings != "staffsync-mappings" || c.ScheduleTimezone != "Europe/Vienna" {
		t.Fatalf("got %+v", c)
	}
	// Without SYNC_PHASES the phases are the registered ones, not every phase of the
	// timetable: the unregistered ones have no function to run them.
	if len(c.Phases) != 2 || c.Phases[0] != domain.PhaseUsers || c.Phases[1] != domain.PhaseWorkspaces {
		t.Fatalf("default phases %v, want the registered %v", c.Phases, registered)
	}
	t.Setenv(EnvSyncPhases, " workspaces")
	if c, err = FromEnv(registered); err != nil || len(c.Phases) != 1 || c.Phases[0] != "workspaces" {
		t.Fatalf("phases %v %v", c.Phases, err)
	}
	t.Setenv(EnvSyncPhases, "users,payroll")
	if _, err := FromEnv(registered); err == nil {
		t.Fatal("unknown phase accepted")
	}
	t.Setenv(EnvSyncPhases, "users,timesheets")
	if _, err := FromEnv(registered); err == nil || !strings.Contains(err.Error(), "timesheets has no code") {
		t.Fatalf("a phase without code accepted: %v", err)
	}
	t.Setenv(EnvSyncPhases, "")
	t.Setenv(EnvScheduleTimezone, "Mars/Olympus")
	if _, err := FromEnv(registered); err == nil {
		t.Fatal("bad time zone accepted")
	}
}

func TestAllowedVendorHosts(t *testing.T) {
	c, err := FromEnv(domain.Phases[:2])
	if err != nil || len(c.AllowedVendorHosts) != 0 {
		t.Fatalf("default: %v %v", c.AllowedVendorHosts, err)
	}
	t.Setenv(EnvAllowedVendorHosts, "proxy.example.com, http://10.0.0.5,,192.168.0.0/16")
	if c, err = FromEnv(domain.Phases[:2]); err != nil || len(c.AllowedVendorHosts) != 3 || c.AllowedVendorHosts[1] != "http://10.0.0.5" {
		t.Fatalf("hosts %v %v", c.AllowedVendorHosts, err)
	}
	t.Setenv(EnvAllowedVendorHosts, "proxy.example.com/path?x")
	if _, err := FromEnv(domain.Phases[:2]); err == nil {
		t.Fatal("a bad entry was accepted")
	}
}
