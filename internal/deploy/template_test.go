package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/store"
)

const root = "../.."

func load(t *testing.T) *Template {
	t.Helper()
	tpl, err := LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func specs() []store.TableSpec {
	return store.Tables{Tenants: "t", Mappings: "m", Protocol: "p"}.Specs()
}

// TestTemplateMatchesCode is the check that runs on the real files.
func TestTemplateMatchesCode(t *testing.T) {
	tpl := load(t)
	if len(tpl.Functions()) == 0 {
		t.Fatal("template has no functions")
	}
	for _, err := range Check(tpl, root, domain.Timetable, specs(), phases.All()) {
		t.Error(err)
	}
}

// dispatchTemplate returns a template whose dispatch function carries the whole timetable,
// as the template does once dispatch exists, so that one-sided changes can be shown.
func dispatchTemplate(t *testing.T) *Template {
	tpl := load(t)
	events := map[string]any{}
	for _, s := range domain.Timetable {
		events[s.Name] = map[string]any{"Type": "ScheduleV2", "Properties": map[string]any{
			"ScheduleExpression":         s.Expression,
			"ScheduleExpressionTimezone": map[string]any{"Ref": "ScheduleTimezone"},
			"Input":                      `{"phase":"` + string(s.Phase) + `","mode":"` + string(s.Mode) + `","scheduled_time":"<aws.scheduler.scheduled-time>"}`,
		}}
	}
	if _, ok := tpl.Resources[DispatchFunction]; !ok {
		tpl.Resources[DispatchFunction] = Resource{Type: "AWS::Serverless::Function", Properties: map[string]any{"Events": events}}
	}
	return tpl
}

func TestScheduleChangedOnOneSideFails(t *testing.T) {
	if errs := CheckSchedules(dispatchTemplate(t), domain.Timetable); len(errs) != 0 {
		t.Fatalf("consistent template rejected: %v", errs)
	}
	changedTimetable := append([]domain.Schedule(nil), domain.Timetable...)
	changedTimetable[0].Expression = "cron(5 5 * * ? *)"
	extra := append(append([]domain.Schedule(nil), domain.Timetable...), domain.Schedule{Name: "Extra", Expression: "cron(0 1 * * ? *)", Phase: domain.PhaseUsers, Mode: domain.ModeFull})

	mutate := func(name string, f func(p map[string]any)) *Template {
		tpl := dispatchTemplate(t)
		ev := asMap(asMap(tpl.Resources[DispatchFunction].Properties["Events"])[name])
		f(asMap(ev["Properties"]))
		return tpl
	}
	cases := []struct {
		name      string
		tpl       *Template
		timetable []domain.Schedule
		want      string
	}{
		{"timetable changed", dispatchTemplate(t), changedTimetable, "timetable has"},
		{"timetable entry added", dispatchTemplate(t), extra, "has no ScheduleV2 event"},
		{"template expression changed", mutate("UsersFullDaily", func(p map[string]any) { p["ScheduleExpression"] = "cron(0 6 * * ? *)" }), domain.Timetable, "template has"},
		{"invalid cron", mutate("UsersFullDaily", func(p map[string]any) { p["ScheduleExpression"] = "cron(0 5 * * *)" }), domain.Timetable, "fields"},
		{"bad time zone", mutate("UsersFullDaily", func(p map[string]any) { p["ScheduleExpressionTimezone"] = "Europe/Berlinn" }), domain.Timetable, "IANA"},
		{"input not JSON", mutate("UsersFullDaily", func(p map[string]any) { p["Input"] = `{"phase":` }), domain.Timetable, "not valid JSON"},
		{"input wrong mode", mutate("UsersPartial4h", func(p map[string]any) {
			p["Input"] = `{"phase":"users","mode":"full","scheduled_time":"<aws.scheduler.scheduled-time>"}`
		}), domain.Timetable, "want phase users, mode partial"},
	}
	for _, c := range cases {
		errs := CheckSchedules(c.tpl, c.timetable)
		if !containsErr(errs, c.want) {
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

func TestTableKeyChangedOnOneSideFails(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(tpl *Template, specs []store.TableSpec)
		want   string
	}{
		{"code renames the TTL attribute", func(_ *Template, s []store.TableSpec) { s[2].TTL = "expires_at" }, "TTL attribute"},
		{"code renames a GSI", func(_ *Template, s []store.TableSpec) { s[1].Indexes[0].Name = "byTarget" }, "GSIs"},
		{"code changes a GSI key", func(_ *Template, s []store.TableSpec) { s[0].Indexes[0].PK = "bg" }, "GSIs"},
		{"template drops the GSI", func(tpl *Template, _ []store.TableSpec) {
			delete(tpl.Resources["MappingsTable"].Properties, "GlobalSecondaryIndexes")
		}, "GSIs"},
		{"template changes the sort key", func(tpl *Template, _ []store.TableSpec) {
			ks := asSlice(tpl.Resources["ProtocolTable"].Properties["KeySchema"])
			asMap(ks[1])["AttributeName"] = "ts"
		}, "KeySchema"},
		{"template changes the TTL attribute", func(tpl *Template, _ []store.TableSpec) {
			asMap(tpl.Resources["ProtocolTable"].Properties["TimeToLiveSpecification"])["AttributeName"] = "ttl"
		}, "TTL attribute"},
		{"template drops deletion protection", func(tpl *Template, _ []store.TableSpec) {
			delete(tpl.Resources["TenantsTable"].Properties, "DeletionProtectionEnabled")
		}, "DeletionProtectionEnabled"},
	}
	for _, c := range cases {
		tpl, s := load(t), specs()
		for i := range s {
			s[i].Indexes = append([]store.Index(nil), s[i].Indexes...)
		}
		c.mutate(tpl, s)
		if errs := CheckTables(tpl, s); !containsErr(errs, c.want) {
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

func TestPhaseRulesAndSyncPhasesAgree(t *testing.T) {
	if errs := CheckPhaseRules(load(t)); len(errs) != 0 {
		t.Fatalf("consistent template rejected: %v", errs)
	}
	rule := func(tpl *Template, fn string) map[string]any {
		return asMap(asMap(asMap(asMap(tpl.Resources[fn].Properties["Events"])["SyncRequested"])["Properties"])["Pattern"])
	}
	cases := []struct {
		name   string
		mutate func(tpl *Template)
		want   string
	}{
		{"SYNC_PHASES lists a phase without a function", func(tpl *Template) {
			tpl.GlobalEnv["SYNC_PHASES"] = "users,workspaces,timesheets,absences,holidays"
		}, "SYNC_PHASES lists"},
		{"a function overrides SYNC_PHASES", func(tpl *Template) {
			asMap(asMap(tpl.Resources[APIFunction].Properties["Environment"])["Variables"])["SYNC_PHASES"] = "users"
		}, "overrides SYNC_PHASES"},
		{"rule routes another detail-type", func(tpl *Template) {
			rule(tpl, "UsersyncFunction")["detail-type"] = []any{"SyncDone"}
		}, "the bus routes users"},
		{"two functions for one phase", func(tpl *Template) {
			asMap(rule(tpl, "WorkspacesyncFunction")["detail"])["phase"] = []any{"users"}
		}, "phase users has rules on both"},
	}
	for _, c := range cases {
		tpl := load(t)
		c.mutate(tpl)
		if errs := CheckPhaseRules(tpl); !containsErr(errs, c.want) {
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

func TestMissingBuildTargetFails(t *testing.T) {
	tpl := load(t)
	tpl.Resources["GhostFunction"] = Resource{Type: "AWS::Serverless::Function", Metadata: map[string]any{"BuildMethod": "makefile"}, Properties: map[string]any{"CodeUri": "."}}
	if errs := Check(tpl, root, domain.Timetable, specs(), phases.All()); !containsErr(errs, "no build-GhostFunction target") {
		t.Fatalf("errors %v", errs)
	}
}

func containsErr(errs []error, s string) bool {
	for _, e := range errs {
		if strings.Contains(e.Error(), s) {
			return true
		}
	}
	return false
}

func TestOpsCheckFailsOnMissingCare(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := CheckOps(load(t), string(makefile)); len(errs) != 0 {
		t.Fatalf("template rejected: %v", errs)
	}
	if got := MakeFunctions(string(makefile)); len(got) != len(load(t).Functions()) {
		t.Fatalf("Makefile FUNCTIONS %v", got)
	}
	policy := func(tpl *Template, fn string) map[string]any {
		return asMap(asSlice(tpl.Resources[fn].Properties["Policies"])[0])
	}
	cases := []struct {
		name     string
		mutate   func(tpl *Template)
		makefile string
		want     string
	}{
		{"a function missing from FUNCTIONS", nil,
			strings.Replace(string(makefile), " DispatchFunction", "", 1), "`make build` must build every function"},
		{"log group without retention", func(tpl *Template) {
			delete(tpl.Resources["DispatchLogs"].Properties, "RetentionInDays")
		}, "", "DispatchLogs must have RetentionInDays"},
		{"function without its own log group", func(tpl *Template) {
			delete(asMap(tpl.Resources["UsersyncFunction"].Properties["LoggingConfig"]), "LogGroup")
		}, "", "UsersyncFunction: LoggingConfig.LogGroup"},
		{"function without an errors alarm", func(tpl *Template) {
			delete(tpl.Resources, "DispatchErrorsAlarm")
		}, "", "DispatchFunction: no AWS/Lambda Errors alarm"},
		{"dead-letter queue without an alarm", func(tpl *Template) {
			delete(tpl.Resources, "DispatchDLQAlarm")
		}, "", "DispatchDLQ: no AWS/SQS"},
		{"phase function without a partial-failure alarm", func(tpl *Template) {
			delete(tpl.Resources, "UsersyncPartiallyFailedAlarm")
		}, "", "UsersyncFunction.SyncRequested: no staffsync Run_partially_failed alarm"},
		{"partial-failure alarm on dimensions the function does not emit", func(tpl *Template) {
			asMap(asSlice(tpl.Resources["WorkspacesyncPartiallyFailedAlarm"].Properties["Dimensions"])[0])["Value"] = "staffsync-workspacesync"
		}, "", "WorkspacesyncFunction.SyncRequested: no staffsync Run_partially_failed alarm with dimensions Service=workspacesync, Phase=workspaces"},
		{"alarm that notifies nobody", func(tpl *Template) {
			delete(tpl.Resources["ApiErrorsAlarm"].Properties, "AlarmActions")
		}, "", "ApiErrorsAlarm: AlarmActions"},
		{"wildcard action", func(tpl *Template) {
			asMap(asSlice(policy(tpl, "DispatchFunction")["Statement"])[0])["Action"] = "dynamodb:*"
		}, "", "grants dynamodb:*"},
		{"wildcard resource", func(tpl *Template) {
			asMap(asSlice(policy(tpl, "DispatchFunction")["Statement"])[1])["Resource"] = "*"
		}, "", "on every resource"},
	}
	for _, c := range cases {
		tpl, mk := load(t), string(makefile)
		if c.mutate != nil {
			c.mutate(tpl)
		}
		if c.makefile != "" {
			mk = c.makefile
		}
		if errs := CheckOps(tpl, mk); !containsErr(errs, c.want) {
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}

func TestEveryEventIsInvokedByItsRuntimeTest(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := CheckEventsExercised(root, MakeTargets(string(mk))); len(errs) != 0 {
		t.Fatalf("%v", errs)
	}
	// A repository with one test that ranges over all events and one that names its cases.
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"AFunction-one", "AFunction-two", "BFunction-full", "BFunction-dry-run"} {
		write("events/"+f+".json", "{}")
	}
	write("functions/a/main_test.go", `package main
func TestA(t *testing.T) {
	evs := lambdatest.Events(t, "AFunction")
	for name, p := range evs { _, _ = name, p }
}`)
	write("functions/b/main_test.go", `package main
func TestB(t *testing.T) {
	evs := lambdatest.Events(t, "BFunction")
	_ = evs["full"]
}`)
	errs := CheckEventsExercised(dir, map[string]string{"AFunction": "a", "BFunction": "b"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "events/BFunction-dry-run.json") {
		t.Fatalf("errors %v, want exactly one naming events/BFunction-dry-run.json", errs)
	}
	// Ranging over another function's events does not count.
	write("functions/a/main_test.go", `package main
func TestA(t *testing.T) {
	for name := range lambdatest.Events(t, "BFunction") { _ = name }
}`)
	errs = CheckEventsExercised(dir, map[string]string{"AFunction": "a"})
	if len(errs) != 2 {
		t.Fatalf("errors %v, want AFunction-one and AFunction-two reported", errs)
	}
}

// TestMakeBuildArm64 runs `make build` and checks that it leaves a static, stripped
// linux/arm64 bootstrap for every function of the template (what SAM deploys).
func TestMakeBuildArm64(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required (it is the build tool of the repository)")
	}
	out := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "build", "BUILD_DIR="+out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, b)
	}
	for _, id := range load(t).Functions() {
		p := filepath.Join(out, id, "bootstrap")
		f, err := elf.Open(p)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
			t.Errorf("%s: %v %v %v, want a 64-bit arm64 executable", id, f.Class, f.Machine, f.Type)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (CGO_ENABLED=0 missing)", id)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s: not stripped (-ldflags \"-s -w\" missing)", id)
		}
		f.Close()
	}
}

func TestOpsCheckAlarmTopicAndOutputs(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(tpl *Template)
		want   string
	}{
		{"topic on the AWS managed key", func(tpl *Template) {
			tpl.Resources[AlarmTopic].Properties["KmsMasterKeyId"] = "alias/aws/sns"
		}, "CloudWatch cannot publish"},
		{"no API URL output", func(tpl *Template) { delete(tpl.Outputs, "ApiUrl") }, "Outputs.ApiUrl"},
		{"no bus name output", func(tpl *Template) { delete(tpl.Outputs, "EventBusName") }, "Outputs.EventBusName"},
		{"table output names another table", func(tpl *Template) {
			tpl.Outputs["TenantsTableName"]["Value"] = map[string]any{"Ref": "MappingsTable"}
		}, "Outputs.TenantsTableName"},
	}
	for _, c := range cases {
		tpl := load(t)
		c.mutate(tpl)
		if errs := CheckOps(tpl, string(makefile)); !containsErr(errs, c.want) {
			t.Errorf("%s: errors %v, want one containing %q", c.name, errs, c.want)
		}
	}
}
