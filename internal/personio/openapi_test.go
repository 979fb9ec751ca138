package personio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/testref"
)

// referenceDir is shared/reference/personio beside the repository.
func referenceDir(t *testing.T) string { return testref.Dir(t, "personio") }

type exchange struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

// recorder is a RoundTripper that keeps what the simulator really sent, so
// the client's own calls are what gets validated.
type recorder struct {
	mu  sync.Mutex
	log []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.log = append(r.log, exchange{req: req, status: resp.StatusCode, header: resp.Header.Clone(), body: b})
	r.mu.Unlock()
	return resp, nil
}

func loadSpec(t *testing.T, file string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(referenceDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	relaxKnownSpecBugs(doc)
	return doc
}

// relaxKnownSpecBugs fixes two contradictions of the official v1 file that
// real Personio responses (shared/reference/personio/recorded) violate too;
// TestRecordedResponsesMatchRelaxedSpec proves the relaxed spec still
// accepts reality and nothing more is loosened:
//  1. `Response.data` is `type: object`, but every list schema combines it
//     (allOf) with `data: array` – no list response could ever validate.
//  2. Every wrapped employee attribute declares a non-nullable `value`
//     (OpenAPI 3.0 default), while Personio sends `"value": null` for unset
//     dates, org units, supervisor and entitlements.
func relaxKnownSpecBugs(doc *openapi3.T) {
	if s := doc.Components.Schemas["Response"]; s != nil && s.Value.Properties["data"] != nil {
		s.Value.Properties["data"] = openapi3.NewSchemaRef("", &openapi3.Schema{})
	}
	if emp := doc.Components.Schemas["Employee"]; emp != nil {
		for _, attr := range emp.Value.Properties {
			v := attr.Value.Properties["value"]
			if v == nil {
				continue
			}
			if v.Ref != "" { // shared schema (ShortEmployee): wrap instead of mutating it
				attr.Value.Properties["value"] = openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{v}})
				continue
			}
			v.Value.Nullable = true
		}
	}
}

// findRoute maps a request path (with its /v1 prefix) onto the spec's
// templated paths.
func findRoute(doc *openapi3.T, method, path string) (*routers.Route, map[string]string) {
	path = strings.TrimPrefix(path, "/v1")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *routers.Route
	var bestParams map[string]string
	for tmpl, item := range doc.Paths.Map() {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		params := map[string]string{}
		literal := 0
		ok := true
		for i := range ts {
			switch {
			case strings.HasPrefix(ts[i], "{"):
				params[strings.Trim(ts[i], "{}")] = segs[i]
			case ts[i] == segs[i]:
				literal++
			default:
				ok = false
			}
		}
		op := item.GetOperation(method)
		if !ok || op == nil {
			continue
		}
		if best == nil || literal > len(strings.Split(best.Path, "/"))-len(bestParams)-1 {
			best = &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			bestParams = params
		}
	}
	return best, bestParams
}

