package staffomaticsim_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// newTimerAccount seeds 1,000 users with one work timer a day over 100 days: 100,000
// work timers (about half of them with a stamped break).
func newTimerAccount(tb testing.TB) (*sim.Server, *sim.Account, sim.GenResult) {
	tb.Helper()
	s := sim.New(sim.Config{RateLimit: -1, Now: func() time.Time { return clock }})
	acc, err := s.AddAccount(sim.AccountSpec{Subdomain: "big"})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := acc.Generate(sim.GenSpec{Seed: 7, Users: 1000, TimersPerDay: 1, Days: 100, End: clock})
	if err != nil {
		tb.Fatal(err)
	}
	return s, acc, res
}

// BenchmarkListTimers100k reads 100,000 work timers page by page (2,000 pages of 50),
// unfiltered and filtered by a time window and by one user. "cold" drops the derived
// views before every read (as any write does); the others read a settled account.
func BenchmarkListTimers100k(b *testing.B) {
	s, acc, res := newTimerAccount(b)
	timers := acc.WorkTimers()
	from, until := clock.AddDate(0, 0, -10), clock.AddDate(0, 0, -3)
	inWindow := 0
	for _, t := range timers {
		if !t.StartsAt.After(until) && (t.EndsAt == nil || !t.EndsAt.Before(from)) {
			inWindow++
		}
	}
	uid := timers[len(timers)/2].UserID
	ofUser := 0
	for _, t := range timers {
		if t.UserID == uid {
			ofUser++
		}
	}
	window := url.Values{"from": {from.Format(time.RFC3339)}, "until": {until.Format(time.RFC3339)}}.Encode()
	for _, c := range []struct {
		name, path string
		want       int
		cold       bool
	}{
		{"all", "/v3/big/work_timers.json?x=1", res.WorkTimers, false},
		{"all-cold", "/v3/big/work_timers.json?x=1", res.WorkTimers, true},
		{"window", "/v3/big/work_timers.json?" + window, inWindow, false},
		{"window-cold", "/v3/big/work_timers.json?" + window, inWindow, true},
		{"user", "/v3/big/work_timers.json?user_ids[]=" + strconv.FormatInt(uid, 10), ofUser, false},
		{"user-cold", "/v3/big/work_timers.json?user_ids[]=" + strconv.FormatInt(uid, 10), ofUser, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.cold {
					acc.TimeZone() // seeding access: drops the derived views
				}
				if n := readAll(b, s, c.path); n != c.want {
					b.Fatalf("read %d timers, want %d", n, c.want)
				}
			}
		})
	}
}
