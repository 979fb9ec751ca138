package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// TestPersonioWebhookEndToEnd registers the tenant's webhook with the simulated Personio
// through the public URL, changes an absence there and expects the targeted event.
func TestPersonioWebhookEndToEnd(t *testing.T) {
	var srv *httptest.Server
	e := newEnv(t, func(o *Options) { o.PublicBaseURL = "http://placeholder" })
	srv = httptest.NewServer(e.api)
	defer srv.Close()
	e.api.public = srv.URL
	c := e.createDemo(t)
	if !c.Webhooks.PersonioRegistered || c.Webhooks.PersonioURL != srv.URL+"/v1/webhooks/personio/"+c.TenantID {
		t.Fatalf("webhooks %+v", c.Webhooks)
	}
	whs := e.psim.Webhooks()
	if len(whs) != 1 || whs[0].Token != c.WebhookSecrets.PersonioToken || whs[0].Status != "ENABLED" {
		t.Fatalf("registered %+v", whs)
	}
	if err := e.psim.SetAbsenceStatus(e.demo.HalfDayAbsenceID, personiosim.StatusApproved); err != nil {
		t.Fatal(err)
	}
	e.psim.WaitWebhooks()
	ds := e.psim.Deliveries()
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("deliveries %+v", ds)
	}
	evs := e.events()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	ev := evs[0]
	if ev.Phase != domain.PhaseAbsences || ev.Mode != domain.ModeTargeted || ev.Trigger != domain.TriggerWebhook ||
		len(ev.Targets) != 1 || ev.Targets[0] != (domain.Target{Kind: domain.KindAbsence, ID: e.demo.HalfDayAbsenceID}) {
		t.Fatalf("event %+v", ev)
	}
	if run, err := e.store.GetRun(t.Context(), c.TenantID, ev.RunID); err != nil || run.Status != domain.RunQueued || run.Trigger != domain.TriggerWebhook {
		t.Fatalf("run %+v %v", run, err)
	}
	// Rotation registers anew and removes the old registration.
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/webhook-secrets", c.AdminToken, nil)
	if r.Code != 200 {
		t.Fatalf("rotate %d %s", r.Code, r.Body)
	}
	whs = e.psim.Webhooks()
	if len(whs) != 1 || whs[0].Token == c.WebhookSecrets.PersonioToken {
		t.Fatalf("after rotation %+v", whs)
	}
	// Registering sends the token to Personio; neither it nor the new secrets reach the log.
	var rot struct {
		WebhookSecrets WebhookSecrets `json:"webhook_secrets"`
	}
	r.json(t, &rot)
	noSecrets(t, "log", e.logs.String(), c.WebhookSecrets.PersonioToken, c.WebhookSecrets.StaffomaticSecret, rot.WebhookSecrets.PersonioToken,
		rot.WebhookSecrets.StaffomaticSecret, e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, c.AdminToken)
}

