package usersync_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// demoWorld is the demo company with every employee selected by a status rule except one
// switched off explicitly, invitations on and the paid-vacation entitlement managed.
type demoWorld struct {
	env *synctest.Env
	h   *phase.Harness[*usersync.Loaded, usersync.Planned]
	// The demo's special employees, by Personio id.
	ada, carla, deselected, onboarding, leaver, noEmail string
	emps                                                []personiosim.Employee
}

func newDemo(t *testing.T) *demoWorld {
	t.Helper()
	env := synctest.New(t, synctest.Options{})
	w := &demoWorld{env: env}
	w.emps = env.P.Employees()
	slices.SortFunc(w.emps, func(a, b personiosim.Employee) int { return int(a.ID - b.ID) })
	id := func(i int) string { return strconv.FormatInt(w.emps[i].ID, 10) }
	w.ada, w.carla, w.deselected, w.onboarding, w.leaver, w.noEmail = id(0), id(2), id(5), id(22), id(23), id(24)
	if w.emps[22].Status != "onboarding" || w.emps[23].Status != "inactive" || w.emps[24].Email != "" {
		t.Fatalf("the demo company changed: %+v", w.emps[22:])
	}
	env.Select(t, map[string]bool{w.deselected: false},
		domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive"}})
	var vacation int64
	for _, tt := range env.P.TimeOffTypes() {
		if tt.Name == "Bezahlter Urlaub" {
			vacation = tt.ID
		}
	}
	env.UpdateSettings(t, func(s *domain.Settings) {
		s.InviteStaffomaticUsers = true
		s.FallbackPersonioTimeOffTypeIDsForEntitlements = []int64{vacation}
	})
	w.h = phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	return w
}

func (w *demoWorld) run(t *testing.T, ctx context.Context, m domain.Mode, dry bool, targets ...domain.Target) (domain.RunSummary, []domain.ProtocolEntry, error) {
	t.Helper()
	req := w.env.Request(domain.PhaseUsers, m, dry, targets...)
	sum, err := w.h.Run(ctx, req)
	return sum, w.env.Protocol(t, domain.AreaUsers, req.RunID), err
}

func byAction(entries []domain.ProtocolEntry) map[string][]string {
	out := map[string][]string{}
	for _, e := range entries {
		k := e.Action + "/" + string(e.Outcome)
		out[k] = append(out[k], e.SourceID)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

func usersByCustomID(t *testing.T, env *synctest.Env) map[string][]staffomaticsim.User {
	t.Helper()
	out := map[string][]staffomaticsim.User{}
	for _, u := range env.S.Account(env.Demo.StaffomaticSubdomain).Users() {
		out[u.CustomID] = append(out[u.CustomID], u)
	}
	return out
}

// TestDemoFirstAndSecondSync: the first sync of the demo company creates exactly the
// expected users and reports the expected conflict and skip; the second makes no write
// call and writes nothing but its summary.
func TestDemoFirstAndSecondSync(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()

	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("first run: %v %+v\n%s", err, sum, env.Logs.String())
	}
	got := byAction(entries)
	var wantCreated []string
	for i, e := range w.emps {
		if !slices.Contains([]int{0, 2, 5, 23, 24}, i) {
			wantCreated = append(wantCreated, strconv.FormatInt(e.ID, 10))
		}
	}
	slices.Sort(wantCreated)
	if !slices.Equal(got["create_user/created"], wantCreated) {
		t.Errorf("created %v\nwant    %v", got["create_user/created"], wantCreated)
	}
	if c := got["conflict/reported"]; !slices.Equal(c, []string{w.noEmail}) {
		t.Errorf("conflicts %v, want the employee without e-mail %s", c, w.noEmail)
	}
	if s := got["skip/skipped"]; !slices.Equal(s, []string{w.leaver}) {
		t.Errorf("skips %v, want the leaver %s", s, w.leaver)
	}
	// Ada (matched by e-mail) and Carla (by custom_id) are linked and updated: one entry
	// each, the update, telling the link and the update in the past, with the diff.
	if u := got["update_user/updated"]; !slices.Equal(u, sortedOf(w.ada, w.carla)) {
		t.Errorf("updates %v, want Ada and Carla", u)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.SourceID] {
			t.Errorf("employee %s has more than one entry: one employee's changes are one action", e.SourceID)
		}
		seen[e.SourceID] = true
		if e.Person == "" || strings.HasPrefix(e.Reason, "will ") {
			t.Errorf("entry without the person's name or in the future tense: %+v", e)
		}
		if (e.SourceID == w.ada || e.SourceID == w.carla) &&
			(!strings.HasPrefix(e.Reason, "linked user ") || !strings.Contains(e.Reason, "; updated ") || len(e.Changes) == 0) {
			t.Errorf("Ada's and Carla's entries must tell the link and the update with the diff: %+v", e)
		}
	}
	if len(seen) != len(w.emps)-1 { // all but the deselected employee
		t.Errorf("%d employees in the protocol, want %d", len(seen), len(w.emps)-1)
	}
	if len(got["failed"]) > 0 || sum.Counts[domain.OutcomeFailed] > 0 {
		t.Errorf("failures: %+v", entries)
	}
	for _, e := range entries {
		if e.Reason == "" {
			t.Errorf("entry without reason: %+v", e)
		}
	}
	if sum.Counts[domain.OutcomeCreated] != 20 || sum.APICalls[domain.SystemStaffomatic] == 0 || sum.APICalls[domain.SystemPersonio] == 0 {
		t.Errorf("summary %+v", sum)
	}

	users := usersByCustomID(t, env)
	for _, pid := range wantCreated {
		if len(users[pid]) != 1 {
			t.Errorf("employee %s has %d users", pid, len(users[pid]))
		}
	}
	for _, pid := range []string{w.deselected, w.leaver, w.noEmail} {
		if len(users[pid]) != 0 {
			t.Errorf("employee %s (deselected, leaver or without e-mail) got a user", pid)
		}
	}
	onb := users[w.onboarding][0]
	if onb.LockedAt == nil || onb.InvitationState != "" {
		t.Errorf("future hire: user must be created locked and uninvited: %+v", onb)
	}
	carla := users[w.carla][0]
	if carla.Email != w.emps[2].Email || carla.FirstName != "Carla" {
		t.Errorf("Carla's e-mail must be overwritten with Personio's: %+v", carla)
	}
	ada := users[w.ada][0]
	if ada.ID != env.Demo.StaffomaticAdminID {
		t.Errorf("Ada matched by e-mail must keep her user %d, got %d", env.Demo.StaffomaticAdminID, ada.ID)
	}
	created := users[wantCreated[0]][0]
	if created.MaxVacationDays == nil || *created.MaxVacationDays < 26 || created.MaxHoursPerMonth == nil || len(created.LocationIDs) != 1 {
		t.Errorf("created user lacks entitlement, hours or location: %+v", created)
	}
	invites := map[int64]int{}
	for _, inv := range env.S.Account(env.Demo.StaffomaticSubdomain).Invitations() {
		invites[inv.UserID]++
	}
	if invites[ada.ID] != 0 || invites[carla.ID] != 0 || invites[onb.ID] != 0 || invites[created.ID] != 1 {
		t.Errorf("invitations: %v (accepted users and the locked future hire get none, new users one)", invites)
	}
	if len(users[""]) != 1 {
		t.Errorf("the unmatched Staffomatic user must stay untouched: %+v", users[""])
	}

	t.Logf("first run: counts %v, API calls %v", sum.Counts, sum.APICalls)

	// Second run: nothing changed.
	env.S.ResetCalls()
	sum, entries, err = w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("second run: %v %+v", err, sum)
	}
	if n := env.S.WriteCalls(); n != 0 {
		t.Errorf("second run made %d write calls: %+v", n, env.S.Calls())
	}
	if len(entries) != 0 {
		t.Errorf("second run wrote protocol entries: %+v", entries)
	}
	if len(env.S.Account(env.Demo.StaffomaticSubdomain).Invitations()) != len(wantCreated)-1 {
		t.Errorf("invitations sent again")
	}
	run, err := env.Store.GetRun(ctx, synctest.TenantID, sum.RunID)
	if err != nil || run.Status != domain.RunSucceeded {
		t.Errorf("run summary %+v %v", run, err)
	}

	// An edit made in Staffomatic is overwritten, and only that user is written.
	acc := env.S.Account(env.Demo.StaffomaticSubdomain)
	editUserName(t, env, created.ID, "Renamed")
	env.S.ResetCalls()
	sum, entries, err = w.run(t, ctx, domain.ModeFull, false)
	if err != nil || len(entries) != 1 || entries[0].Action != "update_user" || env.S.WriteCalls() != 1 {
		t.Fatalf("overwrite run: %v %+v writes %d", err, entries, env.S.WriteCalls())
	}
	if u, _ := acc.User(created.ID); u.FirstName == "Renamed" {
		t.Errorf("Staffomatic edit not overwritten: %+v", u)
	}
}

