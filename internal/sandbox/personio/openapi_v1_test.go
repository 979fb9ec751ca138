package personiosim_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/testref"
)

// refDir is shared/reference/personio beside the repository.
func refDir(t *testing.T) string { return testref.Dir(t, "personio") }

// loadRelaxedSpec loads the official v1 file with the contradictions that
// real recorded Personio responses violate too (the approach of
// internal/personio/openapi_test.go); TestRecordedPeriodsMatchRelaxedSpec
// proves the relaxed spec still accepts reality:
//  1. `Response.data` is `type: object`, but list schemas combine it with
//     `data: array`.
//  2. `half_day_start`/`half_day_end` are booleans in the spec, 0/1 integers
//     in every real response (api-docs issue #204): accept both.
//  3. POST /company/time-offs declares its 200 body as {data: <whole
//     AbsencePeriodResponse>}, a nested envelope no response has; the real
//     body is the AbsencePeriodResponse itself.
//  4. The bulk attendance 400 declares `error_msg` a non-nullable string while
//     its own example (and the changelog body in the notes §4.1) sends
//     `"error_msg": null` for the rows that succeeded.
func loadRelaxedSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(refDir(t), "personio-personnel-data-api-oa3.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := doc.Components.Schemas
	sc["Response"].Value.Properties["data"] = openapi3.NewSchemaRef("", &openapi3.Schema{})
	for _, k := range []string{"half_day_start", "half_day_end"} {
		sc["Absence"].Value.Properties[k] = openapi3.NewSchemaRef("", &openapi3.Schema{AnyOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("", openapi3.NewBoolSchema()),
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"integer"}, Enum: []any{0, 1}}),
		}})
	}
	row := sc["AttendanceCreateUpdate400ErrorResponse"].Value.Properties["error"].Value.Properties["detailed_message"].Value.Items.Value
	row.Properties["error_msg"].Value.Nullable = true
	post := doc.Paths.Value("/company/time-offs").Post.Responses.Status(200).Value.Content["application/json"]
	post.Schema = openapi3.NewSchemaRef("#/components/schemas/AbsencePeriodResponse", sc["AbsencePeriodResponse"].Value)
	return doc
}

func specRoute(doc *openapi3.T, method, path string) (*routers.Route, map[string]string) {
	path = strings.TrimPrefix(path, "/v1")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *routers.Route
	var bestParams map[string]string
	bestLiteral := -1
	for tmpl, item := range doc.Paths.Map() {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		params := map[string]string{}
		literal, ok := 0, true
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
		if ok && op != nil && literal > bestLiteral {
			best = &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			bestParams, bestLiteral = params, literal
		}
	}
	return best, bestParams
}