func TestPersonioWebhook(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/webhooks/personio/" + c.TenantID
	tok := c.WebhookSecrets.PersonioToken
	body := func(event, id string) string {
		return `{"company_id":"4711","event_name":"` + event + `","occurred_at":"2026-03-01T10:00:00Z","payload":{"id":"` + id + `"},"meta":{}}`
	}
	cases := []struct {
		name, path, auth, body string
		status                 int
		code                   string
	}{
		{"no token", path, "", body("person.updated", "7"), 401, "unauthorized"},
		{"wrong token", path, "whp_wrong", body("person.updated", "7"), 401, "unauthorized"},
		{"admin token", path, c.AdminToken, body("person.updated", "7"), 401, "unauthorized"},
		{"unknown tenant", "/v1/webhooks/personio/nobody-123", tok, body("person.updated", "7"), 404, "not_found"},
		{"bad tenant id", "/v1/webhooks/personio/NO", tok, body("person.updated", "7"), 404, "not_found"},
		{"not json", path, tok, "{", 400, "invalid_request"},
		{"no resource id", path, tok, `{"event_name":"person.updated","payload":{}}`, 400, "invalid_request"},
		{"oversized", path, tok, `{"event_name":"person.updated","payload":{"id":"1","x":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`, 413, "body_too_large"},
	}
	for _, cs := range cases {
		r := e.do(t, "POST", cs.path, "", cs.body, "Authorization", cs.auth)
		if r.Code != cs.status || r.errCode(t) != cs.code {
			t.Errorf("%s: %d %s", cs.name, r.Code, r.Body)
		}
	}
	if evs := e.events(); len(evs) != 0 {
		t.Fatalf("refused deliveries produced events %+v", evs)
	}
	// Accepted deliveries: Personio sends the token verbatim; "Bearer" is tolerated.
	for _, ok := range []struct {
		auth, event, id string
		phase           domain.Phase
		target          domain.Target
	}{
		{tok, "person.updated", "42", domain.PhaseUsers, domain.Target{Kind: domain.KindUser, ID: "42"}},
		{"Bearer " + tok, "absence-period.deleted", "ab-1", domain.PhaseAbsences, domain.Target{Kind: domain.KindAbsence, ID: "ab-1"}},
		{tok, "attendance-period.updated", "at-1", domain.PhaseTimesheets, domain.Target{Kind: domain.KindAttendance, ID: "at-1"}},
	} {
		before := len(e.events())
		r := e.do(t, "POST", path, "", body(ok.event, ok.id), "Authorization", ok.auth)
		if r.Code != 202 {
			t.Fatalf("%s: %d %s", ok.event, r.Code, r.Body)
		}
		evs := e.events()
		if len(evs) != before+1 {
			t.Fatalf("%s: no event", ok.event)
		}
		ev := evs[len(evs)-1]
		if ev.Phase != ok.phase || ev.Mode != domain.ModeTargeted || len(ev.Targets) != 1 || ev.Targets[0] != ok.target || ev.Tenant != c.TenantID {
			t.Errorf("%s: event %+v", ok.event, ev)
		}
	}
	// An employment event names the person when the payload has it.
	r := e.do(t, "POST", path, "", `{"event_name":"employment.updated","payload":{"id":"emp-1","person":{"id":77}}}`, "Authorization", tok)
	evs := e.events()
	if r.Code != 202 || evs[len(evs)-1].Targets[0] != (domain.Target{Kind: domain.KindUser, ID: "77"}) {
		t.Fatalf("employment: %d %+v", r.Code, evs[len(evs)-1])
	}
	// Ignored: documents, and attendances once time tracking is off.
	n := len(e.events())
	if r := e.do(t, "POST", path, "", body("document.created", "d"), "Authorization", tok); r.Code != 200 || !strings.Contains(string(r.Body), `"ignored"`) {
		t.Fatalf("document: %d %s", r.Code, r.Body)
	}
	e.do(t, "PUT", "/v1/tenants/"+c.TenantID+"/sources", c.AdminToken, `{"timesheets":"off"}`)
	if r := e.do(t, "POST", path, "", body("attendance-period.created", "x"), "Authorization", tok); r.Code != 200 {
		t.Fatalf("attendance with tracking off: %d %s", r.Code, r.Body)
	}
	if len(e.events()) != n {
		t.Fatal("ignored deliveries produced events")
	}
	noSecrets(t, "log", e.logs.String(), tok, c.WebhookSecrets.StaffomaticSecret)
}

