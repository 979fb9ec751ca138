package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DemoTenant is the tenant `make run` sets up against the simulators.
type DemoTenant struct {
	ID                string
	AdminToken        string
	PersonioToken     string
	StaffomaticSecret string
}

// createDemoTenant sets the demo company up exactly as an admin would, through the API:
// step 1 credentials (verified against the simulators), step 3 an auto-include rule for
// active and onboarding employees, step 4 invitations on. Background sync stays off, as
// for an admin who first looks (employees, checks, a dry run) and switches it on last:
// otherwise the first scheduled run (every 10 minutes for time tracking) would sync the
// account before the README's first look.
func createDemoTenant(ctx context.Context, base, operatorKey string, sb *Sandbox) (DemoTenant, error) {
	var created struct {
		TenantID       string `json:"tenant_id"`
		AdminToken     string `json:"admin_token"`
		WebhookSecrets struct {
			PersonioToken     string `json:"personio_token"`
			StaffomaticSecret string `json:"staffomatic_secret"`
		} `json:"webhook_secrets"`
	}
	body := map[string]any{
		"name": "Demo Gastro",
		"personio": map[string]string{
			"client_id": sb.Demo.PersonioClientID, "client_secret": sb.Demo.PersonioClientSecret, "base_url": sb.PersonioURL,
		},
		"staffomatic": map[string]string{
			"base_url": sb.StaffomaticURL, "subdomain": sb.Demo.StaffomaticSubdomain,
			"email": sb.Demo.StaffomaticEmail, "password": sb.Demo.StaffomaticPassword,
		},
	}
	if err := call(ctx, http.MethodPost, base+"/v1/tenants", operatorKey, body, http.StatusCreated, &created); err != nil {
		return DemoTenant{}, fmt.Errorf("create the demo tenant: %w", err)
	}
	t := DemoTenant{ID: created.TenantID, AdminToken: created.AdminToken,
		PersonioToken: created.WebhookSecrets.PersonioToken, StaffomaticSecret: created.WebhookSecrets.StaffomaticSecret}
	tenantURL := base + "/v1/tenants/" + t.ID
	selection := map[string]any{"auto_include": map[string]any{"statuses": []string{"active", "onboarding"}}}
	if err := call(ctx, http.MethodPut, tenantURL+"/selection", t.AdminToken, selection, http.StatusOK, nil); err != nil {
		return t, fmt.Errorf("select the demo employees: %w", err)
	}
	settings := map[string]any{"enable_background_sync": false, "invite_staffomatic_users": true,
		"personio_time_off_type_ids_for_vacation_days_deduction": sb.Demo.VacationTypeIDs,
		"personio_time_off_type_ids_for_paid_vacations":          sb.Demo.PaidTypeIDs,
		"fallback_personio_time_off_type_ids_for_entitlements":   sb.Demo.VacationTypeIDs}
	if err := call(ctx, http.MethodPut, tenantURL+"/settings", t.AdminToken, settings, http.StatusOK, nil); err != nil {
		return t, fmt.Errorf("set the demo settings: %w", err)
	}
	return t, nil
}

// call sends one JSON request with a bearer token and decodes the answer into out.
func call(ctx context.Context, method, url, token string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, url, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
