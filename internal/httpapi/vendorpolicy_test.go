package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/vendors"
)

// strictAPI replaces e's API by one under a deployed stack's vendor policy with the
// operator's extra hosts, over the same store and sealing key.
func (e *env) strictAPI(t *testing.T, hosts ...string) {
	t.Helper()
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := obs.NewLogger(&lockedBuffer{b: e.logs}, true, slog.LevelDebug)
	sum := sha256.Sum256([]byte(operatorKey))
	e.api = New(Options{Logger: log, Store: e.store, Sealer: sealer, Bus: e.bus, OperatorKeyHash: hex.EncodeToString(sum[:]),
		Vendors: NewVendors(vendors.New(vendors.Options{Policy: vendors.Policy{Hosts: hosts}, Log: log, MaxRetries: -1}))})
}

type apiError struct {
	Error struct{ Code, Message, Field string }
}

// In AWS a tenant's base URL may name only the vendor's hosts (or the operator's
// additions) over https: anything else is a 400 naming the field and the rule, on
// creation and on a credentials update, and nothing is stored or called.
func TestRefusedBaseURLIs400(t *testing.T) {
	e := newEnv(t)
	existing := e.createDemo(t)
	before, err := e.store.GetTenant(t.Context(), existing.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	e.strictAPI(t)
	tests := []struct {
		name, vendor, url, rule string
	}{
		{"metadata service", "personio", "http://169.254.169.254/latest", "not one of personio's API hosts"},
		{"lambda runtime api", "staffomatic", "https://127.0.0.1:9001/v3", "not one of staffomatic's API hosts"},
		{"private network", "staffomatic", "https://10.0.0.7/v3", "not one of staffomatic's API hosts"},
		{"ipv4-mapped loopback", "personio", "https://[::ffff:127.0.0.1]", "not one of personio's API hosts"},
		{"other host", "personio", "https://personio.evil.example", "not one of personio's API hosts"},
		{"plain http to the vendor", "personio", "http://api.personio.de", "only https"},
		{"the other vendor's host", "staffomatic", "https://api.personio.de/v3", "not one of staffomatic's API hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := tt.vendor + ".base_url"
			in := e.demoInput()
			in[tt.vendor].(map[string]any)["base_url"] = tt.url
			for _, req := range []struct{ method, path, token string }{
				{"POST", "/v1/tenants", operatorKey},
				{"PUT", "/v1/tenants/" + existing.TenantID + "/credentials", existing.AdminToken},
			} {
				body := in
				if req.method == "PUT" {
					body = map[string]any{"personio": in["personio"], "staffomatic": in["staffomatic"]}
				}
				e.ssim.ResetCalls()
				r := e.do(t, req.method, req.path, req.token, body)
				var got apiError
				r.json(t, &got)
				if r.Code != http.StatusBadRequest || got.Error.Field != field || !strings.Contains(got.Error.Message, field) || !strings.Contains(got.Error.Message, tt.rule) {
					t.Fatalf("%s %s: %d %s; want 400 on %s saying %q", req.method, req.path, r.Code, r.Body, field, tt.rule)
				}
				if n := len(e.ssim.Calls()); n != 0 {
					t.Fatalf("%s %s called Staffomatic %d times", req.method, req.path, n)
				}
			}
		})
	}
	r := e.do(t, "GET", "/v1/tenants", operatorKey, nil)
	if strings.Count(string(r.Body), `"tenant_id"`) != 1 {
		t.Fatalf("a refused creation stored a tenant: %s", r.Body)
	}
	after, err := e.store.GetTenant(t.Context(), existing.TenantID)
	if err != nil || after.Version != before.Version || after.Personio != before.Personio || after.Staffomatic != before.Staffomatic {
		t.Fatalf("a refused update changed the tenant: %v\nbefore %+v\nafter  %+v", err, before, after)
	}
}

// A name the operator listed that resolves to a loopback address is refused when the
// verification connects: a 400 on the field, not an echo of whatever answers there.
func TestBaseURLResolvingToLoopbackIs400(t *testing.T) {
	e := newEnv(t)
	e.strictAPI(t, "http://localhost")
	e.psim.ResetCalls()
	port := e.pURL[strings.LastIndex(e.pURL, ":")+1:]
	in := e.demoInput()
	in["personio"].(map[string]any)["base_url"] = "http://localhost:" + port
	r := e.do(t, "POST", "/v1/tenants", operatorKey, in)
	var got apiError
	r.json(t, &got)
	if r.Code != http.StatusBadRequest || got.Error.Field != "personio.base_url" || !strings.Contains(got.Error.Message, "loopback") {
		t.Fatalf("%d %s; want 400 on personio.base_url naming the loopback rule", r.Code, r.Body)
	}
	if n := len(e.psim.Calls()); n != 0 {
		t.Fatalf("the Personio simulator got %d calls", n)
	}
}
