package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestCredentialFieldsAreBounded: the credential fields take what the vendors issue and no
// more. A client id of 250 KB was stored in the clear beside its sealed copy (an item
// DynamoDB refuses above 400 KB: a 500 instead of an answer), and a line break or a
// bidirectional override in the client id or the admin's e-mail went verbatim into the
// set-up trail ("Personio client id: a\r\nX-Evil: 1 → …", "by the owner a@b\u202e…").
// A query or fragment in a base URL (an api_key=… in it) would be stored and shown in the
// clear as user information would. Each is a 400 naming the field (never the value), on creation and on a credentials update (also with
// verify:false, which calls no vendor), and nothing is stored.
func TestCredentialFieldsAreBounded(t *testing.T) {
	e := newEnv(t)
	existing := e.createDemo(t)
	before, err := e.store.GetTenant(t.Context(), existing.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, field string
		set         func(in map[string]any)
	}{
		{"huge client id", "personio.client_id", func(in map[string]any) { pset(in, "client_id", strings.Repeat("x", 250000)) }},
		{"client id with a line break", "personio.client_id", func(in map[string]any) { pset(in, "client_id", "papi-a\r\nX-Evil: 1") }},
		{"client id with a bidi override", "personio.client_id", func(in map[string]any) { pset(in, "client_id", "papi-\u202eab") }},
		{"huge client secret", "personio.client_secret", func(in map[string]any) { pset(in, "client_secret", strings.Repeat("s", 5000)) }},
		{"client secret with NUL", "personio.client_secret", func(in map[string]any) { pset(in, "client_secret", "s\x00s") }},
		{"e-mail with a line break", "staffomatic.email", func(in map[string]any) { sset(in, "email", "a@b.de\nby the owner boss@b.de") }},
		{"e-mail with a bidi override", "staffomatic.email", func(in map[string]any) { sset(in, "email", "a@b.de\u202emoc.live") }},
		{"huge e-mail", "staffomatic.email", func(in map[string]any) { sset(in, "email", "a@"+strings.Repeat("b", 100000)) }},
		{"token with a line break", "staffomatic.token", func(in map[string]any) {
			delete(in["staffomatic"].(map[string]any), "password")
			sset(in, "token", "t\r\nX-Evil: 1")
		}},
		{"huge password", "staffomatic.password", func(in map[string]any) { sset(in, "password", strings.Repeat("p", 100000)) }},
		{"base URL with a query", "personio.base_url", func(in map[string]any) { pset(in, "base_url", "https://api.personio.de/?api_key=sk_live_1") }},
		{"base URL with a fragment", "staffomatic.base_url", func(in map[string]any) { sset(in, "base_url", "https://api.staffomaticapp.com/v3#sk_live_1") }},
		{"huge base URL", "personio.base_url", func(in map[string]any) { pset(in, "base_url", "https://api.personio.de/"+strings.Repeat("a", 100000)) }},
		{"credentials file with a huge id", "personio_credentials_file", func(in map[string]any) {
			delete(in, "personio")
			in["personio_credentials_file"] = "client_id: " + strings.Repeat("x", 5000) + "\nclient_secret: s"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path, token string }{
				{"POST", "/v1/tenants", operatorKey},
				{"PUT", "/v1/tenants/" + existing.TenantID + "/credentials", existing.AdminToken},
			} {
				in := e.demoInput()
				in["verify"] = false
				tt.set(in)
				if req.method == "PUT" {
					delete(in, "name")
				}
				r := e.do(t, req.method, req.path, req.token, in)
				var got apiError
				r.json(t, &got)
				if r.Code/100 != 4 || got.Error.Field != tt.field || len(r.Body) > 1000 || strings.Contains(string(r.Body), "sk_live") {
					t.Fatalf("%s %s: %d %.300s; want a 4xx on %s (without the value)", req.method, req.path, r.Code, r.Body, tt.field)
				}
			}
		})
	}
	r := e.do(t, "GET", "/v1/tenants", operatorKey, nil)
	if strings.Count(string(r.Body), `"tenant_id"`) != 1 {
		t.Fatalf("a refused creation stored a tenant: %s", r.Body)
	}
	after, err := e.store.GetTenant(t.Context(), existing.TenantID)
	if err != nil || after.Version != before.Version {
		t.Fatalf("a refused update changed the tenant: %v (version %d → %d)", err, before.Version, after.Version)
	}
	if r := e.do(t, "GET", "/v1/tenants/"+existing.TenantID+"/protocol?area=setup", existing.AdminToken, nil); strings.Contains(string(r.Body), "change_credentials") || r.Code != http.StatusOK {
		t.Fatalf("a refused update wrote the set-up trail: %d %.300s", r.Code, r.Body)
	}
}

func pset(in map[string]any, k string, v any) { in["personio"].(map[string]any)[k] = v }
func sset(in map[string]any, k string, v any) { in["staffomatic"].(map[string]any)[k] = v }
