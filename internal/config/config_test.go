package config

import "testing"

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvTenantsTable, "tt")
	t.Setenv(EnvScheduleTimezone, "Europe/Vienna")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.Tables.Tenants != "tt" || c.Tables.Mappings != "staffsync-mappings" || c.ScheduleTimezone != "Europe/Vienna" {
		t.Fatalf("got %+v", c)
	}
	if len(c.Phases) != 4 {
		t.Fatalf("default phases %v", c.Phases)
	}
	t.Setenv(EnvSyncPhases, "users, workspaces")
	if c, err = FromEnv(); err != nil || len(c.Phases) != 2 || c.Phases[1] != "workspaces" {
		t.Fatalf("phases %v %v", c.Phases, err)
	}
	t.Setenv(EnvSyncPhases, "users,payroll")
	if _, err := FromEnv(); err == nil {
		t.Fatal("unknown phase accepted")
	}
	t.Setenv(EnvSyncPhases, "")
	t.Setenv(EnvScheduleTimezone, "Mars/Olympus")
	if _, err := FromEnv(); err == nil {
		t.Fatal("bad time zone accepted")
	}
}

func TestAllowedVendorHosts(t *testing.T) {
	c, err := FromEnv()
	if err != nil || len(c.AllowedVendorHosts) != 0 {
		t.Fatalf("default: %v %v", c.AllowedVendorHosts, err)
	}
	t.Setenv(EnvAllowedVendorHosts, "proxy.example.com, http://10.0.0.5,,192.168.0.0/16")
	if c, err = FromEnv(); err != nil || len(c.AllowedVendorHosts) != 3 || c.AllowedVendorHosts[1] != "http://10.0.0.5" {
		t.Fatalf("hosts %v %v", c.AllowedVendorHosts, err)
	}
	t.Setenv(EnvAllowedVendorHosts, "proxy.example.com/path?x")
	if _, err := FromEnv(); err == nil {
		t.Fatal("a bad entry was accepted")
	}
}
