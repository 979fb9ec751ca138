package bench_test

import (
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Rate-limit scales of the users scenarios (k calls where the vendor allows one), chosen
// so that each floor lies between 5 and 20 s: the first run is bound by Staffomatic's
// creates, the no-op run by Personio's employee pages (300/min, burst 15).
const (
	kUsersFirst = 4
	kUsersNoop  = 0.4
	kUsers10k   = 8
)

// usersConcurrency is the users phase's concurrency in the benchmark: the production
// default (8) keeps Staffomatic's 50 calls a second busy at a real latency of about
// 150 ms; the limits scaled by up to 8 at 20 ms (and a store write after each create)
// need more employees in flight to reach them.
const usersConcurrency = 32

func usersHarness(w *world, vb *vendors.Builder) *phase.Harness[*usersync.Loaded, usersync.Planned] {
	return phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: w.env.Store, Vendors: vb,
		Now: w.env.Clock, Concurrency: usersConcurrency}), w.deps())
}

// usersToCreate counts from the seeded company the employees that need a Staffomatic
// user: every selected one (all are) except a leaver whose last working day has passed;
// and of them the future hires, which get no access before their hire date. Staffomatic
// documents no way to create a user locked (a create's "do" is send_invitation only,
// staffomatic-api-notes.md §5.4 and docs-examples/users.json), so a future hire's user
// is two writes: the create and a lock.
func usersToCreate(w *world) (creates, locks int) {
	today := w.env.Clock().In(berlin).Format(time.DateOnly)
	for _, e := range w.env.P.Employees() {
		if !e.LastWorkingDay.IsZero() && e.LastWorkingDay.Format(time.DateOnly) < today {
			continue
		}
		creates++
		if e.HireDate.Format(time.DateOnly) > today {
			locks++
		}
	}
	return creates, locks
}

// usersFloor: Personio's token, attribute list and employee pages (100 a page); the
// Staffomatic account (time zone), user pages (50 a page), locations and departments
// (placement); then the writes of the new users.
func usersFloor(budgets map[string]bench.Budget, employees, users, writes int) bench.Floor {
	return bench.Floor{Budgets: budgets, Latency: Latency, Stages: [][]bench.Need{
		{{Budget: bAuthV1, Calls: 1}, {Budget: bEmployees, Calls: 1 + (employees+99)/100},
			{Budget: bStaffomatic, Calls: 1 + pages(users, 50) + 1 + 1}},
		{{Budget: bStaffomatic, Calls: writes}},
	}}
}

// benchUsers: users-first (2,000 employees, an account with only its admin) and
// users-noop (the same again).
func benchUsers(b *testing.B) {
	const n = 2000
	w := newWorld(b, n)
	creates, locks := usersToCreate(w)
	acc := w.env.S.Account(demo.StaffomaticSubdomain)
	before := len(acc.Users())

	vb, budgets := w.measured(kUsersFirst)
	h := usersHarness(w, vb)
	r := bench.Result{Scenario: "users-first", Records: n}
	r.Wall, r.PeakHeap = measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseUsers, domain.ModeFull, false)) })
	w.result(b, r, usersFloor(budgets, n, before, creates+locks))

	after := len(acc.Users())
	vb, budgets = w.measured(kUsersNoop)
	h = usersHarness(w, vb)
	r = bench.Result{Scenario: "users-noop", Records: n}
	r.Wall, r.PeakHeap = measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseUsers, domain.ModeFull, false)) })
	w.result(b, r, usersFloor(budgets, n, after, 0))
}

// benchUsers10k: users-10k-memory, a first run and a no-op run of 10,000 employees; the
// line sums both runs' calls, times and floors. The simulators and minidyn run in a
// second process (remoteWorld), so peak_heap_mib is the product's heap alone.
func benchUsers10k(b *testing.B) {
	const n = 10000
	w, info := remoteWorld(b, n, kUsers10k)
	vb := w.client(kUsers10k)
	h := usersHarness(w, vb)
	first, peak1 := measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseUsers, domain.ModeFull, false)) })
	noop, peak2 := measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseUsers, domain.ModeFull, false)) })
	f1 := usersFloor(info.Budgets, n, info.Users, info.Creates+info.Locks)
	f2 := usersFloor(info.Budgets, n, info.Users+info.Creates, 0)
	r := bench.Result{Scenario: "users-10k-memory", Records: n, Wall: first + noop, PeakHeap: max(peak1, peak2)}
	r.CallsPersonio, r.CallsStaffomatic, r.Writes = w.count.Counts()
	// The two runs are two floors one after the other.
	r.MinCalls, r.Ideal = f1.MinCalls()+f2.MinCalls(), f1.Ideal()+f2.Ideal()
	b.Logf("users-10k-memory: first run %.2fs (floor %.2fs, peak heap %d MiB), no-op %.2fs (floor %.2fs, peak heap %d MiB)",
		first.Seconds(), f1.Ideal().Seconds(), peak1>>20, noop.Seconds(), f2.Ideal().Seconds(), peak2>>20)
	printLine(b, r)
}