func sortedOf(s ...string) []string {
	slices.Sort(s)
	return s
}

// editUserName renames a user through the API, as an admin editing in Staffomatic would.
func editUserName(t *testing.T, env *synctest.Env, id int64, first string) {
	t.Helper()
	body := strings.NewReader(`{"first_name":"` + first + `"}`)
	req, _ := http.NewRequest(http.MethodPut, env.StaffomaticURL+"/"+env.Demo.StaffomaticSubdomain+"/users/"+strconv.FormatInt(id, 10)+".json", body)
	req.SetBasicAuth(env.Demo.StaffomaticEmail, env.Demo.StaffomaticPassword)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "test (ops@example.com)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("edit user: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestCrashAfterHalfTheCreates: the run is stopped right after the 10th user was created;
// the rerun creates the rest and no duplicate.
func TestCrashAfterHalfTheCreates(t *testing.T) {
	w := newDemo(t)
	env := w.env
	ctx, cancel := context.WithCancel(context.Background())
	var creates atomic.Int32
	env.Transport.SetAfter(func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, ".json"), "/users") && resp.StatusCode < 300 {
			if creates.Add(1) == 10 {
				cancel()
			}
		}
	})
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err == nil {
		t.Fatal("the interrupted run must fail")
	}
	env.Transport.SetAfter(nil)
	env.S.Quiesce() // a create whose response the cancelled run no longer awaited may still be under way
	before := len(env.S.Account(env.Demo.StaffomaticSubdomain).Users())
	if before < 3+10 || before >= 3+20 {
		t.Fatalf("after the crash %d users exist; the crash did not hit the middle", before)
	}
	sum, _, err := w.run(t, context.Background(), domain.ModeFull, false)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, env.Logs.String())
	}
	users := usersByCustomID(t, env)
	total := 0
	for cid, us := range users {
		if cid != "" && len(us) != 1 {
			t.Errorf("custom_id %s: %d users (duplicate)", cid, len(us))
		}
		total += len(us)
	}
	if total != 3+20 {
		t.Errorf("%d users after the rerun, want 23", total)
	}
	if sum.Counts[domain.OutcomeCreated] != 3+20-before {
		t.Errorf("rerun created %d, want %d", sum.Counts[domain.OutcomeCreated], 3+20-before)
	}
	// A third run finds nothing to do.
	env.S.ResetCalls()
	if _, entries, err := w.run(t, context.Background(), domain.ModeFull, false); err != nil || len(entries) != 0 || env.S.WriteCalls() != 0 {
		t.Errorf("third run: %v %+v writes %d", err, entries, env.S.WriteCalls())
	}
}

