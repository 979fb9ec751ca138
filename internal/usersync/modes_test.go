package usersync_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// TestHiddenAttributesFailTheRunAndChangeNothing: a credential without weekly hours and
// hire date fails the run with one protocol entry naming both, and nothing is written.
func TestHiddenAttributesFailTheRunAndChangeNothing(t *testing.T) {
	w := newDemo(t)
	keep := []string{"first_name", "last_name", "email", "status", "office", "department", "team", "subcompany",
		"last_working_day", "vacation_day_balance", "absence_entitlement"}
	if err := w.env.P.SetAttributeWhitelist("demo-personio-client", keep); err != nil {
		t.Fatal(err)
	}
	w.env.S.ResetCalls()
	sum, entries, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err == nil || sum.Status != domain.RunFailed {
		t.Fatalf("run must fail: %v %+v", err, sum)
	}
	if len(entries) != 1 || entries[0].Outcome != domain.OutcomeFailed ||
		!strings.Contains(entries[0].Reason, "hire date") || !strings.Contains(entries[0].Reason, "weekly hours") {
		t.Fatalf("protocol %+v", entries)
	}
	if w.env.S.WriteCalls() != 0 {
		t.Fatalf("%d writes", w.env.S.WriteCalls())
	}
	if !strings.Contains(sum.Error, "weekly hours") {
		t.Errorf("summary error %q does not name the attributes", sum.Error)
	}
}

// TestPartialReadsOnlyChangesAndMissesNone: after a full run, a partial run reads only the
// employees Personio changed since the cursor (minus the overlap) and applies the change;
// a change made during a failed run is picked up by the next partial run.
func TestPartialReadsOnlyChangesAndMissesNone(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	env.Advance(2 * time.Hour) // the demo was seeded more than the overlap before the run
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	env.Advance(3 * time.Hour)
	target := w.emps[7]
	if err := env.P.UpdateEmployee(target.ID, func(e *personiosim.Employee) { e.LastName = "Horn-Berg" }); err != nil {
		t.Fatal(err)
	}
	env.Advance(time.Hour)
	_, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "update_user" || entries[0].SourceID != strconv.FormatInt(target.ID, 10) {
		t.Fatalf("partial run entries %+v", entries)
	}
	if !strings.Contains(env.Logs.String(), `"mode":"partial","employees":1,`) {
		t.Errorf("the partial run did not read only the changed employee:\n%s", env.Logs.String())
	}

	// A selection change cannot be seen through updated_since: the next partial run is full.
	env.Advance(time.Hour)
	env.Select(t, map[string]bool{w.deselected: true},
		domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive"}})
	env.Advance(time.Hour)
	_, entries, err = w.run(t, ctx, domain.ModePartial, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := byAction(entries)["create_user/created"]; len(got) != 1 || got[0] != w.deselected {
		t.Fatalf("newly selected employee not created by the partial run: %+v", entries)
	}
}

// TestTargetedHandlesOnlyTheNamedPersons: a targeted run creates the named employee's
// user only, and reports a name that is no Personio employee.
func TestTargetedHandlesOnlyTheNamedPersons(t *testing.T) {
	w := newDemo(t)
	env := w.env
	one := strconv.FormatInt(w.emps[10].ID, 10)
	_, entries, err := w.run(t, context.Background(), domain.ModeTargeted, false,
		domain.Target{Kind: domain.KindUser, ID: one}, domain.Target{Kind: domain.KindUser, ID: "999999"},
		domain.Target{Kind: domain.KindUser, ID: w.deselected})
	if err != nil {
		t.Fatal(err)
	}
	got := byAction(entries)
	if len(got["create_user/created"]) != 1 || got["create_user/created"][0] != one || !slices.Equal(got["skip/skipped"], sortedOf("999999", w.deselected)) {
		t.Fatalf("targeted run: %v", got)
	}
	// Each line names its employee, the one the loader skipped (not selected) too.
	for _, e := range entries {
		want := map[string]string{one: w.emps[10].FirstName + " " + w.emps[10].LastName,
			w.deselected: w.emps[5].FirstName + " " + w.emps[5].LastName, "999999": ""}[e.SourceID]
		if e.Person != want {
			t.Errorf("entry of %s names %q, want %q", e.SourceID, e.Person, want)
		}
	}
	if n := len(env.S.Account(env.Demo.StaffomaticSubdomain).Users()); n != 4 {
		t.Fatalf("%d users, want the 3 existing and the one targeted", n)
	}
}

// largeSync syncs a generated company of n employees (all selected) against the
// simulators with their default rate limits, then checks the second run is a no-op.
func largeSync(tb testing.TB, n int) {
	env := synctest.New(tb, synctest.Options{Generate: n})
	env.Select(tb, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "leave"}})
	h := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	ctx := context.Background()
	sum, err := h.Run(ctx, env.Request(domain.PhaseUsers, domain.ModeFull, false))
	if err != nil || sum.Counts[domain.OutcomeFailed] != 0 {
		tb.Fatalf("first run: %v %+v", err, sum)
	}
	selected := 0
	for _, e := range env.P.Employees() {
		if e.Status == "active" || e.Status == "onboarding" || e.Status == "leave" {
			selected++
		}
	}
	byCustom := map[string]int{}
	for _, u := range env.S.Account("demo-gastro").Users() {
		byCustom[u.CustomID]++
	}
	for cid, c := range byCustom {
		if cid != "" && c != 1 {
			tb.Fatalf("custom_id %s on %d users", cid, c)
		}
	}
	if created := sum.Counts[domain.OutcomeCreated]; created == 0 || created+sum.Counts[domain.OutcomeSkipped] < selected-selected/50 {
		tb.Fatalf("created %d, skipped %d of %d selected", created, sum.Counts[domain.OutcomeSkipped], selected)
	}
	env.S.ResetCalls()
	req := env.Request(domain.PhaseUsers, domain.ModeFull, false)
	sum, err = h.Run(ctx, req)
	if err != nil || env.S.WriteCalls() != 0 {
		tb.Fatalf("second run: %v, %d writes", err, env.S.WriteCalls())
	}
	if entries := env.Protocol(tb, domain.AreaUsers, req.RunID); len(entries) != 0 {
		tb.Fatalf("the no-op run wrote %d protocol entries", len(entries))
	}
	// No per-employee calls: a no-op run reads lists page by page.
	if s, p := sum.APICalls[domain.SystemStaffomatic], sum.APICalls[domain.SystemPersonio]; s > n/10 || p > n/10 {
		tb.Fatalf("the no-op run of %d employees made %d Staffomatic and %d Personio calls", n, s, p)
	}
	tb.Logf("no-op run of %d employees: API calls %v", n, sum.APICalls)
}

