package personio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

const (
	testID     = "client-id"
	testSecret = "s3cr3t-value-never-logged"
)

// env is a simulator behind httptest with a client pointed at it.
type env struct {
	sim *personiosim.Server
	srv *httptest.Server
	cl  *personio.Client
}

// newEnv starts a simulator (no rate limits unless simCfg sets them) and a
// client with fast back-off and no client-side pacing unless cfg says so.
func newEnv(t *testing.T, simCfg personiosim.Config, cfg func(*personio.Config)) *env {
	t.Helper()
	if simCfg.RateLimits == nil {
		simCfg.NoRateLimits = true
	}
	sim := personiosim.New(simCfg)
	sim.AddCredential(personiosim.Credential{ClientID: testID, ClientSecret: testSecret})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c := personio.Config{
		BaseURL: srv.URL, ClientID: testID, ClientSecret: testSecret, AppID: "STAFFSYNC",
		BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Limits: unlimited(),
	}
	if cfg != nil {
		cfg(&c)
	}
	cl, err := personio.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, cl: cl}
}

func unlimited() map[personio.Family]personio.Limit {
	m := map[personio.Family]personio.Limit{}
	for f := range personio.DefaultLimits() {
		m[f] = personio.Limit{}
	}
	return m
}

func ldt(y int, m time.Month, d, h, min int) personio.LocalDateTime {
	return personio.NewLocalDateTime(time.Date(y, m, d, h, min, 0, 0, time.UTC))
}

func TestEmployeesPaginationAndDecoding(t *testing.T) {
	tests := []struct {
		name      string
		employees int
		pageSize  int
		wantPages int
	}{
		{"three full pages of 100", 250, 100, 3},
		{"seven pages of 40", 250, 40, 7},
		{"exact multiple", 300, 100, 3},
		{"single short page", 5, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, personiosim.Config{}, nil)
			g := e.sim.Generate(personiosim.GenerateOptions{Employees: tt.employees, Seed: 42, Year: 2026})
			list, err := e.cl.Employees(context.Background(), personio.EmployeesOptions{PageSize: tt.pageSize})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Employees) != tt.employees || list.Pages != tt.wantPages {
				t.Fatalf("got %d employees in %d pages, want %d in %d", len(list.Employees), list.Pages, tt.employees, tt.wantPages)
			}
			if n := e.sim.CallCount("GET /v1/company/employees"); n != tt.wantPages {
				t.Fatalf("simulator saw %d list calls, want %d", n, tt.wantPages)
			}
			// vacation_day_balance is no longer in employee responses, but a
			// credential may still whitelist it: the attributes endpoint decides.
			if len(list.Missing) != 0 {
				t.Fatalf("unexpected missing attributes %v", list.Missing)
			}
			want := g.Employees[len(g.Employees)-1]
			var got personio.Employee
			for _, x := range list.Employees {
				if x.ID == want.ID {
					got = x
				}
			}
			checkEmployee(t, e.sim, want, got, g)
		})
	}
}

func checkEmployee(t *testing.T, sim *personiosim.Server, want personiosim.Employee, got personio.Employee, g personiosim.Generated) {
	t.Helper()
	if got.ID != want.ID || got.FirstName != want.FirstName || got.LastName != want.LastName || got.Email != want.Email || got.Status != want.Status {
		t.Fatalf("identity mismatch: got %+v want %+v", got, want)
	}
	if got.WeeklyHours == nil || *got.WeeklyHours != want.WeeklyHours {
		t.Fatalf("weekly hours %v, want %v", got.WeeklyHours, want.WeeklyHours)
	}
	if got.HireDate != personio.NewDate(want.HireDate) {
		t.Fatalf("hire date %v, want %v", got.HireDate, want.HireDate)
	}
	if got.LastWorkingDay != personio.NewDate(want.LastWorkingDay) && !(want.LastWorkingDay.IsZero() && got.LastWorkingDay.IsZero()) {
		t.Fatalf("last working day %v, want %v", got.LastWorkingDay, want.LastWorkingDay)
	}
	unitName := func(units []personiosim.OrgUnit, id int64) string {
		for _, u := range units {
			if u.ID == id {
				return u.Name
			}
		}
		return ""
	}
	for _, c := range []struct {
		got  *personio.OrgUnit
		want string
		id   int64
	}{
		{got.Office, unitName(g.Offices, want.OfficeID), want.OfficeID},
		{got.Department, unitName(g.Departments, want.DepartmentID), want.DepartmentID},
		{got.Team, unitName(g.Teams, want.TeamID), want.TeamID},
		{got.Subcompany, unitName(g.Subcompanies, want.SubcompanyID), want.SubcompanyID},
	} {
		if c.got == nil || c.got.Name != c.want || c.got.ID != c.id {
			t.Fatalf("org unit %+v, want %d %q", c.got, c.id, c.want)
		}
	}
	if len(got.AbsenceEntitlements) != 1 || got.AbsenceEntitlements[0].Entitlement != want.Entitlements[g.TimeOffTypes[0].ID] ||
		got.AbsenceEntitlements[0].Name != "Bezahlter Urlaub" {
		t.Fatalf("entitlements %+v, want %v", got.AbsenceEntitlements, want.Entitlements)
	}
	sp, ok := got.Attribute("shift_planning")
	wantSP := want.Custom[g.ShiftPlanning.Key] == "true"
	if b, valid := sp.Bool(); !ok || !valid || b != wantSP {
		t.Fatalf("shift_planning attribute %+v, want %v", sp, wantSP)
	}
	if byKey, ok := got.Attribute(g.ShiftPlanning.Key); !ok || byKey.Label != "shift_planning" {
		t.Fatalf("custom attribute by key: %+v", byKey)
	}
}

