package faults_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
)

// failingDB is the HTTP client of a DynamoDB client that answers every request after the
// first `after` with a 500 InternalServerError, as DynamoDB does in a partial outage, until
// it is healed. after < 0 never fails; requests are counted from the last arm.
type failingDB struct {
	next  http.RoundTripper
	after atomic.Int64
	seen  atomic.Int64
}

func (f *failingDB) Do(r *http.Request) (*http.Response, error) {
	n := f.seen.Add(1)
	if after := f.after.Load(); after >= 0 && n > after {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		h := http.Header{}
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("X-Amzn-Errortype", "InternalServerError")
		return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Header: h, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected)"}`))}, nil
	}
	return f.next.RoundTrip(r)
}

// arm starts counting anew and fails every request after the first `after` (-1: heal).
func (f *failingDB) arm(after int64) {
	f.seen.Store(0)
	f.after.Store(after)
}

// failingStore returns a store on the world's tables whose client goes through f. The SDK's
// retries stay on (three attempts) without their back-off, so an outage costs no wall time.
func failingStore(t testing.TB, f *failingDB) func(env *synctest.Env) *store.Store {
	return func(env *synctest.Env) *store.Store {
		db := dynamodb.NewFromConfig(awstest.Config(t), func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(env.DynamoDBEndpoint)
			o.DisableValidateResponseChecksum = true
			o.HTTPClient = f
			o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
		})
		return store.New(db, env.Tables, store.WithClock(env.Clock))
	}
}

// TestStoreFailsMidRun: DynamoDB starts failing at a point of the m store requests an
// undisturbed run makes (taking the lease, in load, in apply, at the final summary). The
// run fails cleanly: an error (no panic), and no stored summary claims a success. Once the
// store answers again, a run with a new id is skipped while the failed run's lease is
// still held; once the lease has expired (the harness's lease TTL on the world's clock),
// Lambda's retry of the failed invocation completes the run and stores its final summary.
// Then every record exists exactly once and a further run writes nothing. On minidyn and
// on moto_server.
func TestStoreFailsMidRun(t *testing.T) {
	t.Parallel() // waits on back-offs and moto_server more than on the CPU
	moto := awstest.StartMoto(t)
	// The run's store requests are: tenant, run summary, lease, summary again, summary
	// "running", cursor; then Load's reads, Apply's mapping writes, the protocol, the
	// cursor; last the final summary with the lease release and the pruning of old
	// summaries.
	// Past the lease, the outage also keeps the run from releasing it (leaseHeld).
	at := []struct {
		name      string
		after     func(m int64) int64
		leaseHeld bool
	}{
		{"taking the lease", func(int64) int64 { return 2 }, false},
		{"in load", func(int64) int64 { return 6 }, true},
		{"in apply", func(m int64) int64 { return (m + 6) / 2 }, true},
		{"writing the final summary", func(m int64) int64 { return m - 2 }, true},
	}
	type backend struct {
		name string
		db   func(t *testing.T) *dynamodb.Client
	}
	minidyn := backend{"minidyn", func(t *testing.T) *dynamodb.Client { db, _ := awstest.MiniDyn(t); return db }}
	onMoto := backend{"moto", func(t *testing.T) *dynamodb.Client { moto.Reset(t); return moto.DynamoDB() }}
	for _, sp := range specs {
		for _, b := range []backend{minidyn, onMoto} {
			t.Run(string(sp.phase)+"/"+b.name, func(t *testing.T) {
				ref := &failingDB{next: http.DefaultTransport}
				ref.arm(-1)
				rw := newWorld(t, sp, options{store: failingStore(t, ref), db: b.db(t)})
				want := runCounting(t, rw, ref)
				m := ref.seen.Load()
				for _, c := range at {
					t.Run(c.name, func(t *testing.T) {
						f := &failingDB{next: http.DefaultTransport}
						f.arm(-1)
						w := newWorld(t, sp, options{store: failingStore(t, f), db: b.db(t)})
						f.arm(c.after(m))
						req := w.env.Request(sp.phase, domain.ModeFull, false)
						sum, err := w.run(context.Background(), req)
						if err == nil {
							t.Fatalf("store failing after %d of %d requests: the run ended %q without an error", c.after(m), m, sum.Status)
						}
						f.arm(-1)
						w.env.Quiesce()
						switch stored, gerr := w.env.Store.GetRun(context.Background(), synctest.TenantID, req.RunID); {
						case gerr == nil && (stored.Status == domain.RunSucceeded || stored.Status == domain.RunPartiallyFailed):
							t.Fatalf("the failed run is stored as %s", stored.Status)
						case gerr != nil && !errors.Is(gerr, store.ErrNotFound):
							t.Fatal(gerr)
						}
						held := false
						if l, lerr := w.env.Store.AcquireLease(context.Background(), synctest.TenantID, sp.phase, "probe", time.Minute); lerr == nil {
							if err := w.env.Store.ReleaseLease(context.Background(), l); err != nil {
								t.Fatal(err)
							}
						} else if h := (*store.LeaseHeldError)(nil); errors.As(lerr, &h) && h.Holder == req.RunID {
							held = true
						} else {
							t.Fatalf("lease probe: %v", lerr)
						}
						if held != c.leaseHeld {
							t.Fatalf("lease held after the outage: %v, want %v", held, c.leaseHeld)
						}
						if held {
							next, _, err := w.fullRun(t, context.Background())
							if err != nil || next.Status != domain.RunSkipped || !strings.Contains(next.Reason, req.RunID) {
								t.Fatalf("a run while the failed run's lease is held: %v %+v", err, next)
							}
							w.env.Advance(w.env.HarnessDeps().LeaseTTL + time.Second)
						}
						// Lambda retries the failed invocation: the same event again.
						again, err := w.run(context.Background(), req)
						if err != nil || again.Status == domain.RunFailed || again.Status == domain.RunSkipped {
							t.Fatalf("the failed run's retry after the outage (lease held: %v): %v %+v\n%s", held, err, again, w.env.Logs.String())
						}
						if stored, err := w.env.Store.GetRun(context.Background(), synctest.TenantID, req.RunID); err != nil || stored.Status != again.Status {
							t.Fatalf("the retried run is stored as %q (%v), it ended %q", stored.Status, err, again.Status)
						}
						checkOnce(t, sp.records(w.env), want)
						w.quiet(t)
					})
				}
			})
		}
	}
}

// runCounting runs an undisturbed full run of the reference world and returns its
// records; ref counts the store requests the run made.
func runCounting(t *testing.T, w *world, ref *failingDB) map[string]int {
	t.Helper()
	ref.arm(-1)
	sum, _, err := w.fullRun(t, context.Background())
	if err != nil || sum.Status == domain.RunFailed {
		t.Fatalf("undisturbed run: %v %+v", err, sum)
	}
	if ref.seen.Load() < 6 {
		t.Fatalf("the run made %d store requests", ref.seen.Load())
	}
	return w.spec.records(w.env)
}
