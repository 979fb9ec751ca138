package httpapi

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

func TestParseCredentialsFile(t *testing.T) {
	for _, c := range []struct{ in, id, secret string }{
		{`{"client_id":"papi-1","client_secret":"s3cr3t"}`, "papi-1", "s3cr3t"},
		{`{"clientId":"papi-1","clientSecret":"s3cr3t"}`, "papi-1", "s3cr3t"},
		{`{"credentials":{"Client ID":"papi-1","Client Secret":"s3cr3t"},"company":"Demo"}`, "papi-1", "s3cr3t"},
		{"\ufeffclient_id: papi-1\r\nclient_secret: \"s3cr3t\"\r\n", "papi-1", "s3cr3t"},
		{"CLIENT_ID=papi-1\nCLIENT_SECRET=s3:cr=3t\n", "papi-1", "s3:cr=3t"},
		{"Kunden-ID: papi-1\nKunden-Secret: s3cr3t", "papi-1", "s3cr3t"},
		{"client_id,client_secret\npapi-1,s3cr3t\n", "papi-1", "s3cr3t"},
	} {
		id, secret, err := ParseCredentialsFile(c.in)
		if err != nil || id != c.id || secret != c.secret {
			t.Errorf("%q: %q %q %v", c.in, id, secret, err)
		}
	}
	for _, bad := range []string{"", "   ", "hello", `{"client_id":"x"}`, `{"client_secret":"x"}`, `{"client_id":`, "a,b\n", strings.Repeat("x", maxCredentialsFile+1)} {
		if _, _, err := ParseCredentialsFile(bad); err == nil {
			t.Errorf("%.40q accepted", bad)
		}
	}
	// The error never repeats the content (it may hold the secret).
	if _, _, err := ParseCredentialsFile(`{"client_secret":"TOPSECRET"`); err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("error %v", err)
	}
}

// FuzzParseCredentialsFile: any input is answered without panic, and what is accepted is
// a usable id and secret (non-empty, trimmed, no control characters).
func FuzzParseCredentialsFile(f *testing.F) {
	for _, s := range []string{`{"client_id":"a","client_secret":"b"}`, "client_id: a\nclient_secret: b", "client_id,client_secret\na,b",
		`{"x":{"clientId":"a","clientSecret":"b"}}`, "client_id=\x00\nclient_secret=b", "", "{", "a:b:c\n=\n,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, secret, err := ParseCredentialsFile(in)
		if err != nil {
			return
		}
		for _, v := range []string{id, secret} {
			if v == "" || v != strings.TrimSpace(v) || strings.ContainsFunc(v, unicode.IsControl) {
				t.Fatalf("accepted %q %q from %q", id, secret, in)
			}
		}
	})
}

// FuzzPersonioWebhook sends arbitrary bodies with the right token: the receiver answers
// 200, 202 or 400, never fails, and every event it emits is a valid targeted or partial
// request of this tenant.
func FuzzPersonioWebhook(f *testing.F) {
	for _, s := range []string{
		`{"company_id":"4711","event_name":"person.updated","occurred_at":"2026-03-01T10:00:00Z","payload":{"id":"42"},"meta":{}}`,
		`{"event_name":"absence-period.created","payload":{"absence_period":{"id":"a1"}}}`,
		`{"event_name":"employment.updated","payload":{"id":"e","person":{"id":7}}}`,
		`{"event_name":"attendance-period.deleted","payload":{"id":12}}`,
		`{"event_name":"document.signed","payload":{"id":"d"}}`,
		`{"event_name":"","payload":{"id":"1"}}`, `[]`, `{"event_name":"person.created","occurred_at":"yesterday","payload":{"id":"1"}}`,
		`{"event_name":"person.updated","payload":{"id":" "}}`, `{"event_name":"employment.updated","payload":{"id":"e","person":{"id":"\t"}}}`,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	c := e.createDemo(f)
	f.Fuzz(func(t *testing.T, body string) {
		n := len(e.events())
		r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", body, "Authorization", c.WebhookSecrets.PersonioToken)
		switch r.Code {
		case 200, 400:
			if len(e.events()) != n {
				t.Fatalf("%d produced an event", r.Code)
			}
		case 202:
			evs := e.events()
			if len(evs) != n+1 || evs[n].Tenant != c.TenantID || evs[n].Validate() != nil {
				t.Fatalf("event %+v", evs[n:])
			}
		default:
			t.Fatalf("status %d for %q: %s", r.Code, body, r.Body)
		}
	})
}

// FuzzStaffomaticWebhook signs arbitrary bodies correctly: the receiver answers 200, 202
// or 400 (or 409 for a body repeated within the same second), never fails, and emits only
// valid requests.
func FuzzStaffomaticWebhook(f *testing.F) {
	for _, s := range []string{`{"kind":"work_timer","id":1}`, `{"type":"User","id":"2"}`, `{"eventable_type":"Absence","eventable_id":3}`,
		`{"kind":"break_timer","id":4}`, `{"kind":"location","id":5}`, `{"kind":"shift","id":6}`, `{"kind":"user","id":-1}`, `{`, `null`} {
		f.Add(s)
	}
	e := newEnv(f)
	c := e.createDemo(f)
	secret := []byte(c.WebhookSecrets.StaffomaticSecret)
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > staffomatic.MaxHintBody {
			return
		}
		n := len(e.events())
		now := time.Now()
		r := e.do(t, "POST", "/v1/webhooks/staffomatic/"+c.TenantID, "", body, staffomatic.SignatureHeader, staffomatic.Sign(secret, now, []byte(body)))
		switch r.Code {
		case 200, 400, 409:
			if len(e.events()) != n {
				t.Fatalf("%d produced an event", r.Code)
			}
		case 202:
			evs := e.events()
			if len(evs) != n+1 || evs[n].Tenant != c.TenantID || evs[n].Validate() != nil || evs[n].Trigger != domain.TriggerWebhook {
				t.Fatalf("event %+v", evs[n:])
			}
		default:
			t.Fatalf("status %d for %q: %s", r.Code, body, r.Body)
		}
	})
}
