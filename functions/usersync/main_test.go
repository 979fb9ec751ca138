package main

import (
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/synctest"
)

// rieEnv is the environment of a phase bootstrap under aws-lambda-rie pointed at the
// test's minidyn and simulators.
// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie with the events/ samples:
// the dry run stores the plan and creates nothing, the scheduled full run creates the demo
// company's users, and a second delivery of the same event is ignored.
func TestLambdaRuntime(t *testing.T) {
	env := synctest.New(t, synctest.Options{})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding"}})
	emu := lambdatest.Start(t, lambdatest.Build(t, "./functions/usersync"), env.BootstrapEnv())
	evs := lambdatest.Events(t, "UsersyncFunction")
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)

	for _, name := range []string{"dry-run", "full"} {
		payload, ok := evs[name]
		if !ok {
			t.Fatalf("events/UsersyncFunction-%s.json is missing", name)
		}
		before := len(acc.Users())
		status, body := emu.Invoke(t, payload)
		if status != 200 || strings.Contains(string(body), "errorMessage") {
			t.Fatalf("%s: %d %s\n%s", name, status, body, emu.Logs())
		}
		// The run summary is not read back: the events' run ids lie in the past, so the
		// harness prunes their summaries by age right after writing them.
		req, err := bus.Parse(payload)
		if err != nil {
			t.Fatal(err)
		}
		entries := env.Protocol(t, domain.AreaUsers, req.RunID)
		after := len(acc.Users())
		switch name {
		case "dry-run":
			planned := entries
			if after != before || len(planned) == 0 || planned[0].Outcome != domain.OutcomePlanned {
				t.Fatalf("dry run: users %d → %d, plan %+v", before, after, planned)
			}
		case "full":
			if after != before+21 || len(entries) == 0 {
				t.Fatalf("full run: users %d → %d, want 21 created (25 minus Ada and Carla, matched, the leaver, not selected, and the employee without e-mail, a conflict)\n%s", before, after, emu.Logs())
			}
			env.S.ResetCalls()
			if status, body := emu.Invoke(t, payload); status != 200 || strings.Contains(string(body), "errorMessage") || env.S.WriteCalls() != 0 {
				t.Fatalf("redelivery: %d %s, %d writes", status, body, env.S.WriteCalls())
			}
		}
	}
	if !strings.Contains(emu.Logs(), `"run_id":"20260311T040000Z-users-sched"`) {
		t.Errorf("log lines do not carry the run id:\n%s", emu.Logs())
	}
}
