package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSkeletonRoutes(t *testing.T) {
	api := New(Options{})
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/v1/health", "", 200, ""},
		{"GET", "/v1/nope", "", 404, "not_found"},
		{"GET", "//v1/health", "", 404, "not_found"},
		{"GET", "/v1/health/", "", 404, "not_found"},
		{"GET", "/v1/tenants/x/../../health", "", 404, "not_found"},
		{"GET", "/v1/./health", "", 404, "not_found"},
		{"POST", "/v1/health", "{}", 405, "method_not_allowed"},
		{"POST", "/v1/health", strings.Repeat("x", MaxBodyBytes+1), 413, "body_too_large"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, rec.Code, c.status, rec.Body)
			continue
		}
		var body struct {
			Status string
			Error  *Error
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s %s: not JSON: %s", c.method, c.path, rec.Body)
			continue
		}
		if c.code == "" && body.Status != "ok" {
			t.Errorf("%s %s: body %s", c.method, c.path, rec.Body)
		}
		if c.code != "" && (body.Error == nil || body.Error.Code != c.code || body.Error.Message == "") {
			t.Errorf("%s %s: error %s, want code %s", c.method, c.path, rec.Body, c.code)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	api := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	api.mux.HandleFunc("GET /v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/boom", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), `"msg":"panic in request"`) || !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Fatalf("the panic was not logged with its cause: %s", logs.String())
	}
}

func TestInternalErrorHidesText(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, errInternal("password=hunter2"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

type errInternal string

func (e errInternal) Error() string { return string(e) }