// TestLargeCompany syncs 2,000 employees under the simulators' default rate limits, as
// make test must show. Staffomatic's 500 requests per 10 s make the first run last about
// 45 s: one create per employee (the invitation goes with the create) is the floor.
func TestLargeCompany(t *testing.T) { largeSync(t, 2000) }

// BenchmarkSync2000 syncs 2,000 employees under the simulators' default rate limits.
func BenchmarkSync2000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		largeSync(b, 2000)
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "employees/s")
}

// TestDryRunStoresThePlanAndChangesNothing: a dry run of the first sync stores one planned
// entry per create, link, update and conflict, makes no write call to Staffomatic and
// stores no mapping; the real run that follows does what the dry run showed.
func TestDryRunStoresThePlanAndChangesNothing(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	usersBefore := len(env.S.Account(env.Demo.StaffomaticSubdomain).Users())
	env.S.ResetCalls()
	sum, planned, err := w.run(t, ctx, domain.ModeFull, true)
	if err != nil || sum.Status != domain.RunSucceeded || !sum.DryRun {
		t.Fatalf("dry run: %v %+v", err, sum)
	}
	if n := env.S.WriteCalls(); n != 0 {
		t.Fatalf("dry run made %d write calls", n)
	}
	if n := len(env.S.Account(env.Demo.StaffomaticSubdomain).Users()); n != usersBefore {
		t.Fatalf("dry run changed the users: %d → %d", usersBefore, n)
	}
	if ms, err := env.Store.LoadMappings(ctx, synctest.TenantID, domain.KindUser); err != nil || len(ms) != 0 {
		t.Fatalf("dry run stored mappings: %v %+v", err, ms)
	}
	plannedBy := map[string][]string{}
	plannedWrites := 0 // the Staffomatic write calls the plan lists (a locked create is two)
	for _, e := range planned {
		if e.Outcome != domain.OutcomePlanned || e.Reason == "" {
			t.Fatalf("dry-run entry %+v", e)
		}
		plannedBy[e.Action] = append(plannedBy[e.Action], e.SourceID)
		// An entry is one employee; writes counts the write calls the run makes for it.
		plannedWrites += e.Writes
		if usersync.ActionKind(e.Action).Writes() != (e.Writes > 0) {
			t.Errorf("entry %s of %s lists %d writes: %q", e.Action, e.SourceID, e.Writes, e.Reason)
		}
	}
	if c := plannedBy["conflict"]; len(c) != 1 || c[0] != w.noEmail {
		t.Errorf("planned conflicts %v, want %s", c, w.noEmail)
	}

	env.S.ResetCalls()
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	// A dry run is a promise: the run makes exactly the writes it listed.
	if n := env.S.WriteCalls(); n != plannedWrites || n == 0 {
		t.Errorf("the run made %d write calls, the dry run listed %d", n, plannedWrites)
	}
	did := byAction(entries)
	creates := plannedBy["create_user"]
	slices.Sort(creates)
	if !slices.Equal(did["create_user/created"], creates) || sum.Counts[domain.OutcomeCreated] != len(creates) {
		t.Errorf("the run created %v, the dry run planned %v", did["create_user/created"], creates)
	}
}

