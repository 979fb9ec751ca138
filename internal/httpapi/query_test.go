package httpapi

import (
	"slices"
	"strings"
	"testing"
)

// TestQueryParametersAreTheDocumentedOnes: each route reads exactly the query parameters
// the OpenAPI document lists for it (the receivers of the vendors' webhooks, the health
// check and the document itself take any).
func TestQueryParametersAreTheDocumentedOnes(t *testing.T) {
	doc, _ := spec(t)
	e := newEnv(t)
	for _, pattern := range e.api.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		item := doc.Paths.Find(path)
		if item == nil {
			t.Fatalf("%s is not in the document", pattern)
		}
		op := item.GetOperation(method)
		var documented []string
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value.In == "query" {
				documented = append(documented, p.Value.Name)
			}
		}
		got, checked := e.api.query[pattern]
		if strings.HasPrefix(path, "/v1/webhooks/") || path == "/v1/health" || path == "/v1/openapi.yaml" {
			if checked {
				t.Errorf("%s refuses query parameters", pattern)
			}
			continue
		}
		slices.Sort(got)
		slices.Sort(documented)
		if !checked || !slices.Equal(got, documented) {
			t.Errorf("%s reads %v, the document lists %v", pattern, got, documented)
		}
	}
}

// TestUnknownQueryParameterIsRefused: a parameter a route does not read is a 400 naming
// it and, where it is close, the one meant; nothing is answered from an ignored filter.
func TestUnknownQueryParameterIsRefused(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	cases := []struct {
		path, want string
	}{
		{base + "/protocol?until=2026-03-01T00:00:00Z", `unknown query parameter "until": did you mean "to"?`},
		{base + "/protocol?aera=users", `unknown query parameter "aera": did you mean "area"?`},
		{base + "/runs?limt=5", `did you mean "limit"?`},
		{base + "/employees?status=active", `did you mean "personio_status"?`},
		{base + "/checks?verbose=1", "this route takes no query parameters"},
		{base + "/runs?x=1", "this route takes phase, limit, cursor"},
	}
	for _, c2 := range cases {
		r := e.do(t, "GET", c2.path, c.AdminToken, nil)
		var body struct {
			Error Error `json:"error"`
		}
		r.json(t, &body)
		if r.Code != 400 || !strings.Contains(body.Error.Message, c2.want) {
			t.Errorf("GET %s: %d %s, want 400 with %q", c2.path, r.Code, r.Body, c2.want)
		}
	}
	if r := e.do(t, "GET", base+"/runs?limit=5", c.AdminToken, nil); r.Code != 200 {
		t.Errorf("a known parameter: %d %s", r.Code, r.Body)
	}
}