func TestUpdatedSinceReturnsOnlyChanged(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: now}
	e := newEnv(t, personiosim.Config{Now: clock.Now}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 30, Seed: 7, Year: 2025})
	clock.Advance(time.Hour)
	changed := []int64{g.Employees[3].ID, g.Employees[17].ID}
	for _, id := range changed {
		if err := e.sim.UpdateEmployee(id, func(x *personiosim.Employee) { x.WeeklyHours = 10 }); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.cl.Employees(context.Background(), personio.EmployeesOptions{UpdatedSince: now.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, x := range list.Employees {
		ids = append(ids, x.ID)
		if *x.WeeklyHours != 10 {
			t.Fatalf("employee %d has %v weekly hours, want 10", x.ID, *x.WeeklyHours)
		}
	}
	if !slices.Equal(ids, changed) {
		t.Fatalf("updated_since returned %v, want %v", ids, changed)
	}
}

func TestTimeOffTypesPaginationWithIDv2(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	var want []personiosim.TimeOffType
	for i := range 7 {
		want = append(want, e.sim.AddTimeOffType(personiosim.TimeOffType{Name: fmt.Sprintf("Typ %d", i), Category: "other", ApprovalRequired: i%2 == 0}))
	}
	tests := []struct {
		limit, pages int
	}{{3, 3}, {2, 4}, {200, 1}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.limit), func(t *testing.T) {
			e.sim.ResetCalls()
			got, err := e.cl.TimeOffTypesPaged(context.Background(), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || e.sim.CallCount("GET /v1/company/time-off-types") != tt.pages {
				t.Fatalf("got %d types in %d calls", len(got), e.sim.CallCount("GET /v1/company/time-off-types"))
			}
			for i, w := range want {
				if got[i].ID != w.ID || got[i].IDv2 != w.IDv2 || got[i].Name != w.Name || got[i].ApprovalRequired != w.ApprovalRequired || got[i].Unit != "day" {
					t.Fatalf("type %d: got %+v want %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestV2CursorPagination(t *testing.T) {
	tests := []struct {
		name     string
		relative bool
	}{{"absolute next links", false}, {"relative next links", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, personiosim.Config{RelativeNextLinks: tt.relative}, nil)
			g := e.sim.Generate(personiosim.GenerateOptions{Employees: 50, Seed: 3, Year: 2026, AbsencesPerEmployee: 5, AttendanceDays: 5})
			ctx := context.Background()
			abs, err := e.cl.AbsencePeriods(ctx, personio.AbsencePeriodsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(abs) != 250 || e.sim.CallCount("GET /v2/absence-periods") != 3 {
				t.Fatalf("absences: %d in %d calls", len(abs), e.sim.CallCount("GET /v2/absence-periods"))
			}
			att, err := e.cl.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PageSize: 40})
			if err != nil {
				t.Fatal(err)
			}
			wantAtt := len(e.sim.AttendancePeriods())
			if len(att) != wantAtt || e.sim.CallCount("GET /v2/attendance-periods") != (wantAtt+39)/40 || wantAtt < 120 {
				t.Fatalf("attendances: %d of %d in %d calls", len(att), wantAtt, e.sim.CallCount("GET /v2/attendance-periods"))
			}
			// Filters travel along with the cursor.
			pid := strconv.FormatInt(g.Employees[0].ID, 10)
			mine, err := e.cl.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PersonIDs: []string{pid}, PageSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(mine) == 0 {
				t.Fatal("no attendance periods for the first employee")
			}
			for _, p := range mine {
				if p.PersonID != pid || p.AttributionDate != p.Start.Date {
					t.Fatalf("filter leaked %+v", p)
				}
			}
		})
	}
}

func TestPaginationLoopGuard(t *testing.T) {
	e := newEnv(t, personiosim.Config{SelfNextLinks: true}, nil)
	e.sim.Generate(personiosim.GenerateOptions{Employees: 30, Seed: 1, Year: 2026, AbsencesPerEmployee: 5})
	_, err := e.cl.AbsencePeriods(context.Background(), personio.AbsencePeriodsOptions{})
	if !errors.Is(err, personio.ErrPaginationLoop) {
		t.Fatalf("want ErrPaginationLoop, got %v", err)
	}
	if n := e.sim.CallCount("GET /v2/absence-periods"); n != 1 {
		t.Fatalf("followed the looping link %d times", n)
	}
}

func TestOverlapFilter(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 1, Year: 2026})
	pid, typ := g.Employees[0].ID, g.TimeOffTypes[1].IDv2
	mk := func(d1, d2 int) string {
		end := personiosim.Date(2026, 7, d2)
		return e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: pid, TypeID: typ, Start: personiosim.Date(2026, 7, d1), End: &end}).ID
	}
	before, partly, inside, after := mk(1, 3), mk(8, 12), mk(14, 15), mk(25, 28)
	open := e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: pid, TypeID: typ, Start: personiosim.Date(2026, 7, 20)}).ID
	got, err := e.cl.AbsencePeriods(context.Background(), personio.AbsencePeriodsOptions{
		OverlapFrom: ldt(2026, 7, 10, 0, 0), OverlapTo: ldt(2026, 7, 21, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{partly, inside, open}) || slices.Contains(ids, before) || slices.Contains(ids, after) {
		t.Fatalf("overlap filter returned %v", ids)
	}
}

func TestOneAuthCallFor50ConcurrentRequests(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 5, Seed: 1, Year: 2026, AbsencesPerEmployee: 1})
	abs := e.sim.AbsencePeriods()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.cl.Employee(context.Background(), g.Employees[i%5].ID)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := e.cl.AbsencePeriod(context.Background(), abs[i%len(abs)].ID)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v1, v2 := e.sim.CallCount("POST /v1/auth"), e.sim.CallCount("POST /v2/auth/token"); v1 != 1 || v2 != 1 {
		t.Fatalf("auth calls: v1 %d, v2 %d; want 1 each", v1, v2)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	tests := []struct {
		name         string
		advanceSim   time.Duration
		advanceCl    time.Duration
		wantV1Auths  int
		wantRejected int // 403s seen by the simulator
	}{
		{"cached within lifetime", 30 * time.Minute, 30 * time.Minute, 1, 0},
		{"renewed before expiry by the client", 55 * time.Minute, 55 * time.Minute, 2, 0},
		{"server expired it early: one refresh", 2 * time.Hour, 0, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
			simClock, clClock := &fakeClock{t: start}, &fakeClock{t: start}
			e := newEnv(t, personiosim.Config{Now: simClock.Now, TokenTTL: time.Hour}, func(c *personio.Config) { c.Now = clClock.Now })
			emp := e.sim.AddEmployee(personiosim.Employee{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"})
			ctx := context.Background()
			if _, err := e.cl.Employee(ctx, emp.ID); err != nil {
				t.Fatal(err)
			}
			simClock.Advance(tt.advanceSim)
			clClock.Advance(tt.advanceCl)
			got, err := e.cl.Employee(ctx, emp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.FirstName != "Ada" {
				t.Fatalf("got %+v", got)
			}
			if n := e.sim.CallCount("POST /v1/auth"); n != tt.wantV1Auths {
				t.Fatalf("auth calls %d, want %d", n, tt.wantV1Auths)
			}
			if n := e.sim.StatusCount(personiosim.FamilyEmployees, http.StatusForbidden); n != tt.wantRejected {
				t.Fatalf("403s %d, want %d", n, tt.wantRejected)
			}
		})
	}
}

func TestRateLimitStormRecovery(t *testing.T) {
	const rate, burst, calls = 40.0, 5, 60
	e := newEnv(t, personiosim.Config{RateLimits: map[personiosim.Family]personiosim.RateLimit{
		personiosim.FamilyAbsencePeriods: {PerSecond: rate, Burst: burst},
	}}, func(c *personio.Config) {
		c.BackoffBase, c.BackoffMax, c.MaxRetries = 20*time.Millisecond, 200*time.Millisecond, 10
		// Misconfigured client: far above the server's limit, so the first
		// wave storms into 429s and the client must learn from the headers.
		c.Limits[personio.FamilyAbsencePeriods] = personio.Limit{PerSecond: 10000, Burst: 1000}
	})
	e.sim.Generate(personiosim.GenerateOptions{Employees: 3, Seed: 1, Year: 2026, AbsencesPerEmployee: 1})
	abs := e.sim.AbsencePeriods()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.cl.AbsencePeriod(context.Background(), abs[i%len(abs)].ID); err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d calls failed, first: %v", len(failures), failures[0])
	}
	throttled := e.sim.StatusCount(personiosim.FamilyAbsencePeriods, http.StatusTooManyRequests)
	ok := e.sim.StatusCount(personiosim.FamilyAbsencePeriods, http.StatusOK)
	if ok != calls {
		t.Fatalf("%d successful calls, want %d", ok, calls)
	}
	if throttled == 0 {
		t.Fatal("the storm did not happen: no 429 seen")
	}
	// After the first wave the client paces itself at the announced rate:
	// 429s stay within the first wave plus a few timing stragglers, instead
	// of every call hammering until its retries run out.
	if throttled > calls-burst+10 {
		t.Fatalf("%d 429s for %d calls: the client kept exceeding the limit", throttled, calls)
	}
	seen := e.sim.Calls()
	lastThrottle := 0
	for i, c := range seen {
		if c.Status == http.StatusTooManyRequests {
			lastThrottle = i
		}
	}
	if tail := len(seen) - lastThrottle - 1; tail < calls/3 {
		t.Fatalf("429s continued until late in the run (only %d clean calls after the last one)", tail)
	}
}

func TestRetriesAndPartialFailure(t *testing.T) {
	ctx := context.Background()
	t.Run("failing middle page fails the whole list", func(t *testing.T) {
		e := newEnv(t, personiosim.Config{}, func(c *personio.Config) { c.MaxRetries = 2 })
		e.sim.Generate(personiosim.GenerateOptions{Employees: 250, Seed: 5, Year: 2026})
		e.sim.InjectFault("GET /v1/company/employees", 1, personiosim.Fault{})
		e.sim.InjectFault("GET /v1/company/employees", 3, personiosim.Fault{Status: http.StatusInternalServerError})
		list, err := e.cl.Employees(ctx, personio.EmployeesOptions{})
		var perr *personio.Error
		if list != nil || !errors.As(err, &perr) || perr.StatusCode != 500 || !perr.Retryable {
			t.Fatalf("want a retryable 500 and no list, got %v, %v", list, err)
		}
		if n := e.sim.CallCount("GET /v1/company/employees"); n != 4 {
			t.Fatalf("%d list calls, want 1 + 3 attempts", n)
		}
	})
	t.Run("transient 502 then recovered", func(t *testing.T) {
		e := newEnv(t, personiosim.Config{}, nil)
		e.sim.Generate(personiosim.GenerateOptions{Employees: 150, Seed: 5, Year: 2026})
		e.sim.InjectFault("GET /v1/company/employees", 1, personiosim.Fault{})
		e.sim.InjectFault("GET /v1/company/employees", 2, personiosim.Fault{Status: http.StatusBadGateway})
		list, err := e.cl.Employees(ctx, personio.EmployeesOptions{})
		if err != nil || len(list.Employees) != 150 {
			t.Fatalf("got %v, %v", list, err)
		}
		if n := e.sim.CallCount("GET /v1/company/employees"); n != 4 {
			t.Fatalf("%d list calls, want 4", n)
		}
	})
	t.Run("timeout is retried", func(t *testing.T) {
		e := newEnv(t, personiosim.Config{}, func(c *personio.Config) { c.RequestTimeout = 100 * time.Millisecond })
		e.sim.Generate(personiosim.GenerateOptions{Employees: 3, Seed: 5, Year: 2026})
		e.sim.InjectFault("GET /v1/company/time-off-types", 1, personiosim.Fault{Timeout: true})
		types, err := e.cl.TimeOffTypes(ctx)
		if err != nil || len(types) != 4 {
			t.Fatalf("got %v, %v", types, err)
		}
	})
	t.Run("POST is not repeated after a 502", func(t *testing.T) {
		e := newEnv(t, personiosim.Config{}, nil)
		g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 5, Year: 2026})
		e.sim.InjectFault("POST /v2/attendance-periods", 1, personiosim.Fault{Status: http.StatusBadGateway})
		end := ldt(2026, 3, 2, 17, 0)
		_, err := e.cl.CreateAttendancePeriod(ctx, personio.AttendancePeriodInput{PersonID: strconv.FormatInt(g.Employees[0].ID, 10),
			Type: personio.AttendanceWork, Start: ldt(2026, 3, 2, 9, 0), End: &end}, true)
		if !personio.IsRetryable(err) || e.sim.CallCount("POST /v2/attendance-periods") != 1 {
			t.Fatalf("got %v after %d calls", err, e.sim.CallCount("POST /v2/attendance-periods"))
		}
	})
	t.Run("batch reports each period", func(t *testing.T) {
		e := newEnv(t, personiosim.Config{}, nil)
		g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 5, Year: 2026})
		proj := e.sim.AddProject("Umbau", true)
		pid := strconv.FormatInt(g.Employees[0].ID, 10)
		e1, e2, e3 := ldt(2026, 3, 2, 17, 0), ldt(2026, 3, 2, 12, 30), ldt(2026, 3, 2, 15, 15)
		res, err := e.cl.CreateAttendancePeriods(ctx, []personio.AttendancePeriodInput{
			{PersonID: pid, Type: personio.AttendanceWork, Start: ldt(2026, 3, 2, 9, 0), End: &e1, ProjectID: proj},
			{PersonID: pid, Type: personio.AttendanceBreak, Start: ldt(2026, 3, 2, 12, 0), End: &e2, ProjectID: proj},
			{PersonID: pid, Type: personio.AttendanceBreak, Start: ldt(2026, 3, 2, 15, 0), End: &e3},
		}, true)
		if err != nil {
			t.Fatal(err)
		}
		var perr *personio.Error
		if res[0].ID == "" || res[2].ID == "" || !errors.As(res[1].Err, &perr) || perr.StatusCode != 422 || perr.Message != "Break periods with project" {
			t.Fatalf("results %+v", res)
		}
		if n := len(e.sim.AttendancePeriods()); n != 2 {
			t.Fatalf("simulator stored %d periods, want 2", n)
		}
	})
}

