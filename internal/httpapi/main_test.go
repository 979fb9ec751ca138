package httpapi

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"testing"
)

// TestMain runs the tests and then, when all of them ran, checks that every operation of
// openapi.yaml was exercised with a success and an error response: the conformance check
// in env.do only proves what the tests touch.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.fuzz").Value.String() != "" || specDoc == nil {
		os.Exit(code)
	}
	var missing []string
	for path, item := range specDoc.Paths.Map() {
		for method, op := range item.Operations() {
			ok, bad := false, false
			for status := range covered[op.OperationID] {
				ok = ok || status < 300
				bad = bad || status >= 400
			}
			public := op.OperationID == "health" || op.OperationID == "openapi"
			if !ok || (!bad && !public) {
				missing = append(missing, fmt.Sprintf("%s %s (%s): statuses seen %v", method, path, op.OperationID, covered[op.OperationID]))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		fmt.Println("openapi coverage: no success or no error response tested:", m)
	}
	if len(missing) > 0 {
		os.Exit(1)
	}
	os.Exit(code)
}
