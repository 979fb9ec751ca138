package local

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/schedule"
)

// FireFunc is called when a timetable entry is due, with its scheduled time (what
// EventBridge Scheduler passes as <aws.scheduler.scheduled-time>).
type FireFunc func(ctx context.Context, s domain.Schedule, scheduled time.Time)

// Scheduler plays the timetable on the wall clock of a time zone, as EventBridge
// Scheduler does in AWS, so that `make run` shows the same runs at the same hours.
type Scheduler struct {
	Timetable []domain.Schedule
	Location  *time.Location
	Fire      FireFunc
	Log       *slog.Logger
	// Now and After are the clock; tests replace them.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
}

// NextRuns returns the next firing time of each timetable entry after t.
func (s *Scheduler) NextRuns(t time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, e := range s.Timetable {
		c, err := schedule.Parse(e.Expression)
		if err != nil {
			return nil, err
		}
		out[e.Name] = c.Next(t, s.Location)
	}
	return out, nil
}

// Run fires each entry at its times until ctx ends. Each entry has its own loop so a slow
// handler delays only its own next run.
func (s *Scheduler) Run(ctx context.Context) error {
	now, after := s.Now, s.After
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	var wg sync.WaitGroup
	for _, e := range s.Timetable {
		c, err := schedule.Parse(e.Expression)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next := c.Next(now(), s.Location)
				select {
				case <-ctx.Done():
					return
				case <-after(next.Sub(now())):
				}
				if s.Log != nil {
					s.Log.InfoContext(ctx, "schedule due", "schedule", e.Name, "phase", e.Phase, "mode", e.Mode, "scheduled_time", next.UTC().Format(time.RFC3339))
				}
				s.Fire(ctx, e, next.UTC())
			}
		}()
	}
	wg.Wait()
	return nil
}
