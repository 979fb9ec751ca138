// Package deploy checks that template.yaml, the Makefile, events/ and the code agree: the
// function directories and build targets, the phase registry's functions, rules and
// SYNC_PHASES, the timetable's ScheduleV2 events, the tables' key schema, every function's
// log group, alarms and policies, and that every sample event is invoked by its
// function's runtime test. cfn-lint validates the template's shape but none of these
// links.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/store"
)

// Template is a parsed CloudFormation/SAM template. Short-form intrinsics (!Ref, !Sub,
// !GetAtt …) are expanded to their long form ({"Ref": …}), so values compare as JSON.
type Template struct {
	Parameters map[string]map[string]any
	Resources  map[string]Resource
	Outputs    map[string]map[string]any
	// GlobalEnv is Globals.Function.Environment.Variables.
	GlobalEnv map[string]any
}

// Resource is one template resource.
type Resource struct {
	Type       string
	Metadata   map[string]any
	Properties map[string]any
	Deletion   string
	Replace    string
}

// LoadTemplate reads and parses a template file.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	doc, ok := convert(&root).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", path)
	}
	t := &Template{Parameters: map[string]map[string]any{}, Resources: map[string]Resource{}, Outputs: map[string]map[string]any{},
		GlobalEnv: asMap(asMap(asMap(asMap(doc["Globals"])["Function"])["Environment"])["Variables"])}
	for name, p := range asMap(doc["Parameters"]) {
		t.Parameters[name] = asMap(p)
	}
	for name, o := range asMap(doc["Outputs"]) {
		t.Outputs[name] = asMap(o)
	}
	for name, r := range asMap(doc["Resources"]) {
		m := asMap(r)
		t.Resources[name] = Resource{
			Type:       str(m["Type"]),
			Metadata:   asMap(m["Metadata"]),
			Properties: asMap(m["Properties"]),
			Deletion:   str(m["DeletionPolicy"]),
			Replace:    str(m["UpdateReplacePolicy"]),
		}
	}
	return t, nil
}

// convert turns a YAML node into plain Go values, expanding CloudFormation short tags.
func convert(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return convert(n.Content[0])
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = convert(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, convert(c))
		}
		v = s
	default:
		var x any
		if isShortTag(n.Tag) {
			x = n.Value
		} else if err := n.Decode(&x); err != nil {
			x = n.Value
		}
		v = x
	}
	if isShortTag(n.Tag) {
		tag := strings.TrimPrefix(n.Tag, "!")
		switch tag {
		case "Ref", "Condition":
			return map[string]any{tag: v}
		case "GetAtt":
			if s, ok := v.(string); ok {
				v = strings.SplitN(s, ".", 2)
			}
			return map[string]any{"Fn::GetAtt": v}
		default:
			return map[string]any{"Fn::" + tag: v}
		}
	}
	return v
}

// isShortTag reports a CloudFormation short-form intrinsic such as !Ref; YAML's own
// resolved tags start with "!!".
func isShortTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Functions returns the logical ids of the template's serverless functions, sorted.
func (t *Template) Functions() []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// ScheduleEvent is one ScheduleV2 event of a function.
type ScheduleEvent struct {
	Function, Name, Expression string
	Timezone                   any
	Input                      string
	Props                      map[string]any
}

