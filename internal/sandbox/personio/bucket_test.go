package personiosim

import (
	"testing"
	"time"
)

// TestBucketCooldown drives the token bucket on synthetic times: an empty bucket starts
// the family's cool-down, which holds even after the bucket has refilled, and ends on time.
func TestBucketCooldown(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b := newBucket(RateLimit{PerSecond: 1000, Burst: 1, Cooldown: time.Minute})
	b.last = t0
	steps := []struct {
		at   time.Duration
		want bool
		why  string
	}{
		{0, true, "the burst token"},
		{100 * time.Microsecond, false, "empty: 0.1 tokens refilled, the cool-down starts"},
		{5 * time.Millisecond, false, "refilled, but cooling down"},
		{59 * time.Second, false, "still cooling down"},
		{time.Minute + 100*time.Microsecond, true, "cool-down over"},
		{time.Minute + 200*time.Microsecond, false, "empty again"},
	}
	for _, s := range steps {
		if ok, _ := b.take(t0.Add(s.at)); ok != s.want {
			t.Fatalf("at +%s (%s): allowed %v", s.at, s.why, ok)
		}
	}
	// Without a cool-down, a refilled bucket allows again at once.
	b = newBucket(RateLimit{PerSecond: 1000, Burst: 1})
	b.last = t0
	for _, s := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {100 * time.Microsecond, false}, {2 * time.Millisecond, true}} {
		if ok, _ := b.take(t0.Add(s.at)); ok != s.want {
			t.Fatalf("no cool-down, at +%s: allowed %v", s.at, ok)
		}
	}
}

// TestAuthV2SlowLane: beyond 150 token requests a minute, Personio's v2 auth serves one
// request a second for the next 60 s (notes §1.2, §5.1) instead of refusing all of them
// as the v1 auth cool-down does.
func TestAuthV2SlowLane(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b := newBucket(DefaultRateLimits()[FamilyAuthV2])
	b.last = t0
	for i := range 150 {
		if ok, _ := b.take(t0); !ok {
			t.Fatalf("request %d of the first 150 refused", i+1)
		}
	}
	steps := []struct {
		at   time.Duration
		want bool
		why  string
	}{
		{0, false, "the 151st in the same instant: the slow minute starts"},
		{500 * time.Millisecond, false, "within the first second"},
		{time.Second, true, "one a second"},
		{1500 * time.Millisecond, false, "the second one within that second"},
		{2 * time.Second, true, "the next second"},
		{30 * time.Second, true, "still one a second"},
		{30*time.Second + 10*time.Millisecond, false, "not two"},
		{61 * time.Second, true, "the slow minute is over"},
		{61*time.Second + time.Millisecond, true, "the bucket refilled during the minute"},
	}
	for _, s := range steps {
		if ok, _ := b.take(t0.Add(s.at)); ok != s.want {
			t.Fatalf("at +%s (%s): allowed %v", s.at, s.why, ok)
		}
	}
	// v1 auth keeps its full cool-down.
	if l := DefaultRateLimits()[FamilyAuthV1]; l.CooldownPerSecond != 0 || l.Cooldown != time.Minute {
		t.Fatalf("v1 auth limit %+v", l)
	}
}
