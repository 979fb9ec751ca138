package staffomatic

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// A vendor's error body reaches admins only as a short sanitised message: field errors
// stay usable, anything else (HTML, plain text, junk) leaves no trace in Error().
func TestErrorMessageIsSanitised(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // substring of Error(); "" checks only the absence of the body
	}{
		{"field errors", 422, `{"errors":{"email":["has already been taken"],"first_name":["can't be\nblank"]}}`, "email has already been taken; first_name can't be blank"},
		{"message with control characters", 400, "{\"message\":\"bad\\r\\nX-Forged: 1\\u0000\"}", "bad X-Forged: 1"},
		{"html page", 502, "<html><body>secret internal page</body></html>", ""},
		{"plain text", 404, "ami-id\ninstance-id\nsecurity-credentials", ""},
		{"one megabyte of junk", 500, strings.Repeat("\x00\x1bjunk", 1<<20/5), ""},
		{"redirect", 302, "", "redirect, which is not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newError(http.MethodGet, "/users", tt.status, []byte(tt.body))
			got := e.Error()
			if utf8.RuneCountInString(got) > 300 || strings.IndexFunc(got, unicode.IsControl) >= 0 {
				t.Fatalf("Error() is not short and printable: %q", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("Error() = %q, want it to contain %q", got, tt.want)
			}
			if tt.want == "" && (strings.Contains(got, "secret") || strings.Contains(got, "instance-id") || strings.Contains(got, "junk")) {
				t.Fatalf("Error() repeats the body: %q", got)
			}
			if !strings.HasPrefix(got, "staffomatic: GET /users: ") {
				t.Fatalf("Error() = %q does not name the vendor and call", got)
			}
		})
	}
}

// A reset announced for the year 2100 pauses the limiter for at most its MaxPause, on its
// injected clock; nothing sleeps.
func TestPauseFromHeadersIsCapped(t *testing.T) {
	now := time.Date(2026, 3, 11, 5, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, tt := range []struct {
		name string
		h    http.Header
	}{
		{"reset in 2100", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"4102444800"}}},
		{"reset in a million seconds", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"999999999"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := NewRateLimiter(500, 10*time.Second).WithClock(clock)
			l.Observe(tt.h, now)
			if d := l.Delay(); d != DefaultMaxPause {
				t.Fatalf("pause %s, want the cap %s", d, DefaultMaxPause)
			}
			l.PauseUntil(now.Add(365 * 24 * time.Hour))
			if d := l.Delay(); d != DefaultMaxPause {
				t.Fatalf("PauseUntil: pause %s, want the cap %s", d, DefaultMaxPause)
			}
		})
	}
}
