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

// TestDefaultPaceMeetsNoFullServerBucket: requests paced by the default limits reach a
// server bucket of Personio's documented size (notes §5.1: v1 employees 300/min with a
// burst of 15; v2 absence periods ≈10/s) with a varying network delay (0 or 60 ms,
// alternating). Pacing at exactly the server's rate meets an empty server bucket as soon
// as one request arrives later than the next (a 429 seen in the 5,000-employee absences
// test on GET /v1/company/employees/{id}); a pace below it never does. Measured on an
// injected clock: nothing sleeps.
func TestDefaultPaceMeetsNoFullServerBucket(t *testing.T) {
	for _, tt := range []struct {
		family Family
		server Limit
	}{
		{FamilyEmployees, Limit{PerSecond: 5, Burst: 15}},
		{FamilyAbsencePeriods, Limit{PerSecond: 10, Burst: 10}},
	} {
		t.Run(string(tt.family), func(t *testing.T) {
			clock := time.Date(2026, 3, 11, 5, 0, 0, 0, time.UTC)
			var at time.Time // the instant the server bucket is read
			client := newLimiter(DefaultLimits()[tt.family], func() time.Time { return clock })
			server := newLimiter(tt.server, func() time.Time { return at })
			for i := range 300 {
				// The client takes a token and waits as long as it says.
				client.refill(clock)
				client.tokens--
				if client.tokens < 0 {
					clock = clock.Add(time.Duration(-client.tokens / client.rate * float64(time.Second)))
				}
				at = clock
				if i%2 == 0 {
					at = clock.Add(60 * time.Millisecond)
				}
				server.refill(at)
				if server.tokens < 1 {
					t.Fatalf("request %d meets an empty server bucket (%.2f tokens): the default pace %+v is not below the server's %+v",
						i, server.tokens, DefaultLimits()[tt.family], tt.server)
				}
				server.tokens--
			}
		})
	}
}
