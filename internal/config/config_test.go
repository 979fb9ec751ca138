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
