package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/seal"
)

// TestHandOverToAnotherAdmin hands the integration from the demo admin to a second
// Staffomatic admin of the same account: a staff member's credentials are refused with
// nothing changed; the new admin's credentials are verified against Staffomatic and
// stored sealed, the old admin token stops working, the new one works, and everything
// the background sync runs on (settings, selection, webhook secrets, the Personio
// credential) is left as it was.
func TestHandOverToAnotherAdmin(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	acc := e.ssim.Account(e.demo.StaffomaticSubdomain)
	const benPass, carlPass = "ben-staffomatic-pass", "carl-staffomatic-pass"
	ben, err := acc.AddUser(staffomaticsim.User{Email: "ben.berger@demo-gastro.example", Password: benPass, FirstName: "Ben", LastName: "Berger", Role: "admin", InvitationState: "accepted"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.AddUser(staffomaticsim.User{Email: "carl.clerk@demo-gastro.example", Password: carlPass, FirstName: "Carl", LastName: "Clerk", Role: "staff", InvitationState: "accepted"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "PUT", base+"/settings", c.AdminToken, `{"enable_background_sync":true}`); r.Code != 200 {
		t.Fatalf("settings: %d %s", r.Code, r.Body)
	}
	if r := e.do(t, "PUT", base+"/selection", c.AdminToken, `{"select":["1016","1017"],"auto_include":{"statuses":["active"]}}`); r.Code != 200 {
		t.Fatalf("selection: %d %s", r.Code, r.Body)
	}

	// A staff member cannot take over; a wrong password neither. Nothing changes.
	before := e.snapshot(t, c.TenantID)
	for _, bad := range []struct {
		body         map[string]any
		code, field  string
		wantedStatus int
	}{
		{map[string]any{"staffomatic": map[string]any{"email": "carl.clerk@demo-gastro.example", "password": carlPass}}, "staffomatic_not_admin", "staffomatic.email", 422},
		{map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": "not-bens"}}, "staffomatic_credentials_invalid", "staffomatic.password", 422},
		{map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": benPass, "token": "t"}}, "invalid_request", "staffomatic.token", 400},
		{map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": benPass}, "nmae": "Ben"}, "invalid_request", "nmae", 400},
		{map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": benPass}, "name": "Ben\nINFO forged line"}, "invalid_request", "name", 400},
		{map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": benPass}, "name": strings.Repeat("B", 201)}, "invalid_request", "name", 400},
	} {
		r := e.do(t, "POST", base+"/owner", c.AdminToken, bad.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != bad.wantedStatus || b.Error.Code != bad.code || b.Error.Field != bad.field || b.Error.Message == "" {
			t.Errorf("owner %v: %d %s, want %d %s field %s", bad.body, r.Code, r.Body, bad.wantedStatus, bad.code, bad.field)
		}
		noSecrets(t, "error", string(r.Body), benPass, carlPass, "not-bens")
	}
	if after := e.snapshot(t, c.TenantID); after != before {
		t.Fatalf("a refused hand-over changed the tenant:\n%s\n%s", before, after)
	}

	// The account's subdomain in another case is the same account.
	r := e.do(t, "POST", base+"/owner", c.AdminToken, map[string]any{"staffomatic": map[string]any{"email": ben.Email, "password": benPass,
		"subdomain": strings.ToUpper(e.demo.StaffomaticSubdomain)}})
	var ho struct {
		TenantID   string       `json:"tenant_id"`
		AdminToken string       `json:"admin_token"`
		Owner      domain.Owner `json:"owner"`
	}
	r.json(t, &ho)
	if r.Code != 200 || ho.TenantID != c.TenantID || ho.AdminToken == c.AdminToken || tokenTenant(ho.AdminToken) != c.TenantID ||
		ho.Owner != (domain.Owner{Email: ben.Email, Name: "Ben Berger"}) {
		t.Fatalf("hand-over: %d %s", r.Code, r.Body)
	}
	noSecrets(t, "hand-over answer", string(r.Body), benPass, e.demo.StaffomaticPassword, e.demo.PersonioClientSecret, c.AdminToken)

	// The old token is revoked everywhere, the new one acts on the tenant.
	for _, rt := range tenantRoutes(c.TenantID)[:4] {
		if rt[0] != "GET" {
			continue
		}
		if r := e.do(t, rt[0], rt[1], c.AdminToken, nil); r.Code != http.StatusUnauthorized {
			t.Errorf("old token on %s: %d", rt[1], r.Code)
		}
	}
	r = e.do(t, "GET", base, ho.AdminToken, nil)
	var v TenantView
	r.json(t, &v)
	if r.Code != 200 || v.Owner.Email != ben.Email || v.Staffomatic.AdminEmail != ben.Email {
		t.Fatalf("tenant after hand-over: %d %s", r.Code, r.Body)
	}

	// Background sync keeps running: still on, still scheduled, still listed for the
	// scheduler, same selection and webhook secrets; the stored credentials are Ben's and
	// open his account, the Personio credential is unchanged.
	if !v.Settings.EnableBackgroundSync || !v.BackgroundSync || len(v.NextRuns) == 0 {
		t.Errorf("background sync after hand-over: %+v, next runs %d", v.Settings, len(v.NextRuns))
	}
	scheduled := false
	if err := e.store.BackgroundTenants(t.Context(), 10, func(bt domain.Tenant) error {
		scheduled = scheduled || bt.ID == c.TenantID
		return nil
	}); err != nil || !scheduled {
		t.Errorf("tenant not among the background tenants after hand-over (%v)", err)
	}
	sel, _ := e.store.GetSelection(t.Context(), c.TenantID)
	if !sel.Employees["1016"] || !sel.Employees["1017"] || len(sel.Rules) != 1 {
		t.Errorf("selection after hand-over: %+v", sel)
	}
	wh := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", `{"event_name":"person.updated","payload":{"id":"1"}}`, "Authorization", c.WebhookSecrets.PersonioToken)
	if wh.Code != http.StatusAccepted {
		t.Errorf("webhook after hand-over: %d %s", wh.Code, wh.Body)
	}
	ten, err := e.store.GetTenant(t.Context(), c.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := seal.OpenCredentials(t.Context(), e.api.sealer, c.TenantID, ten.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	if creds.StaffomaticEmail != ben.Email || creds.StaffomaticPassword != benPass || creds.PersonioClientID != e.demo.PersonioClientID ||
		creds.PersonioClientSecret != e.demo.PersonioClientSecret || ten.AdminTokenHash != hashHex(ho.AdminToken) {
		t.Fatalf("stored credentials after hand-over: %v", creds)
	}
	_, s, err := e.api.clients(t.Context(), ten)
	if err != nil {
		t.Fatal(err)
	}
	me, err := s.CurrentUser(t.Context())
	if err != nil || me.ID != ben.ID {
		t.Fatalf("the sync's Staffomatic client acts as %d (%v), want Ben %d", me.ID, err, ben.ID)
	}
	noSecrets(t, "log", e.logs.String(), benPass, carlPass, ho.AdminToken, c.AdminToken, ten.AdminTokenHash)
	// The set-up trail tells the hand-over, as the previous owner's act.
	trail := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/protocol?area=setup", ho.AdminToken, nil)
	if !strings.Contains(string(trail.Body), "hand_over") || !strings.Contains(string(trail.Body), ben.Email) {
		t.Fatalf("set-up trail %s", trail.Body)
	}
	noSecrets(t, "set-up trail", string(trail.Body), benPass, carlPass, ho.AdminToken, c.AdminToken)
}

// TestHandOverToTheDemoSecondAdmin: the README's hand-over example works in the demo: the
// demo account's second admin signs in with the demo's password, takes the integration
// over, and the new admin token replaces the old one.
func TestHandOverToTheDemoSecondAdmin(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	r := e.do(t, "POST", base+"/owner", c.AdminToken, map[string]any{"staffomatic": map[string]any{"email": demo.SecondAdminEmail, "password": demo.SecondAdminPassword}})
	var out struct {
		AdminToken string `json:"admin_token"`
	}
	r.json(t, &out)
	if r.Code != http.StatusOK || out.AdminToken == "" {
		t.Fatalf("hand-over to the demo's second admin: %d %s", r.Code, r.Body)
	}
	var v TenantView
	e.do(t, "GET", base, out.AdminToken, nil).json(t, &v)
	if !strings.EqualFold(v.Owner.Email, demo.SecondAdminEmail) || v.Owner.Name != "Greta Gastgeber" {
		t.Fatalf("owner after hand-over: %+v", v.Owner)
	}
	if r := e.do(t, "GET", base, c.AdminToken, nil); r.Code != http.StatusUnauthorized {
		t.Fatalf("the old token after hand-over: %d", r.Code)
	}
}
