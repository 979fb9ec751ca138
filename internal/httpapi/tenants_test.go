package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

func TestCreateAndReadTenant(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	if !c.Verified || !strings.HasPrefix(c.AdminToken, "sst_"+c.TenantID+".") || c.WebhookSecrets.PersonioToken == "" || c.WebhookSecrets.StaffomaticSecret == "" {
		t.Fatalf("created %+v", c)
	}
	if c.Webhooks.PersonioRegistered {
		t.Error("registered a webhook without a public URL")
	}
	stored, err := e.store.GetTenant(t.Context(), c.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AdminTokenHash != hashHex(c.AdminToken) || stored.Owner.Email != e.demo.StaffomaticEmail || stored.Owner.Name == "" || stored.Sealed.IsZero() {
		t.Fatalf("stored %+v", stored)
	}
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID, c.AdminToken, nil)
	if r.Code != 200 {
		t.Fatalf("get: %d %s", r.Code, r.Body)
	}
	var v TenantView
	r.json(t, &v)
	if v.TenantID != c.TenantID || v.Sources.Timesheets != "staffomatic" || v.Sources.Absences != "personio" || v.Personio.ClientID != e.demo.PersonioClientID || len(v.NextRuns) != 0 {
		t.Fatalf("view %+v", v)
	}
	noSecrets(t, "tenant view", string(r.Body), e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, c.AdminToken, c.WebhookSecrets.PersonioToken, c.WebhookSecrets.StaffomaticSecret, stored.AdminTokenHash)

	// Listing (operator only) shows no secret either.
	r = e.do(t, "GET", "/v1/tenants", operatorKey, nil)
	if r.Code != 200 || !strings.Contains(string(r.Body), c.TenantID) {
		t.Fatalf("list: %d %s", r.Code, r.Body)
	}
	noSecrets(t, "tenant list", string(r.Body), e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, stored.AdminTokenHash)
	noSecrets(t, "log", e.logs.String(), e.demo.PersonioClientSecret, e.demo.StaffomaticPassword, c.AdminToken, c.WebhookSecrets.PersonioToken, c.WebhookSecrets.StaffomaticSecret)
}

func TestSyncNowQueuesRunsAndPublishes(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/all", c.AdminToken, map[string]any{"mode": "partial", "dry_run": true})
	if r.Code != http.StatusAccepted {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	var out struct {
		RunIDs []string `json:"run_ids"`
	}
	r.json(t, &out)
	if len(out.RunIDs) != 4 {
		t.Fatalf("run ids %v", out.RunIDs)
	}
	// One event starts the chain: the users run, followed by the other phases in order.
	evs := e.events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want the head of the chain", len(evs))
	}
	ev := evs[0]
	for i, id := range out.RunIDs {
		if i > 0 {
			ev, _ = ev.Next()
		}
		if ev.RunID != id || ev.Phase != domain.Phases[i] || ev.Mode != domain.ModePartial || !ev.DryRun || ev.Trigger != domain.TriggerManual || ev.Tenant != c.TenantID {
			t.Errorf("run %d (%s): event %+v", i, id, ev)
		}
		run, err := e.store.GetRun(t.Context(), c.TenantID, id)
		if err != nil || run.Status != domain.RunQueued || run.Phase != domain.Phases[i] {
			t.Errorf("stored run %+v %v", run, err)
		}
	}
}

// TestSyncNowOnlyDeployedPhases: a deployment without the timesheets and absences
// functions refuses Sync Now of those phases (nothing stored, nothing sent) and "all"
// queues only the deployed ones, so no run waits for a function that does not exist.
func TestSyncNowOnlyDeployedPhases(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Phases = []domain.Phase{domain.PhaseUsers, domain.PhaseWorkspaces} })
	c := e.createDemo(t)
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/timesheets", c.AdminToken, nil)
	var er struct{ Error Error }
	r.json(t, &er)
	if r.Code != http.StatusUnprocessableEntity || er.Error.Code != "phase_unavailable" || er.Error.Field != "phase" ||
		!strings.Contains(er.Error.Message, "available: users, workspaces") {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	if runs, _ := e.store.ListRuns(t.Context(), c.TenantID, 100, ""); len(runs.Runs) != 0 || len(e.events()) != 0 {
		t.Fatalf("a refused sync left %d runs, %d events", len(runs.Runs), len(e.events()))
	}
	r = e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/all", c.AdminToken, nil)
	var out struct {
		RunIDs []string `json:"run_ids"`
	}
	r.json(t, &out)
	evs := e.events()
	if r.Code != http.StatusAccepted || len(out.RunIDs) != 2 || len(evs) != 1 {
		t.Fatalf("%d %s, %d events", r.Code, r.Body, len(evs))
	}
	if evs[0].Phase != domain.PhaseUsers || len(evs[0].Then) != 1 || evs[0].Then[0].Phase != domain.PhaseWorkspaces {
		t.Errorf("chain %+v covers undeployed phases", evs[0])
	}
	// The answer says what was queued and what was left out, and why.
	var said struct {
		Queued  []PhaseRef     `json:"queued"`
		Skipped []SkippedPhase `json:"skipped"`
	}
	r.json(t, &said)
	if len(said.Queued) != 2 || said.Queued[0].Phase != domain.PhaseUsers || said.Queued[1].RunID != out.RunIDs[1] ||
		len(said.Skipped) != 2 || said.Skipped[0].Phase != domain.PhaseTimesheets || !strings.Contains(said.Skipped[0].Reason, "not deployed") {
		t.Fatalf("answer %s", r.Body)
	}
}

