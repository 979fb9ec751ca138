package bench_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
)

// TestBudgetTime: a window lets its budget through at once and the next one a window
// later; a bucket its burst at once, then its rate; no budget, no wait.
func TestBudgetTime(t *testing.T) {
	win := bench.Budget{Limit: 500, Window: 10 * time.Second}
	bucket := bench.Budget{Rate: 5, Burst: 15}
	for _, c := range []struct {
		name string
		b    bench.Budget
		n    int
		want time.Duration
	}{
		{"window: nothing", win, 0, 0},
		{"window: one", win, 1, 0},
		{"window: the whole budget at once", win, 500, 0},
		{"window: one more waits a window", win, 501, 10 * time.Second},
		{"window: four budgets and one", win, 2001, 40 * time.Second},
		{"bucket: the burst at once", bucket, 15, 0},
		{"bucket: then the rate", bucket, 25, 2 * time.Second},
		{"no budget", bench.Budget{}, 1000, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.b.Time(c.n); got != c.want {
				t.Errorf("Time(%d) = %s, want %s", c.n, got, c.want)
			}
		})
	}
}

// TestFloorIdeal: stages follow one another, each a latency after its last call may be
// sent; a budget used by reads and writes is spent cumulatively; MinCalls adds them up.
func TestFloorIdeal(t *testing.T) {
	f := bench.Floor{
		Budgets: map[string]bench.Budget{"s": {Limit: 500, Window: 10 * time.Second}, "p": {Rate: 5, Burst: 15}},
		Latency: 20 * time.Millisecond,
		Stages: [][]bench.Need{
			{{Budget: "p", Calls: 25}, {Budget: "s", Calls: 10}},
			{{Budget: "s", Calls: 491}},
		},
	}
	if got := f.MinCalls(); got != 526 {
		t.Errorf("MinCalls = %d, want 526", got)
	}
	// Reads: Personio's 25 calls take 2 s (+20 ms); the writes bring Staffomatic to 501,
	// the last of which may go 10 s after the first (+20 ms).
	if got, want := f.Ideal(), 10*time.Second+20*time.Millisecond; got != want {
		t.Errorf("Ideal = %s, want %s", got, want)
	}
	f.Stages[1][0].Calls = 490
	if got, want := f.Ideal(), 2*time.Second+40*time.Millisecond; got != want {
		t.Errorf("Ideal within the window = %s, want %s", got, want)
	}
}

// TestResultLine: the line has the fields in its order.
func TestResultLine(t *testing.T) {
	r := bench.Result{Scenario: "users-first", Records: 2000, CallsPersonio: 22, CallsStaffomatic: 2159, MinCalls: 2174,
		Writes: 2148, Wall: 12410 * time.Millisecond, Ideal: 10020 * time.Millisecond, PeakHeap: 53 << 20}
	want := "BENCH scenario=users-first records=2000 calls_personio=22 calls_staffomatic=2159 min_calls=2174 writes=2148 wall_s=12.41 ideal_s=10.02 ratio=1.24 peak_heap_mib=53.0"
	if got := r.Line(); got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
}

// TestCounter: calls are counted per vendor by host, every attempt; writes are the
// accepted non-GET calls, token requests excluded.
func TestCounter(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	u, _ := url.Parse(srv.URL)
	c := &bench.Counter{Next: http.DefaultTransport, PersonioHost: u.Host}
	cl := &http.Client{Transport: c}
	do := func(method, url string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	do(http.MethodGet, srv.URL+"/v1/company/employees")
	do(http.MethodPost, srv.URL+"/v1/auth")
	do(http.MethodPost, srv.URL+"/v2/attendance-periods")
	status = http.StatusTooManyRequests
	do(http.MethodPost, srv.URL+"/v2/attendance-periods")
	do(http.MethodPut, other.URL+"/v3/acme/users/1.json")
	p, s, w := c.Counts()
	if p != 4 || s != 1 || w != 2 {
		t.Errorf("counts personio %d, staffomatic %d, writes %d; want 4, 1, 2", p, s, w)
	}
	c.Reset()
	if p, s, w := c.Counts(); p+s+w != 0 {
		t.Errorf("after Reset: %d %d %d", p, s, w)
	}
}