func validate(t *testing.T, doc *openapi3.T, ex exchange) {
	t.Helper()
	route, params := findRoute(doc, ex.req.Method, ex.req.URL.Path)
	if route == nil {
		t.Fatalf("no spec route for %s %s", ex.req.Method, ex.req.URL.Path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: ex.req, PathParams: params, Route: route},
		Status:                 ex.status,
		Header:                 ex.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(ex.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the official spec: %v", ex.req.Method, ex.req.URL.Path, ex.status, err)
	}
}

// TestSimulatorV1ResponsesMatchOfficialSpec runs the client's v1 calls
// against the simulator and validates every v1 response it received against
// the official OpenAPI files.
func TestSimulatorV1ResponsesMatchOfficialSpec(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, personiosim.Config{}, func(c *personio.Config) { c.HTTPClient = &http.Client{Transport: rec} })
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 120, Seed: 9, Year: 2026, AbsencesPerEmployee: 1})
	e.sim.AddEmployee(personiosim.Employee{FirstName: "Nul", LastName: "Werte", Email: "nul@example.com"}) // null org units
	ctx := context.Background()
	if _, err := e.cl.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.Employees(ctx, personio.EmployeesOptions{PageSize: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.Employee(ctx, g.Employees[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.Employee(ctx, 1); !personio.IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := e.cl.AbsenceBalance(ctx, g.Employees[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.TimeOffTypes(ctx); err != nil {
		t.Fatal(err)
	}
	data := loadSpec(t, "personio-personnel-data-api-oa3.yaml")
	auth := loadSpec(t, "personio-auth-api.yaml")
	seen := map[string]bool{}
	for _, ex := range rec.log {
		p := ex.req.URL.Path
		if !strings.HasPrefix(p, "/v1/") {
			continue
		}
		doc := data
		if p == "/v1/auth" {
			doc = auth
		}
		validate(t, doc, ex)
		seen[ex.req.Method+" "+p] = true
	}
	for _, want := range []string{"POST /v1/auth", "GET /v1/company/employees", "GET /v1/company/time-off-types", "GET /v1/company/employees/attributes"} {
		if !seen[want] {
			t.Errorf("no %s response was validated", want)
		}
	}
}

// TestRecordedResponsesMatchRelaxedSpec checks the relaxations against real
// recorded Personio responses: they must pass, so the relaxed spec is no
// looser than what production sends.
func TestRecordedResponsesMatchRelaxedSpec(t *testing.T) {
	doc := loadSpec(t, "personio-personnel-data-api-oa3.yaml")
	tests := []struct {
		file, path string
	}{
		{"recorded/v1-employees-list.giantswarm.json", "/v1/company/employees"},
		{"recorded/v1-employee-get.giantswarm.json", "/v1/company/employees/7161253"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(referenceDir(t), tt.file))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://api.personio.de"+tt.path, nil)
			validate(t, doc, exchange{req: req, status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: b})
		})
	}
}

// TestRecordedV1ResponsesDecode decodes real recorded employee responses.
func TestV2ExamplesDecode(t *testing.T) {
	dir := filepath.Join(referenceDir(t), "v2-spec-examples")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("persons", func(t *testing.T) {
		var p personio.Person
		if err := json.Unmarshal(read("persons-get.json"), &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != "3003" || p.Email != "jen.doe@personio.de" || p.Status != "ACTIVE" || len(p.CustomAttributes) != 2 ||
			p.CustomAttributes[0].ID != "dynamic_305" || len(p.Employments) != 1 || p.CreatedAt.IsZero() {
			t.Fatalf("%+v", p)
		}
		var page personio.Page[personio.Person]
		if err := json.Unmarshal(read("persons-list-multipage.json"), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || !strings.Contains(page.Next(), "cursor=cur_234ls0f02lalfdd") {
			t.Fatalf("%+v", page)
		}
	})
	t.Run("employments", func(t *testing.T) {
		for _, f := range []string{"employments-get.json", "employments-list-multipage.json"} {
			var list []personio.Employment
			if strings.Contains(f, "list") {
				var page personio.Page[personio.Employment]
				if err := json.Unmarshal(read(f), &page); err != nil {
					t.Fatal(err)
				}
				if page.Next() == "" {
					t.Fatal("no next link")
				}
				list = page.Data
			} else {
				var e personio.Employment
				if err := json.Unmarshal(read(f), &e); err != nil {
					t.Fatal(err)
				}
				list = []personio.Employment{e}
			}
			e := list[0]
			if e.Status != "ACTIVE" || *e.WeeklyWorkingHours != 40 || e.EmploymentStartDate.String() != "2023-01-01" ||
				e.EmploymentEndDate != nil && !e.EmploymentEndDate.IsZero() || e.Office.ID != "60302" || e.Person.ID != "5005" ||
				e.Termination.LastWorkingDay.String() != "2023-01-07" || len(e.OrgUnits) != 2 || e.OrgUnits[0].Type != "team" ||
				e.Position.Title != "Software Engineer" {
				t.Fatalf("%s: %+v", f, e)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			file      string
			status    int
			wantMsg   string
			wantCode  string
			retryable bool
		}{
			{"error-404-resource-not-found.json", 404, "There is no resource for the specified id.", "https://developer.personio.de/reference/errors#common.resource_not_found", false},
			{"error-400-invalid-filter-value.json", 400, "Provided request parameters are invalid.", "https://developer.personio.de/reference/errors#common.bad_request", false},
			{"auth-token-400-missing-params.json", 400, "The request has missing or invalid required parameters.", "invalid_request", false},
			{"../recorded/v2-error-403-insufficient-scope.json", 403, "Client scope insufficient to access resource", "https://developer.personio.de/v2.0/page/public-api-error-codes#commonforbidden", false},
		}
		for _, tt := range tests {
			e := personio.ParseError(tt.status, "GET", "/v2/x", read(tt.file))
			if e.Message != tt.wantMsg || e.Code != tt.wantCode || e.Retryable != tt.retryable || e.StatusCode != tt.status {
				t.Fatalf("%s: %+v", tt.file, e)
			}
		}
	})
	t.Run("token", func(t *testing.T) {
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
			TokenType   string `json:"token_type"`
		}
		if err := json.Unmarshal(read("auth-token-200.json"), &tok); err != nil || !strings.HasPrefix(tok.AccessToken, "papi-") || tok.ExpiresIn != 86400 {
			t.Fatalf("%+v %v", tok, err)
		}
	})
}
