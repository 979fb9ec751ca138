package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestRunsOfOneSecondByStart: the four runs Sync Now of all phases queues in one second are
// listed by start, newest first (those not started yet first, in the reverse of the order
// they will run), and a page does not end inside that second.
func TestRunsOfOneSecondByStart(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 250e6, time.UTC)
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	var queued struct{ Queued []PhaseRef }
	if r := e.do(t, "POST", base+"/sync/all", c.AdminToken, nil); r.Code != http.StatusAccepted {
		t.Fatalf("sync all: %d %s", r.Code, r.Body)
	} else {
		r.json(t, &queued)
	}
	// What the phase functions record: users ran first, workspaces is running.
	started := map[domain.Phase]time.Duration{domain.PhaseUsers: 100 * time.Millisecond, domain.PhaseWorkspaces: 600 * time.Millisecond}
	for _, q := range queued.Queued {
		run, err := e.store.GetRun(t.Context(), c.TenantID, q.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := started[q.Phase]; ok {
			run.Status, run.StartedAt = domain.RunRunning, now.Add(d)
			if q.Phase == domain.PhaseUsers {
				run.Status, run.FinishedAt = domain.RunSucceeded, now.Add(d+200*time.Millisecond)
			}
			if err := e.store.PutRun(t.Context(), run); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, limit := range []string{"50", "2"} {
		var page struct {
			Runs       []RunView
			NextCursor string `json:"next_cursor"`
		}
		r := e.do(t, "GET", base+"/runs?limit="+limit, c.AdminToken, nil)
		r.json(t, &page)
		var order []string
		for _, run := range page.Runs {
			order = append(order, string(run.Phase))
		}
		if r.Code != http.StatusOK || strings.Join(order, ",") != "absences,timesheets,workspaces,users" || page.NextCursor != "" {
			t.Errorf("limit %s: %d runs %v, next %q", limit, r.Code, order, page.NextCursor)
		}
	}
}
