package absencesync_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
)

// sent is one request as the client saw it come back, on the wall clock.
type sent struct {
	at     time.Time
	family string
}

// personioFamily names the simulator's rate-limit family of a Personio path.
func personioFamily(method, path string) personiosim.Family {
	switch {
	case path == "/v1/auth":
		return personiosim.FamilyAuthV1
	case path == "/v2/auth/token":
		return personiosim.FamilyAuthV2
	case strings.HasPrefix(path, "/v1/company/employees"):
		return personiosim.FamilyEmployees
	case strings.HasPrefix(path, "/v1/company/time-off-types"):
		return personiosim.FamilyTimeOffTypes
	case strings.HasPrefix(path, "/v2/absence-types"):
		return personiosim.FamilyAbsenceTypes
	case strings.HasPrefix(path, "/v2/absence-periods"):
		return personiosim.FamilyAbsencePeriods
	}
	return personiosim.Family(method + " " + path)
}

// TestScale5000Employees10Absences: 5,000 employees with 10 absences each (50,000 Personio
// periods, Personio leading) are handled within the documented rate limits of both
// simulators, which the clients' own pacing respects. Against the simulators' default
// limits, with the clients' default pacing and minidyn: the first transfer's dry run
// (the full run's reads: every employee, period and Staffomatic absence of the window,
// the same reads as the nightly full run), a partial run after changes and a webhook's
// targeted run, both writing. For every Personio endpoint family no interval holds more
// requests than its token bucket allows (burst + rate × length), for Staffomatic no 10 s
// holds more than 500, and neither simulator answered 429.
//
// The first transfer's writes (50,000 Staffomatic creates and 45,000 approvals, at the
// documented 50 a second at least 32 minutes) are not made here: applying them is
// minutes of simulator and minidyn work even without limits; their pacing is the limiter
// the partial run's writes show. The users are created with the limits lifted, and the
// cursor of an earlier absences run is stored, as after the first transfer.
func TestScale5000Employees10Absences(t *testing.T) {
	const employees, perEmployee = 5000, 10
	started := time.Now()
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true})
	env.S.SetRateLimit(-1, 0)
	ctx := context.Background()

	// The company: 5,000 active employees in the demo's offices, each with 10 absences of
	// the year over the three day types with Staffomatic categories, every tenth pending,
	// every tenth a half day.
	offices := env.P.Offices()
	types := map[string]personiosim.TimeOffType{}
	for _, ty := range env.P.TimeOffTypes() {
		types[ty.Name] = ty
	}
	kinds := []string{"Bezahlter Urlaub", "Krankheit", "Unbezahlter Urlaub"}
	var people []personiosim.Employee
	for i := range employees {
		people = append(people, env.P.AddEmployee(personiosim.Employee{FirstName: fmt.Sprintf("Person%04d", i), LastName: "Skala",
			Email: fmt.Sprintf("person%04d@skala.example", i), Status: "active", OfficeID: offices[i%len(offices)].ID,
			HireDate: personiosim.Date(2020, 1, 1), WeeklyHours: 40}))
	}
	var periods []personiosim.AbsencePeriod
	for i, e := range people {
		for k := range perEmployee {
			start := time.Date(2026, 1, 5+k*35+i%7, 0, 0, 0, 0, time.UTC)
			end := start.AddDate(0, 0, k%3)
			p := personiosim.AbsencePeriod{PersonID: e.ID, TypeID: types[kinds[(i+k)%3]].IDv2, Start: start, End: &end}
			if k == 9 {
				p.Status = personiosim.StatusPending
			}
			if k == 3 {
				p.End, p.StartHalf = &start, "SECOND_HALF"
			}
			periods = append(periods, env.P.AddAbsencePeriod(p))
		}
	}
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	env.Advance(2 * time.Hour) // the company exists before the first run, beyond its overlap

	// Seeding with the limits lifted: the simulators' are off, and the clients' pace on a
	// clock that moves 10 s per look, so their windows are always fresh.
	var tick atomic.Int64
	jump := func() time.Time { return time.Unix(0, 0).Add(time.Duration(tick.Add(1)) * 10 * time.Second) }
	fast := map[personio.Family]personio.Limit{}
	for f := range personio.DefaultLimits() {
		fast[f] = personio.Limit{PerSecond: 1e6, Burst: 1e6}
	}
	seedVendors := vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: env.Transport, Timeout: time.Minute, Log: env.Log,
		Limiters: vendors.NewRegistry(0, jump).WithPersonioLimits(fast)})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: seedVendors, Now: env.Clock}), env.HarnessDeps())
	if sum, err := users.Run(ctx, env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil || sum.Counts[domain.OutcomeFailed] != 0 {
		t.Fatalf("users: %v %v", err, sum.Counts)
	}

	// The cursor of an earlier absences run, as after the first transfer: the partial run
	// below reads what changed since.
	if err := env.Store.SetCursor(ctx, synctest.TenantID, domain.PhaseAbsences, env.Clock().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d employees (users) with %d absences each in %s", employees, perEmployee, time.Since(started).Round(time.Second))

	// From here the documented limits: the simulators' defaults and the clients' own.
	for f, l := range personiosim.DefaultRateLimits() {
		env.P.SetRateLimit(f, l)
	}
	env.S.SetRateLimit(500, 10*time.Second)
	paced := vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Transport: env.Transport, Timeout: time.Minute, Log: env.Log})
	as := phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: env.Store, Vendors: paced, Now: env.Clock}), env.HarnessDeps())
	var mu sync.Mutex
	var log []sent
	pHost := strings.TrimPrefix(env.PersonioURL, "http://")
	env.Transport.SetAfter(func(r *http.Request, _ *http.Response) {
		fam := "staffomatic"
		if r.URL.Host == pHost {
			fam = string(personioFamily(r.Method, r.URL.Path))
		}
		mu.Lock()
		log = append(log, sent{time.Now(), fam})
		mu.Unlock()
	})
	t.Cleanup(func() { env.Transport.SetAfter(nil) })
	env.P.ResetCalls()
	env.S.ResetCalls()
	run := func(name string, m domain.Mode, dry bool, targets ...domain.Target) domain.RunSummary {
		t.Helper()
		env.Advance(time.Hour)
		began := time.Now()
		sum, err := as.Run(ctx, env.Request(domain.PhaseAbsences, m, dry, targets...))
		if err != nil || sum.Counts[domain.OutcomeFailed] != 0 {
			t.Fatalf("%s: %v %v\n%s", name, err, sum.Counts, env.Logs.String())
		}
		t.Logf("%s: %v, %d Personio and %d Staffomatic calls in %s", name, sum.Counts, sum.APICalls[domain.SystemPersonio],
			sum.APICalls[domain.SystemStaffomatic], time.Since(began).Round(100*time.Millisecond))
		return sum
	}

	// The first transfer as its dry run: it reads the whole window (all 5,000 employees,
	// 50,000 periods, the Staffomatic absences) and plans every absence, writing nothing.
	env.P.ResetCalls()
	run("first transfer, dry run", domain.ModeFull, true)
	if w := env.P.WriteCalls() + env.S.WriteCalls(); w != 0 {
		t.Fatalf("the dry run wrote %d times", w)
	}
	if n := env.P.CallCount("GET /v2/absence-periods"); n < employees*perEmployee/100 {
		t.Fatalf("the dry run read %d pages of periods", n)
	}

	// A partial run after 20 new absences: it reads the periods changed since its cursor,
	// their employees one by one and their users' Staffomatic absences, and transfers them.
	env.Advance(time.Hour)
	env.P.ResetCalls()
	for i := range 20 {
		start := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 0, 1)
		env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: people[i*97%len(people)].ID, TypeID: types["Krankheit"].IDv2, Start: start, End: &end})
	}
	if s := run("partial run", domain.ModePartial, false); s.Counts[domain.OutcomeCreated] != 20 || s.Counts[domain.OutcomeUnchanged] != 0 {
		t.Fatalf("partial run: %v", s.Counts)
	}
	if n := env.P.CallCount("GET /v1/company/employees"); n != 0 {
		t.Fatalf("the partial run read %d pages of the employee list", n)
	}
	// A webhook about one absence: the targeted run reads and transfers that one.
	if s := run("targeted run", domain.ModeTargeted, false, domain.Target{Kind: domain.KindAbsence, ID: periods[5].ID}); s.Counts[domain.OutcomeCreated] != 1 {
		t.Fatalf("targeted run: %v", s.Counts)
	}

	// The limits held.
	for _, c := range env.P.Calls() {
		if c.Status == http.StatusTooManyRequests {
			t.Errorf("Personio answered 429: %s %s at %s", c.Endpoint, c.Query, c.At.Format(time.TimeOnly))
		}
	}
	for _, c := range env.S.Calls() {
		if c.Status == http.StatusTooManyRequests {
			t.Fatalf("Staffomatic answered 429: %+v", c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	by := map[string][]time.Time{}
	for _, s := range log {
		by[s.family] = append(by[s.family], s.at)
	}
	limits := personiosim.DefaultRateLimits()
	for fam, ts := range by {
		if fam == "staffomatic" {
			// No 10 s holds more than 500 (one of slack for the time between the
			// client's stamp and the answer seen here).
			for i, j := 0, 0; j < len(ts); j++ {
				for ts[j].Sub(ts[i]) >= 10*time.Second {
					i++
				}
				if j-i+1 > 501 {
					t.Errorf("Staffomatic: %d requests within 10 s ending %s", j-i+1, ts[j].Format(time.TimeOnly))
					break
				}
			}
			t.Logf("Staffomatic: %d requests", len(ts))
			continue
		}
		l, ok := limits[personiosim.Family(fam)]
		if !ok {
			t.Errorf("Personio requests of an unexpected endpoint %s", fam)
			continue
		}
		worst := 0.0
		for i := range ts {
			for j := i; j < len(ts); j++ {
				allowed := float64(l.Burst) + l.PerSecond*ts[j].Sub(ts[i]).Seconds() + 1
				if over := float64(j-i+1) - allowed; over > worst {
					worst = over
				}
			}
		}
		if worst > 0 {
			t.Errorf("Personio %s: %.1f requests above its bucket (rate %g/s, burst %d)", fam, worst, l.PerSecond, l.Burst)
		}
		secs := ts[len(ts)-1].Sub(ts[0]).Seconds()
		t.Logf("Personio %s: %d requests over %.1f s (limit %g/s, burst %d)", fam, len(ts), secs, l.PerSecond, l.Burst)
	}
}
