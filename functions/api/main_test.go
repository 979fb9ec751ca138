package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	miniserver "github.com/truora/minidyn/server"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/store"
)

// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie with every
// events/ApiFunction-*.json payload. The function's DynamoDB is a minidyn server in this
// test process (DYNAMODB_ENDPOINT), credentials are sealed with a local key, and the
// operator key of the events is "rie-operator-key".
func TestLambdaRuntime(t *testing.T) {
	mini := httptest.NewServer(miniserver.NewServer())
	defer mini.Close()
	tables := store.Tables{Tenants: "rie-tenants", Mappings: "rie-mappings", Protocol: "rie-protocol"}
	db := store.NewClient(awstest.Config(t), mini.URL)
	if err := store.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	bootstrap := lambdatest.Build(t, "./functions/api")
	emu := lambdatest.Start(t, bootstrap, map[string]string{
		"DYNAMODB_ENDPOINT": mini.URL, "TENANTS_TABLE": tables.Tenants, "MAPPINGS_TABLE": tables.Mappings, "PROTOCOL_TABLE": tables.Protocol,
		"OPERATOR_KEY_HASH": httpapi.OperatorKeyHash("rie-operator-key"), "STAFFSYNC_LOCAL_KEY": strings.Repeat("ab", 32),
	})
	errCode := func(code string) func(t *testing.T, body string) {
		return func(t *testing.T, body string) {
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != code || e.Error.Message == "" {
				t.Errorf("body %q, want error %s", body, code)
			}
		}
	}
	want := map[string]struct {
		status int
		ctype  string
		check  func(t *testing.T, body string)
	}{
		"health": {200, "application/json", func(t *testing.T, body string) {
			if body != "{\"status\":\"ok\"}\n" {
				t.Errorf("health body %q", body)
			}
		}},
		"not-found": {404, "application/json", errCode("not_found")},
		"openapi": {200, "application/yaml", func(t *testing.T, body string) {
			if !strings.HasPrefix(body, "openapi: 3.1.0") {
				t.Errorf("openapi body %.40q", body)
			}
		}},
		"tenants-list": {200, "application/json", func(t *testing.T, body string) {
			var l struct {
				Tenants []json.RawMessage `json:"tenants"`
			}
			if json.Unmarshal([]byte(body), &l) != nil || l.Tenants == nil {
				t.Errorf("list body %q", body)
			}
		}},
		"tenants-create": {201, "application/json", func(t *testing.T, body string) {
			var c struct {
				TenantID   string `json:"tenant_id"`
				AdminToken string `json:"admin_token"`
				Secrets    struct {
					PersonioToken     string `json:"personio_token"`
					StaffomaticSecret string `json:"staffomatic_secret"`
				} `json:"webhook_secrets"`
			}
			if json.Unmarshal([]byte(body), &c) != nil || !strings.HasPrefix(c.TenantID, "acme-bakery-") || c.AdminToken == "" || c.Secrets.StaffomaticSecret == "" {
				t.Errorf("create body %q", body)
			}
			if strings.Contains(body, "papi-secret-acme") || strings.Contains(body, "staffomatic-password") {
				t.Error("a credential is echoed")
			}
		}},
		"tenants-create-invalid":             {400, "application/json", errCode("invalid_request")},
		"tenant-get-bad-token":               {401, "application/json", errCode("unauthorized")},
		"sync-now-unauthenticated":           {401, "application/json", errCode("unauthorized")},
		"protocol-operator-forbidden":        {403, "application/json", errCode("forbidden")},
		"webhook-personio-unknown-tenant":    {404, "application/json", errCode("not_found")},
		"webhook-staffomatic-unknown-tenant": {404, "application/json", errCode("not_found")},
	}
	evs := lambdatest.Events(t, "ApiFunction")
	for name, payload := range evs {
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("events/ApiFunction-%s.json has no expectation in this test", name)
			}
			status, body := emu.Invoke(t, payload)
			if status != 200 {
				t.Fatalf("emulator status %d: %s", status, body)
			}
			var res events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("not an HTTP API response: %v: %s", err, body)
			}
			if res.StatusCode != exp.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, exp.status, res.Body)
			}
			if res.Headers["Content-Type"] != exp.ctype {
				t.Errorf("content type %q", res.Headers["Content-Type"])
			}
			exp.check(t, res.Body)
		})
	}
	if len(evs) != len(want) {
		t.Errorf("%d event files, %d expectations", len(evs), len(want))
	}
	// The created tenant is stored with its credentials sealed, and no credential reached
	// the function's log.
	st := store.New(db, tables)
	var tenants []domain.Tenant
	if err := st.ListTenants(context.Background(), func(t domain.Tenant) error { tenants = append(tenants, t); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 || tenants[0].Personio.ClientID != "papi-acme" || tenants[0].Sealed.Scheme != "local" ||
		bytes.Contains(tenants[0].Sealed.Blob, []byte("papi-secret-acme")) {
		t.Fatalf("stored tenants %+v", tenants)
	}
	if logs := emu.Logs(); strings.Contains(logs, "papi-secret-acme") || strings.Contains(logs, "staffomatic-password") {
		t.Error("a credential reached the log")
	}
}