// TestSyncAllLeavesOutTimeTrackingWhenOff: with time tracking off in the sources, Sync Now
// of all phases queues no timesheets run and says so.
func TestSyncAllLeavesOutTimeTrackingWhenOff(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	if r := e.do(t, "PUT", "/v1/tenants/"+c.TenantID+"/sources", c.AdminToken, map[string]any{"timesheets": "off"}); r.Code != 200 {
		t.Fatalf("sources: %d %s", r.Code, r.Body)
	}
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/all", c.AdminToken, nil)
	var said struct {
		Queued  []PhaseRef     `json:"queued"`
		Skipped []SkippedPhase `json:"skipped"`
	}
	r.json(t, &said)
	if r.Code != http.StatusAccepted || len(said.Queued) != 3 || len(said.Skipped) != 1 || said.Skipped[0].Phase != domain.PhaseTimesheets ||
		!strings.Contains(said.Skipped[0].Reason, "time tracking is off") {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
}

func TestPublicRoutes(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "GET", "/v1/health", "", nil); r.Code != 200 {
		t.Fatalf("health %d", r.Code)
	}
	if r := e.do(t, "GET", "/v1/openapi.yaml", "", nil); r.Code != 200 || r.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("openapi %d", r.Code)
	}
}

// TestSyncNowNoPhaseDeployed: with no phase deployed, Sync Now of all is refused like an
// undeployed phase (not a 500), and nothing is queued.
func TestSyncNowNoPhaseDeployed(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Phases = []domain.Phase{} })
	c := e.createDemo(t)
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/all", c.AdminToken, nil)
	var er struct{ Error Error }
	r.json(t, &er)
	if r.Code != http.StatusUnprocessableEntity || er.Error.Code != "phase_unavailable" || er.Error.Field != "phase" {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	if runs, _ := e.store.ListRuns(t.Context(), c.TenantID, 100, ""); len(runs.Runs) != 0 || len(e.events()) != 0 {
		t.Fatalf("%d runs, %d events", len(runs.Runs), len(e.events()))
	}
}

// TestSyncNowWhileARunIsQueued: a run of the phase still queued (its function has not
// started it yet) answers Sync Now of that phase like a running one, a 409 naming it;
// a queued run older than queuedRunBlocks (never started) and another tenant's queued
// run do not block.
func TestSyncNowWhileARunIsQueued(t *testing.T) {
	e := newEnv(t)
	c, other := e.createDemo(t), e.createDemo(t)
	ctx := t.Context()
	queue := func(tenant string, at time.Time) {
		t.Helper()
		req := domain.SyncRequest{Tenant: tenant, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual,
			RunID: domain.NewRunID(domain.PhaseUsers, at)}
		if err := e.store.CreateRun(ctx, req.Summary(at)); err != nil {
			t.Fatal(err)
		}
	}
	queue(c.TenantID, time.Now().Add(-queuedRunBlocks-time.Minute))
	queue(other.TenantID, time.Now())
	first := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/users", c.AdminToken, nil)
	var ok struct {
		RunIDs []string `json:"run_ids"`
	}
	first.json(t, &ok)
	if first.Code != http.StatusAccepted || len(ok.RunIDs) != 1 {
		t.Fatalf("with only a stale queued run and another tenant's: %d %s", first.Code, first.Body)
	}
	// The run just queued has not started (the test's bus only records events).
	usersBusy(t, e, c, "queued (run "+ok.RunIDs[0])
}

// TestSyncNowWhileARunIsInProgress: Sync Now of a phase whose run holds the lease is a 409
// naming that run (a second run would only be skipped); once it ended, Sync Now queues.
func TestSyncNowWhileARunIsInProgress(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	ctx := t.Context()
	req := domain.SyncRequest{Tenant: c.TenantID, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual,
		RunID: domain.NewRunID(domain.PhaseUsers, e.store.Now())}
	sum := req.Summary(e.store.Now())
	sum.Status, sum.StartedAt = domain.RunRunning, e.store.Now()
	if err := e.store.PutRun(ctx, sum); err != nil {
		t.Fatal(err)
	}
	lease, err := e.store.AcquireLease(ctx, c.TenantID, domain.PhaseUsers, req.RunID, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	usersBusy(t, e, c, "in progress (run "+req.RunID)
	if err := e.store.ReleaseLease(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/users", c.AdminToken, nil); r.Code != http.StatusAccepted {
		t.Fatalf("after the run: %d %s", r.Code, r.Body)
	}
}

// usersBusy checks that Sync Now of users is a 409 run_in_progress whose message has want
// (naming the run), and that Sync Now of all leaves users out for that reason and starts
// with workspaces instead of queuing a users run beside the busy one.
func usersBusy(t *testing.T, e *env, c TenantCreated, want string) {
	t.Helper()
	r := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/users", c.AdminToken, nil)
	var er struct{ Error Error }
	r.json(t, &er)
	if r.Code != http.StatusConflict || er.Error.Code != "run_in_progress" || er.Error.Field != "phase" || !strings.Contains(er.Error.Message, want) {
		t.Fatalf("sync users: %d %s", r.Code, r.Body)
	}
	all := e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/all", c.AdminToken, nil)
	var queued struct {
		Queued  []PhaseRef     `json:"queued"`
		Skipped []SkippedPhase `json:"skipped"`
	}
	all.json(t, &queued)
	if all.Code != http.StatusAccepted || len(queued.Queued) == 0 || queued.Queued[0].Phase != domain.PhaseWorkspaces ||
		len(queued.Skipped) != 1 || queued.Skipped[0].Phase != domain.PhaseUsers || !strings.Contains(queued.Skipped[0].Reason, want) {
		t.Fatalf("sync all while users is busy: %d %s", all.Code, all.Body)
	}
	for _, q := range queued.Queued {
		if q.Phase == domain.PhaseUsers {
			t.Fatalf("a users run was queued beside the busy one: %s", all.Body)
		}
	}
}
