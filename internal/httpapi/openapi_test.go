package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
	// covered records the operations and statuses the tests exercised.
	coveredMu sync.Mutex
	covered   = map[string]map[int]bool{}
)

func spec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		if specDoc, specErr = loader.LoadFromData(OpenAPI); specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = legacy.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc, specRouter
}

// conform checks one exchange against the OpenAPI document: the response always (status
// listed, body matching its schema), the request too when it succeeded.
func conform(t testing.TB, method, path string, body []byte, header http.Header, r resp) {
	t.Helper()
	_, router := spec(t)
	req := httptest.NewRequest(method, "http://127.0.0.1:3000"+path, bytes.NewReader(body))
	req.Header = header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		if r.Code == http.StatusNotFound || r.Code == http.StatusMethodNotAllowed {
			return // no such route: the document rightly does not list it
		}
		t.Errorf("%s %s answered %d but is not in openapi.yaml: %v", method, path, r.Code, err)
		return
	}
	coveredMu.Lock()
	if covered[route.Operation.OperationID] == nil {
		covered[route.Operation.OperationID] = map[int]bool{}
	}
	covered[route.Operation.OperationID][r.Code] = true
	coveredMu.Unlock()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if r.Code < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: request succeeded (%d) but does not conform: %v", method, path, r.Code, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Code, Header: r.Header,
		Body: io.NopCloser(bytes.NewReader(r.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: response %d does not conform: %v\n%s", method, path, r.Code, err, trunc(r.Body))
	}
}

func trunc(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// TestOpenAPIDocument checks the document itself and that every route of the mux is in
// it and vice versa.
func TestOpenAPIDocument(t *testing.T) {
	doc, _ := spec(t)
	inDoc := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc[method+" "+path] = true
		}
	}
	api := New(Options{})
	for route := range inDoc {
		method, path, _ := strings.Cut(route, " ")
		p := strings.NewReplacer("{id}", "acme", "{tenant_id}", "acme", "{phase}", "users", "{run_id}", "r1").Replace(path)
		if _, pattern := api.mux.Handler(httptest.NewRequest(method, p, nil)); pattern == "" {
			t.Errorf("openapi.yaml lists %s, the API has no such route", route)
		}
	}
	for _, route := range api.patterns {
		if !inDoc[route] {
			t.Errorf("the API serves %s, openapi.yaml does not list it", route)
		}
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.yaml", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), OpenAPI) {
		t.Fatalf("GET /v1/openapi.yaml: %d", rec.Code)
	}
}

// TestNotConfiguredIsDocumented calls every route of a function started without its
// tables, and the routes that open credentials of one without a sealer: each answers 503
// not_configured, a status the document must list for the route.
func TestNotConfiguredIsDocumented(t *testing.T) {
	bare := New(Options{})
	routes := append(tenantRoutes("acme-abc123"), [3]string{"POST", "/v1/tenants", `{"name":"x"}`}, [3]string{"GET", "/v1/tenants", ""},
		[3]string{"POST", "/v1/webhooks/personio/acme-abc123", `{}`}, [3]string{"POST", "/v1/webhooks/staffomatic/acme-abc123", `{}`})
	check := func(api *API, rt [3]string, token string) {
		t.Helper()
		req := httptest.NewRequest(rt[0], rt[1], strings.NewReader(rt[2]))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		r := resp{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if r.Code != http.StatusServiceUnavailable || r.errCode(t) != "not_configured" {
			t.Errorf("%s %s: %d %s, want 503 not_configured", rt[0], rt[1], r.Code, r.Body)
		}
		conform(t, rt[0], rt[1], []byte(rt[2]), req.Header, r)
	}
	for _, rt := range routes {
		check(bare, rt, "sst_acme-abc123.x")
	}
	// With its tables but without a sealer, the routes that open the stored credentials.
	e := newEnv(t)
	c := e.createDemo(t)
	noSealer := New(Options{Logger: e.api.log, Store: e.store, Bus: e.bus, Vendors: e.api.vendors})
	base := "/v1/tenants/" + c.TenantID
	for _, rt := range [][3]string{
		{"GET", base + "/employees", ""},
		{"GET", base + "/checks", ""},
		{"PUT", base + "/settings", `{"personio_time_off_type_ids_for_paid_vacations":[1]}`},
		{"POST", base + "/owner", `{"staffomatic":{"email":"` + e.demo.StaffomaticEmail + `","password":"` + e.demo.StaffomaticPassword + `"}}`},
		{"PUT", base + "/credentials", `{"personio":{"client_id":"a","client_secret":"b"},"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"},"verify":false}`},
		{"POST", base + "/webhook-secrets", ""},
	} {
		check(noSealer, rt, c.AdminToken)
	}
}