// TestNewEmailTakenByAnotherUser: a mapped employee whose new Personio e-mail belongs to
// another Staffomatic user keeps their e-mail, gets the other changes, and the conflict is
// reported once with both user ids; the next run writes nothing.
func TestNewEmailTakenByAnotherUser(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	target := w.emps[7]
	pid := strconv.FormatInt(target.ID, 10)
	if err := env.P.UpdateEmployee(target.ID, func(e *personiosim.Employee) {
		e.Email = strings.ToUpper(w.emps[0].Email) // Ada's, whose user is the admin
		e.LastName = "Horn-Berg"
	}); err != nil {
		t.Fatal(err)
	}
	env.S.ResetCalls()
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("run: %v %+v", err, sum)
	}
	got := byAction(entries)
	// One entry: the update, which tells the conflict of the e-mail it left alone.
	if !slices.Equal(got["update_user/updated"], []string{pid}) || len(entries) != 1 || entries[0].Person != "Hanna Horn-Berg" ||
		!slices.Equal(entries[0].Changes, []domain.FieldChange{{Field: "last_name", From: "Horn", To: "Horn-Berg"}}) {
		t.Fatalf("entries %+v", entries)
	}
	user := usersByCustomID(t, env)[pid][0]
	if user.LastName != "Horn-Berg" || user.Email != target.Email {
		t.Errorf("user %+v: last name must follow Personio, the e-mail must stay", user)
	}
	if e := entries[0]; e.TargetID != strconv.FormatInt(user.ID, 10) || !strings.Contains(e.Reason, "; reported a conflict: ") ||
		!strings.Contains(e.Reason, "already belongs to Staffomatic user "+strconv.FormatInt(env.Demo.StaffomaticAdminID, 10)) {
		t.Errorf("the entry must tell the conflict naming both users: %+v", e)
	}
	if n := env.S.WriteCalls(); n != 1 {
		t.Errorf("%d write calls, want the one update", n)
	}
	env.S.ResetCalls()
	if _, entries, err := w.run(t, ctx, domain.ModeFull, false); err != nil || len(entries) != 0 || env.S.WriteCalls() != 0 {
		t.Fatalf("rerun must not report the unchanged conflict again: %v %+v writes %d", err, entries, env.S.WriteCalls())
	}
}

