// Package bench is the harness of `make bench`: it runs the real phase code against the
// vendor simulators (internal/sandbox/...) with a fixed latency per call and the vendors'
// documented rate limits scaled per scenario, and prints one line per scenario comparing
// the wall time with the floor the rate limits set (the scenarios are in bench_test.go;
// this file is what they share: the floor model, the call counter, the heap sampler and
// the output line).
//
// The floor is counted from first principles, not from what the product did: the pages
// a scenario must read and one write per changed record (MinCalls), and the time those
// calls need at the rate limits and latency with any concurrency the limits allow
// (Ideal). A ratio near 1 means the product is as fast as the vendors let it be.
package bench

import (
	"fmt"
	"math"
	"net/http"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Budget is one vendor rate limit: a sliding window of Limit calls per Window
// (Staffomatic: 500 per 10 s) or a token bucket of Rate calls a second with Burst
// (Personio, per endpoint family).
type Budget struct {
	Limit  int
	Window time.Duration
	Rate   float64
	Burst  int
}

// Time is how long n calls take to be sent under the budget from a full budget: a window
// lets Limit through at once and the next Limit one Window later; a bucket lets Burst
// through at once and the rest at Rate. A zero budget is no limit.
func (b Budget) Time(n int) time.Duration {
	switch {
	case n <= 0:
		return 0
	case b.Limit > 0 && b.Window > 0:
		return time.Duration((n-1)/b.Limit) * b.Window
	case b.Rate > 0:
		if rest := n - b.Burst; rest > 0 {
			return time.Duration(float64(rest) / b.Rate * float64(time.Second))
		}
	}
	return 0
}

// Need is a number of calls a scenario must make against one budget.
type Need struct {
	Budget string
	Calls  int
}

// Floor is a scenario's smallest set of calls, in stages that must follow one another
// (the reads a plan needs before its writes); within a stage every call may run at once.
type Floor struct {
	Budgets map[string]Budget
	Latency time.Duration
	Stages  [][]Need
}

// MinCalls is the number of calls of the floor.
func (f Floor) MinCalls() int {
	n := 0
	for _, st := range f.Stages {
		for _, c := range st {
			n += c.Calls
		}
	}
	return n
}

// Ideal is the time the floor's calls need: each stage ends one latency after its last
// call may be sent, and a budget used in several stages is spent cumulatively (the writes
// wait for the budget the reads left).
func (f Floor) Ideal() time.Duration {
	var t time.Duration
	spent := map[string]int{}
	for _, st := range f.Stages {
		end := t
		for _, c := range st {
			if c.Calls == 0 {
				continue
			}
			spent[c.Budget] += c.Calls
			if s := f.Budgets[c.Budget].Time(spent[c.Budget]); s > end {
				end = s
			}
		}
		t = end + f.Latency
	}
	return t
}

// Result is what one scenario measured.
type Result struct {
	Scenario         string
	Records          int
	CallsPersonio    int
	CallsStaffomatic int
	MinCalls         int
	Writes           int
	Wall             time.Duration
	Ideal            time.Duration
	PeakHeap         uint64
}

// Line is the scenario's output line (the format of issue 15).
func (r Result) Line() string {
	ratio := math.Inf(1)
	if r.Ideal > 0 {
		ratio = r.Wall.Seconds() / r.Ideal.Seconds()
	}
	return fmt.Sprintf("BENCH scenario=%s records=%d calls_personio=%d calls_staffomatic=%d min_calls=%d writes=%d wall_s=%.2f ideal_s=%.2f ratio=%.2f peak_heap_mib=%.1f",
		r.Scenario, r.Records, r.CallsPersonio, r.CallsStaffomatic, r.MinCalls, r.Writes, r.Wall.Seconds(), r.Ideal.Seconds(), ratio, float64(r.PeakHeap)/(1<<20))
}

// Counter is an http.RoundTripper that counts the calls the product makes per vendor
// (told apart by host), every attempt, and its writes: the calls with a method other
// than GET and HEAD that the vendor accepted (a 2xx; a throttled attempt that is retried
// writes once), except the token requests, which change nothing.
type Counter struct {
	Next         http.RoundTripper
	PersonioHost string
	personio     atomic.Int64
	staffomatic  atomic.Int64
	writes       atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.Contains(r.URL.Path, "/auth")
	if r.URL.Host == c.PersonioHost {
		c.personio.Add(1)
	} else {
		c.staffomatic.Add(1)
	}
	resp, err := c.Next.RoundTrip(r)
	if write && err == nil && resp.StatusCode < 300 {
		c.writes.Add(1)
	}
	return resp, err
}

// Counts returns the calls per vendor and the writes since the last Reset.
func (c *Counter) Counts() (personio, staffomatic, writes int) {
	return int(c.personio.Load()), int(c.staffomatic.Load()), int(c.writes.Load())
}

// Reset starts counting anew.
func (c *Counter) Reset() {
	c.personio.Store(0)
	c.staffomatic.Store(0)
	c.writes.Store(0)
}

// heapMetric is the bytes of heap objects, live and not yet swept: what the Go heap
// holds, and what a Lambda's memory must fit besides the runtime.
const heapMetric = "/memory/classes/heap/objects:bytes"

// HeapPeak samples the process's heap every few milliseconds and keeps the largest value.
type HeapPeak struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak uint64
}

// StartHeapPeak starts sampling every interval.
func StartHeapPeak(interval time.Duration) *HeapPeak {
	h := &HeapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	s := []metrics.Sample{{Name: heapMetric}}
	sample := func() {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			h.mu.Lock()
			h.peak = max(h.peak, s[0].Value.Uint64())
			h.mu.Unlock()
		}
	}
	sample()
	go func() {
		defer close(h.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return h
}

// Stop ends the sampling and returns the peak in bytes.
func (h *HeapPeak) Stop() uint64 {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}
