package usersync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestNoOpRunCountsUnchanged: a run after a complete sync changes nothing and writes no
// protocol entry, yet its summary accounts for every selected employee: unchanged, or
// skipped for a conflict or skip an earlier run reported; nothing created, updated or
// failed.
func TestNoOpRunCountsUnchanged(t *testing.T) {
	w := newDemo(t)
	ctx := context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded || len(entries) != 0 {
		t.Fatalf("second run: %v %+v %+v", err, sum, entries)
	}
	selected := len(w.emps) - 1 // all but the one switched off
	c := sum.Counts
	if c[domain.OutcomeCreated]+c[domain.OutcomeUpdated]+c[domain.OutcomeFailed] != 0 || c[domain.OutcomeUnchanged] == 0 ||
		c[domain.OutcomeUnchanged]+c[domain.OutcomeSkipped] != selected {
		t.Fatalf("counts %v, want %d selected employees unchanged or skipped", c, selected)
	}
	if sum.APICalls[domain.SystemPersonio] == 0 || sum.APICalls[domain.SystemStaffomatic] == 0 {
		t.Fatalf("api calls %v", sum.APICalls)
	}
	t.Logf("counts %v api_calls %v", c, sum.APICalls)
}

// TestPartialFallbackStoresFullMode: the first partial run has no cursor and reads
// everything; its summary says so (mode full, requested partial, the reason), and the
// next partial run, which has the cursor, is stored as partial.
func TestPartialFallbackStoresFullMode(t *testing.T) {
	w := newDemo(t)
	ctx := context.Background()
	req := w.env.Request(domain.PhaseUsers, domain.ModePartial, false)
	req.Trigger, req.ScheduledTime = domain.TriggerSchedule, w.env.Now
	sum, err := w.h.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := w.env.Store.GetRun(ctx, req.Tenant, req.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []domain.RunSummary{sum, stored} {
		if s.Mode != domain.ModeFull || s.RequestedMode != domain.ModePartial || !strings.Contains(s.ModeReason, "no earlier successful run") {
			t.Fatalf("fallback run: mode %q requested %q reason %q", s.Mode, s.RequestedMode, s.ModeReason)
		}
	}
	sum, _, err = w.run(t, ctx, domain.ModePartial, false)
	if err != nil || sum.Mode != domain.ModePartial || sum.RequestedMode != "" || sum.ModeReason != "" {
		t.Fatalf("second partial run: %v mode %q requested %q reason %q", err, sum.Mode, sum.RequestedMode, sum.ModeReason)
	}
}
