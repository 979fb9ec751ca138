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
	t.Setenv(EnvScheduleTimezone, "Mars/Olympus")
	if _, err := FromEnv(); err == nil {
		t.Fatal("bad time zone accepted")
	}
}
