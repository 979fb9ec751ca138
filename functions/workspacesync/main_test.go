package main

import (
	"context"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie with the events/ sample
// after an in-process users run: the missing departments are created and the employees
// become their members.
func TestLambdaRuntime(t *testing.T) {
	env := synctest.New(t, synctest.Options{})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors()}), env.HarnessDeps())
	if _, err := users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	emu := lambdatest.Start(t, lambdatest.Build(t, "./functions/workspacesync"), env.BootstrapEnv())
	events := lambdatest.Events(t, "WorkspacesyncFunction")
	payload, ok := events["full"]
	dry, dok := events["dry-run"]
	if !ok || !dok {
		t.Fatal("events/WorkspacesyncFunction-full.json or -dry-run.json is missing")
	}
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	before := len(acc.Departments())

	// The dry run stores the plan and writes nothing to Staffomatic.
	env.S.ResetCalls()
	if status, body := emu.Invoke(t, dry); status != 200 || strings.Contains(string(body), "errorMessage") {
		t.Fatalf("dry run: %d %s\n%s", status, body, emu.Logs())
	}
	planned := env.Protocol(t, domain.AreaWorkspaces, "20260311T081400Z-workspaces-d1a2b3c4e5")
	creates := 0
	for _, e := range planned {
		if e.Outcome != domain.OutcomePlanned {
			t.Fatalf("dry-run entry %+v", e)
		}
		if e.Action == "create_department" {
			creates++
		}
	}
	if creates != 3 || env.S.WriteCalls() != 0 || len(acc.Departments()) != before {
		t.Fatalf("dry run: %d creates planned, %d writes, departments %d → %d", creates, env.S.WriteCalls(), before, len(acc.Departments()))
	}
	status, body := emu.Invoke(t, payload)
	if status != 200 || strings.Contains(string(body), "errorMessage") {
		t.Fatalf("%d %s\n%s", status, body, emu.Logs())
	}
	// The run summary is not read back: the event's run id lies in the past, so the harness
	// prunes it by age right after writing it. The protocol tells what the run did.
	created := 0
	for _, e := range env.Protocol(t, domain.AreaWorkspaces, "20260311T041500Z-workspaces-sched") {
		if e.Outcome == domain.OutcomeCreated {
			created++
		}
	}
	if created != 3 {
		t.Fatalf("%d departments created according to the protocol, want 3\n%s", created, emu.Logs())
	}
	if len(acc.Departments()) != before+3 {
		t.Fatalf("departments %d → %d", before, len(acc.Departments()))
	}
}
