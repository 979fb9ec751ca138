package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie with the events/ samples
// after an in-process users run: the dry run plans the demo's Personio absences and
// writes nothing, the full run creates them as Staffomatic absences.
func TestLambdaRuntime(t *testing.T) {
	// The bootstrap reads the real clock: the demo's absences are placed around today.
	env := synctest.New(t, synctest.Options{Now: time.Now().UTC()})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors()}), env.HarnessDeps())
	if _, err := users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	emu := lambdatest.Start(t, lambdatest.Build(t, "./functions/absencesync"), env.BootstrapEnv())
	events := lambdatest.Events(t, "AbsencesyncFunction")
	payload, ok := events["full"]
	dry, dok := events["dry-run"]
	if !ok || !dok {
		t.Fatal("events/AbsencesyncFunction-full.json or -dry-run.json is missing")
	}
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	env.P.ResetCalls()
	env.S.ResetCalls()
	if status, body := emu.Invoke(t, dry); status != 200 || strings.Contains(string(body), "errorMessage") {
		t.Fatalf("dry run: %d %s\n%s", status, body, emu.Logs())
	}
	planned := 0
	for _, e := range env.Protocol(t, domain.AreaOf(domain.PhaseAbsences), "20260311T081400Z-absences-d1a2b3c4e5") {
		if e.Outcome != domain.OutcomePlanned {
			t.Fatalf("dry-run entry %+v", e)
		}
		if e.Action == "create_absence" {
			planned++
		}
	}
	// The demo's own Staffomatic absences are there from the start; the dry run adds none.
	if planned == 0 || env.P.WriteCalls()+env.S.WriteCalls() != 0 || len(acc.Absences()) != env.Demo.StaffomaticAbsences {
		t.Fatalf("dry run: %d creates planned, %d writes, %d absences", planned, env.P.WriteCalls()+env.S.WriteCalls(), len(acc.Absences()))
	}
	if status, body := emu.Invoke(t, payload); status != 200 || strings.Contains(string(body), "errorMessage") {
		t.Fatalf("%d %s\n%s", status, body, emu.Logs())
	}
	created := 0
	for _, e := range env.Protocol(t, domain.AreaOf(domain.PhaseAbsences), "20260310T231000Z-absences-sched") {
		if e.Outcome == domain.OutcomeCreated {
			created++
		}
	}
	if created != planned || len(acc.Absences()) < env.Demo.StaffomaticAbsences+created {
		t.Fatalf("%d absences created (the dry run planned %d), %d absences in Staffomatic\n%s", created, planned, len(acc.Absences()), emu.Logs())
	}
}
