package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

// tenantRoutes are every route of one tenant with a body that succeeds.
func tenantRoutes(id string) [][3]string {
	return [][3]string{
		{"GET", "/v1/tenants/" + id, ""},
		{"PUT", "/v1/tenants/" + id + "/credentials", ""},
		{"PUT", "/v1/tenants/" + id + "/sources", `{"absences":"personio"}`},
		{"GET", "/v1/tenants/" + id + "/employees", ""},
		{"PUT", "/v1/tenants/" + id + "/selection", `{"select":["1"]}`},
		{"PUT", "/v1/tenants/" + id + "/settings", `{"invite_staffomatic_users":true}`},
		{"POST", "/v1/tenants/" + id + "/owner", ""},
		{"POST", "/v1/tenants/" + id + "/webhook-secrets", ""},
		{"POST", "/v1/tenants/" + id + "/sync/users", ""},
		{"GET", "/v1/tenants/" + id + "/runs", ""},
		{"GET", "/v1/tenants/" + id + "/runs/20260301T100000.000000000Z-users-abcd", ""},
		{"GET", "/v1/tenants/" + id + "/protocol?area=users", ""},
		{"GET", "/v1/tenants/" + id + "/checks", ""},
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	a := e.createDemo(t)
	b := e.createDemo(t)
	for _, rt := range tenantRoutes(a.TenantID) {
		name := rt[0] + " " + rt[1]
		t.Run(name, func(t *testing.T) {
			before := e.snapshot(t, a.TenantID)
			cases := []struct {
				token  string
				status int
				code   string
			}{
				{"", 401, "unauthorized"},
				{"garbage", 401, "unauthorized"},
				{"sst_" + a.TenantID + ".wrong", 401, "unauthorized"},
				{b.AdminToken, 403, "forbidden"},
				{operatorKey, 403, "forbidden"},
			}
			for _, c := range cases {
				r := e.do(t, rt[0], rt[1], c.token, rt[2])
				if r.Code != c.status || r.errCode(t) != c.code {
					t.Errorf("token %.10q: %d %s, want %d %s", c.token, r.Code, r.Body, c.status, c.code)
				}
				if c.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
			if after := e.snapshot(t, a.TenantID); after != before {
				t.Errorf("a refused request changed the tenant:\n%s\n%s", before, after)
			}
		})
	}
	// Operator-only routes refuse tenant tokens and bad keys.
	for _, rt := range [][3]string{{"POST", "/v1/tenants", `{"name":"x"}`}, {"GET", "/v1/tenants", ""}} {
		for _, c := range []struct {
			token  string
			status int
		}{{"", 401}, {"nope", 401}, {a.AdminToken, 403}} {
			if r := e.do(t, rt[0], rt[1], c.token, rt[2]); r.Code != c.status {
				t.Errorf("%s %s with %.10q: %d %s", rt[0], rt[1], c.token, r.Code, r.Body)
			}
		}
	}
	if n := e.countTenants(t); n != 2 {
		t.Errorf("%d tenants after refused creations", n)
	}
}

// snapshot is everything stored about a tenant that a route could change.
func (e *env) snapshot(t *testing.T, id string) string {
	t.Helper()
	ten, err := e.store.GetTenant(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := e.store.GetSelection(t.Context(), id)
	wh, _ := e.store.GetWebhookSecrets(t.Context(), id)
	runs, _ := e.store.ListRuns(t.Context(), id, 100, "")
	b, _ := json.Marshal([]any{ten, ten.AdminTokenHash, sel, wh, runs})
	return string(b)
}

func (e *env) countTenants(t *testing.T) int {
	n := 0
	if err := e.store.ListTenants(t.Context(), func(domain.Tenant) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateTenantValidation(t *testing.T) {
	e := newEnv(t)
	ok := e.demoInput()
	with := func(f func(m map[string]any)) map[string]any {
		b, _ := json.Marshal(ok)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		f(m)
		return m
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"not json", "{", 400, "invalid_request", ""},
		{"empty", "", 400, "invalid_request", ""},
		{"unknown field", with(func(m map[string]any) { m["nmae"] = "x" }), 400, "invalid_request", "nmae"},
		{"unknown nested field", with(func(m map[string]any) { m["personio"].(map[string]any)["secret"] = "x" }), 400, "invalid_request", "secret"},
		{"wrong type", with(func(m map[string]any) { m["verify"] = "yes" }), 400, "invalid_request", "verify"},
		{"no name", with(func(m map[string]any) { delete(m, "name") }), 400, "invalid_request", "name"},
		{"no personio", with(func(m map[string]any) { delete(m, "personio") }), 400, "invalid_request", "personio"},
		{"no client id", with(func(m map[string]any) { delete(m["personio"].(map[string]any), "client_id") }), 400, "invalid_request", "personio.client_id"},
		{"no client secret", with(func(m map[string]any) { delete(m["personio"].(map[string]any), "client_secret") }), 400, "invalid_request", "personio.client_secret"},
		{"bad personio url", with(func(m map[string]any) { m["personio"].(map[string]any)["base_url"] = "ftp://x" }), 400, "invalid_request", "personio.base_url"},
		{"file and personio", with(func(m map[string]any) { m["personio_credentials_file"] = "client_id: a\nclient_secret: b" }), 400, "invalid_request", "personio_credentials_file"},
		{"bad file", with(func(m map[string]any) { delete(m, "personio"); m["personio_credentials_file"] = "hello" }), 422, "invalid_credentials_file", "personio_credentials_file"},
		{"no staffomatic", with(func(m map[string]any) { delete(m, "staffomatic") }), 400, "invalid_request", "staffomatic"},
		{"no subdomain", with(func(m map[string]any) { delete(m["staffomatic"].(map[string]any), "subdomain") }), 400, "invalid_request", "staffomatic.subdomain"},
		{"bad email", with(func(m map[string]any) { m["staffomatic"].(map[string]any)["email"] = "ada" }), 400, "invalid_request", "staffomatic.email"},
		{"no password", with(func(m map[string]any) { delete(m["staffomatic"].(map[string]any), "password") }), 400, "invalid_request", "staffomatic.password"},
		{"password and token", with(func(m map[string]any) { m["staffomatic"].(map[string]any)["token"] = "t" }), 400, "invalid_request", "staffomatic.token"},
		{"personio url with credentials", with(func(m map[string]any) {
			m["personio"].(map[string]any)["base_url"] = "https://u:SECRET-in-url@api.personio.example"
		}), 400, "invalid_request", "personio.base_url"},
		{"staffomatic url with credentials", with(func(m map[string]any) {
			m["staffomatic"].(map[string]any)["base_url"] = "https://ada:SECRET-in-url@api.staffomatic.example/v3"
		}), 400, "invalid_request", "staffomatic.base_url"},
		{"unparseable url with credentials", with(func(m map[string]any) {
			m["staffomatic"].(map[string]any)["base_url"] = "https://ada:SECRET-in-url@[::1/v3"
		}), 400, "invalid_request", "staffomatic.base_url"},
		{"partner id with a line break", with(func(m map[string]any) { m["personio"].(map[string]any)["partner_id"] = "ACME\r\nX-Other: 1" }), 400, "invalid_request", "personio.partner_id"},
		{"app id with a control character", with(func(m map[string]any) {
			m["personio"].(map[string]any)["app_id"] = "STAFF\u0000SYNC"
			m["verify"] = false
		}), 400, "invalid_request", "personio.app_id"},
		{"personio url with a port beyond 65535", with(func(m map[string]any) {
			m["personio"].(map[string]any)["base_url"] = "https://api.personio.example:99999"
		}), 400, "invalid_request", "personio.base_url"},
		{"staffomatic url with port 0", with(func(m map[string]any) {
			m["staffomatic"].(map[string]any)["base_url"] = "http://127.0.0.1:0/v3"
			m["verify"] = false
		}), 400, "invalid_request", "staffomatic.base_url"},
		{"bad staffomatic url", with(func(m map[string]any) { m["staffomatic"].(map[string]any)["base_url"] = "x" }), 400, "invalid_request", "staffomatic.base_url"},
		{"wrong personio secret", with(func(m map[string]any) { m["personio"].(map[string]any)["client_secret"] = "wrong" }), 422, "personio_credentials_invalid", "personio.client_secret"},
		{"wrong staffomatic password", with(func(m map[string]any) { m["staffomatic"].(map[string]any)["password"] = "wrong" }), 422, "staffomatic_credentials_invalid", "staffomatic.password"},
		{"unknown account", with(func(m map[string]any) { m["staffomatic"].(map[string]any)["subdomain"] = "nobody" }), 422, "staffomatic_account_not_found", "staffomatic.subdomain"},
		{"too large", `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, "body_too_large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/v1/tenants", operatorKey, c.body)
			var b struct{ Error Error }
			r.json(t, &b)
			if r.Code != c.status || (c.code != "" && b.Error.Code != c.code) || b.Error.Field != c.field {
				t.Fatalf("%d %s, want %d %s field %q", r.Code, r.Body, c.status, c.code, c.field)
			}
			noSecrets(t, "error", string(r.Body), e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, "SECRET-in-url")
		})
	}
	if n := e.countTenants(t); n != 0 {
		t.Fatalf("%d tenants stored by failed creations", n)
	}
	// Without verification, wrong credentials are stored as given; the file form works.
	r := e.do(t, "POST", "/v1/tenants", operatorKey, with(func(m map[string]any) {
		delete(m, "personio")
		m["personio_credentials_file"] = `{"client_id":"` + e.demo.PersonioClientID + `","client_secret":"` + e.demo.PersonioClientSecret + `"}`
		m["verify"] = false
	}))
	var c TenantCreated
	r.json(t, &c)
	if r.Code != 201 || c.Verified {
		t.Fatalf("unverified creation: %d %s", r.Code, r.Body)
	}
	ten, _ := e.store.GetTenant(t.Context(), c.TenantID)
	if ten.Personio.ClientID != e.demo.PersonioClientID {
		t.Fatalf("file credentials not used: %+v", ten.Personio)
	}
}

func TestMissingPersonioAttributesReported(t *testing.T) {
	e := newEnv(t)
	if err := e.psim.SetAttributeWhitelist(e.demo.PersonioClientID, []string{"first_name", "last_name", "email", "status"}); err != nil {
		t.Fatal(err)
	}
	c := e.createDemo(t)
	keys := map[string]bool{}
	for _, m := range c.MissingPersonioAttributes {
		keys[m.Key] = true
	}
	if !keys["hire_date"] || !keys["department"] || keys["email"] {
		t.Fatalf("missing %+v", c.MissingPersonioAttributes)
	}
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/checks", c.AdminToken, nil)
	var ch Checks
	r.json(t, &ch)
	if r.Code != 200 || ch.OK || len(ch.MissingPersonioAttributes) != len(c.MissingPersonioAttributes) {
		t.Fatalf("checks %d %s", r.Code, r.Body)
	}
}

func TestListTenantsPaginated(t *testing.T) {
	e := newEnv(t)
	ids := map[string]bool{}
	for range 3 {
		ids[e.createDemo(t).TenantID] = true
	}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		r := e.do(t, "GET", "/v1/tenants?limit=2&cursor="+cursor, operatorKey, nil)
		var out struct {
			Tenants    []TenantListItem
			NextCursor string `json:"next_cursor"`
		}
		r.json(t, &out)
		if r.Code != 200 || len(out.Tenants) > 2 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		for _, tn := range out.Tenants {
			seen[tn.TenantID] = true
		}
		if cursor = out.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Fatalf("saw %v of %v", seen, ids)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?cursor=***"} {
		if r := e.do(t, "GET", "/v1/tenants"+q, operatorKey, nil); r.Code != 400 {
			t.Errorf("%s: %d", q, r.Code)
		}
	}
}

func TestSourcesAndSettings(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	for _, bad := range []struct{ body, field string }{
		{`{}`, ""}, {`{"timesheets":"personio"}`, "timesheets"}, {`{"absences":"excel"}`, "absences"}, {`{"timesheet":"off"}`, "timesheet"},
	} {
		r := e.do(t, "PUT", base+"/sources", c.AdminToken, bad.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != 400 || b.Error.Field != bad.field {
			t.Errorf("sources %s: %d %s", bad.body, r.Code, r.Body)
		}
	}
	r := e.do(t, "PUT", base+"/sources", c.AdminToken, `{"timesheets":"off","absences":"staffomatic"}`)
	if r.Code != 200 || !strings.Contains(string(r.Body), `"timesheets":"off"`) {
		t.Fatalf("sources: %d %s", r.Code, r.Body)
	}
	ten, _ := e.store.GetTenant(t.Context(), c.TenantID)
	if ten.Sources.TimeTracking || ten.Sources.Absences != domain.SystemStaffomatic {
		t.Fatalf("stored sources %+v", ten.Sources)
	}

	types, err := e.psimTypes(t, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"enable_background_sync":"yes"}`, 400, "enable_background_sync"},
		{`{"enable_backgroud_sync":true}`, 400, "enable_backgroud_sync"},
		{`{"personio_time_off_type_ids_for_paid_vacations":[-1]}`, 422, "personio_time_off_type_ids_for_paid_vacations"},
		{fmt.Sprintf(`{"personio_time_off_type_ids_for_paid_vacations":[%d,%d]}`, types[0], types[0]), 422, "personio_time_off_type_ids_for_paid_vacations"},
		{`{"fallback_personio_time_off_type_ids_for_entitlements":[987654]}`, 422, "fallback_personio_time_off_type_ids_for_entitlements"},
	} {
		r := e.do(t, "PUT", base+"/settings", c.AdminToken, bad.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != bad.status || b.Error.Field != bad.field {
			t.Errorf("settings %s: %d %s", bad.body, r.Code, r.Body)
		}
	}
	r = e.do(t, "PUT", base+"/settings", c.AdminToken, fmt.Sprintf(`{"enable_background_sync":true,"propagate_deletions":true,"include_personio_teams":true,"personio_time_off_type_ids_for_paid_vacations":[%d]}`, types[0]))
	if r.Code != 200 {
		t.Fatalf("settings: %d %s", r.Code, r.Body)
	}
	ten, _ = e.store.GetTenant(t.Context(), c.TenantID)
	want := domain.DefaultSettings()
	want.EnableBackgroundSync, want.PropagateDeletions, want.IncludePersonioTeams, want.PersonioTimeOffTypeIDsForPaidVacations = true, true, true, []int64{types[0]}
	if got, _ := json.Marshal(ten.Settings); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("stored settings %s, want %s", got, must(json.Marshal(want)))
	}
	// Background sync on: the next scheduled runs are shown, without timesheets (time
	// tracking was switched off above).
	r = e.do(t, "GET", base, c.AdminToken, nil)
	var v TenantView
	r.json(t, &v)
	lines := 0
	for _, s := range domain.Timetable {
		if s.Phase != domain.PhaseTimesheets {
			lines++
		}
	}
	if len(v.NextRuns) != lines || !v.BackgroundSync || v.NextRuns[0].At.Before(time.Now()) {
		t.Fatalf("next runs %+v", v.NextRuns)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// psimTypes reads the demo's Personio time-off type ids through the tenant's client.
func (e *env) psimTypes(t *testing.T, c TenantCreated) ([]int64, error) {
	ten, err := e.store.GetTenant(t.Context(), c.TenantID)
	if err != nil {
		return nil, err
	}
	p, _, err := e.api.clients(t.Context(), ten)
	if err != nil {
		return nil, err
	}
	types, err := p.TimeOffTypes(t.Context())
	ids := make([]int64, len(types))
	for i, ty := range types {
		ids[i] = ty.ID
	}
	return ids, err
}

func TestEmployeesSelectionAndChecks(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	r := e.do(t, "GET", base+"/employees", c.AdminToken, nil)
	var out struct {
		Employees  []EmployeeView
		NextCursor string `json:"next_cursor"`
	}
	r.json(t, &out)
	if r.Code != 200 || len(out.Employees) != e.demo.Employees || out.NextCursor != "" {
		t.Fatalf("employees: %d, %d of %d", r.Code, len(out.Employees), e.demo.Employees)
	}
	byEmail := map[string]EmployeeView{}
	for _, em := range out.Employees {
		byEmail[strings.ToLower(em.Email)] = em
		if em.Selected {
			t.Errorf("%s selected before any switch", em.PersonioID)
		}
	}
	for _, u := range e.demo.ExistingUsers {
		if u.PersonioEmployeeID == 0 {
			continue
		}
		em := out.Employees[0]
		for _, x := range out.Employees {
			if x.PersonioID == fmt.Sprint(u.PersonioEmployeeID) {
				em = x
			}
		}
		if em.StaffomaticUserID != fmt.Sprint(u.StaffomaticUserID) || string(em.Match) != string(u.Match) {
			t.Errorf("existing user %d: employee %+v, want match %s", u.StaffomaticUserID, em, u.Match)
		}
	}
	// Pagination and the status filter.
	r = e.do(t, "GET", base+"/employees?limit=10", c.AdminToken, nil)
	r.json(t, &out)
	if len(out.Employees) != 10 || out.NextCursor == "" {
		t.Fatalf("page 1: %d %q", len(out.Employees), out.NextCursor)
	}
	r = e.do(t, "GET", base+"/employees?limit=10&cursor="+out.NextCursor, c.AdminToken, nil)
	r.json(t, &out)
	if r.Code != 200 || len(out.Employees) != 10 {
		t.Fatalf("page 2: %d", len(out.Employees))
	}
	r = e.do(t, "GET", base+"/employees?personio_status=active", c.AdminToken, nil)
	r.json(t, &out)
	for _, em := range out.Employees {
		if em.PersonioStatus != "active" {
			t.Errorf("status filter let %s through", em.PersonioStatus)
		}
	}
	for _, q := range []string{"?personio_status=retired", "?cursor=zzz", "?limit=9999"} {
		if r := e.do(t, "GET", base+"/employees"+q, c.AdminToken, nil); r.Code != 400 {
			t.Errorf("%s: %d", q, r.Code)
		}
	}

	// Selection: validation, then switches and rules.
	first, second := out.Employees[0], out.Employees[1]
	for _, bad := range []struct{ body, field string }{
		{`{}`, ""}, {`{"select":["abc"]}`, "select"}, {`{"select":["1"],"deselect":["1"]}`, "deselect"},
		{`{"auto_include":{"attribute":{"key":"","value":"x"}}}`, "auto_include.attribute.key"},
		{`{"auto_include":{"statuses":[" "]}}`, "auto_include.statuses"}, {`{"selct":["1"]}`, "selct"},
	} {
		r := e.do(t, "PUT", base+"/selection", c.AdminToken, bad.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != 400 || b.Error.Field != bad.field {
			t.Errorf("selection %s: %d %s", bad.body, r.Code, r.Body)
		}
	}
	r = e.do(t, "PUT", base+"/selection", c.AdminToken, map[string]any{"select": []string{first.PersonioID}, "deselect": []string{second.PersonioID},
		"auto_include": map[string]any{"statuses": []string{"active"}}})
	var sel SelectionView
	r.json(t, &sel)
	if r.Code != 200 || len(sel.Selected) != 1 || len(sel.Deselected) != 1 || len(sel.AutoInclude.Statuses) != 1 {
		t.Fatalf("selection: %d %s", r.Code, r.Body)
	}
	r = e.do(t, "GET", base+"/employees", c.AdminToken, nil)
	r.json(t, &out)
	for _, em := range out.Employees {
		want := em.PersonioStatus == "active"
		switch em.PersonioID {
		case first.PersonioID:
			want = true
		case second.PersonioID:
			want = false
		}
		if em.Selected != want {
			t.Errorf("%s (%s) selected=%v", em.PersonioID, em.PersonioStatus, em.Selected)
		}
	}

	r = e.do(t, "GET", base+"/checks", c.AdminToken, nil)
	var ch Checks
	r.json(t, &ch)
	if r.Code != 200 || len(ch.UnmatchedTimeOffTypes) != 1 || ch.UnmatchedTimeOffTypes[0] != e.demo.MissingCategory || len(ch.UnmatchedAbsenceCategories) != 0 {
		t.Fatalf("checks: %d %s", r.Code, r.Body)
	}
	// With Staffomatic leading absences, a category without a same-named Personio type is
	// listed instead (the absence sync reports it in the protocol), and checks are not ok;
	// a Personio type without a category holds nothing back then.
	if r = e.do(t, "PUT", base+"/sources", c.AdminToken, `{"absences":"staffomatic"}`); r.Code != 200 {
		t.Fatalf("sources: %d %s", r.Code, r.Body)
	}
	r = e.do(t, "GET", base+"/checks", c.AdminToken, nil)
	ch = Checks{}
	r.json(t, &ch)
	if r.Code != 200 || ch.OK || !slices.Equal(ch.UnmatchedAbsenceCategories, []string{e.demo.MissingType}) || len(ch.UnmatchedTimeOffTypes) != 0 {
		t.Fatalf("checks with Staffomatic leading: %d %s", r.Code, r.Body)
	}
}

func TestOwnerHandOverAndRotation(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	for _, bad := range []struct {
		body   string
		status int
		field  string
	}{
		{`{}`, 400, "staffomatic"},
		{`{"staffomatic":{"email":"x"}}`, 400, "staffomatic.email"},
		{`{"staffomatic":{"email":"ada@x.example","password":"p","subdomain":"other"}}`, 422, "staffomatic.subdomain"},
		{`{"staffomatic":{"email":"` + e.demo.StaffomaticEmail + `","password":"wrong"}}`, 422, "staffomatic.password"},
	} {
		r := e.do(t, "POST", base+"/owner", c.AdminToken, bad.body)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != bad.status || b.Error.Field != bad.field {
			t.Errorf("owner %s: %d %s", bad.body, r.Code, r.Body)
		}
	}
	r := e.do(t, "POST", base+"/owner", c.AdminToken, map[string]any{"name": "Ada Next", "staffomatic": map[string]any{"email": e.demo.StaffomaticEmail, "password": e.demo.StaffomaticPassword}})
	var ho struct {
		AdminToken string `json:"admin_token"`
		Owner      domain.Owner
	}
	r.json(t, &ho)
	if r.Code != 200 || ho.AdminToken == "" || ho.AdminToken == c.AdminToken || ho.Owner.Name != "Ada Next" {
		t.Fatalf("hand-over: %d %s", r.Code, r.Body)
	}
	if r := e.do(t, "GET", base, c.AdminToken, nil); r.Code != 401 {
		t.Fatalf("old token after hand-over: %d", r.Code)
	}
	if r := e.do(t, "GET", base, ho.AdminToken, nil); r.Code != 200 {
		t.Fatalf("new token: %d", r.Code)
	}

	old, _ := e.store.GetWebhookSecrets(t.Context(), c.TenantID)
	r = e.do(t, "POST", base+"/webhook-secrets", ho.AdminToken, nil)
	var rot struct {
		WebhookSecrets WebhookSecrets `json:"webhook_secrets"`
	}
	r.json(t, &rot)
	if r.Code != 200 || rot.WebhookSecrets.PersonioToken == c.WebhookSecrets.PersonioToken || rot.WebhookSecrets.StaffomaticSecret == c.WebhookSecrets.StaffomaticSecret {
		t.Fatalf("rotate: %d %s", r.Code, r.Body)
	}
	now, _ := e.store.GetWebhookSecrets(t.Context(), c.TenantID)
	if now.PersonioTokenHash == old.PersonioTokenHash || now.PersonioTokenHash != hashHex(rot.WebhookSecrets.PersonioToken) {
		t.Fatal("rotation not stored")
	}
}

func TestPutCredentials(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/tenants/" + c.TenantID + "/credentials"
	in := e.demoInput()
	delete(in, "name")
	in["personio"].(map[string]any)["client_secret"] = "wrong"
	before := e.snapshot(t, c.TenantID)
	if r := e.do(t, "PUT", path, c.AdminToken, in); r.Code != 422 {
		t.Fatalf("wrong secret: %d %s", r.Code, r.Body)
	}
	if r := e.do(t, "PUT", path, c.AdminToken, `{"name":"x"}`); r.Code != 400 {
		t.Fatalf("unknown field: %d %s", r.Code, r.Body)
	}
	if e.snapshot(t, c.TenantID) != before {
		t.Fatal("failed credential update changed the tenant")
	}
	in["personio"].(map[string]any)["client_secret"] = e.demo.PersonioClientSecret
	r := e.do(t, "PUT", path, c.AdminToken, in)
	if r.Code != 200 || !strings.Contains(string(r.Body), `"verified":true`) {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
}

func TestRunsAndDryRunPlan(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	for _, bad := range []struct {
		path, body string
		status     int
	}{
		{"/sync/everything", "", 404}, {"/sync/users", `{"mode":"targeted"}`, 400}, {"/sync/users", `{"dryrun":true}`, 400},
		{"/runs?phase=x", "", 400}, {"/runs?cursor=***", "", 400}, {"/runs/nope", "", 404},
		{"/runs/20260301T100000.000000000Z-users-abcd", "", 404},
	} {
		method := "POST"
		if strings.HasPrefix(bad.path, "/runs") {
			method = "GET"
		}
		if r := e.do(t, method, base+bad.path, c.AdminToken, bad.body); r.Code != bad.status {
			t.Errorf("%s %s: %d %s", method, bad.path, r.Code, r.Body)
		}
	}
	r := e.do(t, "POST", base+"/sync/users", c.AdminToken, `{"dry_run":true}`)
	var q struct {
		RunIDs []string `json:"run_ids"`
	}
	r.json(t, &q)
	if r.Code != 202 || len(q.RunIDs) != 1 {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	e.do(t, "POST", base+"/sync/absences", c.AdminToken, nil)
	id := q.RunIDs[0]
	// What the phase harness stores for a dry run: the summary and the plan as protocol.
	run, err := e.store.GetRun(t.Context(), c.TenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	run.Status, run.StartedAt, run.FinishedAt, run.Counts = domain.RunSucceeded, time.Now(), time.Now(), map[domain.Outcome]int{domain.OutcomePlanned: 3}
	if err := e.store.PutRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := e.store.AppendProtocol(t.Context(), domain.ProtocolEntry{Tenant: c.TenantID, Area: domain.AreaUsers, RunID: id, Kind: domain.KindUser,
			SourceID: fmt.Sprint(100 + i), Action: "create_user", Outcome: domain.OutcomePlanned, Reason: "will create user: no matching user", Time: time.Now().Add(time.Duration(i) * time.Millisecond),
			Person: "Anna Berg", Changes: []domain.FieldChange{{Field: "first_name", To: "Anna"}}, Writes: 1 + i}); err != nil {
			t.Fatal(err)
		}
	}
	r = e.do(t, "GET", base+"/runs/"+id+"?limit=2", c.AdminToken, nil)
	var d RunDetail
	r.json(t, &d)
	if r.Code != 200 || d.Status != domain.RunSucceeded || d.Plan == nil || len(d.Plan.Actions) != 2 || d.Plan.NextCursor == "" || d.Plan.Actions[0].SourceID != "100" ||
		d.Plan.Actions[0].Person != "Anna Berg" || len(d.Plan.Actions[0].Changes) != 1 || d.Plan.Actions[0].Changes[0].To != "Anna" ||
		d.Plan.Actions[0].Writes != 1 || d.Plan.Actions[1].Writes != 2 || !strings.Contains(string(r.Body), `"writes":2`) {
		t.Fatalf("run: %d %s", r.Code, r.Body)
	}
	r = e.do(t, "GET", base+"/runs/"+id+"?limit=2&cursor="+d.Plan.NextCursor, c.AdminToken, nil)
	r.json(t, &d)
	if len(d.Plan.Actions) != 1 || d.Plan.Actions[0].SourceID != "102" {
		t.Fatalf("plan page 2: %s", r.Body)
	}
	r = e.do(t, "GET", base+"/runs?phase=users", c.AdminToken, nil)
	var rl struct{ Runs []RunView }
	r.json(t, &rl)
	if r.Code != 200 || len(rl.Runs) != 1 || rl.Runs[0].RunID != id {
		t.Fatalf("runs: %s", r.Body)
	}
	r = e.do(t, "GET", base+"/runs", c.AdminToken, nil)
	r.json(t, &rl)
	// Newest first: by the second queued, then a run not started before one that has.
	if len(rl.Runs) != 2 || rl.Runs[0].RunID[:16] < rl.Runs[1].RunID[:16] ||
		rl.Runs[0].RunID[:16] == rl.Runs[1].RunID[:16] && rl.Runs[0].StartedAt != nil && rl.Runs[1].StartedAt == nil {
		t.Fatalf("runs newest first: %s", r.Body)
	}
	r = e.do(t, "GET", base, c.AdminToken, nil)
	var v TenantView
	r.json(t, &v)
	if v.LastRuns[domain.PhaseUsers] == nil || v.LastRuns[domain.PhaseUsers].RunID != id || v.LastRuns[domain.PhaseWorkspaces] != nil {
		t.Fatalf("last runs %s", r.Body)
	}
}

func TestProtocol(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID + "/protocol"
	now := time.Now().UTC()
	for i := range 5 {
		if err := e.store.AppendProtocol(t.Context(), domain.ProtocolEntry{Tenant: c.TenantID, Area: domain.AreaTimesheets, RunID: "r", Kind: domain.KindTimer,
			SourceID: fmt.Sprint(i), Action: "create_attendance", Outcome: domain.OutcomeCreated, Reason: "=HYPERLINK(1)", Time: now.Add(time.Duration(i-10) * time.Minute),
			Person: "Anna Berg", Changes: []domain.FieldChange{{Field: "end", From: "17:00", To: "17:30"}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"?area=x", "?area=users&from=yesterday", "?area=users&from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "?area=users&cursor=!!"} {
		if r := e.do(t, "GET", base+q, c.AdminToken, nil); r.Code != 400 {
			t.Errorf("%q: %d %s", q, r.Code, r.Body)
		}
	}
	r := e.do(t, "GET", base+"?area=timesheets&limit=3", c.AdminToken, nil)
	var p struct {
		Entries    []ProtocolEntryView
		NextCursor string `json:"next_cursor"`
	}
	r.json(t, &p)
	if r.Code != 200 || len(p.Entries) != 3 || p.Entries[0].SourceID != "4" || p.NextCursor == "" || p.Entries[0].Person != "Anna Berg" ||
		len(p.Entries[0].Changes) != 1 || p.Entries[0].Changes[0].To != "17:30" {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	timesheetsCursor := p.NextCursor
	r = e.do(t, "GET", base+"?area=timesheets&limit=3&cursor="+p.NextCursor, c.AdminToken, nil)
	r.json(t, &p)
	if len(p.Entries) != 2 || p.Entries[1].SourceID != "0" {
		t.Fatalf("page 2 %s", r.Body)
	}
	// A cursor continues only the query it came from; a raw table key is no cursor.
	for _, q := range []string{"?area=absences&limit=3&cursor=" + timesheetsCursor, "?cursor=eyJwayI6Im90aGVyI3VzZXJzIiwic2siOiJ4In0"} {
		if r := e.do(t, "GET", base+q, c.AdminToken, nil); r.Code != 400 || !strings.Contains(string(r.Body), `"field":"cursor"`) {
			t.Errorf("%q: %d %s", q, r.Code, r.Body)
		}
	}
	// Without an area, every area's entries come merged, newest first, page by page.
	for i := range 3 {
		if err := e.store.AppendProtocol(t.Context(), domain.ProtocolEntry{Tenant: c.TenantID, Area: domain.AreaUsers, RunID: "u", Kind: domain.KindUser,
			SourceID: fmt.Sprintf("u%d", i), Action: "update_user", Outcome: domain.OutcomeUpdated, Time: now.Add(time.Duration(i-10)*time.Minute + 30*time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var merged []string
	for cursor, pages := "", 0; ; pages++ {
		r = e.do(t, "GET", base+"?limit=3&from="+now.Add(-20*time.Minute).Format(time.RFC3339)+"&cursor="+cursor, c.AdminToken, nil)
		r.json(t, &p)
		if r.Code != 200 || len(p.Entries) > 3 || pages > 10 {
			t.Fatalf("all areas, page %d: %d %s", pages, r.Code, r.Body)
		}
		for _, en := range p.Entries {
			merged = append(merged, en.SourceID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(merged) != "[4 3 u2 2 u1 1 u0 0]" {
		t.Fatalf("all areas newest first: %v", merged)
	}
	r = e.do(t, "GET", base+"?area=timesheets&from="+now.Add(-7*time.Minute).Format(time.RFC3339), c.AdminToken, nil)
	r.json(t, &p)
	if len(p.Entries) != 2 {
		t.Fatalf("from filter: %s", r.Body)
	}
	r = e.do(t, "GET", base+"?area=timesheets&limit=2", c.AdminToken, nil, "Accept", "text/csv")
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if r.Code != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 3 || !strings.HasPrefix(lines[0], "time,area,run_id") ||
		!strings.HasSuffix(lines[0], ",reason,person,workspace,changes,absence_type") || !strings.HasSuffix(lines[1], ",Anna Berg,,end: 17:00 → 17:30,") ||
		!strings.Contains(lines[1], "'=HYPERLINK(1)") || r.Header.Get("X-Next-Cursor") == "" {
		t.Fatalf("csv %d %v %q", r.Code, r.Header, r.Body)
	}
}

var _ = store.ErrNotFound
var _ = http.StatusOK

// TestSelectionIDsAsPersonioSpellsThem selects an employee by its id with leading zeros
// or a plus sign: the employee is switched on (the id was stored as sent and matched
// nobody), and the same employee in select and deselect is refused however it is spelt.
func TestSelectionIDsAsPersonioSpellsThem(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	var list struct{ Employees []EmployeeView }
	e.do(t, "GET", base+"/employees", c.AdminToken, nil).json(t, &list)
	if len(list.Employees) < 3 {
		t.Fatalf("demo has %d employees", len(list.Employees))
	}
	first, second, third := list.Employees[0].PersonioID, list.Employees[1].PersonioID, list.Employees[2].PersonioID
	before := e.snapshot(t, c.TenantID)
	r := e.do(t, "PUT", base+"/selection", c.AdminToken, map[string]any{"select": []string{"+" + second}, "deselect": []string{second}})
	var b struct{ Error Error }
	r.json(t, &b)
	if r.Code != 400 || b.Error.Field != "deselect" {
		t.Fatalf("same employee in select and deselect: %d %s", r.Code, r.Body)
	}
	if e.snapshot(t, c.TenantID) != before {
		t.Fatal("a refused selection was stored")
	}
	r = e.do(t, "PUT", base+"/selection", c.AdminToken, map[string]any{"select": []string{"00" + first, "+" + second}, "deselect": []string{"0" + third}})
	var sel SelectionView
	r.json(t, &sel)
	if r.Code != 200 || !slices.Equal(sel.Selected, []string{first, second}) || !slices.Equal(sel.Deselected, []string{third}) {
		t.Fatalf("selection: %d %s", r.Code, r.Body)
	}
	e.do(t, "GET", base+"/employees", c.AdminToken, nil).json(t, &list)
	for _, emp := range list.Employees {
		if want := emp.PersonioID == first || emp.PersonioID == second; emp.Selected != want {
			t.Errorf("employee %s selected %v, want %v", emp.PersonioID, emp.Selected, want)
		}
	}
}
