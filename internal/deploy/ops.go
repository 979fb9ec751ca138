package deploy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/staffsync/staffsync/internal/obs"
)

// AlarmTopic is the logical id of the SNS topic every alarm notifies.
const AlarmTopic = "AlarmTopic"

// RequiredOutputs are the stack outputs ops rely on, by the resource each refers to; the
// API URL is checked apart because it is a !Sub.
var RequiredOutputs = map[string]string{
	"TenantsTableName":  "TenantsTable",
	"MappingsTableName": "MappingsTable",
	"ProtocolTableName": "ProtocolTable",
	"EventBusName":      "SyncBus",
	"AlarmTopicArn":     AlarmTopic,
}

var makeFunctions = regexp.MustCompile(`(?m)^FUNCTIONS\s*:?=\s*(.*)$`)

// MakeFunctions returns the logical ids of the Makefile's FUNCTIONS variable, which
// `make build` builds, sorted.
func MakeFunctions(makefile string) []string {
	m := makeFunctions.FindStringSubmatch(makefile)
	if m == nil {
		return nil
	}
	ids := strings.Fields(m[1])
	sort.Strings(ids)
	return ids
}

// ref returns the logical id v refers to with Ref or Fn::GetAtt (and the attribute), or "".
func ref(v any) (id, attr string) {
	m := asMap(v)
	if r, ok := m["Ref"].(string); ok {
		return r, ""
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []string:
		if len(g) == 2 {
			return g[0], g[1]
		}
	case []any:
		if len(g) == 2 {
			return str(g[0]), str(g[1])
		}
	}
	return "", ""
}

// alarmsOn returns the alarms (logical ids) on metric namespace/metric whose dimension
// dim refers to resource id.
func (t *Template) alarmsOn(namespace, metric, dim, id string) []string {
	var out []string
	for name, r := range t.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || str(r.Properties["Namespace"]) != namespace || str(r.Properties["MetricName"]) != metric {
			continue
		}
		for _, d := range asSlice(r.Properties["Dimensions"]) {
			dm := asMap(d)
			if got, _ := ref(dm["Value"]); str(dm["Name"]) == dim && got == id {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// CheckOps checks what operating the stack needs from every function and queue: the
// Makefile's FUNCTIONS (what `make build` builds) are exactly the template's functions;
// each function logs to its own log group with a retention, has an errors alarm, and
// grants itself no wildcard permission; every SQS queue (the dead-letter queues) has an
// alarm on visible messages; every alarm notifies the alarm topic.
func CheckOps(t *Template, makefile string) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if got, want := MakeFunctions(makefile), t.Functions(); !slices.Equal(got, want) {
		fail("Makefile FUNCTIONS is %v, the template's functions are %v: `make build` must build every function", got, want)
	}
	for _, id := range t.Functions() {
		p := t.Resources[id].Properties
		lg, _ := ref(asMap(p["LoggingConfig"])["LogGroup"])
		if r, ok := t.Resources[lg]; lg == "" || !ok || r.Type != "AWS::Logs::LogGroup" {
			fail("%s: LoggingConfig.LogGroup must !Ref an AWS::Logs::LogGroup of the template (else Lambda creates one that keeps logs forever)", id)
		} else if rd, _ := ref(r.Properties["RetentionInDays"]); rd != "LogRetentionDays" {
			fail("%s: log group %s must have RetentionInDays: !Ref LogRetentionDays", id, lg)
		}
		if len(t.alarmsOn("AWS/Lambda", "Errors", "FunctionName", id)) == 0 {
			fail("%s: no AWS/Lambda Errors alarm on the function", id)
		}
		for _, pol := range asSlice(p["Policies"]) {
			for _, st := range asSlice(asMap(pol)["Statement"]) {
				sm := asMap(st)
				for _, a := range stringsOf(sm["Action"]) {
					if a == "*" || strings.HasSuffix(a, ":*") {
						fail("%s: policy grants %s: list the actions the function uses", id, a)
					}
				}
				for _, r := range stringsOf(sm["Resource"]) {
					if r == "*" {
						fail("%s: policy grants %v on every resource: name the tables, index, bus or key", id, stringsOf(sm["Action"]))
					}
				}
			}
		}
	}
	if sub, _ := asMap(t.Outputs["ApiUrl"]["Value"])["Fn::Sub"].(string); !strings.Contains(sub, "${HttpApi}") {
		fail("Outputs.ApiUrl must be the HttpApi's URL")
	}
	if topic, ok := t.Resources[AlarmTopic]; !ok {
		fail("%s: the template has no alarm topic", AlarmTopic)
	} else if k := str(topic.Properties["KmsMasterKeyId"]); strings.HasPrefix(k, "alias/aws/") {
		fail("%s: KmsMasterKeyId %s is an AWS managed key, to which CloudWatch cannot publish: use a key of the template", AlarmTopic, k)
	}
	errs = append(errs, checkPartialFailureAlarms(t, makefile)...)
	for name, want := range RequiredOutputs {
		if got, _ := ref(t.Outputs[name]["Value"]); got != want {
			fail("Outputs.%s must be !Ref %s (ops and scripts read it)", name, want)
		}
	}
	for id, r := range t.Resources {
		switch r.Type {
		case "AWS::SQS::Queue":
			if len(t.alarmsOn("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", id)) == 0 {
				fail("%s: no AWS/SQS ApproximateNumberOfMessagesVisible alarm on the dead-letter queue", id)
			}
		case "AWS::CloudWatch::Alarm":
			notifies := false
			for _, a := range asSlice(r.Properties["AlarmActions"]) {
				if got, _ := ref(a); got == AlarmTopic {
					notifies = true
				}
			}
			if !notifies {
				fail("%s: AlarmActions must include !Ref %s", id, AlarmTopic)
			}
		}
	}
	return errs
}

// stringsOf returns the plain strings of a policy's Action or Resource (one or a list).
func stringsOf(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range asSlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// CheckEventsExercised checks that the aws-lambda-rie test of every function (its
// functions/<dir>/main_test.go) invokes every events/<LogicalId>-<case>.json: either it
// ranges over all of lambdatest.Events(t, "<LogicalId>"), or it names each case.
// dirs maps logical ids to function directories (MakeTargets).
func CheckEventsExercised(root string, dirs map[string]string) []error {
	var errs []error
	ids := make([]string, 0, len(dirs))
	for id := range dirs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		files, _ := filepath.Glob(filepath.Join(root, "events", id+"-*.json"))
		if len(files) == 0 {
			continue
		}
		path := filepath.Join(root, "functions", dirs[id], "main_test.go")
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", id, err))
			continue
		}
		all, named, err := eventUse(src, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("functions/%s/main_test.go: %v", dirs[id], err))
			continue
		}
		if all {
			continue
		}
		for _, f := range files {
			c := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), id+"-"), ".json")
			if !named[c] {
				errs = append(errs, fmt.Errorf("events/%s: functions/%s/main_test.go never invokes it (range over lambdatest.Events or name %q)", filepath.Base(f), dirs[id], c))
			}
		}
	}
	return errs
}