func TestMissingAttributeReport(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 3, Seed: 1, Year: 2026})
	whitelist := []string{"first_name", "last_name", "email", "status", "hire_date", "last_working_day",
		"weekly_working_hours", "absence_entitlement", "department", "subcompany", g.ShiftPlanning.Key}
	if err := e.sim.SetAttributeWhitelist(testID, whitelist); err != nil {
		t.Fatal(err)
	}
	wantMissing := []string{"office", "team", "vacation_day_balance"}
	rep, err := e.cl.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keys := func(m []personio.RequiredAttribute) (out []string) {
		for _, r := range m {
			out = append(out, r.Key)
		}
		return out
	}
	if !slices.Equal(keys(rep.Missing), wantMissing) || rep.OK() {
		t.Fatalf("Verify missing %v, want %v", keys(rep.Missing), wantMissing)
	}
	list, err := e.cl.Employees(context.Background(), personio.EmployeesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(list.Missing), wantMissing) {
		t.Fatalf("Employees missing %v", keys(list.Missing))
	}
	for _, x := range list.Employees {
		if x.Team != nil || x.Office != nil || x.Has("team") || x.Has("fix_salary") || !x.Has("department") || x.Department == nil {
			t.Fatalf("non-whitelisted attributes leaked: %+v", x)
		}
	}
	if rep.Missing[2].Name != "vacation days" {
		t.Fatalf("admin-facing name %q", rep.Missing[2].Name)
	}
}