// TestPartialNeverMissesAChangeMadeDuringARun: an employee changed in Personio after the
// full run read the employees (but before it ended) is read and applied by the next partial
// run, because the cursor is the run's start and the partial run reads from an hour before.
func TestPartialNeverMissesAChangeMadeDuringARun(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	env.Advance(2 * time.Hour)
	target := w.emps[9]
	staffomaticHost := strings.TrimPrefix(strings.TrimSuffix(env.StaffomaticURL, "/v3"), "http://")
	var once sync.Once
	env.Transport.SetAfter(func(r *http.Request, _ *http.Response) {
		if r.URL.Host != staffomaticHost || r.Method == http.MethodGet {
			return
		}
		// The run writes, so Personio's list was read (both vendors are read at once,
		// the writes follow); the change lands while the run goes on.
		once.Do(func() {
			if err := env.P.UpdateEmployee(target.ID, func(e *personiosim.Employee) { e.FirstName = "Changed" }); err != nil {
				t.Error(err)
			}
		})
	})
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	env.Transport.SetAfter(nil)
	pid := strconv.FormatInt(target.ID, 10)
	if u := usersByCustomID(t, env)[pid]; len(u) != 1 || u[0].FirstName == "Changed" {
		t.Fatalf("the full run must not have seen the change: %+v", u)
	}
	env.Advance(4 * time.Hour)
	_, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := byAction(entries)["update_user/updated"]; !slices.Equal(got, []string{pid}) {
		t.Fatalf("partial run missed the change: %+v", entries)
	}
	if u := usersByCustomID(t, env)[pid][0]; u.FirstName != "Changed" {
		t.Fatalf("user %+v", u)
	}
}

// TestNoSecretInLogsOrProtocol: neither the run's log lines nor its protocol entries carry
// a credential, also when a run fails.
func TestNoSecretInLogsOrProtocol(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	var all []domain.ProtocolEntry
	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, entries...)
	if err := env.P.SetAttributeWhitelist(demo.PersonioClientID, []string{"first_name", "last_name"}); err != nil {
		t.Fatal(err)
	}
	sum, entries, _ := w.run(t, ctx, domain.ModeFull, false)
	all = append(all, entries...)
	text := env.Logs.String() + sum.Error
	for _, e := range all {
		text += e.Reason + e.TargetID + e.SourceID + e.Person + e.Workspace
		for _, c := range e.Changes {
			text += c.Field + c.From + c.To
		}
	}
	if len(all) == 0 {
		t.Fatal("no protocol entries to look at")
	}
	for _, secret := range []string{demo.PersonioClientSecret, demo.StaffomaticPassword} {
		if strings.Contains(text, secret) {
			t.Errorf("a secret appears in the logs or protocol")
		}
	}
}