// TestDeletedLeaverReportedOnce: a leaver's user is locked after the last working day;
// the admin then deletes the user to free the seat. The employee stays selected (the
// status rule includes inactive employees), so each run plans to skip the employee, as no
// user is created for a leaver; that skip is reported once, not at every run.
func TestDeletedLeaverReportedOnce(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	target := w.emps[7]
	pid := strconv.FormatInt(target.ID, 10)
	if err := env.P.UpdateEmployee(target.ID, func(e *personiosim.Employee) {
		e.LastWorkingDay = time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)
	}); err != nil {
		t.Fatal(err)
	}
	if _, entries, err := w.run(t, ctx, domain.ModeFull, false); err != nil || !slices.Equal(byAction(entries)["lock_user/updated"], []string{pid}) {
		t.Fatalf("leaver not locked: %v %+v", err, entries)
	}
	user := usersByCustomID(t, env)[pid][0]
	req, _ := http.NewRequest(http.MethodDelete, env.StaffomaticURL+"/"+env.Demo.StaffomaticSubdomain+"/users/"+strconv.FormatInt(user.ID, 10)+".json", nil)
	req.SetBasicAuth(env.Demo.StaffomaticEmail, env.Demo.StaffomaticPassword)
	req.Header.Set("User-Agent", "test (ops@example.com)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("delete user: %v %v", err, resp)
	}
	resp.Body.Close()

	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || !slices.Equal(byAction(entries)["skip/skipped"], []string{pid}) || len(entries) != 1 {
		t.Fatalf("deleted leaver: %v %+v", err, entries)
	}
	env.S.ResetCalls()
	if _, entries, err = w.run(t, ctx, domain.ModeFull, false); err != nil || len(entries) != 0 || env.S.WriteCalls() != 0 {
		t.Fatalf("the unchanged skip is reported again: %v %+v writes %d", err, entries, env.S.WriteCalls())
	}
	if len(usersByCustomID(t, env)[pid]) != 0 {
		t.Fatal("a user was created for the leaver")
	}
}

// TestIntegrationAdminNeverLocked: Ada is both a Personio employee and the Staffomatic
// admin staffsync signs in as. Her last working day passing is reported, but her user is
// not locked: a locked admin cannot sign in, and every later run of the tenant would fail.
func TestIntegrationAdminNeverLocked(t *testing.T) {
	w := newDemo(t)
	env, ctx := w.env, context.Background()
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	if err := env.P.UpdateEmployee(w.emps[0].ID, func(e *personiosim.Employee) {
		e.LastWorkingDay = time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)
	}); err != nil {
		t.Fatal(err)
	}
	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || !slices.Equal(byAction(entries)["skip/skipped"], []string{w.ada}) || len(entries) != 1 ||
		!strings.Contains(entries[0].Reason, "signs in as") {
		t.Fatalf("run: %v %+v", err, entries)
	}
	if u, _ := env.S.Account(env.Demo.StaffomaticSubdomain).User(env.Demo.StaffomaticAdminID); u.LockedAt != nil {
		t.Fatal("the integration's admin was locked")
	}
	env.S.ResetCalls()
	sum, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || sum.Status != domain.RunSucceeded || len(entries) != 0 || env.S.WriteCalls() != 0 {
		t.Fatalf("next run: %v %+v %+v writes %d", err, sum, entries, env.S.WriteCalls())
	}
}