func TestErrorsSurfacePersonioMessages(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 2, Seed: 1, Year: 2026})
	pid := strconv.FormatInt(g.Employees[0].ID, 10)
	ctx := context.Background()
	_, err := e.cl.Employee(ctx, 999999)
	var perr *personio.Error
	if !errors.As(err, &perr) || !personio.IsNotFound(err) || perr.Message != "Es ist ein Problem aufgetreten" || perr.Code != "0" {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(err.Error(), "Es ist ein Problem aufgetreten") {
		t.Fatalf("error text lost the German message: %v", err)
	}
	end := ldt(2026, 3, 2, 8, 0)
	_, err = e.cl.CreateAttendancePeriod(ctx, personio.AttendancePeriodInput{PersonID: pid, Type: personio.AttendanceWork,
		Start: ldt(2026, 3, 2, 9, 0), End: &end}, true)
	if !personio.IsUnprocessable(err) || !strings.Contains(err.Error(), "Start date greater than end date") {
		t.Fatalf("got %v", err)
	}

	bad, err := personio.New(personio.Config{BaseURL: e.srv.URL, ClientID: testID, ClientSecret: "wrong-" + testSecret, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { _, err := bad.Verify(ctx); return err },
		func() error { _, err := bad.AbsencePeriods(ctx, personio.AbsencePeriodsOptions{}); return err },
	} {
		err := call()
		if !personio.IsAuth(err) || strings.Contains(err.Error(), testSecret) {
			t.Fatalf("want auth error without secret, got %v", err)
		}
	}
}

func TestContextCancellation(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		cfg   func(*personio.Config)
	}{
		{"during a slow response", func(e *env) { e.sim.SetLatency(personiosim.FamilyAbsencePeriods, 10*time.Second) }, nil},
		{"during back-off", func(e *env) {
			e.sim.InjectFault("GET /v2/absence-periods", 5, personiosim.Fault{Status: 503})
		}, func(c *personio.Config) { c.BackoffBase, c.BackoffMax = 10*time.Second, 10*time.Second }},
		{"waiting for the rate limiter", nil, func(c *personio.Config) {
			c.Limits[personio.FamilyAbsencePeriods] = personio.Limit{PerSecond: 0.01, Burst: 1}
		}},
		{"waiting for the token", func(e *env) { e.sim.SetLatency(personiosim.FamilyAuthV2, 10*time.Second) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, personiosim.Config{}, tt.cfg)
			e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 1, Year: 2026, AbsencesPerEmployee: 1})
			if tt.setup != nil {
				tt.setup(e)
			}
			ctx, cancel := context.WithCancel(context.Background())
			// Spend the limiter's single burst token first, so the second
			// call has to wait for the (very slow) refill.
			if tt.name == "waiting for the rate limiter" {
				if _, err := e.cl.AbsencePeriods(ctx, personio.AbsencePeriodsOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := e.cl.AbsencePeriods(ctx, personio.AbsencePeriodsOptions{})
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
		})
	}
}

