package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorsWriteNothing sends every tenant route that writes a failing request (invalid
// values, unknown fields, wrong types, bodies over 256 KB) and checks that the error names
// the field and says what to do, and that nothing was stored and nothing queued.
func TestErrorsWriteNothing(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	huge := `{"select":["` + strings.Repeat("1", MaxBodyBytes) + `"]}`
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"PUT", "/credentials", `{"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"}}`, 400, "personio"},
		{"PUT", "/credentials", `{"personio":{"client_id":"a","client_secret":"b"},"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"},"verify":"no"}`, 400, "verify"},
		{"PUT", "/credentials", `{"personio":{"client_id":"a","client_secret":"b","clientsecret":"c"},"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"}}`, 400, "clientsecret"},
		{"PUT", "/credentials", `{"personio":{"client_id":"a","client_secret":"wrong"},"staffomatic":{"subdomain":"` + e.demo.StaffomaticSubdomain + `","email":"` + e.demo.StaffomaticEmail + `","password":"` + e.demo.StaffomaticPassword + `"}}`, 422, "personio.client_secret"},
		{"PUT", "/sources", `{"timesheets":"excel"}`, 400, "timesheets"},
		{"PUT", "/sources", `{"absences":"personio","timesheets":"off","extra":1}`, 400, "extra"},
		{"PUT", "/sources", `{"absences":true}`, 400, "absences"},
		{"PUT", "/settings", `{"invite_staffomatic_users":1}`, 400, "invite_staffomatic_users"},
		{"PUT", "/settings", `{"enable_background_sync":true,"personio_time_off_type_ids_for_vacation_days_deduction":[424242]}`, 422, "personio_time_off_type_ids_for_vacation_days_deduction"},
		{"PUT", "/settings", `{"enable_background_sync":true,"propagate_deletion":true}`, 400, "propagate_deletion"},
		{"PUT", "/selection", `{"select":["1"],"deselect":["x"]}`, 400, "deselect"},
		{"PUT", "/selection", `{"select":["1"],"auto_include":{"attribute":{"key":"shift_planning","value":""}}}`, 400, "auto_include.attribute.value"},
		{"PUT", "/selection", `{"select":["1"],"auto_include":{"status":["active"]}}`, 400, "status"},
		{"POST", "/owner", `{"staffomatic":{"email":"` + e.demo.StaffomaticEmail + `","password":"wrong"}}`, 422, "staffomatic.password"},
		{"POST", "/owner", `{"staffomatic":{"email":"` + e.demo.StaffomaticEmail + `"}}`, 400, "staffomatic.password"},
		{"POST", "/sync/users", `{"mode":"targeted"}`, 400, "mode"},
		{"POST", "/sync/users", `{"dry_run":"yes"}`, 400, "dry_run"},
		{"POST", "/sync/all", `{"dryrun":true}`, 400, "dryrun"},
	}
	for _, route := range []string{"PUT /credentials", "PUT /sources", "PUT /settings", "PUT /selection", "POST /owner", "POST /sync/users", "POST /webhook-secrets"} {
		m, p, _ := strings.Cut(route, " ")
		cases = append(cases, struct {
			method, path, body string
			status             int
			field              string
		}{m, p, huge, 413, ""})
	}
	before := e.snapshot(t, c.TenantID)
	for _, cs := range cases {
		r := e.do(t, cs.method, base+cs.path, c.AdminToken, cs.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != cs.status || b.Error.Field != cs.field || len(b.Error.Message) < 10 {
			t.Errorf("%s %s %.80s: %d %s, want %d field %q", cs.method, cs.path, cs.body, r.Code, r.Body, cs.status, cs.field)
		}
		// A validation error names the field in its message too; a vendor's refusal says
		// what to check instead.
		if last := cs.field[strings.LastIndex(cs.field, ".")+1:]; cs.status == 400 && last != "" && !strings.Contains(b.Error.Message, last) {
			t.Errorf("%s %s: the message does not name %s: %s", cs.method, cs.path, cs.field, b.Error.Message)
		}
		if after := e.snapshot(t, c.TenantID); after != before {
			t.Fatalf("%s %s %.80s (%d) changed the tenant:\n%s\n%s", cs.method, cs.path, cs.body, r.Code, before, after)
		}
	}
	if evs := e.events(); len(evs) != 0 {
		t.Fatalf("refused requests queued %+v", evs)
	}

	// A body of unknown length (chunked) is cut at 256 KB as well.
	req := httptest.NewRequest("PUT", base+"/selection", strings.NewReader(huge))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), `"body_too_large"`) {
		t.Fatalf("chunked oversized body: %d %s", rec.Code, rec.Body)
	}
	if after := e.snapshot(t, c.TenantID); after != before {
		t.Fatal("an oversized chunked body changed the tenant")
	}
}

