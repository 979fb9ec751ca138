package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSetUpTrail: changes of sources, settings, selection, credentials and webhook
// secrets are protocol entries of area setup naming the owner and what changed, never a
// secret value; a change that changes nothing is not told.
func TestSetUpTrail(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	steps := []struct {
		method, path string
		body         any
	}{
		{"PUT", base + "/sources", map[string]any{"absences": "staffomatic"}},
		{"PUT", base + "/sources", map[string]any{"absences": "staffomatic"}}, // no change
		{"PUT", base + "/settings", map[string]any{"propagate_deletions": true}},
		{"PUT", base + "/selection", map[string]any{"select": []string{"1016"}, "auto_include": map[string]any{"statuses": []string{"active"}}}},
		{"PUT", base + "/selection", map[string]any{"select": []string{"1016"}, "clear": []string{"1018"}, "auto_include": map[string]any{"statuses": []string{"active"}}}}, // no change
		{"PUT", base + "/credentials", map[string]any{"personio": map[string]any{"client_id": e.demo.PersonioClientID, "client_secret": e.demo.PersonioClientSecret},
			"staffomatic": map[string]any{"subdomain": e.demo.StaffomaticSubdomain, "email": e.demo.StaffomaticEmail, "password": e.demo.StaffomaticPassword}}},
		{"POST", base + "/webhook-secrets", nil},
	}
	for _, s := range steps {
		if r := e.do(t, s.method, s.path, c.AdminToken, s.body); r.Code != 200 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, r.Code, r.Body)
		}
	}
	r := e.do(t, "GET", base+"/protocol?area=setup", c.AdminToken, nil)
	var page struct {
		Entries []struct {
			Area, Action, Outcome, Reason string
		} `json:"entries"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, en := range page.Entries {
		if en.Area != "setup" || !strings.Contains(en.Reason, "by the owner "+e.demo.StaffomaticEmail) && !strings.Contains(en.Reason, "<"+e.demo.StaffomaticEmail+">") {
			t.Errorf("entry %+v", en)
		}
		if _, twice := got[en.Action]; twice {
			t.Errorf("%s told twice", en.Action)
		}
		got[en.Action] = en.Reason
	}
	want := map[string]string{
		"change_sources":         "absences: personio → staffomatic",
		"change_settings":        "propagate_deletions: false → true",
		"change_selection":       `switched on: 1016; auto-include rules set to {"match":"all","statuses":["active"]}`,
		"change_credentials":     "credentials replaced (values not recorded)",
		"rotate_webhook_secrets": "webhook secrets rotated",
	}
	if len(got) != len(want) {
		t.Fatalf("trail %v", got)
	}
	for action, part := range want {
		if !strings.Contains(got[action], part) {
			t.Errorf("%s: %q, want it to say %q", action, got[action], part)
		}
	}
	noSecrets(t, "set-up trail", string(r.Body), e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, c.AdminToken, c.WebhookSecrets.PersonioToken, c.WebhookSecrets.StaffomaticSecret)
}