func TestAbsenceWrites(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 1, Year: 2026})
	ctx := context.Background()
	pid := strconv.FormatInt(g.Employees[0].ID, 10)
	vacation := g.TimeOffTypes[0] // approval required
	tests := []struct {
		name       string
		day        int
		skip       bool
		wantStatus string
	}{
		{"skip_approval=false needs approval", 6, false, personio.ApprovalPending},
		{"skip_approval=true is approved", 13, true, personio.ApprovalApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := ldt(2026, 7, tt.day+2, 0, 0)
			in := personio.AbsencePeriodInput{PersonID: pid, AbsenceTypeID: vacation.IDv2, Start: ldt(2026, 7, tt.day, 0, 0),
				StartHalf: personio.SecondHalf, End: &end, Comment: "Sommer"}
			id, err := e.cl.CreateAbsencePeriod(ctx, in, tt.skip)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.cl.AbsencePeriod(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.PersonID != pid || got.StartHalf != personio.SecondHalf || *got.End != end || got.Comment != "Sommer" {
				t.Fatalf("got %+v", got)
			}
			if _, err := e.cl.CreateAbsencePeriod(ctx, in, tt.skip); !personio.IsConflict(err) || !strings.Contains(err.Error(), "Absence period conflict") {
				t.Fatalf("overlap: got %v", err)
			}
			newEnd := ldt(2026, 7, tt.day+3, 0, 0)
			in.End = &newEnd
			if err := e.cl.UpdateAbsencePeriod(ctx, id, in, true); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.cl.AbsencePeriod(ctx, id); *got.End != newEnd || got.Status != personio.ApprovalApproved {
				t.Fatalf("after update: %+v", got)
			}
			if err := e.cl.DeleteAbsencePeriod(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := e.cl.AbsencePeriod(ctx, id); !personio.IsNotFound(err) {
				t.Fatalf("after delete: %v", err)
			}
		})
	}
	if q := e.sim.Calls(); !strings.Contains(q[len(q)-1].Path, "/v2/absence-periods/") {
		t.Fatalf("unexpected last call %+v", q[len(q)-1])
	}
	for _, c := range e.sim.Calls() {
		if c.Method == http.MethodPost && c.Endpoint == "POST /v2/absence-periods" && !strings.Contains(c.Query, "skip_approval=") {
			t.Fatalf("skip_approval not explicit: %+v", c)
		}
	}
}

