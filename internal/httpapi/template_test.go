package httpapi

import (
	"slices"
	"testing"

	"github.com/staffsync/staffsync/internal/console"
	"github.com/staffsync/staffsync/internal/deploy"
)

// TestTemplateHasEveryRoute: API Gateway forwards only the routes template.yaml declares,
// so a route missing there would answer 404 in AWS while every local test passes.
func TestTemplateHasEveryRoute(t *testing.T) {
	tpl, err := deploy.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := tpl.Resources["ApiFunction"]
	if !ok {
		t.Fatal("no ApiFunction")
	}
	events, _ := fn.Properties["Events"].(map[string]any)
	var declared, consoleRoutes []string
	for _, ev := range events {
		m, _ := ev.(map[string]any)
		if m["Type"] != "HttpApi" {
			continue
		}
		p, _ := m["Properties"].(map[string]any)
		if console.Owns(p["Path"].(string)) { // the console's files, not API routes
			consoleRoutes = append(consoleRoutes, p["Method"].(string)+" "+p["Path"].(string))
			continue
		}
		declared = append(declared, p["Method"].(string)+" "+p["Path"].(string))
	}
	// The console's page and each of its files by name ("/console/" itself may not reach a
	// route in API Gateway; /console leads to /console/index.html).
	wantConsole := []string{"GET /console"}
	for _, p := range console.Paths() {
		if p != console.Prefix {
			wantConsole = append(wantConsole, "GET "+p)
		}
	}
	slices.Sort(wantConsole)
	if slices.Sort(consoleRoutes); !slices.Equal(consoleRoutes, wantConsole) {
		t.Errorf("template.yaml routes the console's %v, the console serves %v", consoleRoutes, wantConsole)
	}
	routes := New(Options{}).patterns
	for _, r := range routes {
		if !slices.Contains(declared, r) {
			t.Errorf("route %s is not an HttpApi event of ApiFunction", r)
		}
	}
	for _, d := range declared {
		if !slices.Contains(routes, d) {
			t.Errorf("template declares %s, the API has no such route", d)
		}
	}
	api := tpl.Resources["HttpApi"].Properties
	rs, _ := api["RouteSettings"].(map[string]any)
	def, _ := api["DefaultRouteSettings"].(map[string]any)
	for _, strict := range []string{"POST /v1/tenants/{id}/sync/{phase}", "POST /v1/webhooks/personio/{tenant_id}", "POST /v1/webhooks/staffomatic/{tenant_id}"} {
		s, _ := rs[strict].(map[string]any)
		if s == nil || toF(s["ThrottlingRateLimit"]) >= toF(def["ThrottlingRateLimit"]) || toF(s["ThrottlingBurstLimit"]) >= toF(def["ThrottlingBurstLimit"]) {
			t.Errorf("%s is not throttled more strictly than the default: %v vs %v", strict, s, def)
		}
	}
}

func toF(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return 1e9
}
