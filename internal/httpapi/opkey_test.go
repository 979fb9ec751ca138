package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// TestOperatorKeyHash: the configured form is a salted HMAC that openssl computes the same
// way (the README's recipe); the older plain SHA-256 still matches; anything malformed
// matches nothing.
func TestOperatorKeyHash(t *testing.T) {
	const key = "k3y+/with=chars"
	legacy := sha256.Sum256([]byte(key))
	fresh := OperatorKeyHash(key)
	cases := []struct {
		name, configured string
		ok, legacy       bool
		bad              bool
	}{
		// printf %s 'k3y+/with=chars' | openssl dgst -sha256 -hmac 00112233445566778899aabbccddeeff
		{"openssl's HMAC", "hmac-sha256:00112233445566778899aabbccddeeff:00c43ab3327381c7e9e937521db74e0bca88a0b065070bfe5637e9245347b7a4", true, false, false},
		{"upper-case digest", "hmac-sha256:00112233445566778899aabbccddeeff:00C43AB3327381C7E9E937521DB74E0BCA88A0B065070BFE5637E9245347B7A4", true, false, false},
		{"generated", fresh, true, false, false},
		{"other salt", "hmac-sha256:ffeeddccbbaa99887766554433221100:00c43ab3327381c7e9e937521db74e0bca88a0b065070bfe5637e9245347b7a4", false, false, false},
		{"legacy SHA-256", hex.EncodeToString(legacy[:]), true, true, false},
		{"short salt", "hmac-sha256:0011:00c43ab3327381c7e9e937521db74e0bca88a0b065070bfe5637e9245347b7a4", false, false, true},
		{"salt not hex", "hmac-sha256:zz112233445566778899aabbccddeeff:00c43ab3327381c7e9e937521db74e0bca88a0b065070bfe5637e9245347b7a4", false, false, true},
		{"short digest", "hmac-sha256:00112233445566778899aabbccddeeff:00c43a", false, false, true},
		{"the key itself", key, false, false, true},
		{"empty", "", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := parseOperatorHash(c.configured)
			if (err != nil) != c.bad {
				t.Fatalf("parse: %v", err)
			}
			if got := h.matches(key); got != c.ok {
				t.Errorf("matches the key: %v, want %v", got, c.ok)
			}
			if h.matches(key+"x") || h.matches("") {
				t.Error("matches another key")
			}
			if h.legacy() != c.legacy {
				t.Errorf("legacy %v", h.legacy())
			}
		})
	}
	if !strings.HasPrefix(fresh, "hmac-sha256:") || fresh == OperatorKeyHash(key) {
		t.Errorf("OperatorKeyHash %q: not salted afresh each time", fresh)
	}
}

// TestOperatorKeyForms: through the handler, the salted form and the older SHA-256 both let
// the operator in (the older one with a warning in the log), a wrong key does not, and a
// malformed setting lets nobody in.
func TestOperatorKeyForms(t *testing.T) {
	legacy := sha256.Sum256([]byte(operatorKey))
	for _, c := range []struct {
		name, configured string
		status           int
		logSays          string
	}{
		{"salted HMAC", OperatorKeyHash(operatorKey), http.StatusOK, ""},
		{"older SHA-256", hex.EncodeToString(legacy[:]), http.StatusOK, "plain SHA-256 of the operator key"},
		{"malformed", "sha256:" + hex.EncodeToString(legacy[:]), http.StatusUnauthorized, "no operator access"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.OperatorKeyHash = c.configured })
			if r := e.do(t, "GET", "/v1/tenants", operatorKey, nil); r.Code != c.status {
				t.Fatalf("operator key: %d %s", r.Code, r.Body)
			}
			if r := e.do(t, "GET", "/v1/tenants", operatorKey+"x", nil); r.Code != http.StatusUnauthorized {
				t.Fatalf("wrong key: %d", r.Code)
			}
			if logs := e.logs.String(); !strings.Contains(logs, c.logSays) || strings.Contains(logs, operatorKey) {
				t.Errorf("log does not say %q, or names the key:\n%s", c.logSays, logs)
			}
		})
	}
}
