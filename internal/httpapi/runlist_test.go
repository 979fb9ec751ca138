package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestPhaseFilteredRunListReadsBoundedPages: the runs of one phase can be rare among a
// tenant's (a users run among thousands of webhooks' timesheets runs). A filtered list
// reads at most runListPages pages of the run list a request and returns the cursor
// where it stopped, with fewer runs than asked for (even none); following the cursors
// finds every run of the phase once, newest first. It read the whole list in one request.
func TestPhaseFilteredRunListReadsBoundedPages(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID + "/runs"
	now := time.Now().UTC().Truncate(time.Second)
	put := func(p domain.Phase, at time.Time) string {
		t.Helper()
		sum := domain.RunSummary{Tenant: c.TenantID, RunID: domain.NewRunID(p, at), Phase: p, Mode: domain.ModeTargeted,
			Trigger: domain.TriggerWebhook, Status: domain.RunSucceeded, ScheduledTime: at, QueuedAt: at, StartedAt: at, FinishedAt: at}
		if p == domain.PhaseUsers {
			sum.Mode, sum.Trigger = domain.ModeFull, domain.TriggerSchedule
		}
		if err := e.store.PutRun(t.Context(), sum); err != nil {
			t.Fatal(err)
		}
		return sum.RunID
	}
	// 30 timesheets runs a second apart; a users run sixth newest and one oldest.
	const limit, total = 2, 32
	var want []string
	for i := range total {
		at := now.Add(-time.Duration(i) * time.Second)
		switch i {
		case 5, total - 1:
			want = append(want, put(domain.PhaseUsers, at))
		default:
			put(domain.PhaseTimesheets, at)
		}
	}
	type page struct {
		Runs       []RunView
		NextCursor string `json:"next_cursor"`
	}
	list := func(cursor string) (page, int64) {
		t.Helper()
		q := fmt.Sprintf("%s?phase=users&limit=%d", base, limit)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		before := e.queries.Load()
		r := e.do(t, "GET", q, c.AdminToken, nil)
		var p page
		r.json(t, &p)
		if r.Code != 200 {
			t.Fatalf("GET %s: %d %s", q, r.Code, r.Body)
		}
		return p, e.queries.Load() - before
	}
	var got []string
	cursor, requests := "", 0
	for {
		p, queries := list(cursor)
		requests++
		if queries > runListPages {
			t.Errorf("request %d made %d queries, want at most %d", requests, queries, runListPages)
		}
		for _, r := range p.Runs {
			if r.Phase != domain.PhaseUsers {
				t.Errorf("a %s run in the users list: %s", r.Phase, r.RunID)
			}
			got = append(got, r.RunID)
		}
		if requests == 1 && (len(p.Runs) != 1 || p.NextCursor == "") {
			t.Fatalf("first request: %d runs, cursor %q; want the newer users run and a cursor, having read %d of the %d runs",
				len(p.Runs), p.NextCursor, runListPages*limit, total)
		}
		if cursor = p.NextCursor; cursor == "" || requests > total {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the users runs over %d requests: %v, want %v", requests, got, want)
	}
	if requests != 2 {
		t.Errorf("%d requests for %d runs read %d a request, want 2", requests, total, runListPages*limit)
	}
}
