package faults_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/vendors"
)

// The storm worlds scale both APIs' limits down, on the simulators and in the clients
// alike, so that the demo's few hundred calls span many rate windows: Staffomatic allows
// stfLimit requests per stfWindow (documented: 500 per 10 s), every paced Personio family
// a bucket of psnLimit (documented: 5 to 30 a second). The auth families keep their
// documented limits (a run asks for one token).
const (
	stfLimit  = 20
	stfWindow = time.Second
)

var psnLimit = personio.Limit{PerSecond: 4, Burst: 2}

// paced are the Personio families the storm worlds scale, with the path prefix of each.
var paced = map[personio.Family]string{
	personio.FamilyEmployees:         "/v1/company/employees",
	personio.FamilyTimeOffTypes:      "/v1/company/time-off-types",
	personio.FamilyAbsencePeriods:    "/v2/absence-periods",
	personio.FamilyAttendancePeriods: "/v2/attendance-periods",
}

// stormWorld is a world whose clients and simulators keep the scaled limits.
func stormWorld(t *testing.T, sp spec) *world {
	t.Helper()
	limits := personio.DefaultLimits()
	for f := range paced {
		limits[f] = psnLimit
	}
	reg := vendors.NewRegistry(0, nil).WithPersonioLimits(limits).WithStaffomaticLimit(stfLimit, stfWindow)
	w := newWorld(t, sp, options{limits: reg, rateLimited: true})
	w.env.S.SetRateLimit(stfLimit, stfWindow)
	for f := range paced {
		w.env.P.SetRateLimit(personiosim.Family(f), personiosim.RateLimit{PerSecond: psnLimit.PerSecond, Burst: psnLimit.Burst})
	}
	return w
}

// checkRates fails when more calls left within any window than the limit allows: for
// Staffomatic stfLimit per stfWindow, for each paced Personio family its bucket (burst plus
// a second's refill). The windows are counted from the send stamps a little shorter than
// the limit's, so that the scheduling between a limiter's reservation and the send (on a
// busy machine) cannot count against it.
func checkRates(t *testing.T, w *world) {
	t.Helper()
	const slack = 100 * time.Millisecond
	if got := maxInWindow(w.tap.sent(false, nil), stfWindow-slack); got > stfLimit {
		t.Errorf("Staffomatic: %d calls within %s, the limit is %d", got, stfWindow, stfLimit)
	}
	bound := psnLimit.Burst + int(psnLimit.PerSecond)
	for f, prefix := range paced {
		calls := w.tap.sent(true, func(p string) bool { return strings.HasPrefix(p, prefix) })
		if got := maxInWindow(calls, time.Second-slack); got > bound {
			t.Errorf("Personio %s: %d calls within a second, the bucket allows %d", f, got, bound)
		}
	}
}

