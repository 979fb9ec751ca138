package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// TestPersonioDeliveryHostileFields: whoever holds a tenant's Personio webhook token (it
// travels in every delivery) must not get past the de-duplication by respelling an event,
// nor have the API echo or log what it sends at length. A record id "01016" is the event
// of "1016" (one run); an event name or record id that is no Personio name or id, and an
// occurred_at that is no time, are 400s whose answer is short, and the log keeps none of it.
func TestPersonioDeliveryHostileFields(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })
	c := e.createDemo(t)
	path := "/v1/webhooks/personio/" + c.TenantID
	send := func(body string) resp {
		return e.do(t, "POST", path, "", body, "Authorization", c.WebhookSecrets.PersonioToken)
	}
	first := send(`{"event_name":"person.updated","occurred_at":"2026-12-07T01:02:03Z","payload":{"id":"1016"}}`)
	if first.Code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", first.Code, first.Body)
	}
	for _, respelt := range []string{
		`{"event_name":"person.updated","occurred_at":"2026-12-07T01:02:03Z","payload":{"id":"01016"}}`,
		`{"event_name":"person.updated","occurred_at":"2026-12-07T02:02:03+01:00","payload":{"id":1016}}`,
		`{"event_name":"employment.updated","occurred_at":"2026-12-07T01:02:03Z","payload":{"id":"77","person":{"id":"0001016"}}}`,
	} {
		r := send(respelt)
		var a webhookAnswer
		r.json(t, &a)
		if strings.Contains(respelt, "employment") {
			// Another event (its own key), whose target is the person as Personio spells it.
			if r.Code != http.StatusAccepted {
				t.Fatalf("%s: %d %s", respelt, r.Code, r.Body)
			}
			continue
		}
		if r.Code != http.StatusOK || a.Status != "duplicate" {
			t.Errorf("a respelt repeat %s: %d %s; want 200 duplicate", respelt, r.Code, r.Body)
		}
	}
	for _, ev := range e.events() {
		for _, tg := range ev.Targets {
			if tg.ID != "1016" {
				t.Errorf("a run targets %q, want Personio's spelling 1016", tg.ID)
			}
		}
	}
	if n := len(e.events()); n != 2 {
		t.Errorf("%d runs queued, want 2 (person.updated of 1016 once, employment.updated once)", n)
	}

	huge := strings.Repeat("A", 100000)
	for _, tt := range []struct{ name, body, field string }{
		{"huge event name", `{"event_name":"x.` + huge + `","payload":{"id":"1"}}`, "event_name"},
		{"event name with a line break", `{"event_name":"person.updated\nforged","payload":{"id":"1"}}`, "event_name"},
		{"huge record id", `{"event_name":"x.y","payload":{"id":"` + huge + `"}}`, "payload.id"},
		{"huge occurred_at", `{"event_name":"person.updated","occurred_at":"` + huge + `","payload":{"id":"1"}}`, ""},
	} {
		r := send(tt.body)
		var got apiError
		r.json(t, &got)
		if r.Code != http.StatusBadRequest || got.Error.Field != tt.field || len(r.Body) > 600 {
			t.Errorf("%s: %d %.300s (%d bytes); want a short 400 on %q", tt.name, r.Code, r.Body, len(r.Body), tt.field)
		}
	}
	if strings.Contains(e.logs.String(), strings.Repeat("A", 300)) {
		t.Error("the log keeps a hostile delivery's field at length")
	}
}

