package phase

// The apply kit: what every phase's Apply needs and should not write again — bounded
// concurrency that stops cleanly, protocol reports written once per run, a create whose
// mapping is written even when the run is being stopped, and the retry policy of failed
// transfers.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// ForEach calls fn for every item, at most n at once (n < 1 means 1), in the items'
// order of start. fn's error is for what makes the rest of the run pointless (the
// protocol cannot be written, the vendor refuses the credentials); a record that failed
// is recorded by fn and is no error. The first error cancels the context fn gets and no
// further item is started; when ctx ends, no further item is started either. ForEach
// returns once every started fn has returned — fn must return when its context ends —
// so no goroutine outlives it. It returns the first error, or, when ctx ended before
// every item was started, an error wrapping ctx.Err(). A panic in fn becomes a
// *PanicError instead of ending the process (the harness's recover cannot reach another
// goroutine).
func ForEach[T any](ctx context.Context, n int, items []T, fn func(ctx context.Context, item T) error) error {
	if n < 1 {
		n = 1
	}
	n = min(n, len(items))
	work, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu      sync.Mutex
		first   error
		started atomic.Int64
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel(err)
		}
	}
	next := make(chan int)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// An item handed over as the context ended is not started: the select
				// below may pick the send although the context is done.
				if work.Err() != nil {
					continue
				}
				started.Add(1)
				if err := call(work, fn, i, items[i]); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for i := range items {
		if work.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-work.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if left := len(items) - int(started.Load()); left > 0 {
		return fmt.Errorf("%d of %d items not started: %w", left, len(items), ctx.Err())
	}
	return nil
}

// PanicError is a panic in a ForEach item, with the stack where it happened.
type PanicError struct {
	Item  int // the item's index
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (panic) in item %d: %v", e.Item, e.Value)
}

func call[T any](ctx context.Context, fn func(context.Context, T) error, i int, item T) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Item: i, Value: p, Stack: debug.Stack()}
		}
	}()
	return fn(ctx, item)
}

// Reporter writes findings to the protocol — conflicts, unmatched categories, records an
// admin has to fix — once per run: the same kind, source id and reason is written (and
// counted) once, however many actions or goroutines run into it. Get it with
// Run.Reporter; it is safe for concurrent use.
type Reporter struct {
	run  *Run
	mu   sync.Mutex
	seen map[reportKey]bool
}

type reportKey struct {
	kind           domain.RecordKind
	source, reason string
}

// Reporter returns the run's reporter (one per run, so that every part of Apply shares
// what has been reported).
func (r *Run) Reporter() *Reporter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reporter == nil {
		r.reporter = &Reporter{run: r, seen: map[reportKey]bool{}}
	}
	return r.reporter
}

// Report writes e (outcome OutcomeReported unless e sets one) unless this run reported
// the same kind, source id and reason already, and says whether it wrote it. The entry is
// recorded on a context detached from ctx's cancellation: a finding made before the run
// was stopped is still told.
func (rp *Reporter) Report(ctx context.Context, e domain.ProtocolEntry) (bool, error) {
	if e.Outcome == "" {
		e.Outcome = domain.OutcomeReported
	}
	k := reportKey{kind: e.Kind, source: e.SourceID, reason: e.Reason}
	rp.mu.Lock()
	if rp.seen[k] {
		rp.mu.Unlock()
		return false, nil
	}
	rp.seen[k] = true
	rp.mu.Unlock()
	if err := rp.run.Record(context.WithoutCancel(ctx), e); err != nil {
		rp.mu.Lock()
		delete(rp.seen, k) // not written: a later report may try again
		rp.mu.Unlock()
		return false, fmt.Errorf("report %s %s: %w", e.Kind, e.SourceID, err)
	}
	return true, nil
}

// MapWriteTimeout bounds the mapping write after a create (CreateThenMap). That write
// runs on a context the run's cancellation does not end, so it needs its own bound.
const MapWriteTimeout = 10 * time.Second