func TestAttendanceWrites(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 1, Year: 2026})
	ctx := context.Background()
	pid := strconv.FormatInt(g.Employees[0].ID, 10)
	we, be := ldt(2026, 3, 3, 17, 0), ldt(2026, 3, 3, 12, 30)
	work, err := e.cl.CreateAttendancePeriod(ctx, personio.AttendancePeriodInput{PersonID: pid, Type: personio.AttendanceWork,
		Start: ldt(2026, 3, 3, 8, 0), End: &we, Comment: "Timer 17"}, false)
	if err != nil {
		t.Fatal(err)
	}
	brk, err := e.cl.CreateAttendancePeriod(ctx, personio.AttendancePeriodInput{PersonID: pid, Type: personio.AttendanceBreak,
		Start: ldt(2026, 3, 3, 12, 0), End: &be}, true)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.cl.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PersonIDs: []string{pid},
		DayFrom: personio.Date{Year: 2026, Month: 3, Day: 3}, DayTo: personio.Date{Year: 2026, Month: 3, Day: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != work || list[0].Status != personio.ApprovalPending || list[1].ID != brk || list[1].Status != personio.ApprovalConfirmed {
		t.Fatalf("list %+v", list)
	}
	// Overlapping WORK is refused.
	oe := ldt(2026, 3, 3, 10, 0)
	if _, err := e.cl.CreateAttendancePeriod(ctx, personio.AttendancePeriodInput{PersonID: pid, Type: personio.AttendanceWork,
		Start: ldt(2026, 3, 3, 9, 0), End: &oe}, true); !personio.IsUnprocessable(err) {
		t.Fatalf("overlap: %v", err)
	}
	we2 := ldt(2026, 3, 3, 16, 0)
	if err := e.cl.UpdateAttendancePeriod(ctx, work, personio.AttendancePeriodInput{Type: personio.AttendanceWork,
		Start: ldt(2026, 3, 3, 8, 0), End: &we2, Comment: "Timer 17 v2"}, true); err != nil {
		t.Fatal(err)
	}
	got, err := e.cl.AttendancePeriod(ctx, work)
	if err != nil || *got.End != we2 || got.Comment != "Timer 17 v2" || got.Status != personio.ApprovalConfirmed {
		t.Fatalf("after update %+v %v", got, err)
	}
	if err := e.cl.DeleteAttendancePeriod(ctx, brk); err != nil {
		t.Fatal(err)
	}
	if err := e.cl.DeleteAttendancePeriod(ctx, brk); !personio.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if n := len(e.sim.AttendancePeriods()); n != 1 {
		t.Fatalf("%d periods left", n)
	}
}

