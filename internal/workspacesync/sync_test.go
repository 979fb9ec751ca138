package workspacesync_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

type world struct {
	env   *synctest.Env
	users *phase.Harness[*usersync.Loaded, usersync.Planned]
	ws    *phase.Harness[*workspacesync.Loaded, workspacesync.Planned]
}

func newWorld(t *testing.T, createMissing bool, setup ...func(*synctest.Env)) *world {
	t.Helper()
	env := synctest.New(t, synctest.Options{})
	for _, f := range setup {
		f(env)
	}
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding"}})
	env.UpdateSettings(t, func(s *domain.Settings) { s.CreateMissingWorkspaces = createMissing })
	w := &world{env: env}
	w.users = phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	w.ws = phase.New[*workspacesync.Loaded, workspacesync.Planned](workspacesync.NewPhase(workspacesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := w.users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatalf("users run: %v", err)
	}
	return w
}

func (w *world) run(t *testing.T, dry bool) (domain.RunSummary, []domain.ProtocolEntry) {
	t.Helper()
	req := w.env.Request(domain.PhaseWorkspaces, domain.ModeFull, dry)
	sum, err := w.ws.Run(context.Background(), req)
	if err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("workspaces run: %v %+v\n%s", err, sum, w.env.Logs.String())
	}
	return sum, w.env.Protocol(t, domain.AreaWorkspaces, req.RunID)
}

func count(entries []domain.ProtocolEntry) map[string]int {
	out := map[string]int{}
	for _, e := range entries {
		out[e.Action+"/"+string(e.Outcome)]++
	}
	return out
}

// TestDemoWorkspaces: offices link to the same-named locations, the existing "Service"
// department is linked, the three missing departments are created in their locations, the
// employees become members; the second run writes nothing.
func TestDemoWorkspaces(t *testing.T) {
	w := newWorld(t, true)
	env := w.env
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	serviceBefore := map[int64][]int64{}
	for _, d := range acc.Departments() {
		for _, u := range acc.Users() {
			if slices.Contains(u.DepartmentIDs, d.ID) {
				serviceBefore[d.ID] = append(serviceBefore[d.ID], u.ID)
			}
		}
	}

	// A dry run shows the plan and changes nothing.
	env.S.ResetCalls()
	_, planned := w.run(t, true)
	if env.S.WriteCalls() != 0 || len(planned) == 0 {
		t.Fatalf("dry run: %d writes, %d planned", env.S.WriteCalls(), len(planned))
	}
	plannedWrites := 0
	for _, e := range planned {
		if e.Outcome != domain.OutcomePlanned {
			t.Fatalf("dry run entry %+v", e)
		}
		plannedWrites += e.Writes
		if workspacesync.ActionKind(e.Action).Writes() != (e.Writes > 0) {
			t.Errorf("dry-run line %s of %s lists %d writes", e.Action, e.SourceID, e.Writes)
		}
	}

	env.S.ResetCalls()
	_, entries := w.run(t, false)
	// A dry run is a promise: the run makes exactly the writes it listed.
	if n := env.S.WriteCalls(); n != plannedWrites || n == 0 {
		t.Fatalf("the run made %d write calls, the dry run listed %d", n, plannedWrites)
	}
	c := count(entries)
	// Service's members joined it when the user sync created them (placement by name), so
	// only the three new departments get members.
	if c["link_location/updated"] != 2 || c["link_department/updated"] != 1 || c["create_department/created"] != 3 || c["add_department_members/updated"] != 3 {
		t.Fatalf("first run: %v\n%+v", c, entries)
	}
	names := map[string]int64{}
	for _, d := range acc.Departments() {
		names[d.Name] = d.LocationID
	}
	locs := map[string]int64{}
	for _, l := range acc.Locations() {
		locs[l.Name] = l.ID
	}
	if names["Lager"] != locs["Berlin"] || names["Küche"] != locs["Hamburg"] || names["Verwaltung"] != locs["Hamburg"] {
		t.Errorf("departments in the wrong locations: %v %v", names, locs)
	}
	// Every selected, mapped employee is a member of their department; earlier members stay.
	members := 0
	for _, u := range acc.Users() {
		members += len(u.DepartmentIDs)
	}
	if members < 23 {
		t.Errorf("only %d memberships", members)
	}
	for did, before := range serviceBefore {
		for _, uid := range before {
			if u, _ := acc.User(uid); !slices.Contains(u.DepartmentIDs, did) {
				t.Errorf("membership of user %d in %d removed", uid, did)
			}
		}
	}

	env.S.ResetCalls()
	sum, entries := w.run(t, false)
	if env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
	// The summary still accounts for the workspaces it compared.
	if c := sum.Counts; c[domain.OutcomeUnchanged] < 2+4 || c[domain.OutcomeCreated]+c[domain.OutcomeUpdated]+c[domain.OutcomeFailed]+c[domain.OutcomeReported] != 0 {
		t.Errorf("second run counts %v", c)
	}
}