// Schedules returns every ScheduleV2 event in the template.
func (t *Template) Schedules() []ScheduleEvent {
	var out []ScheduleEvent
	for _, id := range t.Functions() {
		for name, ev := range asMap(t.Resources[id].Properties["Events"]) {
			e := asMap(ev)
			if str(e["Type"]) != "ScheduleV2" {
				continue
			}
			p := asMap(e["Properties"])
			out = append(out, ScheduleEvent{Function: id, Name: name, Expression: str(p["ScheduleExpression"]),
				Timezone: p["ScheduleExpressionTimezone"], Input: str(p["Input"]), Props: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var buildTarget = regexp.MustCompile(`(?m)^build-([A-Za-z0-9]+):[^\n]*\n\t[^\n]*\./functions/([a-z0-9]+)\s*$`)

// MakeTargets returns, per build-<LogicalId> target of the Makefile, the functions/<dir> it
// builds.
func MakeTargets(makefile string) map[string]string {
	out := map[string]string{}
	for _, m := range buildTarget.FindAllStringSubmatch(makefile, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// Check verifies everything this package promises and returns one error per mismatch.
// root is the repository root; timetable, tables and registry are what the code declares.
func Check(t *Template, root string, timetable []domain.Schedule, tables []store.TableSpec, registry []phases.Entry) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		fail("read Makefile: %v", err)
	}
	targets := MakeTargets(string(makefile))
	for _, id := range t.Functions() {
		r := t.Resources[id]
		if str(r.Metadata["BuildMethod"]) != "makefile" {
			fail("%s: Metadata.BuildMethod must be makefile", id)
		}
		if str(r.Properties["CodeUri"]) != "." {
			fail("%s: CodeUri must be . (the Makefile builds from the repository root)", id)
		}
		dir, ok := targets[id]
		if !ok {
			fail("%s: the Makefile has no build-%s target building ./functions/<dir>", id, id)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", dir, "main.go")); err != nil {
			fail("%s: functions/%s/main.go does not exist", id, dir)
		}
		// Every entry point is exercised under aws-lambda-rie with its events/ files.
		if b, err := os.ReadFile(filepath.Join(root, "functions", dir, "main_test.go")); err != nil || !strings.Contains(string(b), "lambdatest.Start") {
			fail("%s: functions/%s/main_test.go must run the bootstrap under aws-lambda-rie (lambdatest.Start)", id, dir)
		}
		evs, _ := filepath.Glob(filepath.Join(root, "events", id+"-*.json"))
		if len(evs) == 0 {
			fail("%s: no sample event events/%s-<case>.json", id, id)
		}
	}
	errs = append(errs, checkEvents(t, root)...)
	errs = append(errs, CheckOps(t, string(makefile))...)
	dirs := map[string]string{}
	for _, id := range t.Functions() {
		if dir, ok := targets[id]; ok {
			dirs[id] = dir
		}
	}
	errs = append(errs, CheckEventsExercised(root, dirs)...)
	errs = append(errs, CheckPhaseRules(t)...)
	errs = append(errs, CheckRegistry(t, root, registry)...)
	errs = append(errs, CheckSchedules(t, timetable)...)
	errs = append(errs, CheckTables(t, tables)...)
	return errs
}

// checkEvents requires every events/ file to be valid JSON named after a function.
func checkEvents(t *Template, root string) []error {
	var errs []error
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	fns := t.Functions()
	for _, f := range files {
		base := filepath.Base(f)
		id, _, _ := strings.Cut(base, "-")
		if !slices.Contains(fns, id) {
			errs = append(errs, fmt.Errorf("events/%s: %s is not a function of the template", base, id))
		}
		b, err := os.ReadFile(f)
		if err == nil && !json.Valid(b) {
			errs = append(errs, fmt.Errorf("events/%s: not valid JSON", base))
		}
	}
	return errs
}

// APIFunction is the logical id of the admin API.
const APIFunction = "ApiFunction"

// CheckPhaseRules checks every EventBridgeRule event: its pattern must be the one the bus
// package builds for its phase (bus.RulePattern), one function per phase, and the global
// SYNC_PHASES (which dispatch and the API read, and no function may override) must list
// exactly those phases, so that no run is queued that no function will pick up.
func CheckPhaseRules(t *Template) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	ruled := map[string]string{}
	for _, id := range t.Functions() {
		for name, ev := range asMap(t.Resources[id].Properties["Events"]) {
			e := asMap(ev)
			if str(e["Type"]) != "EventBridgeRule" {
				continue
			}
			p := asMap(e["Properties"])
			phases, _ := asMap(asMap(p["Pattern"])["detail"])["phase"].([]any)
			if len(phases) != 1 {
				fail("%s.%s: the pattern must select exactly one detail.phase", id, name)
				continue
			}
			ph := domain.Phase(str(phases[0]))
			if !ph.Valid() {
				fail("%s.%s: %q is not a phase", id, name, ph)
				continue
			}
			var want any
			_ = json.Unmarshal([]byte(bus.RulePattern(ph)), &want)
			got, _ := json.Marshal(p["Pattern"])
			var gotV any
			_ = json.Unmarshal(got, &gotV)
			if !reflect.DeepEqual(gotV, want) {
				fail("%s.%s: pattern %s, the bus routes %s by %s", id, name, got, ph, bus.RulePattern(ph))
			}
			if other, dup := ruled[string(ph)]; dup {
				fail("phase %s has rules on both %s and %s", ph, other, id)
			}
			ruled[string(ph)] = id
		}
	}
	for _, id := range t.Functions() {
		if _, ok := asMap(asMap(t.Resources[id].Properties["Environment"])["Variables"])["SYNC_PHASES"]; ok {
			fail("%s overrides SYNC_PHASES; set it once in Globals", id)
		}
	}
	var listed []string
	for _, p := range strings.Split(str(t.GlobalEnv["SYNC_PHASES"]), ",") {
		if p = strings.TrimSpace(p); p != "" {
			listed = append(listed, p)
		}
	}
	var have []string
	for p := range ruled {
		have = append(have, p)
	}
	sort.Strings(listed)
	sort.Strings(have)
	if strings.Join(listed, ",") != strings.Join(have, ",") {
		fail("Globals: SYNC_PHASES lists %v, but the phases with a rule are %v", listed, have)
	}
	return errs
}

// DispatchFunction is the logical id of the function the schedules invoke. Until it
// exists, the template must declare no schedule at all.
const DispatchFunction = "DispatchFunction"

// CheckSchedules compares the template's ScheduleV2 events with the timetable: same
// names, expressions, phases and modes on both sides, each a valid Scheduler expression in
// a valid IANA time zone, with a JSON Input as dispatch expects it.
func CheckSchedules(t *Template, timetable []domain.Schedule) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	want := map[string]domain.Schedule{}
	if _, ok := t.Resources[DispatchFunction]; ok {
		for _, s := range timetable {
			want[s.Name] = s
		}
	}
	tzDefault := str(t.Parameters["ScheduleTimezone"]["Default"])
	seen := map[string]bool{}
	for _, ev := range t.Schedules() {
		seen[ev.Name] = true
		s, ok := want[ev.Name]
		if !ok {
			fail("schedule %s.%s is not in the timetable (internal/domain.Timetable)", ev.Function, ev.Name)
			continue
		}
		if ev.Function != DispatchFunction {
			fail("schedule %s must invoke %s, not %s", ev.Name, DispatchFunction, ev.Function)
		}
		if ev.Expression != s.Expression {
			fail("schedule %s: template has %q, timetable has %q", ev.Name, ev.Expression, s.Expression)
		}
		if _, err := schedule.Parse(ev.Expression); err != nil {
			fail("schedule %s: %v", ev.Name, err)
		}
		tz := ""
		switch v := ev.Timezone.(type) {
		case string:
			tz = v
		case map[string]any:
			if v["Ref"] == "ScheduleTimezone" {
				tz = tzDefault
			}
		}
		if _, err := schedule.LoadLocation(tz); err != nil {
			fail("schedule %s: ScheduleExpressionTimezone: %v (use !Ref ScheduleTimezone)", ev.Name, err)
		}
		var in struct {
			Phase         string `json:"phase"`
			Mode          string `json:"mode"`
			ScheduledTime string `json:"scheduled_time"`
		}
		if err := json.Unmarshal([]byte(ev.Input), &in); err != nil {
			fail("schedule %s: Input is not valid JSON: %v", ev.Name, err)
		} else if in.Phase != string(s.Phase) || in.Mode != string(s.Mode) || in.ScheduledTime != "<aws.scheduler.scheduled-time>" {
			fail("schedule %s: Input %s, want phase %s, mode %s, scheduled_time <aws.scheduler.scheduled-time>", ev.Name, ev.Input, s.Phase, s.Mode)
		}
	}
	for name := range want {
		if !seen[name] {
			fail("timetable entry %s has no ScheduleV2 event on %s", name, DispatchFunction)
		}
	}
	if _, err := schedule.LoadLocation(tzDefault); err != nil {
		fail("parameter ScheduleTimezone: default %v", err)
	}
	return errs
}

// CheckTables compares the template's tables with the key schema the code uses.
func CheckTables(t *Template, specs []store.TableSpec) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, spec := range specs {
		r, ok := t.Resources[spec.Logical]
		if !ok || r.Type != "AWS::DynamoDB::Table" {
			fail("%s: no AWS::DynamoDB::Table in the template", spec.Logical)
			continue
		}
		p := r.Properties
		in := spec.CreateInput()
		if got, want := keySchema(p["KeySchema"]), "pk:HASH,sk:RANGE"; got != want {
			fail("%s: KeySchema %s, code uses %s", spec.Logical, got, want)
		}
		var gotIx []string
		for _, g := range asSlice(p["GlobalSecondaryIndexes"]) {
			gm := asMap(g)
			gotIx = append(gotIx, str(gm["IndexName"])+"="+keySchema(gm["KeySchema"])+"/"+str(asMap(gm["Projection"])["ProjectionType"]))
		}
		var wantIx []string
		for _, ix := range spec.Indexes {
			wantIx = append(wantIx, ix.Name+"="+ix.PK+":HASH,"+ix.SK+":RANGE/ALL")
		}
		sort.Strings(gotIx)
		sort.Strings(wantIx)
		if strings.Join(gotIx, ";") != strings.Join(wantIx, ";") {
			fail("%s: GSIs %v, code uses %v", spec.Logical, gotIx, wantIx)
		}
		var gotAttrs, wantAttrs []string
		for _, a := range asSlice(p["AttributeDefinitions"]) {
			am := asMap(a)
			gotAttrs = append(gotAttrs, str(am["AttributeName"])+":"+str(am["AttributeType"]))
		}
		for _, a := range in.AttributeDefinitions {
			wantAttrs = append(wantAttrs, *a.AttributeName+":"+string(a.AttributeType))
		}
		sort.Strings(gotAttrs)
		sort.Strings(wantAttrs)
		if strings.Join(gotAttrs, ",") != strings.Join(wantAttrs, ",") {
			fail("%s: AttributeDefinitions %v, code uses %v", spec.Logical, gotAttrs, wantAttrs)
		}
		ttl := asMap(p["TimeToLiveSpecification"])
		if spec.TTL != "" && (str(ttl["AttributeName"]) != spec.TTL || ttl["Enabled"] != true) {
			fail("%s: TTL attribute %v, code uses %q", spec.Logical, ttl, spec.TTL)
		}
		if spec.TTL == "" && ttl != nil {
			fail("%s: template enables TTL the code does not use", spec.Logical)
		}
		if str(p["BillingMode"]) != "PAY_PER_REQUEST" {
			fail("%s: BillingMode must be PAY_PER_REQUEST", spec.Logical)
		}
		if asMap(p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"] != true {
			fail("%s: point-in-time recovery must be on", spec.Logical)
		}
		if asMap(p["SSESpecification"])["SSEEnabled"] != true {
			fail("%s: server-side encryption must be on", spec.Logical)
		}
		if spec.TTL == "" { // tenants and mappings hold what cannot be rebuilt
			if p["DeletionProtectionEnabled"] != true || r.Deletion != "Retain" || r.Replace != "Retain" {
				fail("%s: needs DeletionProtectionEnabled and Retain deletion/replace policies", spec.Logical)
			}
		}
	}
	return errs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func keySchema(v any) string {
	var parts []string
	for _, k := range asSlice(v) {
		km := asMap(k)
		parts = append(parts, str(km["AttributeName"])+":"+str(km["KeyType"]))
	}
	return strings.Join(parts, ",")
}