// eventUse reads a test file: all is true when it ranges over lambdatest.Events(…, id)
// (directly or through a variable); named holds every string literal it contains.
func eventUse(src []byte, id string) (all bool, named map[string]bool, err error) {
	f, err := parser.ParseFile(token.NewFileSet(), "main_test.go", src, 0)
	if err != nil {
		return false, nil, err
	}
	isEvents := func(e ast.Expr) bool {
		call, ok := e.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Events" {
			return false
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "lambdatest" {
			return false
		}
		lit, ok := call.Args[1].(*ast.BasicLit)
		if !ok {
			return false
		}
		s, _ := strconv.Unquote(lit.Value)
		return s == id
	}
	vars := map[string]bool{}
	named = map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, rhs := range n.Rhs {
				if i < len(n.Lhs) && isEvents(rhs) {
					if id, ok := n.Lhs[i].(*ast.Ident); ok {
						vars[id.Name] = true
					}
				}
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil {
					named[s] = true
				}
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		if r, ok := n.(*ast.RangeStmt); ok {
			if isEvents(r.X) {
				all = true
			}
			if x, ok := r.X.(*ast.Ident); ok && vars[x.Name] {
				all = true
			}
		}
		return true
	})
	return all, named, nil
}

// checkPartialFailureAlarms requires, for every phase function (one with a rule on the
// sync bus), an alarm on the harness's EMF metric obs.MetricRunPartiallyFailed with the
// exact dimensions the function emits: Service (its functions/<dir> name, which it passes
// to awsenv.Load) and Phase. A run whose records failed does not fail the function, so its
// errors alarm cannot see it, and an alarm whose dimensions differ from the emitted ones
// never fires.
func checkPartialFailureAlarms(t *Template, makefile string) []error {
	var errs []error
	dirs := MakeTargets(makefile)
	for _, id := range t.Functions() {
		for name, ev := range asMap(t.Resources[id].Properties["Events"]) {
			e := asMap(ev)
			if str(e["Type"]) != "EventBridgeRule" {
				continue
			}
			phases, _ := asMap(asMap(asMap(e["Properties"])["Pattern"])["detail"])["phase"].([]any)
			if len(phases) != 1 {
				continue // CheckPhaseRules reports it
			}
			want := map[string]string{"Service": dirs[id], "Phase": str(phases[0])}
			found := false
			for _, r := range t.Resources {
				if r.Type != "AWS::CloudWatch::Alarm" || str(r.Properties["Namespace"]) != obs.Namespace ||
					str(r.Properties["MetricName"]) != obs.MetricRunPartiallyFailed {
					continue
				}
				got := map[string]string{}
				for _, d := range asSlice(r.Properties["Dimensions"]) {
					dm := asMap(d)
					got[str(dm["Name"])] = str(dm["Value"])
				}
				if maps.Equal(got, want) {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("%s.%s: no %s %s alarm with dimensions Service=%s, Phase=%s (runs with failed records would go unnoticed)",
					id, name, obs.Namespace, obs.MetricRunPartiallyFailed, want["Service"], want["Phase"]))
			}
		}
	}
	return errs
}
