package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

// spec is one phase as the suite drives it: how a fresh demo world is made ready for it,
// and how the records it made in the target system are counted.
type spec struct {
	phase domain.Phase
	// prepare readies a fresh demo world: the selection and settings, and the users run
	// the later phases need (their records belong to mapped users).
	prepare func(t testing.TB, env *synctest.Env)
	// records counts the records staffsync made in the target system by the key that ties
	// each to its source (custom id, marker, location and name): "exactly once" is every
	// count 1, and the same keys as an undisturbed run.
	records func(env *synctest.Env) map[string]int
}

// allStatuses selects every demo employee who has a Personio status.
var allStatuses = domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}}

// specs are the four phases. The demo company gives each of them something to write:
// users to create (some locked, as future hires), departments to create and fill, verified
// timers to turn into attendance periods, Personio absences to carry to Staffomatic.
var specs = []spec{
	{
		phase: domain.PhaseUsers,
		prepare: func(t testing.TB, env *synctest.Env) {
			env.Select(t, nil, allStatuses)
		},
		records: func(env *synctest.Env) map[string]int {
			out := map[string]int{}
			for _, u := range env.S.Account(env.Demo.StaffomaticSubdomain).Users() {
				if u.CustomID != "" {
					out["user:"+u.CustomID]++
				}
			}
			return out
		},
	},
	{
		phase: domain.PhaseWorkspaces,
		prepare: func(t testing.TB, env *synctest.Env) {
			env.Select(t, nil, allStatuses)
			env.UpdateSettings(t, func(s *domain.Settings) { s.CreateMissingWorkspaces = true })
			usersRun(t, env)
		},
		records: func(env *synctest.Env) map[string]int {
			acc := env.S.Account(env.Demo.StaffomaticSubdomain)
			out := map[string]int{}
			for _, l := range acc.Locations() {
				out["location:"+strings.ToLower(l.Name)]++
			}
			for _, d := range acc.Departments() {
				out[fmt.Sprintf("department:%d/%s", d.LocationID, strings.ToLower(d.Name))]++
			}
			return out
		},
	},
	{
		phase:   domain.PhaseTimesheets,
		prepare: mappedUsers,
		records: func(env *synctest.Env) map[string]int {
			out := map[string]int{}
			for _, p := range env.P.AttendancePeriods() {
				if strings.HasPrefix(p.Comment, timesync.MarkerPrefix) {
					out[p.Comment]++
				}
			}
			return out
		},
	},
	{
		phase:   domain.PhaseAbsences,
		prepare: mappedUsers,
		records: func(env *synctest.Env) map[string]int {
			out := map[string]int{}
			for _, x := range env.S.Account(env.Demo.StaffomaticSubdomain).Absences() {
				if strings.HasPrefix(x.Justification, absencesync.MarkerPrefix) {
					out[x.Justification]++
				}
			}
			for _, p := range env.P.AbsencePeriods() {
				if strings.HasPrefix(p.Comment, absencesync.MarkerPrefix) {
					out[p.Comment]++
				}
			}
			return out
		},
	},
}

// mappedUsers selects every demo employee and maps them to Staffomatic users.
func mappedUsers(t testing.TB, env *synctest.Env) {
	env.Select(t, nil, allStatuses)
	usersRun(t, env)
}

// usersRun maps the demo employees to Staffomatic users, as the later phases need.
func usersRun(t testing.TB, env *synctest.Env) {
	t.Helper()
	h := phase.New(usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if sum, err := h.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("users run before the phase under test: %v %+v", err, sum)
	}
}

// options shape a world.
type options struct {
	// limits are the client's rate limiters; nil: Personio's limits lifted on both sides
	// (as the sync packages' end-to-end tests run), Staffomatic's documented ones.
	limits *vendors.Registry
	// rateLimited keeps the Personio simulator's documented limits (with limits set).
	rateLimited bool
	// maxRetries is the clients' retry count (vendors.Options.MaxRetries).
	maxRetries int
	// store replaces the world's store for the phase under test (a failing one).
	store func(env *synctest.Env) *store.Store
	// db is the world's DynamoDB (default: a minidyn of its own).
	db *dynamodb.Client
}

// world is one demo environment with the phase under test ready to run through the real
// harness.
type world struct {
	env   *synctest.Env
	spec  spec
	tap   *tap
	store *store.Store
	run   func(context.Context, domain.SyncRequest) (domain.RunSummary, error)
	// handle is the function's entry point: the raw EventBridge event in.
	handle func(context.Context, json.RawMessage) error
}

func newWorld(t testing.TB, sp spec, o options) *world {
	t.Helper()
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: !o.rateLimited, DynamoDB: o.db})
	sp.prepare(t, env)
	w := &world{env: env, spec: sp, store: env.Store}
	if o.store != nil {
		w.store = o.store(env)
	}
	pu, _ := url.Parse(env.PersonioURL)
	w.tap = &tap{next: env.Transport, personioHost: pu.Host}
	limits := o.limits
	if limits == nil {
		fast := map[personio.Family]personio.Limit{}
		for f := range personio.DefaultLimits() {
			fast[f] = personio.Limit{PerSecond: 1000, Burst: 1000}
		}
		limits = vendors.NewRegistry(0, nil).WithPersonioLimits(fast)
	}
	vb := vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: w.tap, Timeout: time.Minute,
		Log: env.Log, Limiters: limits, MaxRetries: o.maxRetries})
	deps := env.HarnessDeps()
	deps.Store = w.store
	w.run, w.handle = harness(sp.phase, w.store, vb, env.Clock, deps)
	return w
}