func TestStaffomaticWebhook(t *testing.T) {
	e := newEnv(t)
	clock := time.Now()
	e.api.now = func() time.Time { return clock }
	c := e.createDemo(t)
	path := "/v1/webhooks/staffomatic/" + c.TenantID
	secret := []byte(c.WebhookSecrets.StaffomaticSecret)
	send := func(body string, at time.Time, key []byte, p string) resp {
		return e.do(t, "POST", p, "", body, staffomatic.SignatureHeader, staffomatic.Sign(key, at, []byte(body)))
	}
	timer := `{"kind":"work_timer","id":501,"action":"updated"}`
	r := send(timer, clock, secret, path)
	if r.Code != 202 {
		t.Fatalf("valid: %d %s", r.Code, r.Body)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Phase != domain.PhaseTimesheets || evs[0].Mode != domain.ModeTargeted || evs[0].Targets[0] != (domain.Target{Kind: domain.KindTimer, ID: "501"}) || evs[0].Trigger != domain.TriggerWebhook {
		t.Fatalf("events %+v", evs)
	}
	refused := []struct {
		name   string
		r      resp
		status int
		code   string
	}{
		{"replay", send(timer, clock, secret, path), 409, "replayed"},
		{"bad signature", send(timer, clock.Add(time.Second), []byte("other"), path), 401, "bad_signature"},
		{"no signature", e.do(t, "POST", path, "", timer), 401, "bad_signature"},
		{"tampered body", e.do(t, "POST", path, "", `{"kind":"work_timer","id":502}`, staffomatic.SignatureHeader, staffomatic.Sign(secret, clock, []byte(timer))), 401, "bad_signature"},
		{"stale", send(timer, clock.Add(-6*time.Minute), secret, path), 401, "stale_signature"},
		{"future", send(timer, clock.Add(6*time.Minute), secret, path), 401, "stale_signature"},
		{"unknown tenant", send(timer, clock, secret, "/v1/webhooks/staffomatic/nobody-1"), 404, "not_found"},
		{"oversized", send(`{"kind":"user","id":1,"x":"`+strings.Repeat("a", staffomatic.MaxHintBody)+`"}`, clock, secret, path), 413, "body_too_large"},
		{"not a hint", send(`{"id":"x"}`, clock.Add(2*time.Second), secret, path), 400, "invalid_request"},
	}
	for _, rf := range refused {
		if rf.r.Code != rf.status || rf.r.errCode(t) != rf.code {
			t.Errorf("%s: %d %s", rf.name, rf.r.Code, rf.r.Body)
		}
	}
	if len(e.events()) != 1 {
		t.Fatalf("refused hints produced events: %+v", e.events())
	}
	// A user hint is mapped back to its Personio employee; without a mapping the users
	// phase re-reads recent changes.
	if err := e.store.PutMapping(t.Context(), domain.Mapping{Tenant: c.TenantID, Kind: domain.KindUser, SourceID: "123", TargetIDs: []string{"456"}, State: domain.StateTransferred}); err != nil {
		t.Fatal(err)
	}
	for i, hc := range []struct {
		body   string
		status int
		phase  domain.Phase
		mode   domain.Mode
		target *domain.Target
	}{
		{`{"kind":"user","id":456}`, 202, domain.PhaseUsers, domain.ModeTargeted, &domain.Target{Kind: domain.KindUser, ID: "123"}},
		{`{"kind":"user","id":999}`, 202, domain.PhaseUsers, domain.ModePartial, nil},
		{`{"eventable_type":"Absence","eventable_id":"77"}`, 202, domain.PhaseAbsences, domain.ModePartial, nil},
		{`{"kind":"break_timer","id":5}`, 202, domain.PhaseTimesheets, domain.ModePartial, nil},
		{`{"kind":"location","id":5}`, 202, domain.PhaseWorkspaces, domain.ModePartial, nil},
		{`{"kind":"shift","id":5}`, 200, "", "", nil},
	} {
		n := len(e.events())
		r := send(hc.body, clock.Add(time.Duration(10+i)*time.Second), secret, path)
		if r.Code != hc.status {
			t.Fatalf("%s: %d %s", hc.body, r.Code, r.Body)
		}
		evs := e.events()
		if hc.status == 200 {
			if len(evs) != n {
				t.Errorf("%s: ignored hint produced an event", hc.body)
			}
			continue
		}
		ev := evs[len(evs)-1]
		if ev.Phase != hc.phase || ev.Mode != hc.mode || (hc.target != nil && (len(ev.Targets) != 1 || ev.Targets[0] != *hc.target)) {
			t.Errorf("%s: event %+v", hc.body, ev)
		}
	}
	// Absences led by Staffomatic: the hint targets the Staffomatic absence itself.
	e.do(t, "PUT", "/v1/tenants/"+c.TenantID+"/sources", c.AdminToken, `{"absences":"staffomatic"}`)
	if r := send(`{"kind":"absence","id":88}`, clock.Add(time.Minute), secret, path); r.Code != 202 {
		t.Fatalf("absence: %d", r.Code)
	}
	evs = e.events()
	if ev := evs[len(evs)-1]; ev.Mode != domain.ModeTargeted || ev.Targets[0] != (domain.Target{Kind: domain.KindAbsence, ID: "88"}) {
		t.Fatalf("absence event %+v", ev)
	}
	noSecrets(t, "log", e.logs.String(), c.WebhookSecrets.StaffomaticSecret, c.WebhookSecrets.PersonioToken)
}

// TestStaffomaticSimulatorHints lets the simulated Staffomatic sign and deliver a hint to
// the running API after a change made through its API.
func TestStaffomaticSimulatorHints(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.api)
	defer srv.Close()
	c := e.createDemo(t)
	e.ssim.Account(e.demo.StaffomaticSubdomain).SetWebhook(srv.URL+"/v1/webhooks/staffomatic/"+c.TenantID, []byte(c.WebhookSecrets.StaffomaticSecret))
	cl, err := staffomatic.New(staffomatic.Config{BaseURL: e.sURL, Subdomain: e.demo.StaffomaticSubdomain, UserAgent: "test",
		Credentials: staffomatic.Credentials{Email: e.demo.StaffomaticEmail, Password: e.demo.StaffomaticPassword}})
	if err != nil {
		t.Fatal(err)
	}
	u := e.demo.ExistingUsers[len(e.demo.ExistingUsers)-1]
	if _, err := cl.LockUser(context.Background(), u.StaffomaticUserID); err != nil {
		t.Fatal(err)
	}
	e.ssim.WaitWebhooks()
	ds := e.ssim.Deliveries()
	if len(ds) == 0 || ds[len(ds)-1].Status != http.StatusAccepted {
		t.Fatalf("deliveries %+v", ds)
	}
	evs := e.events()
	if len(evs) == 0 || evs[len(evs)-1].Phase != domain.PhaseUsers {
		t.Fatalf("events %+v", evs)
	}
	_ = fmt.Sprint
}

