package local

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
)

// TestRunDemoEndToEnd starts what `make run` starts, with the sandbox: the API answers,
// the demo tenant exists, "Sync Now" of the users phase puts the demo employees into the
// simulated Staffomatic, and Ctrl-C (context cancel) stops everything cleanly.
func TestRunDemoEndToEnd(t *testing.T) {
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan Ready, 1)
	var out bytes.Buffer
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	sbCh := make(chan *Sandbox, 1)
	go func() {
		done <- Run(ctx, Options{Addr: "127.0.0.1:0", Config: cfg, Out: &out, Log: slog.New(slog.NewTextHandler(logs, nil)), Ready: ready, Sandbox: true,
			KeyFile: t.TempDir() + "/key", Phases: DefaultPhases(), sandboxHook: func(sb *Sandbox) { sbCh <- sb }})
	}()
	var r Ready
	select {
	case r = <-ready:
	case err := <-done:
		t.Fatalf("Run returned early: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatal("not ready")
	}
	sb := <-sbCh
	res, err := http.Get(r.BaseURL + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("health: %d", res.StatusCode)
	}
	if r.Demo.ID == "" || r.Demo.AdminToken == "" {
		t.Fatalf("no demo tenant: %+v", r.Demo)
	}
	// The generated operator key is configured in the salted HMAC form, so the API does not
	// warn about a legacy plain SHA-256 at every start.
	if l := logs.String(); strings.Contains(l, "plain SHA-256") {
		t.Fatalf("make run configures a legacy operator key hash:\n%s", l)
	}
	acct := sb.Staffomatic.Account(sb.Demo.StaffomaticSubdomain)
	before := len(acct.Users())

	// The demo tenant is set up as the guide says: its settings name the vacation type for
	// the entitlement and vacation-day deduction, and the paid types (the README's examples
	// and the absences' vacation/paid flags follow from them).
	var view struct {
		Settings map[string]any `json:"settings"`
	}
	if err := call(ctx, http.MethodGet, r.BaseURL+"/v1/tenants/"+r.Demo.ID, r.Demo.AdminToken, nil, http.StatusOK, &view); err != nil {
		t.Fatal(err)
	}
	settings := view.Settings
	for _, k := range []string{"fallback_personio_time_off_type_ids_for_entitlements", "personio_time_off_type_ids_for_vacation_days_deduction", "personio_time_off_type_ids_for_paid_vacations"} {
		if ids, _ := settings[k].([]any); len(ids) == 0 {
			t.Errorf("demo setting %s is unset: %v", k, settings)
		}
	}

	var queued struct {
		RunIDs []string `json:"run_ids"`
	}
	if err := call(ctx, http.MethodPost, r.BaseURL+"/v1/tenants/"+r.Demo.ID+"/sync/users", r.Demo.AdminToken, map[string]any{}, http.StatusAccepted, &queued); err != nil {
		t.Fatal(err)
	}
	if len(queued.RunIDs) != 1 {
		t.Fatalf("run ids %v", queued.RunIDs)
	}
	run := waitRun(t, r, queued.RunIDs[0])
	if run.Status != string(domain.RunSucceeded) || run.Counts["created"] == 0 {
		t.Fatalf("run %+v", run)
	}
	if after := len(acct.Users()); after != before+run.Counts["created"] {
		t.Fatalf("Staffomatic has %d users, had %d, run created %d", after, before, run.Counts["created"])
	}

	// The demo starts with background sync off: nothing syncs before the admin looked.
	var tenant struct {
		Settings struct {
			EnableBackgroundSync bool `json:"enable_background_sync"`
		} `json:"settings"`
	}
	if err := call(ctx, http.MethodGet, r.BaseURL+"/v1/tenants/"+r.Demo.ID, r.Demo.AdminToken, nil, http.StatusOK, &tenant); err != nil || tenant.Settings.EnableBackgroundSync {
		t.Fatalf("demo tenant: %v, background sync %v", err, tenant.Settings.EnableBackgroundSync)
	}

	// Sync Now of all phases runs the deployed ones one after the other.
	if err := call(ctx, http.MethodPost, r.BaseURL+"/v1/tenants/"+r.Demo.ID+"/sync/all", r.Demo.AdminToken, map[string]any{}, http.StatusAccepted, &queued); err != nil {
		t.Fatal(err)
	}
	if len(queued.RunIDs) != 4 {
		t.Fatalf("sync/all queued %v, want the users, workspaces, timesheets and absences runs", queued.RunIDs)
	}
	users, workspaces, timesheets := waitRun(t, r, queued.RunIDs[0]), waitRun(t, r, queued.RunIDs[1]), waitRun(t, r, queued.RunIDs[2])
	absences := waitRun(t, r, queued.RunIDs[3])
	if users.Phase != "users" || workspaces.Phase != "workspaces" || users.Status != "succeeded" || workspaces.Status != "succeeded" {
		t.Fatalf("runs %+v %+v", users, workspaces)
	}
	if workspaces.StartedAt.Before(users.FinishedAt) || timesheets.StartedAt.Before(workspaces.FinishedAt) || absences.StartedAt.Before(timesheets.FinishedAt) {
		t.Fatalf("workspaces started %s, before users finished %s (or timesheets before workspaces, or absences before timesheets)", workspaces.StartedAt, users.FinishedAt)
	}
	// The demo's verified timers of mapped users became attendance periods; the demo's
	// unmatched Staffomatic user has no employee, so its timers are failed records.
	if timesheets.Phase != "timesheets" || timesheets.Counts["created"] == 0 || timesheets.Status != string(domain.RunPartiallyFailed) {
		t.Fatalf("timesheets run %+v", timesheets)
	}
	// The demo's Personio absences became Staffomatic absences; the type without a
	// category (Fortbildung) is reported.
	if absences.Phase != "absences" || absences.Counts["created"] == 0 || absences.Counts["reported"] == 0 || absences.Status != string(domain.RunSucceeded) {
		t.Fatalf("absences run %+v", absences)
	}
	// "Sync Now" of the absences alone: after a deletion in Personio a dry run plans the
	// one removal and changes nothing, and the run then mirrors it.
	syncAbsences := func(body map[string]any) runView {
		t.Helper()
		if err := call(ctx, http.MethodPost, r.BaseURL+"/v1/tenants/"+r.Demo.ID+"/sync/absences", r.Demo.AdminToken, body, http.StatusAccepted, &queued); err != nil {
			t.Fatal(err)
		}
		if len(queued.RunIDs) != 1 {
			t.Fatalf("sync/absences queued %v", queued.RunIDs)
		}
		return waitRun(t, r, queued.RunIDs[0])
	}
	copies := len(acct.Absences())
	if err := sb.Personio.RemoveAbsencePeriod(sb.Demo.HalfDayAbsenceID); err != nil {
		t.Fatal(err)
	}
	if dry := syncAbsences(map[string]any{"dry_run": true}); dry.Phase != "absences" || dry.Status != string(domain.RunSucceeded) || dry.Counts["planned"] != 1 || len(acct.Absences()) != copies {
		t.Fatalf("absences dry run after a Personio deletion %+v: %d Staffomatic absences, had %d", dry, len(acct.Absences()), copies)
	}
	if del := syncAbsences(map[string]any{"mode": "full"}); del.Status != string(domain.RunSucceeded) || del.Counts["deleted"] != 1 || len(acct.Absences()) != copies-1 {
		t.Fatalf("absences run after a Personio deletion %+v: %d Staffomatic absences, had %d", del, len(acct.Absences()), copies)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, want := range []string{"operator key:", "UsersFullDaily", "staffsync dev stopped", "Europe/Berlin", "demo company: 25 employees", "demo tenant:", r.Demo.AdminToken,
		"export B=" + r.BaseURL + " OP=", " T=" + r.Demo.ID + " TOK=" + r.Demo.AdminToken,
		"export PERSONIO_TOKEN=" + r.Demo.PersonioToken + " STAFFOMATIC_SECRET=" + r.Demo.StaffomaticSecret + " PERSONIO_URL=http://127.0.0.1:",
		" STAFFOMATIC_URL=http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	// Every URL with a query is quoted: zsh takes a bare ? for a glob ("no matches found").
	for _, line := range strings.Split(out.String(), "\n") {
		for _, word := range strings.Fields(line) {
			if strings.HasPrefix(strings.TrimSpace(line), "curl ") && strings.Contains(word, "?") && !strings.HasPrefix(word, `"`) && !strings.HasPrefix(word, "'") {
				t.Errorf("banner line with an unquoted ?: %s", line)
			}
		}
	}
	// The URLs are the set-up steps' base_url values: Staffomatic's with /v3, without the subdomain.
	if !regexp.MustCompile(`PERSONIO_URL=http://127\.0\.0\.1:\d+ STAFFOMATIC_URL=http://127\.0\.0\.1:\d+/v3\n`).MatchString(out.String()) {
		t.Errorf("banner's simulator URLs are not the base_url values:\n%s", out.String())
	}
}

// TestRunWithoutSandboxExportsTheOperatorKey: make run with STAFFSYNC_SANDBOX=off has no
// demo tenant, but its banner still sets the README's B and OP for the set-up steps.
func TestRunWithoutSandboxExportsTheOperatorKey(t *testing.T) {
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &bytes.Buffer{}
	ready, done := make(chan Ready, 1), make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Addr: "127.0.0.1:0", Config: cfg, Out: out, Ready: ready, KeyFile: filepath.Join(dir, KeyFileName),
			DataDir: dir, Phases: DefaultPhases()})
	}()
	var r Ready
	select {
	case r = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run returned early: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not ready")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !regexp.MustCompile(`sandbox:       off .*\n(?s:.*)\n    export B=` + regexp.QuoteMeta(r.BaseURL) + ` OP=op_[0-9a-f]+\n`).MatchString(out.String()) {
		t.Errorf("banner without sandbox lacks the export line:\n%s", out.String())
	}
}

