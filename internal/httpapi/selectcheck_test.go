package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestSelectionNamesUnknownEmployeesAndAttributes: ids in select or deselect that name no
// Personio employee, and an attribute the credential cannot read, are 422s naming them
// and where the valid ones are, and change nothing. A few ids are looked up one by one,
// many in one listing; cleared ids are not looked up.
func TestSelectionNamesUnknownEmployeesAndAttributes(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/tenants/" + c.TenantID + "/selection"
	known := e.psim.Employees()
	var many []string
	for _, em := range known[:12] {
		many = append(many, fmt.Sprint(em.ID))
	}
	many = append(many, "99999")
	cases := []struct {
		name       string
		body       any
		code       string
		field      string
		says       []string
		byID, list int // Personio calls: single lookups and listing pages
	}{
		{"one unknown id to select", map[string]any{"select": []string{fmt.Sprint(known[0].ID), "424242"}}, "unknown_employees", "select",
			[]string{"424242", "GET /v1/tenants/" + c.TenantID + "/employees"}, 2, 0},
		{"unknown id to deselect", map[string]any{"deselect": []string{"777777"}}, "unknown_employees", "deselect", []string{"777777"}, 1, 0},
		{"many ids: one listing", map[string]any{"select": many}, "unknown_employees", "select", []string{"99999"}, 0, 1},
		{"both lists looked up together, each id once", map[string]any{"select": []string{many[0], many[0], "555555"}, "deselect": []string{"666666"}},
			"unknown_employees", "select", []string{"no Personio employee has the id 555555;"}, 3, 0},
		{"both lists above ten ids: one listing", map[string]any{"select": many[:6], "deselect": append(slices.Clone(many[6:12]), "888888")},
			"unknown_employees", "deselect", []string{"888888"}, 0, 1},
		{"attribute the credential does not expose", map[string]any{"auto_include": map[string]any{"attribute": map[string]any{"key": "shift_plannnig", "value": "true"}}},
			"unknown_attribute", "auto_include.attribute.key", []string{`"shift_plannnig"`, "first_name", "(shift_planning)"}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.psim.ResetCalls()
			r := e.do(t, "PUT", path, c.AdminToken, tc.body)
			var b struct{ Error Error }
			r.json(t, &b)
			if r.Code != http.StatusUnprocessableEntity || b.Error.Code != tc.code || b.Error.Field != tc.field {
				t.Fatalf("%d %s", r.Code, r.Body)
			}
			for _, s := range tc.says {
				if !strings.Contains(b.Error.Message, s) {
					t.Errorf("message %q does not say %q", b.Error.Message, s)
				}
			}
			if got := e.psim.CallCount("GET /v1/company/employees/{id}"); got != tc.byID {
				t.Errorf("%d single lookups, want %d", got, tc.byID)
			}
			if got := e.psim.CallCount("GET /v1/company/employees"); got != tc.list {
				t.Errorf("%d listing pages, want %d", got, tc.list)
			}
		})
	}
	var sel SelectionView
	e.do(t, "GET", path, c.AdminToken, nil).json(t, &sel)
	if sel.Version != 0 || len(sel.Selected)+len(sel.Deselected) != 0 || sel.AutoInclude.Attribute != nil {
		t.Fatalf("a refused change was stored: %+v", sel)
	}

	// Known ids and an attribute named by its label (as admins see it) are stored; an id
	// only cleared is not looked up.
	e.psim.ResetCalls()
	r := e.do(t, "PUT", path, c.AdminToken, map[string]any{"select": []string{fmt.Sprint(known[1].ID)}, "clear": []string{"999999"},
		"auto_include": map[string]any{"attribute": map[string]any{"key": "shift_planning", "value": "true"}}})
	if r.Code != http.StatusOK {
		t.Fatalf("valid change: %d %s", r.Code, r.Body)
	}
	if n := e.psim.CallCount("GET /v1/company/employees/{id}"); n != 1 {
		t.Errorf("%d single lookups for one selected id", n)
	}
	r = e.do(t, "PUT", path, c.AdminToken, map[string]any{"select": many[:12]})
	if r.Code != http.StatusOK {
		t.Fatalf("12 known ids: %d %s", r.Code, r.Body)
	}
}