// TestStormsAndBursts: for each phase, a 429 storm and a 5xx burst on each API. Staffomatic
// answers a run of requests with 429 (without and with Retry-After) or 503 (its fault
// hooks); Personio's budget is taken by someone else for a while (its own limiter answers
// 429 with its rate headers) or it answers the first requests of every endpoint the run
// reads with 503. The storms are sized within the clients' retry budgets (a longer one
// fails the run, and the next run completes). The run completes (records a POST refused with a 5xx — perhaps made,
// perhaps not — are failed records the next run finds or makes), no record exists twice
// and the records are an undisturbed run's, a further run writes nothing, and no API was
// sent more calls in any window than its limit, retries included.
func TestStormsAndBursts(t *testing.T) {
	t.Parallel() // waits on back-offs and moto_server more than on the CPU
	// Each storm must have been met: some answer of the API had its status.
	storms := []struct {
		name     string
		personio bool
		status   int
		inject   func(t *testing.T, w *world)
	}{
		{"staffomatic 429 storm", false, http.StatusTooManyRequests, func(_ *testing.T, w *world) {
			w.env.S.InjectFault(staffomaticsim.Fault{Status: http.StatusTooManyRequests, Times: 3})
		}},
		{"staffomatic 429 storm with Retry-After", false, http.StatusTooManyRequests, func(_ *testing.T, w *world) {
			w.env.S.InjectFault(staffomaticsim.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 3})
		}},
		{"staffomatic 5xx burst", false, http.StatusServiceUnavailable, func(_ *testing.T, w *world) {
			w.env.S.InjectFault(staffomaticsim.Fault{Status: http.StatusServiceUnavailable, Times: 2})
			w.env.S.InjectFault(staffomaticsim.Fault{Status: http.StatusBadGateway, Method: http.MethodGet, Times: 1})
		}},
		{"personio 429 storm", true, http.StatusTooManyRequests, func(t *testing.T, w *world) {
			// Another integration of the company spends the budget: from before the run
			// until half a second after the run met the second 429.
			for f := range paced {
				w.env.P.SetRateLimit(personiosim.Family(f), personiosim.RateLimit{PerSecond: 1, Burst: 1})
			}
			done := make(chan struct{})
			t.Cleanup(func() { close(done) })
			go func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for w.env.P.StatusCount("", http.StatusTooManyRequests) < 2 {
					select {
					case <-done:
						return
					case <-tick.C:
					}
				}
				select {
				case <-done:
					return
				case <-time.After(500 * time.Millisecond):
				}
				for f := range paced {
					w.env.P.SetRateLimit(personiosim.Family(f), personiosim.RateLimit{PerSecond: psnLimit.PerSecond, Burst: psnLimit.Burst})
				}
			}()
		}},
		{"personio 5xx burst", true, http.StatusServiceUnavailable, func(t *testing.T, w *world) {
			// The endpoints the run reads are those of a dry run.
			w.env.P.ResetCalls()
			if _, err := w.run(context.Background(), w.env.Request(w.spec.phase, domain.ModeFull, true)); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, c := range w.env.P.Calls() {
				if !seen[c.Endpoint] {
					seen[c.Endpoint] = true
					w.env.P.InjectFault(c.Endpoint, 1, personiosim.Fault{Status: http.StatusServiceUnavailable})
				}
			}
			if len(seen) == 0 {
				t.Fatal("the dry run read nothing from Personio")
			}
		}},
	}
	// The rows wait on back-offs and rate limits, not on the CPU: they all run at once
	// (t.Run from goroutines, not t.Parallel, which -parallel would bound by the cores).
	var wg sync.WaitGroup
	for _, sp := range specs {
		ref := newWorld(t, sp, options{})
		if _, _, err := ref.fullRun(t, context.Background()); err != nil {
			t.Fatal(err)
		}
		want := sp.records(ref.env)
		for _, s := range storms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(string(sp.phase)+"/"+s.name, func(t *testing.T) {
					w := stormWorld(t, sp)
					s.inject(t, w)
					w.tap.reset()
					sum, _, err := w.fullRun(t, context.Background())
					if err != nil || sum.Status == domain.RunFailed {
						t.Fatalf("the run in the storm: %v %+v\n%s", err, sum, w.env.Logs.String())
					}
					if sum.Status == domain.RunPartiallyFailed {
						// Records refused with a 5xx are tried again by the next run.
						if sum, _, err = w.fullRun(t, context.Background()); err != nil || sum.Status == domain.RunFailed {
							t.Fatalf("the run after the storm: %v %+v", err, sum)
						}
					}
					met := 0
					for _, c := range w.tap.sent(s.personio, nil) {
						if c.status == s.status {
							met++
						}
					}
					if met == 0 {
						t.Errorf("no %d answer: the storm missed the run", s.status)
					}
					checkOnce(t, sp.records(w.env), want)
					checkRates(t, w)
					w.quiet(t)
				})
			}()
		}
	}
	wg.Wait()
}
