package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
)

// BusResource is the logical id of the custom sync bus the phase rules listen on.
const BusResource = "SyncBus"

// CheckRegistry compares the phase registry (internal/phases) with what deploys and runs
// its phases. Every registered phase needs its function under its logical id, with a rule
// on the sync bus whose pattern is the entry's (detail.phase = [name]), a build-<id>
// Makefile target building functions/<dir>, a place in the Makefile's FUNCTIONS and at
// least one events/<id>-<case>.json; no rule may route a phase that is not registered;
// and the global SYNC_PHASES lists exactly the registered phases whose function the
// template has, so that dispatch and the API queue runs only for phases that will run.
func CheckRegistry(t *Template, root string, registry []phases.Entry) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		fail("read Makefile: %v", err)
	}
	targets, listed := MakeTargets(string(makefile)), MakeFunctions(string(makefile))
	var deployed []string
	registered := map[domain.Phase]bool{}
	for _, e := range registry {
		registered[e.Phase] = true
		r, ok := t.Resources[e.Function]
		if !ok || r.Type != "AWS::Serverless::Function" {
			fail("phase %s: template.yaml has no AWS::Serverless::Function %s", e.Phase, e.Function)
		} else {
			deployed = append(deployed, string(e.Phase))
			if !hasRule(r, e.Pattern()) {
				fail("phase %s: %s has no EventBridgeRule on !Ref %s with the pattern %s", e.Phase, e.Function, BusResource, e.Pattern())
			}
		}
		if dir, ok := targets[e.Function]; !ok || dir != e.Dir() {
			fail("phase %s: the Makefile has no build-%s target building ./functions/%s", e.Phase, e.Function, e.Dir())
		}
		if !slices.Contains(listed, e.Function) {
			fail("phase %s: the Makefile's FUNCTIONS does not list %s", e.Phase, e.Function)
		}
		if evs, _ := filepath.Glob(filepath.Join(root, e.EventsPrefix()+"*.json")); len(evs) == 0 {
			fail("phase %s: no sample event %s<case>.json", e.Phase, e.EventsPrefix())
		}
	}
	for _, id := range t.Functions() {
		for _, ph := range rulePhases(t.Resources[id]) {
			if !registered[ph] {
				fail("%s has a rule for phase %s, which internal/phases does not register", id, ph)
			}
		}
	}
	var syncPhases []string
	for _, p := range strings.Split(str(t.GlobalEnv["SYNC_PHASES"]), ",") {
		if p = strings.TrimSpace(p); p != "" {
			syncPhases = append(syncPhases, p)
		}
	}
	slices.Sort(syncPhases)
	slices.Sort(deployed)
	if !slices.Equal(syncPhases, deployed) {
		fail("Globals: SYNC_PHASES lists %v, but the registered phases with a function are %v", syncPhases, deployed)
	}
	return errs
}

// hasRule reports whether the function has an EventBridgeRule event on the sync bus whose
// pattern equals pattern (compared as JSON values).
func hasRule(r Resource, pattern string) bool {
	var want any
	if json.Unmarshal([]byte(pattern), &want) != nil {
		return false
	}
	for _, ev := range asMap(r.Properties["Events"]) {
		e := asMap(ev)
		p := asMap(e["Properties"])
		if str(e["Type"]) != "EventBridgeRule" || !reflect.DeepEqual(p["EventBusName"], map[string]any{"Ref": BusResource}) {
			continue
		}
		b, _ := json.Marshal(p["Pattern"])
		var got any
		if json.Unmarshal(b, &got) == nil && reflect.DeepEqual(got, want) {
			return true
		}
	}
	return false
}

// rulePhases returns the detail.phase values of the function's EventBridgeRule events.
func rulePhases(r Resource) []domain.Phase {
	var out []domain.Phase
	for _, ev := range asMap(r.Properties["Events"]) {
		e := asMap(ev)
		if str(e["Type"]) != "EventBridgeRule" {
			continue
		}
		ps, _ := asMap(asMap(asMap(e["Properties"])["Pattern"])["detail"])["phase"].([]any)
		for _, p := range ps {
			out = append(out, domain.Phase(str(p)))
		}
	}
	return out
}