// TestCredentialsMovePersonioWebhook: new Personio credentials of another company get the
// tenant's webhook registered there, with a new token returned once; the old company's
// registration is removed and its token no longer opens the receiver. Same credentials
// again change nothing at Personio.
func TestCredentialsMovePersonioWebhook(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicBaseURL = "http://placeholder" })
	srv := httptest.NewServer(e.api)
	defer srv.Close()
	e.api.public = srv.URL
	c := e.createDemo(t)
	if len(e.psim.Webhooks()) != 1 {
		t.Fatalf("registered %+v", e.psim.Webhooks())
	}
	other := personiosim.New(personiosim.Config{NoRateLimits: true})
	other.AddCredential(personiosim.Credential{ClientID: "other-id", ClientSecret: "other-secret-91x"})
	ops := httptest.NewServer(other)
	defer ops.Close()
	path := "/v1/tenants/" + c.TenantID + "/credentials"

	in := e.demoInput()
	delete(in, "name")
	r := e.do(t, "PUT", path, c.AdminToken, in)
	if r.Code != 200 || strings.Contains(string(r.Body), "personio_webhook_token") || len(e.psim.Webhooks()) != 1 || e.psim.Webhooks()[0].Token != c.WebhookSecrets.PersonioToken {
		t.Fatalf("same credentials: %d %s, registrations %+v", r.Code, r.Body, e.psim.Webhooks())
	}

	in["personio"] = map[string]any{"client_id": "other-id", "client_secret": "other-secret-91x", "base_url": ops.URL}
	r = e.do(t, "PUT", path, c.AdminToken, in)
	var out struct {
		Token    string      `json:"personio_webhook_token"`
		Webhooks WebhookInfo `json:"webhooks"`
	}
	r.json(t, &out)
	if r.Code != 200 || out.Token == "" || out.Token == c.WebhookSecrets.PersonioToken || !out.Webhooks.PersonioRegistered {
		t.Fatalf("moved credentials: %d %s", r.Code, r.Body)
	}
	if whs := other.Webhooks(); len(whs) != 1 || whs[0].Token != out.Token || whs[0].URL != srv.URL+"/v1/webhooks/personio/"+c.TenantID {
		t.Fatalf("registration at the new company: %+v", whs)
	}
	if whs := e.psim.Webhooks(); len(whs) != 0 {
		t.Fatalf("the old company keeps %+v", whs)
	}
	body := `{"company_id":"1","event_name":"person.updated","occurred_at":"2026-03-01T10:00:00Z","payload":{"id":"7"},"meta":{}}`
	if r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", body, "Authorization", c.WebhookSecrets.PersonioToken); r.Code != 401 {
		t.Fatalf("old token: %d %s", r.Code, r.Body)
	}
	if r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", body, "Authorization", out.Token); r.Code != 202 {
		t.Fatalf("new token: %d %s", r.Code, r.Body)
	}
	noSecrets(t, "log", e.logs.String(), out.Token, "other-secret-91x")
}

// TestStaffomaticReplayWithOtherV1 replays a captured delivery with a made-up v1 value
// beside (before, after) the valid one, and with the elements reordered: the header still
// verifies, but it is the same delivery and must be refused as a replay.
func TestStaffomaticReplayWithOtherV1(t *testing.T) {
	e := newEnv(t)
	clock := time.Now()
	e.api.now = func() time.Time { return clock }
	c := e.createDemo(t)
	path := "/v1/webhooks/staffomatic/" + c.TenantID
	body := `{"kind":"work_timer","id":601}`
	sig := staffomatic.Sign([]byte(c.WebhookSecrets.StaffomaticSecret), clock, []byte(body))
	if r := e.do(t, "POST", path, "", body, staffomatic.SignatureHeader, sig); r.Code != 202 {
		t.Fatalf("first delivery: %d %s", r.Code, r.Body)
	}
	ts, v1, _ := strings.Cut(sig, ",")
	for _, h := range []string{
		"v1=" + strings.Repeat("1", 64) + "," + sig,
		sig + ",v1=" + strings.Repeat("2", 64),
		v1 + "," + ts,
		ts + ",v1=" + strings.ToUpper(strings.TrimPrefix(v1, "v1=")),
	} {
		r := e.do(t, "POST", path, "", body, staffomatic.SignatureHeader, h)
		if r.Code != 409 || r.errCode(t) != "replayed" {
			t.Errorf("replay with %s: %d %s", h, r.Code, r.Body)
		}
	}
	if n := len(e.events()); n != 1 {
		t.Fatalf("%d events for one delivery", n)
	}
}