// harness builds the phase's harness as internal/phases does, with the world's clock.
func harness(p domain.Phase, st *store.Store, vb *vendors.Builder, now func() time.Time, deps phase.Deps) (
	func(context.Context, domain.SyncRequest) (domain.RunSummary, error), func(context.Context, json.RawMessage) error) {
	switch p {
	case domain.PhaseUsers:
		h := phase.New(usersync.NewPhase(usersync.Deps{Store: st, Vendors: vb, Now: now}), deps)
		return h.Run, h.Handle
	case domain.PhaseWorkspaces:
		h := phase.New(workspacesync.NewPhase(workspacesync.Deps{Store: st, Vendors: vb, Now: now}), deps)
		return h.Run, h.Handle
	case domain.PhaseTimesheets:
		h := phase.New(timesync.NewPhase(timesync.Deps{Store: st, Vendors: vb, Now: now}), deps)
		return h.Run, h.Handle
	case domain.PhaseAbsences:
		h := phase.New(absencesync.NewPhase(absencesync.Deps{Store: st, Vendors: vb, Now: now}), deps)
		return h.Run, h.Handle
	}
	panic("faults: no harness for phase " + string(p))
}

// fullRun runs the phase in full mode and returns its summary and protocol.
func (w *world) fullRun(t testing.TB, ctx context.Context) (domain.RunSummary, []domain.ProtocolEntry, error) {
	t.Helper()
	req := w.env.Request(w.spec.phase, domain.ModeFull, false)
	sum, err := w.run(ctx, req)
	w.env.Quiesce() // a write the cancelled run no longer awaited may still be under way
	return sum, w.env.Protocol(t, domain.AreaOf(w.spec.phase), req.RunID), err
}

// writes counts the write calls both simulators answered.
func (w *world) writes() int { return w.env.P.WriteCalls() + w.env.S.WriteCalls() }

func (w *world) resetCalls() {
	w.env.P.ResetCalls()
	w.env.S.ResetCalls()
	w.tap.reset()
}

// checkOnce fails unless every record exists exactly once and the records are want's.
func checkOnce(t testing.TB, got, want map[string]int) {
	t.Helper()
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s exists %d times", k, n)
		}
	}
	if g, w := keys(got), keys(want); strings.Join(g, ",") != strings.Join(w, ",") {
		t.Errorf("records differ from an undisturbed run's:\n got %v\nwant %v", g, w)
	}
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quiet fails unless one more full run makes no write and writes no protocol entry: what
// an interrupted or disturbed run left is complete.
func (w *world) quiet(t testing.TB) {
	t.Helper()
	w.resetCalls()
	sum, entries, err := w.fullRun(t, context.Background())
	if err != nil || sum.Status == domain.RunFailed || w.writes() != 0 || len(entries) != 0 {
		t.Errorf("the run after recovery: %v, status %s, %d writes, entries %+v", err, sum.Status, w.writes(), entries)
	}
}

// call is one request a client sent, stamped when it left.
type call struct {
	at       time.Time
	personio bool
	method   string
	path     string
	status   int
}

// tap sits between the vendor clients and the simulators: it stamps every request with
// the wall clock when it leaves (the rate windows are counted from these stamps), and
// fault, when set, may answer a request instead of the server (a store or network
// outage the simulators cannot express).
type tap struct {
	next         http.RoundTripper
	personioHost string
	mu           sync.Mutex
	calls        []call
	fault        func(r *http.Request) *http.Response
}

func (t *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	c := call{at: time.Now(), personio: r.URL.Host == t.personioHost, method: r.Method, path: r.URL.Path}
	t.mu.Lock()
	fault := t.fault
	t.mu.Unlock()
	var resp *http.Response
	if fault != nil {
		resp = fault(r)
	}
	var err error
	if resp == nil {
		resp, err = t.next.RoundTrip(r)
	}
	if err == nil {
		c.status = resp.StatusCode
	}
	t.mu.Lock()
	t.calls = append(t.calls, c)
	t.mu.Unlock()
	return resp, err
}

func (t *tap) setFault(f func(r *http.Request) *http.Response) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fault = f
}

func (t *tap) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = nil
}

// sent returns the calls to one vendor (Personio or Staffomatic) whose path passes match.
func (t *tap) sent(toPersonio bool, match func(path string) bool) []call {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []call
	for _, c := range t.calls {
		if c.personio == toPersonio && (match == nil || match(c.path)) {
			out = append(out, c)
		}
	}
	return out
}

// maxInWindow is the largest number of calls that left within any span shorter than
// window: the figure a rate limit of "n per window" bounds. Counted from the send stamps,
// so a test asserts counts, never durations.
func maxInWindow(calls []call, window time.Duration) int {
	ats := make([]time.Time, len(calls))
	for i, c := range calls {
		ats[i] = c.at
	}
	sort.Slice(ats, func(i, j int) bool { return ats[i].Before(ats[j]) })
	best, lo := 0, 0
	for hi := range ats {
		for ats[hi].Sub(ats[lo]) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