// TestSetUpVendorDownNamesVendorAndHost: a 502 at set-up says which vendor at which host
// failed and how (its HTTP status, or no connection), so the admin knows where to look.
func TestSetUpVendorDownNamesVendorAndHost(t *testing.T) {
	e := newEnv(t)
	pHost := strings.TrimPrefix(e.pURL, "http://")
	e.psim.InjectFault("GET /v1/company/employees/attributes", 1, personiosim.Fault{Status: http.StatusServiceUnavailable})
	r := e.do(t, "POST", "/v1/tenants", operatorKey, e.demoInput())
	var b struct{ Error Error }
	r.json(t, &b)
	if r.Code != http.StatusBadGateway || b.Error.Code != "vendor_unavailable" || !strings.Contains(b.Error.Message, "Personio at "+pHost+" answered 503") {
		t.Fatalf("Personio down: %d %s", r.Code, r.Body)
	}
	in := e.demoInput()
	in["staffomatic"].(map[string]any)["base_url"] = "http://127.0.0.1:1/v3"
	r = e.do(t, "POST", "/v1/tenants", operatorKey, in)
	r.json(t, &b)
	if r.Code != http.StatusBadGateway || !strings.Contains(b.Error.Message, "Staffomatic at 127.0.0.1:1 could not be reached") {
		t.Fatalf("Staffomatic unreachable: %d %s", r.Code, r.Body)
	}
	var list struct{ Tenants []any }
	e.do(t, "GET", "/v1/tenants", operatorKey, nil).json(t, &list)
	if len(list.Tenants) != 0 {
		t.Fatalf("a failed set-up stored a tenant: %+v", list.Tenants)
	}
}

// TestSelectionCheckAt5000Employees: switching hundreds of employees of a 5,000-person
// company is checked with one listing of 100-employee pages projected to the status (no
// full records). The client paces the 51 pages at Personio's documented 300 a minute
// (burst 15), about 7 s, inside the check's 20 s budget (vendorTimeout) and API Gateway's
// 29 s: the answer is the 422, not a 502.
func TestSelectionCheckAt5000Employees(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	g := e.psim.Generate(personiosim.GenerateOptions{Seed: 5, Employees: 5000})
	var ids []string
	for _, em := range g.Employees[:500] {
		ids = append(ids, fmt.Sprint(em.ID))
	}
	e.psim.ResetCalls()
	start := time.Now()
	r := e.do(t, "PUT", "/v1/tenants/"+c.TenantID+"/selection", c.AdminToken, map[string]any{"select": append(ids, "1")})
	took := time.Since(start)
	var b struct{ Error Error }
	r.json(t, &b)
	if r.Code != http.StatusUnprocessableEntity || b.Error.Code != "unknown_employees" || !strings.Contains(b.Error.Message, "the id 1;") {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	pages := 0
	for _, call := range e.psim.Calls() {
		if call.Endpoint != "GET /v1/company/employees" {
			continue
		}
		pages++
		if !strings.Contains(call.Query, "attributes%5B%5D=status") || !strings.Contains(call.Query, "limit=100") {
			t.Errorf("a listing page without the projection: %s", call.Query)
		}
	}
	if want := (5000 + e.demo.Employees + 99) / 100; pages != want {
		t.Errorf("%d listing pages, want %d", pages, want)
	}
	if n := e.psim.CallCount("GET /v1/company/employees/{id}"); n != 0 {
		t.Errorf("%d single lookups besides the listing", n)
	}
	t.Logf("501 ids of %d employees checked in %s with %d pages", 5000+e.demo.Employees, took, pages)
}
