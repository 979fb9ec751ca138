package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Latency is added to every simulated call, as the issue asks.
const Latency = 20 * time.Millisecond

// Budget names of the floor.
const (
	bStaffomatic = "staffomatic"
	bAuthV1      = "personio:" + string(personiosim.FamilyAuthV1)
	bAuthV2      = "personio:" + string(personiosim.FamilyAuthV2)
	bEmployees   = "personio:" + string(personiosim.FamilyEmployees)
	bTimeOffs    = "personio:" + string(personiosim.FamilyTimeOffTypes)
	bAbsences    = "personio:" + string(personiosim.FamilyAbsencePeriods)
	bAttendances = "personio:" + string(personiosim.FamilyAttendancePeriods)
)

// allStatuses selects every employee of a generated company.
var allStatuses = domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "leave", "inactive"}}

// world is one scenario's environment: synctest's simulators, minidyn and tenant, and
// the call counter between the product and the simulators.
type world struct {
	env   *synctest.Env
	count *bench.Counter
	quiet *slog.Logger
}

func newWorld(b *testing.B, employees int) *world {
	b.Helper()
	env := synctest.New(b, synctest.Options{Generate: employees, NoPersonioRateLimits: true})
	env.Select(b, nil, allStatuses)
	u, err := url.Parse(env.PersonioURL)
	if err != nil {
		b.Fatal(err)
	}
	w := &world{env: env, count: &bench.Counter{Next: env.Transport, PersonioHost: u.Host}, quiet: slog.New(slog.DiscardHandler)}
	w.unlimited()
	return w
}

// deps are the harness dependencies, logging nowhere (a log buffer would be heap the
// product does not hold in Lambda).
func (w *world) deps() phase.Deps {
	d := w.env.HarnessDeps()
	d.Log = w.quiet
	return d
}

// unlimited lifts the simulators' limits and latency, for setting a scenario up.
func (w *world) unlimited() {
	w.env.S.SetRateLimit(-1, time.Second)
	w.env.S.SetLatency(0)
	for f := range personiosim.DefaultRateLimits() {
		w.env.P.SetRateLimit(f, personiosim.RateLimit{})
		w.env.P.SetLatency(f, 0)
	}
}

// setup is a vendor builder for setting a scenario up: no pacing.
func (w *world) setup() *vendors.Builder {
	fast := map[personio.Family]personio.Limit{}
	for f := range personio.DefaultLimits() {
		fast[f] = personio.Limit{PerSecond: 1e6, Burst: 1e6}
	}
	reg := vendors.NewRegistry(0, nil).WithPersonioLimits(fast).WithStaffomaticLimit(1e6, time.Second)
	return vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: w.env.Transport, Timeout: time.Minute, Log: w.quiet, Limiters: reg})
}

// measured sets the simulators to Latency and the documented limits scaled by k (k calls
// where the vendor allows one), and returns a vendor builder paced the same way whose
// calls are counted, with the floor's budgets. Staffomatic's window stays 10 s and its
// budget is scaled: its X-RateLimit-Reset counts whole seconds, so a shorter window would
// make that rounding weigh more than it does against the real API.
func (w *world) measured(k float64) (*vendors.Builder, map[string]bench.Budget) {
	budgets := map[string]bench.Budget{}
	const win = 10 * time.Second
	limit := max(1, int(math.Round(500*k)))
	w.env.S.SetRateLimit(limit, win)
	w.env.S.SetLatency(Latency)
	budgets[bStaffomatic] = bench.Budget{Limit: limit, Window: win}
	for f, l := range personiosim.DefaultRateLimits() {
		l.PerSecond *= k
		l.Burst = max(1, int(math.Round(float64(l.Burst)*k)))
		l.CooldownPerSecond *= k
		w.env.P.SetRateLimit(f, l)
		w.env.P.SetLatency(f, Latency)
		budgets["personio:"+string(f)] = bench.Budget{Rate: l.PerSecond, Burst: l.Burst}
	}
	client := map[personio.Family]personio.Limit{}
	for f, l := range personio.DefaultLimits() {
		client[f] = personio.Limit{PerSecond: l.PerSecond * k, Burst: max(1, int(math.Round(float64(l.Burst)*k)))}
	}
	reg := vendors.NewRegistry(0, nil).WithPersonioLimits(client).WithStaffomaticLimit(limit, win)
	w.count.Reset()
	return vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: w.count, Timeout: time.Minute, Log: w.quiet, Limiters: reg}), budgets
}

// measure runs f with the heap sampled and returns the wall time and peak heap.
func measure(b *testing.B, f func() error) (time.Duration, uint64) {
	b.Helper()
	runtime.GC()
	h := bench.StartHeapPeak(2 * time.Millisecond)
	start := time.Now()
	err := f()
	wall := time.Since(start)
	peak := h.Stop()
	if err != nil {
		b.Fatal(err)
	}
	return wall, peak
}

// liveHeap is the heap after a collection: what the process holds at rest.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// result fills the counts of the measured builder into r and prints the line.
func (w *world) result(b *testing.B, r bench.Result, f bench.Floor) {
	b.Helper()
	r.CallsPersonio, r.CallsStaffomatic, r.Writes = w.count.Counts()
	r.MinCalls, r.Ideal = f.MinCalls(), f.Ideal()
	w.throttled(b, r.Scenario)
	printLine(b, r)
}

// throttled logs the 429s the simulators answered (-v shows them): a product that paces
// itself gets none.
func (w *world) throttled(b *testing.B, scenario string) {
	s := 0
	for _, c := range w.env.S.Calls() {
		if c.Status == http.StatusTooManyRequests {
			s++
		}
	}
	p := 0
	for f := range personiosim.DefaultRateLimits() {
		p += w.env.P.StatusCount(f, http.StatusTooManyRequests)
	}
	b.Logf("%s: 429s so far: Staffomatic %d, Personio %d", scenario, s, p)
}

// printLine prints the scenario's line on stdout, where make bench picks it up.
func printLine(b *testing.B, r bench.Result) {
	b.Helper()
	fmt.Println(r.Line())
	b.ReportMetric(r.Wall.Seconds()/r.Ideal.Seconds(), "ratio")
}

// berlin is the time zone of the generated company and account.
var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// pages is the smallest number of pages that list n records: a short last page ends a
// list, a full one needs the empty page after it.
func pages(n, size int) int { return n/size + 1 }

// run runs one phase run and fails the benchmark unless it succeeded.
func run[L any, P phase.Plan](b *testing.B, h *phase.Harness[L, P], req domain.SyncRequest) error {
	sum, err := h.Run(context.Background(), req)
	if err != nil {
		return err
	}
	if sum.Status != domain.RunSucceeded || sum.Counts[domain.OutcomeFailed] != 0 {
		return fmt.Errorf("run %s: %s %v %s", req.RunID, sum.Status, sum.Counts, sum.Error)
	}
	return nil
}

// BenchmarkScenarios runs every scenario of `make bench` once (-benchtime=1x).
func BenchmarkScenarios(b *testing.B) {
	for _, s := range scenarios {
		b.Run(s.name, s.run)
	}
}

type scenario struct {
	name string
	run  func(b *testing.B)
}

var scenarios = []scenario{
	{"users", benchUsers},
	{"users-10k-memory", benchUsers10k},
}
