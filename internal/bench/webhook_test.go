package bench_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
)

const (
	webhookTimers = 50
	// kWebhook: one timer's calls fit any budget; the documented limits apply.
	kWebhook = 1
)

// webhookEvery spaces the verifications as the API's default allowance of a tenant's
// webhook deliveries does once its burst of 20 is spent (2 a second; a faster sender is
// answered 429). Personio takes 10 attendance writes a second (burst 10), two per timer:
// hints one right after the other (each as soon as the previous timer's periods exist)
// would drain that bucket within a few timers and queue every later timer's POSTs behind
// the earlier ones' (5 timers a second at most), and p95 would measure that queue (it
// did: 0.18 s, when a timer's own way took 0.07 s), not a hint's way to Personio.
var webhookEvery = httpapi.DefaultWebhooksLimit.Every

// benchWebhook: webhook-latency. An admin verifies a timer in Staffomatic; the simulator
// sends its signed hint to the API's webhook receiver, which queues a targeted timesheets
// run on the local runner's in-process bus (bus.Local, as `make run` wires it, with the
// registered phase of internal/phases); the latency is from the verification's answer
// until the timer's WORK and BREAK periods exist in Personio, p50 and p95 over 50 timers
// verified one every webhookEvery (wall_s is the p95, ideal_s the floor of one timer).
func benchWebhook(b *testing.B) {
	// The world's clock is the wall clock: the receiver checks the hint's signature time.
	w := newWorldAt(b, webhookTimers+webhookTimers/4, time.Now().UTC().Truncate(time.Second))
	usersRun(b, w)
	acc := w.env.S.Account(demo.StaffomaticSubdomain)
	now := w.env.Clock()
	var timers []staffomaticsim.WorkTimer
	for i, uid := range mappedUsers(b, w, webhookTimers) {
		timers = append(timers, addShift(b, acc, uid, now.Add(-9*time.Hour+time.Duration(i)*time.Minute), staffomaticsim.TimerStopped))
	}

	// The receiver's secret, sealed as the API stores it on creation.
	ctx := context.Background()
	secret := "whs_bench_" + strings.Repeat("x", 24)
	blob, err := w.env.Sealer.Seal(ctx, synctest.TenantID, []byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	if err := w.env.Store.PutWebhookSecrets(ctx, store.WebhookSecrets{Tenant: synctest.TenantID,
		StaffomaticSecret: domain.Sealed{Scheme: w.env.Sealer.Scheme(), Blob: blob}, RotatedAt: now}); err != nil {
		b.Fatal(err)
	}
	vb, budgets := w.measured(kWebhook)
	events := bus.NewLocal(quiet)
	b.Cleanup(events.Close)
	deps := w.deps()
	deps.Bus = events
	events.Subscribe(domain.PhaseTimesheets, phases.Get(domain.PhaseTimesheets).New(phases.Deps{Harness: deps, Vendors: vb}))
	api := httptest.NewServer(httpapi.New(httpapi.Options{Logger: quiet, Store: w.env.Store, Sealer: w.env.Sealer, Bus: events,
		Vendors: httpapi.NewVendors(vb), Phases: []domain.Phase{domain.PhaseTimesheets}}))
	b.Cleanup(api.Close)
	acc.SetWebhook(api.URL+"/v1/webhooks/staffomatic/"+synctest.TenantID, []byte(secret))

	var lat []time.Duration
	runtime.GC()
	heap := bench.StartHeapPeak(2 * time.Millisecond)
	next := time.Now()
	for _, wt := range timers {
		time.Sleep(time.Until(next))
		next = time.Now().Add(webhookEvery)
		if err := simPut(w, fmt.Sprintf("/work_timers/%d.json", wt.ID), map[string]any{"do": "verify"}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := waitPeriods(w, wt.ID, 2, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	events.Wait() // the last run's bookkeeping, after its periods exist
	peak := heap.Stop()
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	// One timer's floor: its timer and its breaks at once, then its WORK and BREAK
	// periods at once (Personio's token, fetched once, is shared by the runs).
	f := bench.Floor{Budgets: budgets, Latency: Latency, Stages: [][]bench.Need{
		{{Budget: bStaffomatic, Calls: 2}},
		{{Budget: bAttendances, Calls: 2}},
	}}
	r := bench.Result{Scenario: "webhook-latency", Records: webhookTimers, Wall: p95, PeakHeap: peak}
	r.CallsPersonio, r.CallsStaffomatic, r.Writes = w.count.Counts()
	r.MinCalls, r.Ideal = f.MinCalls()*webhookTimers+1, f.Ideal()
	b.Logf("webhook-latency: p50 %s, p95 %s, max %s", p50.Round(time.Millisecond), p95.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	printLine(b, r)
}

// waitPeriods waits until the timer's n periods exist in the simulated Personio.
func waitPeriods(w *world, timerID int64, n int, limit time.Duration) error {
	prefix := timesync.MarkerPrefix + fmt.Sprint(timerID) + "/"
	deadline := time.Now().Add(limit)
	for {
		got := 0
		for _, p := range w.env.P.AttendancePeriods() {
			if strings.HasPrefix(p.Comment, prefix) {
				got++
			}
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timer %d: %d of %d periods after %s", timerID, got, n, limit)
		}
		time.Sleep(time.Millisecond)
	}
}