// TestHandOverTakesNoHostileNameFromStaffomatic: without a name in the request, a hand-over
// takes the new owner's name from Staffomatic, where anyone who edits users can write a
// line break or a bidirectional override into it. The owner and the set-up trail's "who"
// then read otherwise than they are: such a name is left out (the e-mail says who).
func TestHandOverTakesNoHostileNameFromStaffomatic(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	acc := e.ssim.Account(e.demo.StaffomaticSubdomain)
	const pass = "eve-staffomatic-pass"
	eve, err := acc.AddUser(staffomaticsim.User{Email: "eve@demo-gastro.example", Password: pass, FirstName: "Eve\nby the owner boss@demo-gastro.example",
		LastName: "\u202eliam", Role: "admin", InvitationState: "accepted"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/owner", c.AdminToken, map[string]any{"staffomatic": map[string]any{"email": eve.Email, "password": pass}})
	if r.Code != http.StatusOK {
		t.Fatalf("hand-over: %d %s", r.Code, r.Body)
	}
	var ho struct {
		AdminToken string       `json:"admin_token"`
		Owner      domain.Owner `json:"owner"`
	}
	r.json(t, &ho)
	if ho.Owner.Name != "" || ho.Owner.Email != eve.Email {
		t.Errorf("owner after hand-over %+v, want Eve's e-mail without her Staffomatic name", ho.Owner)
	}
	trail := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/protocol?area=setup", ho.AdminToken, nil)
	if trail.Code != http.StatusOK || !strings.Contains(string(trail.Body), "handed over to "+eve.Email) ||
		strings.Contains(string(trail.Body), `\n`) || strings.Contains(string(trail.Body), "\u202e") || strings.Contains(string(trail.Body), `\u202e`) {
		t.Errorf("set-up trail after the hand-over: %d %s", trail.Code, trail.Body)
	}
}

// TestNotAdminAnswerCutsTheRole: a Staffomatic user who is no admin is refused with the
// role Staffomatic names, which is vendor text: quoted one line and short, never whole.
func TestNotAdminAnswerCutsTheRole(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	acc := e.ssim.Account(e.demo.StaffomaticSubdomain)
	const pass = "mallory-pass"
	m, err := acc.AddUser(staffomaticsim.User{Email: "mallory@demo-gastro.example", Password: pass, FirstName: "Mallory", LastName: "M",
		Role: "staff\n" + strings.Repeat("<b>x</b>", 2000), InvitationState: "accepted"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/owner", c.AdminToken, map[string]any{"staffomatic": map[string]any{"email": m.Email, "password": pass}})
	var got apiError
	r.json(t, &got)
	if r.Code != http.StatusUnprocessableEntity || got.Error.Code != "staffomatic_not_admin" || len(got.Error.Message) > 400 || strings.Contains(got.Error.Message, "\n") {
		t.Fatalf("a non-admin with a hostile role: %d %.400s (%d bytes)", r.Code, r.Body, len(r.Body))
	}
}

// TestAnswersAreNoPages: API answers echo what a client sent (an unknown path, a tenant
// id); a browser that opens one must neither guess it is HTML nor run or frame anything
// in it.
func TestAnswersAreNoPages(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	for _, req := range []struct{ method, path, token string }{
		{"GET", "/v1/<svg onload=alert(1)>", ""},
		{"POST", "/v1/webhooks/personio/<script>x</script>", ""},
		{"GET", "/v1/tenants/" + c.TenantID, c.AdminToken},
		{"GET", "/v1/health", ""},
	} {
		rq := httptest.NewRequest(req.method, "/v1/health", nil)
		rq.URL.Path = req.path
		if req.token != "" {
			rq.Header.Set("Authorization", "Bearer "+req.token)
		}
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, rq)
		h := rec.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s %s: %d with headers %v; want nosniff and a CSP of default-src 'none'", req.method, req.path, rec.Code, h)
		}
	}
}

// TestListsInBodiesAreBounded: a body of 256 KB may not become an answer of megabytes or
// an item of hundreds of KB. 85,000 bad time-off type ids answered with 85,000 sentences
// (13 MB, past Lambda's 6 MB answer); 60,000 office names were stored in the selection and
// echoed into the answer and the set-up trail. Each is now a short 4xx on the field, and
// nothing is stored.
func TestListsInBodiesAreBounded(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	list := func(item string, n int) string { return strings.TrimSuffix(strings.Repeat(item+",", n), ",") }
	for _, tt := range []struct {
		name, path, body, field string
	}{
		{"85,000 bad type ids", "/settings", `{"fallback_personio_time_off_type_ids_for_entitlements":[` + list("-1", 85000) + `]}`, "fallback_personio_time_off_type_ids_for_entitlements"},
		{"201 type ids", "/settings", `{"personio_time_off_type_ids_for_paid_vacations":[` + list("7", 201) + `]}`, "personio_time_off_type_ids_for_paid_vacations"},
		{"60,000 offices", "/selection", `{"auto_include":{"offices":[` + list(`"B"`, 60000) + `]}}`, "auto_include.offices"},
		{"an office of 250 KB", "/selection", `{"auto_include":{"departments":["` + strings.Repeat("x", 250000) + `"]}}`, "auto_include.departments"},
		{"an office with a line break", "/selection", `{"auto_include":{"offices":["Berlin\nforged"]}}`, "auto_include.offices"},
		{"an attribute value of 250 KB", "/selection", `{"auto_include":{"attribute":{"key":"shift_planning","value":"` + strings.Repeat("x", 250000) + `"}}}`, "auto_include.attribute.value"},
	} {
		r := e.do(t, "PUT", "/v1/tenants/"+c.TenantID+tt.path, c.AdminToken, tt.body)
		var got apiError
		r.json(t, &got)
		if r.Code/100 != 4 || got.Error.Field != tt.field || len(r.Body) > 1000 {
			t.Errorf("%s: %d %.300s (%d bytes); want a short 4xx on %s", tt.name, r.Code, r.Body, len(r.Body), tt.field)
		}
	}
	if r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/protocol?area=setup", c.AdminToken, nil); r.Code != http.StatusOK || strings.Contains(string(r.Body), "change_") {
		t.Errorf("a refused change wrote the set-up trail: %d %.300s", r.Code, r.Body)
	}
}

// TestSetupEntriesAreBounded: one set-up entry says what changed in at most a few KB, so a
// page of 500 entries stays far inside Lambda's 6 MB answer however large the rules were.
func TestSetupEntriesAreBounded(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	values := func(prefix string) []string {
		out := make([]string, maxRuleValues)
		for i := range out {
			out[i] = fmt.Sprintf("%s%03d-%s", prefix, i, strings.Repeat("x", maxRuleValue-10))
		}
		return out
	}
	body := map[string]any{"auto_include": map[string]any{"offices": values("o"), "departments": values("d")}}
	if r := e.do(t, "PUT", "/v1/tenants/"+c.TenantID+"/selection", c.AdminToken, body); r.Code != http.StatusOK {
		t.Fatalf("rules at their limits: %d %.300s", r.Code, r.Body)
	}
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/protocol?area=setup", c.AdminToken, nil)
	var page struct{ Entries []ProtocolEntryView }
	r.json(t, &page)
	if len(page.Entries) != 1 || len(page.Entries[0].Reason) > 6000 || !strings.Contains(page.Entries[0].Reason, "more characters") {
		t.Fatalf("set-up entry of rules at their limits: %d entries, reason of %d bytes", len(page.Entries), len(page.Entries[0].Reason))
	}
}

// countingSealer counts the openings of the real sealer it wraps.
type countingSealer struct {
	seal.Sealer
	opens *atomic.Int32
}

func (c countingSealer) Open(ctx context.Context, tenant string, blob []byte) ([]byte, error) {
	c.opens.Add(1)
	return c.Sealer.Open(ctx, tenant, blob)
}

// TestStaffomaticReceiverOpensNoSecretForAnyone: the receiver's URL is public, and opening
// the tenant's secret is a KMS call in AWS. A delivery whose signature header cannot
// match (none, malformed, out of time) is refused before the secret is opened; a
// well-formed, timely one is checked against it as before.
func TestStaffomaticReceiverOpensNoSecretForAnyone(t *testing.T) {
	var opens atomic.Int32
	now := time.Now()
	e := newEnv(t, func(o *Options) { o.Sealer = countingSealer{o.Sealer, &opens}; o.Now = func() time.Time { return now } })
	c := e.createDemo(t)
	path := "/v1/webhooks/staffomatic/" + c.TenantID
	body := `{"kind":"user","id":286001}`
	fake := "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + strings.Repeat("ab", 32)
	for _, tt := range []struct{ name, header, code string }{
		{"no header", "", "bad_signature"},
		{"malformed", "t=1,v1=zz", "bad_signature"},
		{"out of time", staffomatic.Sign([]byte("guess"), now.Add(-time.Hour), []byte(body)), "stale_signature"},
	} {
		opens.Store(0)
		var h []string
		if tt.header != "" {
			h = []string{staffomatic.SignatureHeader, tt.header}
		}
		r := e.do(t, "POST", path, "", body, h...)
		if r.Code != http.StatusUnauthorized || r.errCode(t) != tt.code || opens.Load() != 0 {
			t.Errorf("%s: %d %s after %d openings of the secret; want 401 %s and none", tt.name, r.Code, r.Body, opens.Load(), tt.code)
		}
	}
	opens.Store(0)
	if r := e.do(t, "POST", path, "", body, staffomatic.SignatureHeader, fake); r.Code != http.StatusUnauthorized || r.errCode(t) != "bad_signature" || opens.Load() != 1 {
		t.Errorf("a well-formed wrong signature: %d %s after %d openings; want 401 bad_signature after one", r.Code, r.Body, opens.Load())
	}
	good := staffomatic.Sign([]byte(c.WebhookSecrets.StaffomaticSecret), now, []byte(body))
	if r := e.do(t, "POST", path, "", body, staffomatic.SignatureHeader, good); r.Code != http.StatusAccepted {
		t.Errorf("a signed delivery: %d %s", r.Code, r.Body)
	}
}
