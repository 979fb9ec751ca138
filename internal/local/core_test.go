package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/phases"
)

// TestScheduleReachesPhaseHandlers plays one timetable entry through the local core: the
// dispatch finds the tenants with background sync on and the bus delivers one event to the
// phase handler per tenant, once even when the schedule fires twice.
func TestScheduleReachesPhaseHandlers(t *testing.T) {
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []domain.SyncRequest
	record := func(phase.Deps) (PhaseHandler, error) {
		return PhaseHandler{Phase: domain.PhaseUsers, Handle: func(_ context.Context, raw json.RawMessage) error {
			req, err := bus.Parse(raw)
			if err != nil {
				t.Errorf("bad event: %v", err)
			}
			mu.Lock()
			got = append(got, req)
			mu.Unlock()
			return nil
		}}, nil
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	core, err := NewCore(ctx, Options{Config: cfg, KeyFile: t.TempDir() + "/key", Phases: []PhaseFactory{record}}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	for i, on := range []bool{true, false, true} {
		tn := &domain.Tenant{ID: []string{"alpha", "beta", "gamma"}[i], Owner: domain.Owner{Email: "o@x.de"},
			Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
		tn.Settings.EnableBackgroundSync = on
		if err := core.Store.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	users := domain.Timetable[0]
	core.Fire(ctx, users, at)
	core.Fire(ctx, users, at) // a repeated delivery creates no second run
	core.Bus.Wait()

	if len(got) != 2 {
		t.Fatalf("handler got %d events, want 2: %+v", len(got), got)
	}
	tenants := map[string]bool{}
	for _, r := range got {
		tenants[r.Tenant] = true
		if r.Phase != domain.PhaseUsers || r.Mode != domain.ModeFull || r.Trigger != domain.TriggerSchedule || !r.ScheduledTime.Equal(at) {
			t.Errorf("event %+v", r)
		}
	}
	if !tenants["alpha"] || !tenants["gamma"] {
		t.Errorf("tenants %v, want alpha and gamma", tenants)
	}
}
