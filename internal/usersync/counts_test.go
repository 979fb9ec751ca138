package usersync_test

import (
	"context"
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
