package faults_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/synctest"
)

// event is the EventBridge event of r as the phase function receives it.
func event(t testing.TB, r domain.SyncRequest) json.RawMessage {
	t.Helper()
	d, err := bus.Detail(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(bus.Envelope{Version: "0", ID: r.RunID, Source: bus.Source, DetailType: bus.DetailType, Time: time.Now(),
		Region: "eu-central-1", Detail: d})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameEventTwiceAtOnce: while a run of the phase is under way (held at its first
// vendor request), a second delivery arrives. The same event again (EventBridge delivers
// at least once) is ignored; another run of the phase (a schedule meeting Sync Now) is
// recorded as skipped, naming the run that holds the lease. Either way the second delivery
// calls no vendor, only the first run writes, every record exists once, and the stored
// summaries are the one run's (and the skip's).
func TestSameEventTwiceAtOnce(t *testing.T) {
	cases := []struct {
		name string
		// second is the second delivery's request, given the first's.
		second func(w *world, first domain.SyncRequest) domain.SyncRequest
		// skipped: the second is recorded as a skipped run of its own.
		skipped bool
	}{
		{"same event", func(_ *world, first domain.SyncRequest) domain.SyncRequest { return first }, false},
		{"another run", func(w *world, first domain.SyncRequest) domain.SyncRequest {
			return w.env.Request(first.Phase, domain.ModeFull, false)
		}, true},
	}
	for _, sp := range specs {
		for _, c := range cases {
			t.Run(string(sp.phase)+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, sp, options{})
				arrived, release := make(chan struct{}), make(chan struct{})
				var once sync.Once
				w.tap.setFault(func(*http.Request) *http.Response {
					once.Do(func() { close(arrived); <-release })
					return nil
				})
				first := w.env.Request(sp.phase, domain.ModeFull, false)
				done := make(chan error, 1)
				go func() { done <- w.handle(context.Background(), event(t, first)) }()
				<-arrived
				second := c.second(w, first)
				before := len(w.tap.sent(true, nil)) + len(w.tap.sent(false, nil))
				if err := w.handle(context.Background(), event(t, second)); err != nil {
					t.Errorf("second delivery: %v", err)
				}
				if n := len(w.tap.sent(true, nil)) + len(w.tap.sent(false, nil)); n != before {
					t.Errorf("the second delivery made %d vendor calls", n-before)
				}
				close(release)
				if err := <-done; err != nil {
					t.Fatalf("first delivery: %v", err)
				}
				w.env.Quiesce()
				for k, n := range sp.records(w.env) {
					if n != 1 {
						t.Errorf("%s exists %d times", k, n)
					}
				}
				runs := phaseRuns(t, w, sp.phase)
				if got := runs[first.RunID].Status; got == "" || got == domain.RunFailed || got == domain.RunSkipped || got == domain.RunRunning {
					t.Errorf("the run is stored as %q", got)
				}
				if c.skipped {
					if s := runs[second.RunID]; s.Status != domain.RunSkipped || !strings.Contains(s.Reason, first.RunID) {
						t.Errorf("the second run is stored as %q (%q), want skipped naming %s", s.Status, s.Reason, first.RunID)
					}
				}
				want := 1
				if c.skipped {
					want = 2
				}
				if len(runs) != want {
					t.Errorf("%d runs of the phase stored, want %d: %+v", len(runs), want, runs)
				}
				w.quiet(t)
			})
		}
	}
}

// phaseRuns returns the stored run summaries of phase p by run id.
func phaseRuns(t testing.TB, w *world, p domain.Phase) map[string]domain.RunSummary {
	t.Helper()
	page, err := w.env.Store.ListRuns(context.Background(), synctest.TenantID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]domain.RunSummary{}
	for _, r := range page.Runs {
		if r.Phase == p {
			out[r.RunID] = r
		}
	}
	return out
}