// TestPersonioWebhookOddIDs sends deliveries whose record id is not a Personio id: each
// is a 400 naming the field (a blank id was a 500), queues nothing and stores no run.
func TestPersonioWebhookOddIDs(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/webhooks/personio/" + c.TenantID
	tok := c.WebhookSecrets.PersonioToken
	for _, cs := range []struct{ body, field string }{
		{`{"event_name":"person.updated","payload":{"id":" "}}`, "payload.id"},
		{`{"event_name":"person.updated","payload":{"id":"\t"}}`, "payload.id"},
		{`{"event_name":"absence-period.created","payload":{"id":"\u0000"}}`, "payload.id"},
		{`{"event_name":"attendance-period.updated","payload":{"id":"\u2028"}}`, "payload.id"},
		{`{"event_name":"person.created","payload":{"id":"` + strings.Repeat("9", 5000) + `"}}`, "payload.id"},
		{`{"event_name":"person.created","payload":{"id":"1 OR 1=1"}}`, "payload.id"},
		{`{"event_name":"employment.updated","payload":{"id":"emp-1","person":{"id":" "}}}`, "payload.person.id"},
	} {
		r := e.do(t, "POST", path, "", cs.body, "Authorization", tok)
		var b struct{ Error Error }
		r.json(t, &b)
		if r.Code != 400 || b.Error.Code != "invalid_request" || b.Error.Field != cs.field {
			t.Errorf("%.60s: %d %s, want 400 naming %s", cs.body, r.Code, r.Body, cs.field)
		}
	}
	if evs := e.events(); len(evs) != 0 {
		t.Fatalf("refused deliveries produced events %+v", evs)
	}
	if runs, err := e.store.ListRuns(t.Context(), c.TenantID, 10, ""); err != nil || len(runs.Runs) != 0 {
		t.Fatalf("refused deliveries stored runs: %+v %v", runs.Runs, err)
	}
	// Real ids pass: a person's integer id (as a number or a string) and a UUID.
	for _, b := range []string{
		`{"event_name":"person.updated","payload":{"id":3003}}`,
		`{"event_name":"absence-period.created","payload":{"id":"2b7ba1b6-6b0e-4f4c-9b1a-1f0c0e3c5d7e"}}`,
	} {
		if r := e.do(t, "POST", path, "", b, "Authorization", tok); r.Code != 202 {
			t.Errorf("%s: %d %s", b, r.Code, r.Body)
		}
	}
}

// TestWebhookURLsNameTheServedAddress: without PUBLIC_BASE_URL the receiver URLs shown at
// creation point at the address the API was called on (the local runner's real port; the
// API Gateway host behind https), not a fixed 127.0.0.1:3000; nothing is registered.
func TestWebhookURLsNameTheServedAddress(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.api)
	defer srv.Close()
	body, _ := json.Marshal(e.demoInput())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/tenants", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+operatorKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c TenantCreated
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	if c.Webhooks.PersonioURL != srv.URL+"/v1/webhooks/personio/"+c.TenantID || c.Webhooks.StaffomaticURL != srv.URL+"/v1/webhooks/staffomatic/"+c.TenantID || c.Webhooks.PersonioRegistered {
		t.Fatalf("webhooks %+v, want them under %s", c.Webhooks, srv.URL)
	}
	// Behind a TLS-terminating proxy the scheme is https; a Host that is no host name gives
	// a path without a host.
	r := e.do(t, "POST", "/v1/tenants", operatorKey, e.demoInput(), "X-Forwarded-Proto", "https")
	var c2 TenantCreated
	r.json(t, &c2)
	if c2.Webhooks.PersonioURL != "https://example.com/v1/webhooks/personio/"+c2.TenantID {
		t.Fatalf("behind a proxy: %+v", c2.Webhooks)
	}
	bad := httptest.NewRequest(http.MethodGet, "/", nil)
	bad.Host = "evil.example/path?x"
	if got := requestBase(bad); got != "" {
		t.Fatalf("requestBase of a bad host: %q", got)
	}
}
