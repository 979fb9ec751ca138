package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
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
	return newWorldAt(b, employees, defaultNow)
}

// newWorldAt is newWorld with the world's clock at now.
func newWorldAt(b *testing.B, employees int, now time.Time) *world {
	b.Helper()
	env := synctest.New(b, synctest.Options{Now: now, Generate: employees, NoPersonioRateLimits: true})
	env.Select(b, nil, allStatuses)
	u, err := url.Parse(env.PersonioURL)
	if err != nil {
		b.Fatal(err)
	}
	w := &world{env: env, count: &bench.Counter{Next: env.Transport, PersonioHost: u.Host}, quiet: quiet}
	w.unlimited()
	placeOffices(b, env)
	return w
}

// placeOffices maps every Personio office to the account's location, as a workspaces
// sync would have: users are created in it, and its absence categories apply to them.
func placeOffices(tb testing.TB, env *synctest.Env) {
	tb.Helper()
	loc := strconv.FormatInt(env.S.Account(demo.StaffomaticSubdomain).Locations()[0].ID, 10)
	done := map[int64]bool{}
	for _, e := range env.P.Employees() {
		if e.OfficeID == 0 || done[e.OfficeID] {
			continue
		}
		done[e.OfficeID] = true
		m := domain.Mapping{Tenant: synctest.TenantID, Kind: domain.KindLocation, SourceID: strconv.FormatInt(e.OfficeID, 10),
			TargetIDs: []string{loc}, State: domain.StateTransferred, UpdatedAt: env.Clock()}
		if err := env.Store.PutMapping(context.Background(), m); err != nil {
			tb.Fatal(err)
		}
	}
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
// calls are counted, with the floor's budgets.
func (w *world) measured(k float64) (*vendors.Builder, map[string]bench.Budget) {
	budgets := w.limitSimulators(k)
	return w.client(k), budgets
}

// limitSimulators sets the simulators' latency and limits scaled by k and returns them as
// the floor's budgets. Staffomatic's window stays 10 s and its budget is scaled: its
// X-RateLimit-Reset counts whole seconds, so a shorter window would make that rounding
// weigh more than it does against the real API.
func (w *world) limitSimulators(k float64) map[string]bench.Budget {
	budgets := map[string]bench.Budget{}
	limit := max(1, int(math.Round(500*k)))
	w.env.S.SetRateLimit(limit, staffomaticWindow)
	w.env.S.SetLatency(Latency)
	budgets[bStaffomatic] = bench.Budget{Limit: limit, Window: staffomaticWindow}
	for f, l := range personiosim.DefaultRateLimits() {
		l.PerSecond *= k
		l.Burst = max(1, int(math.Round(float64(l.Burst)*k)))
		l.CooldownPerSecond *= k
		w.env.P.SetRateLimit(f, l)
		w.env.P.SetLatency(f, Latency)
		budgets["personio:"+string(f)] = bench.Budget{Rate: l.PerSecond, Burst: l.Burst}
	}
	return budgets
}

// staffomaticWindow is Staffomatic's documented rate window.
const staffomaticWindow = 10 * time.Second

// client is a vendor builder paced like the simulators at scale k, whose calls are
// counted from zero.
func (w *world) client(k float64) *vendors.Builder {
	pacing := map[personio.Family]personio.Limit{}
	for f, l := range personio.DefaultLimits() {
		pacing[f] = personio.Limit{PerSecond: l.PerSecond * k, Burst: max(1, int(math.Round(float64(l.Burst)*k)))}
	}
	reg := vendors.NewRegistry(0, nil).WithPersonioLimits(pacing).WithStaffomaticLimit(max(1, int(math.Round(500*k))), staffomaticWindow)
	w.count.Reset()
	return vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: w.count, Timeout: time.Minute, Log: w.quiet, Limiters: reg})
}

// defaultNow is synctest's business date, which the world process's simulators use too.
var defaultNow = time.Date(2026, 3, 11, 9, 30, 0, 0, time.UTC)

// quiet is the benchmark's logger: a log buffer would be heap the product does not hold
// in Lambda.
var quiet = slog.New(slog.DiscardHandler)

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
	b.Logf("run %s: %s, %v", req.RunID, sum.Mode, sum.Counts)
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
	{"timesheets", benchTimesheets},
	{"absences-first", func(b *testing.B) { benchAbsences(b, domain.SystemPersonio) }},
	{"absences-staffomatic-first", func(b *testing.B) { benchAbsences(b, domain.SystemStaffomatic) }},
	{"webhook-latency", benchWebhook},
	{"users-10k-memory", benchUsers10k},
}

// simPut changes a record through the simulated Staffomatic's API as its admin would
// (not counted: it is the scenario's input, not the product's call).
func simPut(w *world, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, w.env.StaffomaticURL+"/"+demo.StaffomaticSubdomain+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.SetBasicAuth(demo.StaffomaticEmail, demo.StaffomaticPassword)
	req.Header.Set("User-Agent", "staffsync bench")
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode >= 300 {
		return fmt.Errorf("PUT %s: %d %s", path, res.StatusCode, msg)
	}
	return nil
}
