package workspacesync_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/usersync/synctest"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

func TestUnitKeyAgreesWithUserSync(t *testing.T) {
	for _, k := range [][3]string{{"1", "department", "7"}, {"o-2", "team", "t 3"}} {
		if workspacesync.UnitKey(k[0], k[1], k[2]) != usersync.WorkspaceKey(k[0], k[1], k[2]) {
			t.Fatalf("keys differ for %v", k)
		}
	}
}

type world struct {
	env   *synctest.Env
	users *phase.Harness[*usersync.Loaded, usersync.Planned]
	ws    *phase.Harness[*workspacesync.Loaded, workspacesync.Planned]
}

func newWorld(t *testing.T, createMissing bool) *world {
	t.Helper()
	env := synctest.New(t, synctest.Options{})
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
	for _, e := range planned {
		if e.Outcome != domain.OutcomePlanned {
			t.Fatalf("dry run entry %+v", e)
		}
	}

	_, entries := w.run(t, false)
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
	_, entries = w.run(t, false)
	if env.S.WriteCalls() != 0 || len(entries) != 0 {
		t.Errorf("second run: %d writes, entries %+v", env.S.WriteCalls(), entries)
	}
}

// TestMissingWorkspacesReportedOnce: with create_missing_workspaces off the missing
// departments are reported, nothing is created, and an unchanged report is not repeated.
func TestMissingWorkspacesReportedOnce(t *testing.T) {
	w := newWorld(t, false)
	env := w.env
	env.S.ResetCalls()
	_, entries := w.run(t, false)
	c := count(entries)
	if c["missing/skipped"] != 3 || c["create_department/created"] != 0 {
		t.Fatalf("entries %v", c)
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
