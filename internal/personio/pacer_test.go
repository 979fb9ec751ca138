package personio

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
)

// Hostile x-ratelimit headers (a replenish rate of one token a day) cannot slow the pace
// below one token per MaxHeaderPause; measured on an injected clock, nothing sleeps.
func TestPacerHeaderPauseIsCapped(t *testing.T) {
	now := time.Date(2026, 3, 11, 5, 0, 0, 0, time.UTC)
	p := NewPacer(map[Family]Limit{FamilyEmployees: {PerSecond: 5, Burst: 1}}, func() time.Time { return now })
	p.Observe(FamilyEmployees, http.Header{"X-Ratelimit-Replenish-Rate": {"0.00001"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Burst-Capacity": {"1"}}, true)
	if d := p.Delay(FamilyEmployees); d <= 0 || d > MaxHeaderPause {
		t.Fatalf("delay %s, want (0, %s]", d, MaxHeaderPause)
	}
}

// TestPacerFollowsTheServerBackUp: the pace drops to what a 429's headers announce and
// returns to the configured one when later responses announce it again, but no header
// raises it above the configured limit. On an injected clock (the bucket is empty after
// the 429, so Delay is one token's time).
func TestPacerFollowsTheServerBackUp(t *testing.T) {
	now := time.Date(2026, 3, 11, 5, 0, 0, 0, time.UTC)
	p := NewPacer(map[Family]Limit{FamilyEmployees: {PerSecond: 5, Burst: 15}}, func() time.Time { return now })
	header := func(rate, burst string) http.Header {
		return http.Header{"X-Ratelimit-Replenish-Rate": {rate}, "X-Ratelimit-Burst-Capacity": {burst}, "X-Ratelimit-Remaining": {"0"}}
	}
	for _, step := range []struct {
		name      string
		h         http.Header
		throttled bool
		want      time.Duration
	}{
		{"storm: the server announces 1/s", header("1", "1"), true, time.Second},
		{"the storm is over: 5/s again", header("5", "15"), false, 200 * time.Millisecond},
		{"a header never raises the pace above the limit", header("50", "100"), false, 200 * time.Millisecond},
	} {
		p.Observe(FamilyEmployees, step.h, step.throttled)
		if d := p.Delay(FamilyEmployees); d != step.want {
			t.Errorf("%s: delay %s, want %s", step.name, d, step.want)
		}
	}
}

func TestParseErrorIsSanitised(t *testing.T) {
	for _, tt := range []struct {
		name, body, want string
	}{
		{"v1", `{"success":false,"error":{"code":0,"message":"Es ist ein\r\nProblem aufgetreten"}}`, "Es ist ein Problem aufgetreten"},
		{"v2 several", `{"errors":[{"title":"t","detail":"first"},{"detail":"second\u0000"}]}`, "first; second"},
		{"html", `<html>internal</html>`, "Bad Request"},
		{"long", `{"success":false,"error":{"code":1,"message":"` + strings.Repeat("x", 5000) + `"}}`, "xxx…"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseError(400, "GET", "/v1/company/employees", []byte(tt.body)).Error()
			if !strings.Contains(got, tt.want) || len(got) > 400 || strings.IndexFunc(got, unicode.IsControl) >= 0 || strings.Contains(got, "internal") {
				t.Fatalf("Error() = %q, want a short printable text with %q", got, tt.want)
			}
		})
	}
	if got := ParseError(301, "GET", "/v1/auth", nil).Error(); !strings.Contains(got, "301") || !strings.Contains(got, "redirect") {
		t.Fatalf("3xx: %q", got)
	}
}
