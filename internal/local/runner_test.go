package local

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
)

func TestRunServesHealthAndStops(t *testing.T) {
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Addr: "127.0.0.1:0", Config: cfg, Out: &out, Ready: ready, Sandbox: true, KeyFile: t.TempDir() + "/key"})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	res, err := http.Get(base + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("health: %d", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, want := range []string{"operator key:", "UsersFullDaily", "staffsync dev stopped", "Europe/Berlin", "demo company: 25 employees"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSchedulerFiresAtScheduledTimes drives the scheduler with a fake clock and checks
// each firing carries the expression's next time in the zone.
func TestSchedulerFiresAtScheduledTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var mu sync.Mutex
	clock := time.Date(2026, 11, 25, 4, 59, 0, 0, berlin)
	var fired []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		Timetable: []domain.Schedule{{Name: "UsersFullDaily", Expression: "cron(0 5 * * ? *)", Phase: domain.PhaseUsers, Mode: domain.ModeFull}},
		Location:  berlin,
		Now:       func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		After: func(d time.Duration) <-chan time.Time {
			mu.Lock()
			defer mu.Unlock()
			c := make(chan time.Time, 1)
			clock = clock.Add(d)
			c <- clock
			return c
		},
		Fire: func(_ context.Context, _ domain.Schedule, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, at)
			if len(fired) == 3 {
				cancel()
			}
		},
	}
	_ = s.Run(ctx)
	if len(fired) < 3 {
		t.Fatalf("fired %v", fired)
	}
	for i, at := range fired[:3] {
		want := time.Date(2026, 11, 25+i, 5, 0, 0, 0, berlin)
		if !at.Equal(want) {
			t.Errorf("firing %d at %s, want %s", i, at, want)
		}
	}
}
