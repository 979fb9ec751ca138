package httpapi

import (
	"fmt"
	"net/http"
	"testing"
)

// recordingTB collects what conform reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestConformanceCatchesMismatches proves the check every exchange goes through is not
// vacuous: answers that differ from the fixed shapes (a field missing, an extra field, a
// time that is neither a string nor null, a status outside the enum, an undocumented
// status, a route the document lacks) are reported; the exact shapes pass.
func TestConformanceCatchesMismatches(t *testing.T) {
	coveredMu.Lock()
	saved := map[string]map[int]bool{}
	for k, v := range covered {
		saved[k] = v
	}
	coveredMu.Unlock()
	t.Cleanup(func() { coveredMu.Lock(); covered = saved; coveredMu.Unlock() })

	// A no-op run: every record outcome zero, the API calls apart.
	counts := `{"created":0,"updated":0,"deleted":0,"unchanged":0,"skipped":0,"failed":0,"reported":0}`
	rest := `"counts":` + counts + `,"api_calls":{"personio":3,"staffomatic":8},"error":null`
	run := `"run_id":"r","phase":"users","mode":"full","requested_mode":"partial","trigger":"manual","dry_run":false,"status":"queued","started_at":null,"finished_at":null,` + rest
	emp := `"personio_id":"1","first_name":"A","last_name":"B","email":"a@b.c","personio_status":"active","selected":true,"match":"email","staffomatic_user_id":"9"`
	entry := `"time":"2026-03-01T10:00:00Z","area":"users","run_id":"r","kind":"user","source_id":"1","target_id":"2","action":"a","outcome":"created","reason":""`
	cases := []struct {
		method, path string
		status       int
		body         string
		ok           bool
	}{
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{` + run + `}`, true},
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{` + run + `,"bogus":1}`, false},
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{"run_id":"r","phase":"users","mode":"full","requested_mode":"full","trigger":"manual","dry_run":false,"status":"partially_failed","started_at":null,"finished_at":null,` + rest + `}`, true},
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{"run_id":"r","phase":"users","mode":"full","requested_mode":"partial","trigger":"manual","dry_run":false,"status":"queued","started_at":null,` + rest + `}`, false},
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{"run_id":"r","phase":"users","mode":"full","requested_mode":"partial","trigger":"manual","dry_run":false,"status":"queued","started_at":5,"finished_at":null,` + rest + `}`, false},
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{"run_id":"r","phase":"users","mode":"full","requested_mode":"partial","trigger":"manual","dry_run":false,"status":"done","started_at":null,"finished_at":null,` + rest + `}`, false},
		// API calls counted as record outcomes (the bug of a no-op run's summary).
		{"GET", "/v1/tenants/acme/runs/r1", 200, `{"run_id":"r","phase":"users","mode":"full","requested_mode":"partial","trigger":"manual","dry_run":false,"status":"succeeded","started_at":null,"finished_at":null,"counts":{"personio":3,"staffomatic":8},"api_calls":{},"error":null}`, false},
		{"GET", "/v1/tenants/acme/runs/r1", 500, `{"error":{"code":"internal","message":"m"}}`, false},
		{"GET", "/v1/tenants/acme/runs", 200, `{"runs":[{` + run + `}],"next_cursor":""}`, true},
		{"GET", "/v1/tenants/acme/runs", 200, `{"runs":[{` + run + `}]}`, false},
		{"GET", "/v1/tenants/acme/employees", 200, `{"employees":[{` + emp + `}],"next_cursor":""}`, true},
		{"GET", "/v1/tenants/acme/employees", 200, `{"employees":[{` + emp + `,"staffomatic_user_id":null}],"next_cursor":""}`, false},
		{"GET", "/v1/tenants/acme/employees", 200, `{"employees":[{"personio_id":"1","first_name":"A","last_name":"B","email":"a@b.c","personio_status":"active","selected":true,"match":"email"}],"next_cursor":""}`, false},
		{"GET", "/v1/tenants/acme/protocol?area=users", 200, `{"entries":[{` + entry + `}],"next_cursor":""}`, true},
		{"GET", "/v1/tenants/acme/protocol?area=users", 200, `{"entries":[{` + entry + `}],"cursor":""}`, false},
		{"GET", "/v1/tenants/acme/checks", 200, `{"error":{"code":"x","message":"y"}}`, false},
		{"GET", "/v1/tenants/acme/checks", 400, `{"error":{"code":"x","message":"y","hint":"z"}}`, false},
		{"DELETE", "/v1/tenants/acme", 200, `{}`, false},
	}
	for _, c := range cases {
		rec := &recordingTB{TB: t}
		conform(rec, c.method, c.path, nil, http.Header{}, resp{Code: c.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(c.body)})
		if c.ok && len(rec.errors) > 0 {
			t.Errorf("%s %s %d %s: reported %v", c.method, c.path, c.status, c.body, rec.errors)
		}
		if !c.ok && len(rec.errors) == 0 {
			t.Errorf("%s %s %d %s: mismatch not reported", c.method, c.path, c.status, c.body)
		}
	}
}
