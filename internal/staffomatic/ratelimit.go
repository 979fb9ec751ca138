package staffomatic

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimiter keeps a client under Staffomatic's budget (documented: 500 requests per
// 10 s per IP and account). It is a sliding-window log, so no burst can exceed the
// budget within any window, and it honours the server's X-RateLimit-* and 429 hints by
// pausing until the announced reset. Clients of one tenant's account share one limiter
// (internal/vendors keeps one per tenant and host); a limiter is never shared between
// tenants, because a pause one tenant's server asks for must not delay another's runs.
//
// A pause taken from the server's headers is capped (MaxPause, default 60 s): the headers
// come from whatever host a tenant's base URL names, and a reset announced for the year
// 2100 must not stall the limiter's runs for good.
type RateLimiter struct {
	mu          sync.Mutex
	limit       int
	window      time.Duration
	stamps      []time.Time // ring of the last `limit` send times
	next        int
	pausedUntil time.Time
	now         func() time.Time
	maxPause    time.Duration
}

// DefaultMaxPause bounds a pause announced by the server (Retry-After, X-RateLimit-Reset).
const DefaultMaxPause = 60 * time.Second

// NewRateLimiter allows limit requests per window. A limit <= 0 disables limiting.
func NewRateLimiter(limit int, window time.Duration) *RateLimiter {
	l := &RateLimiter{limit: limit, window: window, now: time.Now, maxPause: DefaultMaxPause}
	if limit > 0 {
		l.stamps = make([]time.Time, 0, limit)
	}
	return l
}

// WithClock sets the limiter's clock (tests) and returns the limiter.
func (l *RateLimiter) WithClock(now func() time.Time) *RateLimiter {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
	return l
}

// WithMaxPause sets the cap of a server-announced pause (<= 0: DefaultMaxPause) and returns
// the limiter.
func (l *RateLimiter) WithMaxPause(d time.Duration) *RateLimiter {
	if d <= 0 {
		d = DefaultMaxPause
	}
	l.mu.Lock()
	l.maxPause = d
	l.mu.Unlock()
	return l
}

// Wait blocks until one more request fits the budget, or ctx ends. A wait that would end
// after ctx's deadline fails at once, since it cannot lead to an answer in time.
func (l *RateLimiter) Wait(ctx context.Context) error {
	for {
		d := l.reserve()
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fmt.Errorf("the rate limiter holds requests for %s, beyond the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Delay reports how long a request sent now would wait, without reserving a slot. Tests
// and logs use it; Wait is what paces requests.
func (l *RateLimiter) Delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Before(l.pausedUntil) {
		return l.pausedUntil.Sub(now)
	}
	if l.limit <= 0 || len(l.stamps) < l.limit {
		return 0
	}
	if free := l.stamps[l.next].Add(l.window); now.Before(free) {
		return free.Sub(now)
	}
	return 0
}

// reserve records a send and returns 0, or returns how long to wait before asking again.
func (l *RateLimiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Before(l.pausedUntil) {
		return l.pausedUntil.Sub(now)
	}
	if l.limit <= 0 {
		return 0
	}
	if len(l.stamps) < l.limit {
		l.stamps = append(l.stamps, now)
		return 0
	}
	oldest := l.stamps[l.next]
	if free := oldest.Add(l.window); now.Before(free) {
		return free.Sub(now)
	}
	l.stamps[l.next] = now
	l.next = (l.next + 1) % l.limit
	return 0
}

// PauseUntil holds every request until t (a 429's Retry-After, or an exhausted budget),
// but never longer than the limiter's MaxPause from now.
func (l *RateLimiter) PauseUntil(t time.Time) {
	l.mu.Lock()
	if limit := l.now().Add(l.maxPause); t.After(limit) {
		t = limit
	}
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
	l.mu.Unlock()
}

// Observe reads the server's X-RateLimit-Remaining and -Reset: when the server says the
// budget is spent, the limiter pauses until the reset instead of provoking a 429.
func (l *RateLimiter) Observe(h http.Header, now time.Time) {
	rem := strings.TrimSpace(h.Get("X-RateLimit-Remaining"))
	if rem == "" {
		return
	}
	n, err := strconv.Atoi(rem)
	if err != nil || n > 0 {
		return
	}
	if t, ok := resetTime(h, now); ok {
		l.PauseUntil(t)
	}
}
