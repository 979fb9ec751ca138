package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestAnswersReadAsWritten: what an admin reads with curl is the text itself: the set-up
// trail's "by the owner Ada Adler <ada.adler@…>" and an error's "Settings > API
// credentials" keep their '<' and '>' (JSON, not HTML, so no \u003c escapes), and a
// refused token names the causes that remain now that make run keeps its state: a
// discarded state (FRESH=1), another deployment, a hand-over.
func TestAnswersReadAsWritten(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	if r := e.do(t, "PUT", base+"/settings", c.AdminToken, map[string]any{"enable_background_sync": true}); r.Code != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Code, r.Body)
	}
	trail := e.do(t, "GET", base+"/protocol?area=setup", c.AdminToken, nil)
	if !strings.Contains(string(trail.Body), "<"+e.demo.StaffomaticEmail+">") || strings.Contains(string(trail.Body), `\u003c`) {
		t.Errorf("set-up trail is not readable as written: %s", trail.Body)
	}
	if got := trail.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	bad := e.do(t, "PUT", base+"/selection", c.AdminToken, map[string]any{"auto_include": map[string]any{
		"statuses": []string{"active"}, "attribute": map[string]any{"key": "schicht", "value": "ja"}}})
	if bad.Code != http.StatusUnprocessableEntity || !strings.Contains(string(bad.Body), "Settings > API credentials") || strings.Contains(string(bad.Body), `\u003e`) {
		t.Errorf("unknown attribute: %d %s", bad.Code, bad.Body)
	}

	// The README's placeholders pasted as they are: the "…" is named, not its first byte.
	for _, body := range []string{`{"personio":{…},"staffomatic":{…}}`, `{"name":"Acme","staffomatic":{…}}`} {
		r := e.do(t, "PUT", base+"/credentials", c.AdminToken, body)
		var b struct {
			Error struct{ Code, Message string }
		}
		r.json(t, &b)
		if r.Code != http.StatusBadRequest || !strings.Contains(b.Error.Message, `unexpected '…' outside a string`) || strings.Contains(b.Error.Message, "â") {
			t.Errorf("placeholder body %s: %d %s", body, r.Code, r.Body)
		}
	}
	// Other syntax errors keep encoding/json's words.
	if r := e.do(t, "PUT", base+"/credentials", c.AdminToken, `{"personio":}`); r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "invalid character '}'") {
		t.Errorf("syntax error: %d %s", r.Code, r.Body)
	}

	r := e.do(t, "GET", base, "sst_"+c.TenantID+".not-the-token", nil)
	var b struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &b)
	if r.Code != http.StatusUnauthorized || b.Error.Code != "unauthorized" {
		t.Fatalf("a wrong token: %d %s", r.Code, r.Body)
	}
	for _, want := range []string{"copied whole", "another deployment", "FRESH=1", "hand-over"} {
		if !strings.Contains(b.Error.Message, want) {
			t.Errorf("401 message %q does not name %q", b.Error.Message, want)
		}
	}
	if strings.Contains(b.Error.Message, "begins anew") {
		t.Errorf("401 message %q still says each make run begins anew; its state is kept", b.Error.Message)
	}
}