func TestWebhookRegistrationAndDelivery(t *testing.T) {
	type received struct {
		auth string
		body []byte
	}
	got := make(chan received, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Get("Authorization"), b}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer recv.Close()
	e := newEnv(t, personiosim.Config{}, nil)
	g := e.sim.Generate(personiosim.GenerateOptions{Employees: 1, Seed: 1, Year: 2026})
	ctx := context.Background()
	wh, err := e.cl.RegisterWebhook(ctx, personio.WebhookRegistration{URL: recv.URL + "/hooks/tenant-1", Token: "hook-token",
		Events: []string{personio.EventAbsencePeriodCreated, personio.EventAbsencePeriodDeleted}})
	if err != nil || wh.ID == "" || wh.Status != "ENABLED" || wh.AuthType != "TOKEN" {
		t.Fatalf("register: %+v %v", wh, err)
	}
	if _, err := e.cl.RegisterWebhook(ctx, personio.WebhookRegistration{URL: recv.URL + "/hooks/tenant-1", Events: []string{"person.updated"}}); !personio.IsConflict(err) {
		t.Fatalf("duplicate registration: %v", err)
	}
	end := ldt(2026, 8, 3, 0, 0)
	id, err := e.cl.CreateAbsencePeriod(ctx, personio.AbsencePeriodInput{PersonID: strconv.FormatInt(g.Employees[0].ID, 10),
		AbsenceTypeID: g.TimeOffTypes[1].IDv2, Start: ldt(2026, 8, 3, 0, 0), End: &end}, true)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.WaitWebhooks()
	r := <-got
	ev, err := personio.ParseWebhook(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if r.auth != "hook-token" || ev.EventName != personio.EventAbsencePeriodCreated || ev.ResourceID != id ||
		ev.Resource != "absence-period" || ev.OccurredAt.IsZero() || ev.CompanyID == "" {
		t.Fatalf("delivery %q %+v", r.auth, ev)
	}
	list, err := e.cl.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != wh.ID {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestParseWebhookShapes(t *testing.T) {
	tests := []struct {
		name, body, wantID, wantEvent string
		wantErr                       bool
	}{
		{"flat id", `{"company_id":"4711","event_name":"person.updated","occurred_at":"2026-01-02T10:00:00Z","payload":{"id":"3003"},"meta":{}}`, "3003", "person.updated", false},
		{"numeric company and nested id", `{"company_id":4711,"event_name":"attendance-period.deleted","occurred_at":"2026-01-02T10:00:00.123Z","payload":{"attendance_period":{"id":"a-1"}}}`, "a-1", "attendance-period.deleted", false},
		{"no id", `{"event_name":"person.updated","payload":{}}`, "", "", true},
		{"not json", `hello`, "", "", true},
		{"bad time", `{"event_name":"person.updated","occurred_at":"yesterday","payload":{"id":"1"}}`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := personio.ParseWebhook([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, personio.ErrInvalidWebhook) {
					t.Fatalf("want ErrInvalidWebhook, got %v", err)
				}
				return
			}
			if err != nil || ev.ResourceID != tt.wantID || ev.EventName != tt.wantEvent || ev.CompanyID != "4711" {
				t.Fatalf("got %+v %v", ev, err)
			}
		})
	}
}

// TestEachEmployeeAhead: with Ahead the employees come in the order of the pages, each
// once, reduced by the callback as they come; no page past the total is asked for; a
// failing page still fails the listing; a callback's error ends it.
func TestEachEmployeeAhead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, personiosim.Config{}, nil)
	e.sim.Generate(personiosim.GenerateOptions{Employees: 450, Seed: 5, Year: 2026})
	want, err := e.cl.Employees(ctx, personio.EmployeesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCalls()
	var got []int64
	_, pages, err := e.cl.EachEmployee(ctx, personio.EmployeesOptions{Ahead: 4}, func(em personio.Employee) error {
		got = append(got, em.ID)
		return nil
	})
	if err != nil || len(got) != len(want.Employees) || pages != 5 {
		t.Fatalf("EachEmployee: %d employees in %d pages, %v; Employees: %d", len(got), pages, err, len(want.Employees))
	}
	for i, em := range want.Employees {
		if got[i] != em.ID {
			t.Fatalf("employee %d is %d, want %d", i, got[i], em.ID)
		}
	}
	if n := e.sim.CallCount("GET /v1/company/employees"); n != 5 {
		t.Errorf("%d page requests for 450 employees, want 5", n)
	}
	stop := errors.New("enough")
	if _, _, err := e.cl.EachEmployee(ctx, personio.EmployeesOptions{Ahead: 4}, func(personio.Employee) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("the callback's error ended nothing: %v", err)
	}
	e.sim.InjectFault("GET /v1/company/employees", 2, personiosim.Fault{})
	e.sim.InjectFault("GET /v1/company/employees", 100, personiosim.Fault{Status: http.StatusInternalServerError})
	if _, _, err := e.cl.EachEmployee(ctx, personio.EmployeesOptions{Ahead: 4}, func(personio.Employee) error { return nil }); err == nil {
		t.Fatal("a failing page did not fail the listing")
	}
}

// TestTokenStoreSharesTokensByCredential: clients with one TokenStore and one credential
// fetch one token between them (a run's new clients reuse the last run's); a client with
// another credential fetches its own; Verify checks the credential with a fresh token.
func TestTokenStoreSharesTokensByCredential(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, personiosim.Config{}, nil)
	e.sim.Generate(personiosim.GenerateOptions{Employees: 5, Seed: 5, Year: 2026})
	e.sim.AddCredential(personiosim.Credential{ClientID: "another-id", ClientSecret: "another-secret"})
	store := personio.NewTokenStore()
	client := func(id, secret string) *personio.Client {
		t.Helper()
		c, err := personio.New(personio.Config{BaseURL: e.srv.URL, ClientID: id, ClientSecret: secret, Limits: unlimited(), Tokens: store})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for range 3 {
		if _, err := client(testID, testSecret).Employee(ctx, e.sim.Employees()[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.CallCount("POST /v1/auth"); n != 1 {
		t.Fatalf("three clients of one credential fetched %d tokens, want 1", n)
	}
	if _, err := client("another-id", "another-secret").Employee(ctx, e.sim.Employees()[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.CallCount("POST /v1/auth"); n != 2 {
		t.Fatalf("another credential: %d token requests, want its own (2)", n)
	}
	if _, err := client(testID, testSecret).Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.CallCount("POST /v1/auth"); n != 3 {
		t.Fatalf("Verify fetched no fresh token: %d token requests, want 3", n)
	}
}

// TestPrefetchV2Token: the prefetched token serves the v2 calls that follow (one token
// request in all, none in front of them), also those of another client sharing the token
// store; a second prefetch while it is valid asks for none.
func TestPrefetchV2Token(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, personiosim.Config{}, nil)
	e.sim.Generate(personiosim.GenerateOptions{Employees: 5, Seed: 5, Year: 2026})
	store := personio.NewTokenStore()
	client := func() *personio.Client {
		t.Helper()
		c, err := personio.New(personio.Config{BaseURL: e.srv.URL, ClientID: testID, ClientSecret: testSecret, Limits: unlimited(), Tokens: store})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client()
	for range 2 {
		if err := c.PrefetchV2Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.CallCount("POST /v2/auth/token"); n != 1 {
		t.Fatalf("two prefetches: %d token requests, want 1", n)
	}
	for _, cl := range []*personio.Client{c, client()} {
		if _, err := cl.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PersonIDs: []string{strconv.FormatInt(e.sim.Employees()[0].ID, 10)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.CallCount("POST /v2/auth/token"); n != 1 {
		t.Fatalf("after the prefetch the v2 calls made %d token requests in all, want the prefetch's 1", n)
	}
	bad, err := personio.New(personio.Config{BaseURL: e.srv.URL, ClientID: testID, ClientSecret: "wrong", Limits: unlimited()})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.PrefetchV2Token(ctx); err == nil {
		t.Error("a refused credential's prefetch reported no error")
	}
}