// munich adds a Personio office that has no Staffomatic location, with three active
// employees: two in Küche, one in Service (departments the demo has). The user sync
// creates them without a location, as their office has none yet.
func munich(env *synctest.Env) {
	office := env.P.AddOffice("München")
	deps := map[string]int64{}
	for _, d := range env.P.Departments() {
		deps[d.Name] = d.ID
	}
	for i, p := range []struct{ first, last, dep string }{{"Mara", "Maier", "Küche"}, {"Nils", "Nowak", "Küche"}, {"Olga", "Ost", "Service"}} {
		env.P.AddEmployee(personiosim.Employee{FirstName: p.first, LastName: p.last, Email: strings.ToLower(p.first) + "@muenchen.example",
			Gender: "diverse", Position: "Servicekraft", OfficeID: office, DepartmentID: deps[p.dep], WeeklyHours: 40,
			HireDate: personiosim.Date(2024, time.Month(1+i), 1)})
	}
}

// munichState is what the simulator and the store hold about the München workspace.
type munichState struct {
	locations []int64          // ids of locations named München
	depts     map[string]int64 // department name → id, in the München location
	members   map[int64]bool   // users with a München department and the München location
	mapped    string           // location mapping of the München office
}

func readMunich(t *testing.T, env *synctest.Env) munichState {
	t.Helper()
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	st := munichState{depts: map[string]int64{}, members: map[int64]bool{}}
	for _, l := range acc.Locations() {
		if l.Name == "München" {
			st.locations = append(st.locations, l.ID)
		}
	}
	var office string
	for _, o := range env.P.Offices() {
		if o.Name == "München" {
			office = strconv.FormatInt(o.ID, 10)
		}
	}
	ms, err := env.Store.LoadMappings(context.Background(), synctest.TenantID, domain.KindLocation)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.SourceID == office {
			st.mapped = m.TargetID()
		}
	}
	if len(st.locations) != 1 {
		return st
	}
	lid := st.locations[0]
	for _, d := range acc.Departments() {
		if d.LocationID == lid {
			st.depts[d.Name] = d.ID
		}
	}
	for _, u := range acc.Users() {
		if !slices.Contains(u.LocationIDs, lid) {
			continue
		}
		for _, d := range u.DepartmentIDs {
			if st.depts["Küche"] == d || st.depts["Service"] == d {
				st.members[u.ID] = true
			}
		}
	}
	return st
}

