package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
)

// TestRegistryMatchesTemplate runs CheckRegistry on the real files, then shows that each
// one-sided change is caught: a phase registered without its deployment, a rule or a
// SYNC_PHASES that disagrees with the registry, and a Makefile missing a phase function.
func TestRegistryMatchesTemplate(t *testing.T) {
	if errs := CheckRegistry(load(t), root, phases.All()); len(errs) != 0 {
		t.Fatalf("consistent files rejected: %v", errs)
	}
	// Every phase of domain.Phases is registered and deployed: the mutation example is a
	// synthetic fifth phase, registered without any of its deployment.
	const ghost domain.Phase = "holidays"
	withGhost := append(phases.All(), phases.Entry{Phase: ghost, Function: "HolidaysyncFunction"})
	usersOnly := phases.All()[:1]
	// makefileWithout is a repository root whose Makefile lacks fn (FUNCTIONS and target).
	makefileWithout := func(fn string) string {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(root, "Makefile"))
		if err != nil {
			t.Fatal(err)
		}
		mk := strings.Replace(string(b), " "+fn, "", 1)
		mk = strings.Replace(mk, "build-"+fn+":", "build-Other"+fn+":", 1)
		if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o600); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(filepath.Join(root, "events"))
		if err := os.Symlink(abs, filepath.Join(dir, "events")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cases := []struct {
		name     string
		mutate   func(tpl *Template)
		root     string
		registry []phases.Entry
		want     []string
	}{
		{"a phase registered but not deployed", nil, root, withGhost, []string{
			"phase holidays: template.yaml has no AWS::Serverless::Function HolidaysyncFunction",
			"no build-HolidaysyncFunction target building ./functions/holidaysync",
			"FUNCTIONS does not list HolidaysyncFunction",
			"no sample event events/HolidaysyncFunction-<case>.json",
		}},
		{"a rule for a phase that is not registered", nil, root, usersOnly, []string{
			"WorkspacesyncFunction has a rule for phase workspaces, which internal/phases does not register",
			"SYNC_PHASES lists [absences timesheets users workspaces], but the registered phases with a function are [users]",
		}},
		{"SYNC_PHASES misses a registered phase", func(tpl *Template) { tpl.GlobalEnv["SYNC_PHASES"] = "users" }, root, phases.All(), []string{
			"SYNC_PHASES lists [users], but the registered phases with a function are [absences timesheets users workspaces]",
		}},
		{"the rule is on the default bus", func(tpl *Template) {
			props := asMap(asMap(asMap(tpl.Resources["UsersyncFunction"].Properties["Events"])["SyncRequested"])["Properties"])
			delete(props, "EventBusName")
		}, root, phases.All(), []string{"phase users: UsersyncFunction has no EventBridgeRule on !Ref SyncBus"}},
		{"the rule matches another phase", func(tpl *Template) {
			props := asMap(asMap(asMap(tpl.Resources["WorkspacesyncFunction"].Properties["Events"])["SyncRequested"])["Properties"])
			asMap(asMap(props["Pattern"])["detail"])["phase"] = []any{string(ghost)}
		}, root, phases.All(), []string{
			"phase workspaces: WorkspacesyncFunction has no EventBridgeRule",
			"rule for phase holidays, which internal/phases does not register",
		}},
		{"the Makefile lacks a phase function", nil, makefileWithout("WorkspacesyncFunction"), phases.All(), []string{
			"no build-WorkspacesyncFunction target",
			"FUNCTIONS does not list WorkspacesyncFunction",
		}},
	}
	for _, c := range cases {
		tpl := load(t)
		if c.mutate != nil {
			c.mutate(tpl)
		}
		errs := CheckRegistry(tpl, c.root, c.registry)
		for _, w := range c.want {
			if !containsErr(errs, w) {
				t.Errorf("%s: errors %v, want one containing %q", c.name, errs, w)
			}
		}
	}
}