type runView struct {
	ID         string         `json:"run_id"`
	Phase      string         `json:"phase"`
	Status     string         `json:"status"`
	Counts     map[string]int `json:"counts"`
	Error      *string        `json:"error"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
}

// waitRun polls the run until it has ended.
func waitRun(t *testing.T, r Ready, id string) runView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var run runView
		if err := call(context.Background(), http.MethodGet, r.BaseURL+"/v1/tenants/"+r.Demo.ID+"/runs/"+id, r.Demo.AdminToken, nil, http.StatusOK, &run); err != nil {
			t.Fatal(err)
		}
		if domain.RunStatus(run.Status).Done() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", id, run.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSchedulerFiresAtScheduledTimes drives the scheduler with a fake clock and checks
// each firing carries the expression's next time in the zone.
func TestSchedulerFiresAtScheduledTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var mu sync.Mutex
	clock := time.Date(2026, 11, 25, 4, 59, 0, 0, berlin)
	var fired []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		Timetable: []domain.Schedule{{Name: "UsersFullDaily", Expression: "cron(0 5 * * ? *)", Phase: domain.PhaseUsers, Mode: domain.ModeFull}},
		Location:  berlin,
		Now:       func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		After: func(d time.Duration) <-chan time.Time {
			mu.Lock()
			defer mu.Unlock()
			c := make(chan time.Time, 1)
			clock = clock.Add(d)
			c <- clock
			return c
		},
		Fire: func(_ context.Context, _ domain.Schedule, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, at)
			if len(fired) == 3 {
				cancel()
			}
		},
	}
	_ = s.Run(ctx)
	if len(fired) < 3 {
		t.Fatalf("fired %v", fired)
	}
	for i, at := range fired[:3] {
		want := time.Date(2026, 11, 25+i, 5, 0, 0, 0, berlin)
		if !at.Equal(want) {
			t.Errorf("firing %d at %s, want %s", i, at, want)
		}
	}
}

// lockedBuffer is a log sink the runner's goroutines write to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