// TestMissingOfficeCreatesLocation: with create_missing_workspaces on, an office without a
// location gets one, then the departments planned inside it, then the memberships (which
// also make the users members of the location); the second run writes nothing.
func TestMissingOfficeCreatesLocation(t *testing.T) {
	w := newWorld(t, true, munich)
	env := w.env
	if st := readMunich(t, env); len(st.locations) != 0 {
		t.Fatalf("München exists before the workspace sync: %+v", st)
	}

	env.S.ResetCalls()
	_, planned := w.run(t, true)
	if env.S.WriteCalls() != 0 || count(planned)["create_location/planned"] != 1 {
		t.Fatalf("dry run: %d writes, %v", env.S.WriteCalls(), count(planned))
	}

	env.S.ResetCalls()
	_, entries := w.run(t, false)
	c := count(entries)
	// The demo's three missing departments plus Küche and Service in München.
	if c["create_location/created"] != 1 || c["create_department/created"] != 5 || c["add_department_members/updated"] != 5 {
		t.Fatalf("first run: %v\n%+v", c, entries)
	}
	for _, e := range entries {
		if e.Outcome == domain.OutcomeFailed || e.Action == string(workspacesync.ActNotInLocation) {
			t.Errorf("unexpected entry %+v", e)
		}
	}
	if n := env.S.CallCount(http.MethodPost, "/locations"); n != 1 {
		t.Fatalf("POST /locations %d times", n)
	}
	st := readMunich(t, env)
	if len(st.locations) != 1 || st.mapped != strconv.FormatInt(st.locations[0], 10) {
		t.Fatalf("location: %+v", st)
	}
	if len(st.depts) != 2 || st.depts["Küche"] == 0 || st.depts["Service"] == 0 {
		t.Fatalf("departments in München: %v", st.depts)
	}
	if len(st.members) != 3 {
		t.Fatalf("members of München: %v", st.members)
	}
	var created string
	for _, e := range entries {
		if e.Action == "create_location" {
			created = e.TargetID
		}
	}
	if created != st.mapped {
		t.Errorf("protocol names location %q, mapping %q", created, st.mapped)
	}

	env.S.ResetCalls()
	_, entries = w.run(t, false)
	if env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestCrashAfterLocationCreate: the run stops right after the location was created; its
// mapping is stored at once, and the rerun creates the departments in it and no second
// location.
func TestCrashAfterLocationCreate(t *testing.T) {
	w := newWorld(t, true, munich)
	env := w.env
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, ".json"), "/locations") && resp.StatusCode < 300 {
			// The answer reaches the client; the process dies before the next step.
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			cancel()
		}
	})
	if _, err := w.ws.Run(ctx, env.Request(domain.PhaseWorkspaces, domain.ModeFull, false)); err == nil {
		t.Fatal("the interrupted run must fail")
	}
	env.Transport.SetAfter(nil)
	st := readMunich(t, env)
	if len(st.locations) != 1 || st.mapped != strconv.FormatInt(st.locations[0], 10) || len(st.depts) != 0 {
		t.Fatalf("after the crash: %+v", st)
	}

	env.S.ResetCalls()
	_, entries := w.run(t, false)
	if c := count(entries); c["create_location/created"] != 0 || c["create_department/created"] != 5 {
		t.Fatalf("rerun: %v\n%+v", c, entries)
	}
	if n := env.S.CallCount(http.MethodPost, "/locations"); n != 0 {
		t.Fatalf("the rerun posted %d locations", n)
	}
	st = readMunich(t, env)
	if len(st.locations) != 1 || len(st.depts) != 2 || len(st.members) != 3 {
		t.Fatalf("after the rerun: %+v", st)
	}
	seen := map[string]int{}
	for _, d := range env.S.Account(env.Demo.StaffomaticSubdomain).Departments() {
		seen[strconv.FormatInt(d.LocationID, 10)+"/"+strings.ToLower(d.Name)]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("department %s exists %d times", k, n)
		}
	}

	env.S.ResetCalls()
	if _, entries = w.run(t, false); env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("third run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestMissingWorkspacesReportedOnce: with create_missing_workspaces off the missing
// office and departments are reported, nothing is created, and an unchanged report is not
// repeated.
func TestMissingWorkspacesReportedOnce(t *testing.T) {
	w := newWorld(t, false, munich)
	env := w.env
	env.S.ResetCalls()
	_, entries := w.run(t, false)
	c := count(entries)
	// The demo's three departments and the München office (its departments are not
	// planned while it has no location).
	if c["missing/reported"] != 4 || c["create_department/created"] != 0 || c["create_location/created"] != 0 {
		t.Fatalf("entries %v", c)
	}
	if env.S.CallCount("POST", "/locations") != 0 || len(readMunich(t, env).locations) != 0 {
		t.Errorf("a location was created")
	}
	for _, e := range entries {
		if e.Action == "missing" && !strings.Contains(e.Reason, "create_missing_workspaces") {
			t.Errorf("reason does not say what to do: %q", e.Reason)
		}
	}
	if env.S.CallCount("POST", "/locations/{lid}/departments") != 0 {
		t.Errorf("a department was created")
	}
	env.S.ResetCalls()
	_, entries = w.run(t, false)
	if env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestCrashAfterFirstDepartmentCreate: the run is stopped right after the first department
// was created; its mapping is stored at once, and the rerun creates the others and no
// duplicate.
func TestCrashAfterFirstDepartmentCreate(t *testing.T) {
	w := newWorld(t, true)
	env := w.env
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	before := len(acc.Departments())
	ctx, cancel := context.WithCancel(context.Background())
	var creates atomic.Int32
	env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, ".json"), "/departments") && resp.StatusCode < 300 {
			if creates.Add(1) == 1 {
				cancel()
			}
		}
	})
	if _, err := w.ws.Run(ctx, env.Request(domain.PhaseWorkspaces, domain.ModeFull, false)); err == nil {
		t.Fatal("the interrupted run must fail")
	}
	env.Transport.SetAfter(nil)
	if n := len(acc.Departments()); n != before+1 {
		t.Fatalf("%d departments after the crash, want %d", n, before+1)
	}
	if ms, err := env.Store.LoadMappings(context.Background(), synctest.TenantID, domain.KindDepartment); err != nil || len(ms) == 0 {
		t.Fatalf("the created department's mapping was not stored: %v %+v", err, ms)
	}
	_, entries := w.run(t, false)
	if c := count(entries); c["create_department/created"] != 2 {
		t.Fatalf("rerun: %v", c)
	}
	seen := map[string]int{}
	for _, d := range acc.Departments() {
		seen[strconv.FormatInt(d.LocationID, 10)+"/"+strings.ToLower(d.Name)]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("department %s exists %d times", k, n)
		}
	}
	if len(acc.Departments()) != before+3 {
		t.Errorf("%d departments, want %d", len(acc.Departments()), before+3)
	}
}