// ErrNotMapped is wrapped by CreateThenMap when the record was created but its mapping
// could not be stored: the next run must find the record by another key (custom_id, name)
// or it creates it twice, so the caller records the record as failed and says so.
var ErrNotMapped = errors.New("created in the target system, but its mapping was not stored")

// CreateThenMap runs create under ctx and, once it succeeded, writes the mapping of what
// it created with mapIt under a context detached from ctx's cancellation and bounded by
// MapWriteTimeout. A record that exists in the target is thereby always mapped, even when
// the run is stopped (its deadline margin, a cancelled invocation) right after the
// create: an unmapped record is created again by the next run. create's error is returned
// as is, with mapIt not called; mapIt's error wrapped in ErrNotMapped, with the created
// value.
func CreateThenMap[T any](ctx context.Context, create func(ctx context.Context) (T, error), mapIt func(ctx context.Context, created T) error) (T, error) {
	v, err := create(ctx)
	if err != nil {
		return v, err
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), MapWriteTimeout)
	defer cancel()
	if err := mapIt(mctx, v); err != nil {
		return v, fmt.Errorf("%w: %w", ErrNotMapped, err)
	}
	return v, nil
}

// Retry is the one place that decides whether a failing record transfer is tried again
// or given up (DESIGN §1.3: a change is retried for 7 days, then reported as failed). It
// keeps its bookkeeping in the record's mapping (first failure, attempts, last error,
// state), which the run stores after each attempt. The zero value uses
// domain.RetryWindow.
type Retry struct {
	// Window is how long after its first failure a record is still tried again.
	Window time.Duration
}

// GiveUp reports whether a record whose first failure was at first, failing again at
// now, is given up: only once more than the window has passed (domain.RetryExpired).
func (p Retry) GiveUp(first, now time.Time) bool {
	return domain.RetryExpired(first, now, p.Window)
}

// Failed records a failed attempt at now in m and reports whether to try again (state
// failed) or not (state gave_up: report it as failed; it is tried again only when its
// source changes): domain.Mapping.RecordFailure with the policy's window.
func (p Retry) Failed(m *domain.Mapping, now time.Time, reason string) (retry bool) {
	return m.RecordFailure(now, reason, p.Window)
}

// Succeeded records a successful transfer of content hash h to targets at now, which
// clears the retry bookkeeping.
func (p Retry) Succeeded(m *domain.Mapping, now time.Time, h string, targets ...string) {
	m.RecordSuccess(now, h, targets...)
}

// Recorder is what a phase's apply writes to: the run's protocol, its counts of records
// without an entry, and the next partial run's cursor. *Run implements it; tests apply a
// plan against a recording one.
type Recorder interface {
	Record(ctx context.Context, e domain.ProtocolEntry) error
	Count(o domain.Outcome, n int)
	SetCursor(c string)
}

var _ Recorder = (*Run)(nil)

// RecordEach applies items with ForEach (at most n at once) and records the protocol entry
// each returns, on a context the run's end does not cancel: what was done is told. An
// item's error is a failed bookkeeping write (the run's problem; the record's own failure
// is an entry with outcome failed); the first such error, or a protocol write error, is
// returned once every started item has returned, before ForEach's own error.
func RecordEach[T any](ctx context.Context, rec Recorder, n int, items []T, fn func(ctx context.Context, item T) (domain.ProtocolEntry, error)) error {
	var mu sync.Mutex
	var first error
	note := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	err := ForEach(ctx, n, items, func(ctx context.Context, item T) error {
		e, err := fn(ctx, item)
		if err != nil {
			note(err)
			return nil
		}
		if err := rec.Record(context.WithoutCancel(ctx), e); err != nil {
			note(fmt.Errorf("write protocol: %w", err))
		}
		return nil
	})
	if first != nil {
		return first
	}
	return err
}

// Detached runs write (a mapping or other bookkeeping write after a vendor write) on a
// context the run's cancellation does not end, bounded by MapWriteTimeout.
func Detached(ctx context.Context, write func(ctx context.Context) error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), MapWriteTimeout)
	defer cancel()
	return write(dctx)
}
