package staffomatic

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimiter keeps a client under Staffomatic's budget (documented: 500 requests per
// 10 s per IP and account). It is a sliding-window log, so no burst can exceed the
// budget within any window, and it honours the server's X-RateLimit-* and 429 hints by
// pausing until the announced reset. Share one limiter between all clients that leave
// through the same egress IP.
type RateLimiter struct {
	mu          sync.Mutex
	limit       int
	window      time.Duration
	stamps      []time.Time // ring of the last `limit` send times
	next        int
	pausedUntil time.Time
	now         func() time.Time
}

// NewRateLimiter allows limit requests per window. A limit <= 0 disables limiting.
func NewRateLimiter(limit int, window time.Duration) *RateLimiter {
	l := &RateLimiter{limit: limit, window: window, now: time.Now}
	if limit > 0 {
		l.stamps = make([]time.Time, 0, limit)
	}
	return l
}

// Wait blocks until one more request fits the budget, or ctx ends.
func (l *RateLimiter) Wait(ctx context.Context) error {
	for {
		d := l.reserve()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
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

// PauseUntil holds every request until t (a 429's Retry-After, or an exhausted budget).
func (l *RateLimiter) PauseUntil(t time.Time) {
	l.mu.Lock()
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