// TestDeletedUserDoesNotBlockItsDepartment: an admin deleted one user in Staffomatic (a
// leaver, to free the seat) whose employee is still selected and mapped. Staffomatic
// refuses an add_users call naming an unknown user as a whole, so the workspace sync must
// leave that user out: the other members of the department are added, nothing fails, and
// the next run writes nothing.
func TestDeletedUserDoesNotBlockItsDepartment(t *testing.T) {
	w := newWorld(t, true)
	env := w.env
	var kitchen int64
	for _, d := range env.P.Departments() {
		if d.Name == "Küche" {
			kitchen = d.ID
		}
	}
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	userOf := map[string]int64{}
	for _, u := range acc.Users() {
		userOf[u.CustomID] = u.ID
	}
	var cooks []int64
	for _, e := range env.P.Employees() {
		if uid := userOf[strconv.FormatInt(e.ID, 10)]; e.DepartmentID == kitchen && uid != 0 {
			cooks = append(cooks, uid)
		}
	}
	if len(cooks) < 2 {
		t.Fatalf("the demo has %d mapped Küche employees, want at least 2", len(cooks))
	}
	gone := cooks[0]
	staffomaticDelete(t, env, "/users/"+strconv.FormatInt(gone, 10))
	if _, ok := acc.User(gone); ok {
		t.Fatalf("user %d not deleted", gone)
	}

	_, entries := w.run(t, false)
	for _, e := range entries {
		if e.Outcome == domain.OutcomeFailed {
			t.Errorf("failed: %+v", e)
		}
	}
	var kitchenDep int64
	for _, d := range acc.Departments() {
		if d.Name == "Küche" {
			kitchenDep = d.ID
		}
	}
	for _, uid := range cooks[1:] {
		if u, _ := acc.User(uid); kitchenDep == 0 || !slices.Contains(u.DepartmentIDs, kitchenDep) {
			t.Errorf("user %d is not a member of Küche (%d): %+v", uid, kitchenDep, u.DepartmentIDs)
		}
	}
	env.S.ResetCalls()
	if _, entries = w.run(t, false); env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// staffomaticDelete deletes a record through the Staffomatic simulator's API, as an admin
// would in Staffomatic.
func staffomaticDelete(t *testing.T, env *synctest.Env, path string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, env.StaffomaticURL+"/"+env.Demo.StaffomaticSubdomain+path+".json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(demo.StaffomaticEmail, demo.StaffomaticPassword)
	req.Header.Set("User-Agent", "staffsync test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("DELETE %s: %d", path, resp.StatusCode)
	}
}

// TestDeletedWorkspaceReportedOnce: a linked department an admin deleted in Staffomatic is
// reported missing (create_missing_workspaces is off) once; the unchanged report is not
// repeated by the next run, which writes nothing.
func TestDeletedWorkspaceReportedOnce(t *testing.T) {
	w := newWorld(t, false)
	env := w.env
	w.run(t, false) // links the demo's Service department by name
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	var service int64
	for _, d := range acc.Departments() {
		if d.Name == "Service" {
			service = d.ID
		}
	}
	if service == 0 {
		t.Fatal("the demo has no Service department")
	}
	staffomaticDelete(t, env, "/departments/"+strconv.FormatInt(service, 10))

	_, entries := w.run(t, false)
	missing := 0
	for _, e := range entries {
		if e.Action == "missing" && strings.Contains(e.Reason, "Service") {
			missing++
		}
	}
	if missing != 1 {
		t.Fatalf("the deleted department is reported %d times, want once: %+v", missing, entries)
	}
	env.S.ResetCalls()
	if _, entries = w.run(t, false); env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestTeamsSetting: with include_personio_teams off (the default) the demo's teams
// (Frühschicht, Spätschicht) make no departments; switched on, each becomes a department
// in the locations of its members, and the members join it; the next run writes nothing.
func TestTeamsSetting(t *testing.T) {
	w := newWorld(t, true)
	env := w.env
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	teamDepts := func() map[int64]string { // department id → location name
		locs := map[int64]string{}
		for _, l := range acc.Locations() {
			locs[l.ID] = l.Name
		}
		out := map[int64]string{}
		for _, d := range acc.Departments() {
			if d.Name == "Frühschicht" || d.Name == "Spätschicht" {
				out[d.ID] = d.Name + "@" + locs[d.LocationID]
			}
		}
		return out
	}
	w.run(t, false)
	if got := teamDepts(); len(got) != 0 {
		t.Fatalf("teams made departments with the setting off: %v", got)
	}

	env.UpdateSettings(t, func(s *domain.Settings) { s.IncludePersonioTeams = true })
	_, entries := w.run(t, false)
	got := teamDepts()
	var names []string
	for _, n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	if fmt.Sprint(names) != "[Frühschicht@Berlin Frühschicht@Hamburg Spätschicht@Berlin Spätschicht@Hamburg]" {
		t.Fatalf("team departments %v\n%+v", names, entries)
	}
	members := 0
	for _, u := range acc.Users() {
		for _, d := range u.DepartmentIDs {
			if _, ok := got[d]; ok {
				members++
			}
		}
	}
	if members < 20 {
		t.Fatalf("only %d team memberships", members)
	}
	env.S.ResetCalls()
	if _, entries := w.run(t, false); env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Fatalf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestEmployeeWithoutOfficeReported: a mapped employee whose office is removed in
// Personio cannot be placed in a department; the run says so (naming the employee) once,
// and says nothing more while nothing changes.
func TestEmployeeWithoutOfficeReported(t *testing.T) {
	w := newWorld(t, true)
	env := w.env
	w.run(t, false)
	emps := env.P.Employees()
	victim := emps[0]
	if err := env.P.UpdateEmployee(victim.ID, func(e *personiosim.Employee) { e.OfficeID = 0 }); err != nil {
		t.Fatal(err)
	}
	_, entries := w.run(t, false)
	var got []domain.ProtocolEntry
	for _, e := range entries {
		if e.Action == string(workspacesync.ActUnplaced) {
			got = append(got, e)
		}
	}
	id := strconv.FormatInt(victim.ID, 10)
	if len(got) != 1 || got[0].Outcome != domain.OutcomeReported || !strings.Contains(got[0].Reason, "(employees "+id+")") ||
		got[0].SourceID != "/department/"+strconv.FormatInt(victim.DepartmentID, 10) {
		t.Fatalf("unplaced reports %+v\nall %+v", got, entries)
	}
	env.S.ResetCalls()
	if _, entries := w.run(t, false); env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Fatalf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}