// TestDuplicateAndMiscasedKeysRefused sends bodies encoding/json would accept silently: a
// key given twice (the last one won) and a field name in another case (matched without
// case, though the document allows no such property). Each is a 400 naming the field;
// nothing is stored or queued, and no tenant is created.
func TestDuplicateAndMiscasedKeysRefused(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	creds := `"personio":{"client_id":"` + e.demo.PersonioClientID + `","client_secret":"` + e.demo.PersonioClientSecret + `"},"staffomatic":{"subdomain":"` +
		e.demo.StaffomaticSubdomain + `","email":"` + e.demo.StaffomaticEmail + `","password":"` + e.demo.StaffomaticPassword + `"}`
	cases := []struct {
		method, path, token, body, field string
	}{
		{"POST", "/v1/tenants", operatorKey, `{"name":"Other GmbH",` + creds + `,"Verify":false}`, "Verify"},
		{"POST", "/v1/tenants", operatorKey, `{"name":"Other GmbH",` + creds + `,"verify":true,"verify":false}`, "verify"},
		{"POST", "/v1/tenants", operatorKey, `{"name":"Other GmbH","NAME":"Third GmbH",` + creds + `}`, "NAME"},
		{"POST", "/v1/tenants", operatorKey, `{"name":"Other GmbH\nlevel=ERROR forged",` + creds + `}`, "name"},
		{"PUT", base + "/credentials", c.AdminToken, `{"personio":{"client_id":"a","Client_Secret":"b"},"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"},"verify":false}`, "personio.Client_Secret"},
		{"PUT", base + "/credentials", c.AdminToken, `{"personio":{"client_id":"a","client_secret":"b","client_id":"c"},"staffomatic":{"subdomain":"x","email":"a@b.c","password":"p"},"verify":false}`, "personio.client_id"},
		{"PUT", base + "/sources", c.AdminToken, `{"ABSENCES":"staffomatic"}`, "ABSENCES"},
		{"PUT", base + "/sources", c.AdminToken, `{"absences":"personio","absences":"staffomatic"}`, "absences"},
		{"PUT", base + "/settings", c.AdminToken, `{"Enable_Background_Sync":true}`, "Enable_Background_Sync"},
		{"PUT", base + "/settings", c.AdminToken, `{"enable_background_sync":false,"enable_background_sync":true}`, "enable_background_sync"},
		{"PUT", base + "/selection", c.AdminToken, `{"select":["1"],"auto_include":{"Statuses":["active"]}}`, "auto_include.Statuses"},
		{"PUT", base + "/selection", c.AdminToken, `{"select":["1"],"select":["2"]}`, "select"},
		{"POST", base + "/sync/users", c.AdminToken, `{"Dry_Run":true}`, "Dry_Run"},
		{"POST", base + "/sync/users", c.AdminToken, `{"dry_run":true,"dry_run":false}`, "dry_run"},
	}
	before := e.snapshot(t, c.TenantID)
	for _, cs := range cases {
		r := e.do(t, cs.method, cs.path, cs.token, cs.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != 400 || b.Error.Code != "invalid_request" || b.Error.Field != cs.field || !strings.Contains(b.Error.Message, cs.field) {
			t.Errorf("%s %s %.90s: %d %s, want 400 naming %s", cs.method, cs.path, cs.body, r.Code, r.Body, cs.field)
		}
		if after := e.snapshot(t, c.TenantID); after != before {
			t.Fatalf("%s %s %.80s changed the tenant", cs.method, cs.path, cs.body)
		}
	}
	if evs := e.events(); len(evs) != 0 {
		t.Fatalf("refused requests queued %+v", evs)
	}
	if n := e.countTenants(t); n != 1 {
		t.Fatalf("%d tenants after refused creations", n)
	}
	// Keys of the same name in different objects are not duplicates.
	if r := e.do(t, "POST", "/v1/tenants", operatorKey, `{"name":"Other GmbH",`+creds+`}`); r.Code != 201 {
		t.Fatalf("valid creation: %d %s", r.Code, r.Body)
	}
}
