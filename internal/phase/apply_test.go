package phase_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
)

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestForEachBoundsConcurrency: n items run at once, never more. The first n calls wait
// until n are in flight (the test would hang if ForEach ran fewer), and the highest
// number in flight is recorded.
func TestForEachBoundsConcurrency(t *testing.T) {
	const n = 3
	var inflight, peak atomic.Int32
	full := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var seen []int
	err := phase.ForEach(context.Background(), n, ints(10), func(ctx context.Context, i int) error {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if cur == n {
			once.Do(func() { close(full) })
		}
		<-full
		mu.Lock()
		seen = append(seen, i)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, ints(10)) || peak.Load() != n {
		t.Fatalf("items %v, at most %d at once, want every item once and %d at once", seen, peak.Load(), n)
	}
}

// TestForEachFirstErrorStops: after the first error no item starts, the others see their
// context cancelled, ForEach returns that error once all started calls have returned.
func TestForEachFirstErrorStops(t *testing.T) {
	boom := errors.New("protocol unavailable")
	t.Run("one at a time", func(t *testing.T) {
		var calls []int
		err := phase.ForEach(context.Background(), 1, ints(10), func(_ context.Context, i int) error {
			calls = append(calls, i)
			if i == 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || !slices.Equal(calls, []int{0, 1, 2, 3}) {
			t.Fatalf("error %v, calls %v: want the error and items 0-3 only", err, calls)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var started, finished atomic.Int32
		err := phase.ForEach(context.Background(), 4, ints(50), func(ctx context.Context, i int) error {
			started.Add(1)
			defer finished.Add(1)
			if i == 0 {
				return boom
			}
			<-ctx.Done() // every other item waits until the error cancels it
			return ctx.Err()
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v, want the first one", err)
		}
		if s, f := started.Load(), finished.Load(); s > 4 || s != f {
			t.Fatalf("%d started, %d finished: want at most 4 started (no item after the error) and all of them returned", s, f)
		}
	})
}

// TestForEachStopsWhenTheContextEnds: a context ended before the call starts nothing; one
// ended during the loop starts no further item; both errors wrap the context's error.
func TestForEachStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := phase.ForEach(ctx, 4, ints(5), func(context.Context, int) error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("ended context: %v, called %v", err, called)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var calls []int
	err := phase.ForEach(ctx, 1, ints(10), func(_ context.Context, i int) error {
		calls = append(calls, i)
		if i == 2 {
			cancel() // the invocation is being stopped
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "7 of 10 items not started") || !slices.Equal(calls, []int{0, 1, 2}) {
		t.Fatalf("error %v, calls %v", err, calls)
	}
	if err := phase.ForEach(context.Background(), 3, []int{}, func(context.Context, int) error { t.Fatal("called"); return nil }); err != nil {
		t.Fatalf("no items: %v", err)
	}
}

// TestForEachTurnsAPanicIntoAnError: a panic in an item would end the process (the
// harness's recover cannot reach another goroutine); it becomes the run's error.
func TestForEachTurnsAPanicIntoAnError(t *testing.T) {
	err := phase.ForEach(context.Background(), 2, ints(3), func(_ context.Context, i int) error {
		if i == 1 {
			var m map[string]int
			m["x"]++
		}
		return nil
	})
	var pe *phase.PanicError
	if !errors.As(err, &pe) || pe.Item != 1 || len(pe.Stack) == 0 || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("error %v", err)
	}
}

// TestCreateThenMapMapsAfterTheRunIsStopped: the mapping of a created record is written
// on a live context bounded by MapWriteTimeout even when the run's context ended right
// after the create.
func TestCreateThenMapMapsAfterTheRunIsStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mapped string
	id, err := phase.CreateThenMap(ctx, func(context.Context) (string, error) {
		cancel() // the run is stopped while the create call returns
		return "u42", nil
	}, func(mctx context.Context, id string) error {
		if mctx.Err() != nil {
			return mctx.Err()
		}
		if dl, ok := mctx.Deadline(); !ok || time.Until(dl) > phase.MapWriteTimeout {
			return fmt.Errorf("mapping context deadline %v (set %v), want at most %s away", dl, ok, phase.MapWriteTimeout)
		}
		mapped = id
		return nil
	})
	if err != nil || id != "u42" || mapped != "u42" {
		t.Fatalf("created %q mapped %q: %v", id, mapped, err)
	}

	store := errors.New("throttled")
	id, err = phase.CreateThenMap(context.Background(), func(context.Context) (string, error) { return "u43", nil },
		func(context.Context, string) error { return store })
	if id != "u43" || !errors.Is(err, phase.ErrNotMapped) || !errors.Is(err, store) {
		t.Fatalf("mapping failed: %q %v, want the id and ErrNotMapped wrapping the cause", id, err)
	}

	refused := errors.New("422")
	_, err = phase.CreateThenMap(context.Background(), func(context.Context) (string, error) { return "", refused },
		func(context.Context, string) error { t.Fatal("mapped a record that was not created"); return nil })
	if !errors.Is(err, refused) || errors.Is(err, phase.ErrNotMapped) {
		t.Fatalf("create failed: %v", err)
	}
}

// TestRetryWindowEdges: a failing record is retried until more than the window has
// passed since its first failure, then given up; success clears the bookkeeping; a
// given-up record that is attempted again (it changed) starts a new window.
func TestRetryWindowEdges(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	week := domain.RetryWindow
	cases := []struct {
		name      string
		window    time.Duration
		first     time.Time // zero: no earlier failure
		state     domain.TransferState
		attempts  int
		at        time.Time
		retry     bool
		wantFirst time.Time
		wantTries int
	}{
		{"first failure", 0, time.Time{}, domain.StateTransferred, 0, t0, true, t0, 1},
		{"within the window", 0, t0, domain.StateFailed, 3, t0.Add(week - time.Nanosecond), true, t0, 4},
		{"exactly at the window's end", 0, t0, domain.StateFailed, 3, t0.Add(week), true, t0, 4},
		{"just after the window", 0, t0, domain.StateFailed, 3, t0.Add(week + time.Nanosecond), false, t0, 4},
		{"custom window, after it", time.Hour, t0, domain.StateFailed, 1, t0.Add(time.Hour + time.Second), false, t0, 2},
		{"custom window, inside it", time.Hour, t0, domain.StateFailed, 1, t0.Add(59 * time.Minute), true, t0, 2},
		{"given up, changed and failing again", 0, t0, domain.StateGaveUp, 9, t0.Add(30 * 24 * time.Hour), true, t0.Add(30 * 24 * time.Hour), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := domain.Mapping{Tenant: "acme", Kind: domain.KindTimer, SourceID: "t1", State: c.state, FirstFailureAt: c.first, Attempts: c.attempts}
			p := phase.Retry{Window: c.window}
			retry := p.Failed(&m, c.at, "personio 500")
			wantState := domain.StateFailed
			if !c.retry {
				wantState = domain.StateGaveUp
			}
			if retry != c.retry || m.State != wantState || !m.FirstFailureAt.Equal(c.wantFirst) || m.Attempts != c.wantTries ||
				m.LastError != "personio 500" || !m.UpdatedAt.Equal(c.at) {
				t.Fatalf("retry %v, mapping %+v; want retry %v, state %s, first failure %v, %d attempts", retry, m, c.retry, wantState, c.wantFirst, c.wantTries)
			}
		})
	}
	m := domain.Mapping{State: domain.StateFailed, FirstFailureAt: t0, Attempts: 2, LastError: "x"}
	phase.Retry{}.Succeeded(&m, t0.Add(time.Hour), "h1", "p9")
	if m.State != domain.StateTransferred || !m.FirstFailureAt.IsZero() || m.Attempts != 0 || m.LastError != "" || m.Hash != "h1" || m.TargetID() != "p9" {
		t.Fatalf("after success %+v", m)
	}
	if !(phase.Retry{}).GiveUp(t0, t0.Add(week+time.Nanosecond)) || (phase.Retry{}).GiveUp(time.Time{}, t0) {
		t.Fatal("GiveUp disagrees with Failed")
	}
}

// reportPhase applies its items concurrently, each reporting the finding of its source
// (the same finding for several items) and one item reporting a second finding.
type reportPhase struct{}

func (reportPhase) Name() domain.Phase { return domain.PhaseUsers }
func (reportPhase) Load(context.Context, *phase.Run) ([]string, error) {
	return []string{"a", "a", "b", "a", "b"}, nil
}
func (reportPhase) Plan(ids []string) (fakePlan, error) {
	var p fakePlan
	for _, id := range ids {
		p.acts = append(p.acts, domain.PlannedAction{Kind: domain.KindAbsenceType, SourceID: id})
	}
	return p, nil
}
func (reportPhase) Apply(ctx context.Context, run *phase.Run, p fakePlan) error {
	return phase.ForEach(ctx, 3, p.acts, func(ctx context.Context, a domain.PlannedAction) error {
		_, err := run.Reporter().Report(ctx, domain.ProtocolEntry{Kind: a.Kind, SourceID: a.SourceID, Action: "match_category",
			Reason: "no Staffomatic category named like the Personio absence type " + a.SourceID})
		if err == nil && a.SourceID == "b" {
			_, err = run.Reporter().Report(ctx, domain.ProtocolEntry{Kind: a.Kind, SourceID: a.SourceID, Action: "match_category",
				Outcome: domain.OutcomeSkipped, Reason: "half days are not supported"})
		}
		return err
	})
}

// TestReporterWritesAFindingOncePerRun: the same kind, source and reason is written and
// counted once per run, however many concurrent actions report it.
func TestReporterWritesAFindingOncePerRun(t *testing.T) {
	e := setup(t, &fakePhase{})
	h := phase.New[[]string, fakePlan](reportPhase{}, phase.Deps{Store: e.st, Sealer: e.sealer, Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		Metrics: obs.NewMetrics(e.metrics, "usersync"), LeaseTTL: time.Minute})
	r := request(false)
	sum, err := h.Run(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range protocol(t, e, r.RunID) {
		got = append(got, en.SourceID+"/"+string(en.Outcome))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a/reported", "b/reported", "b/skipped"}) {
		t.Fatalf("protocol %v", got)
	}
	if sum.Counts[domain.OutcomeReported] != 2 || sum.Counts[domain.OutcomeSkipped] != 1 || sum.Status != domain.RunSucceeded {
		t.Fatalf("summary %+v", sum)
	}
}

// entryRecorder keeps the entries RecordEach records.
type entryRecorder struct {
	mu      sync.Mutex
	entries []domain.ProtocolEntry
}

func (r *entryRecorder) Record(_ context.Context, e domain.ProtocolEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
	return nil
}
func (r *entryRecorder) Count(domain.Outcome, int) {}
func (r *entryRecorder) SetCursor(string)          {}

// TestRecordEach: every item's entry is recorded, an item's bookkeeping error is returned
// after all items ran, and Detached outlives a cancelled context.
func TestRecordEach(t *testing.T) {
	rec := &entryRecorder{}
	boom := errors.New("mapping write failed")
	err := phase.RecordEach(context.Background(), rec, 2, []int{1, 2, 3, 4}, func(_ context.Context, i int) (domain.ProtocolEntry, error) {
		if i == 3 {
			return domain.ProtocolEntry{}, boom
		}
		return domain.ProtocolEntry{SourceID: strconv.Itoa(i), Outcome: domain.OutcomeCreated}, nil
	})
	if !errors.Is(err, boom) || len(rec.entries) != 3 {
		t.Fatalf("err %v, %d entries", err, len(rec.entries))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := phase.Detached(ctx, func(ctx context.Context) error { return ctx.Err() }); err != nil {
		t.Fatalf("Detached ran on an ended context: %v", err)
	}
}