func validateAgainstSpec(t *testing.T, doc *openapi3.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	route, params := specRoute(doc, req.Method, req.URL.Path)
	if route == nil {
		t.Fatalf("no spec route for %s %s", req.Method, req.URL.Path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the official spec: %v\n%s", req.Method, req.URL.Path, status, err, body)
	}
}

// TestV1PeriodResponsesMatchOfficialSpec validates every response of the v1
// time-off and attendance endpoints, successes and documented errors.
func TestV1PeriodResponsesMatchOfficialSpec(t *testing.T) {
	doc := loadRelaxedSpec(t)
	e := newPeriodsEnv(t, personiosim.Config{})
	proj := e.sim.AddProject("Umbau", true)
	_ = proj
	tok := e.v1Token(t)
	emp, sick := itoa(e.alan.ID), itoa(e.sick.ID)
	type call struct{ method, path, ct, body string }
	calls := []call{
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp + "&time_off_type_id=" + sick + "&start_date=2026-05-04&end_date=2026-05-04&half_day_start=0&half_day_end=1"},
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp + "&time_off_type_id=" + sick + "&start_date=2026-05-11&end_date=2026-05-15&half_day_start=1&half_day_end=0&comment=x"},
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp + "&time_off_type_id=" + sick + "&start_date=2026-05-12&end_date=2026-05-12&half_day_start=1&half_day_end=1"},
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp + "&time_off_type_id=" + sick + "&start_date=2026-05-12&end_date=2026-05-13&half_day_start=0&half_day_end=0"},
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp + "&time_off_type_id=1&start_date=2026-05-12&end_date=2026-05-13&half_day_start=0&half_day_end=0"},
		{"POST", "/v1/company/time-offs", "application/x-www-form-urlencoded", "employee_id=" + emp},
		{"GET", "/v1/company/time-offs?limit=1&offset=2&employees[]=" + emp, "", ""},
		{"GET", "/v1/company/time-offs/17205901", "", ""},
		{"GET", "/v1/company/time-offs/1", "", ""},
		{"DELETE", "/v1/company/time-offs/17205901", "", ""},
		{"DELETE", "/v1/company/time-offs/17205901", "", ""},
		{"DELETE", "/v1/company/time-offs/x", "", ""},
		{"POST", "/v1/company/attendances", "application/json", `{"attendances":[{"employee":` + emp + `,"date":"2026-03-02","start_time":"09:00","end_time":"17:00","break":30,"project_id":501}]}`},
		{"POST", "/v1/company/attendances", "application/json", `{"attendances":[{"employee":` + emp + `,"date":"2026-03-03","start_time":"09:00","end_time":"17:00","break":30},{"employee":` + emp + `,"date":"2026-03-02","start_time":"10:00","end_time":"11:00","break":0}]}`},
		{"GET", "/v1/company/attendances?start_date=2026-03-01&end_date=2026-03-31&limit=1&offset=1", "", ""},
		{"GET", "/v1/company/attendances?start_date=2026-03-01&end_date=2026-03-31&employees[]=" + emp, "", ""},
		{"PATCH", "/v1/company/attendances/33479601", "application/json", `{"comment":"neu","project_id":null}`},
		{"PATCH", "/v1/company/attendances/33479601", "application/json", `{"start_time":"20:00"}`},
		{"PATCH", "/v1/company/attendances/1", "application/json", `{"break":1}`},
		{"DELETE", "/v1/company/attendances/33479601", "", ""},
		{"DELETE", "/v1/company/attendances/33479601", "", ""},
		{"DELETE", "/v1/company/attendances/x", "", ""},
	}
	statuses := map[int]int{}
	for _, c := range calls {
		req, err := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		statuses[res.StatusCode]++
		req.Body = io.NopCloser(bytes.NewReader(nil))
		validateAgainstSpec(t, doc, req, res.StatusCode, res.Header, b)
	}
	// Every documented outcome was produced and validated.
	for st, min := range map[int]int{200: 9, 400: 6, 404: 5, 422: 1} {
		if statuses[st] < min {
			t.Errorf("only %d responses with status %d (want ≥%d): %v", statuses[st], st, min, statuses)
		}
	}
}

// TestRecordedPeriodsMatchRelaxedSpec: real recorded responses pass the
// relaxed spec, so it is no looser than needed to accept production.
func TestRecordedPeriodsMatchRelaxedSpec(t *testing.T) {
	doc := loadRelaxedSpec(t)
	for _, tt := range []struct{ file, method, path string }{
		// v1-time-offs-list-page1.at-gmbh.json is left out: it is a mock
		// hand-derived by at-gmbh that drops metadata.total_elements, which the
		// spec requires and its example carries (the simulator sends it).
		{"v1-time-offs-list.giantswarm.json", "GET", "/v1/company/time-offs"},
		{"v1-time-offs-create.at-gmbh.json", "POST", "/v1/company/time-offs"},
		{"v1-time-offs-delete.at-gmbh.json", "DELETE", "/v1/company/time-offs/22809350"},
		{"v1-attendances-create.at-gmbh.json", "POST", "/v1/company/attendances"},
		{"v1-attendances-list.at-gmbh.json", "GET", "/v1/company/attendances?start_date=1985-03-01&end_date=1985-03-31"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(refDir(t), "recorded", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(tt.method, "https://api.personio.de"+tt.path, nil)
			validateAgainstSpec(t, doc, req, 200, http.Header{"Content-Type": {"application/json"}}, b)
		})
	}
}
