package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/store"
)

// devRun is one `staffsync dev` of a test, started on a data folder.
type devRun struct {
	r    Ready
	sb   *Sandbox
	core *Core
	out  *bytes.Buffer
	stop context.CancelFunc
	done chan error
}

// startDev starts what `make run` starts with the sandbox on the data folder dir.
func startDev(t *testing.T, dir string, fresh, killed bool) *devRun {
	t.Helper()
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{out: &bytes.Buffer{}, stop: cancel, done: make(chan error, 1)}
	ready := make(chan Ready, 1)
	sbCh, coreCh := make(chan *Sandbox, 1), make(chan *Core, 1)
	go func() {
		d.done <- Run(ctx, Options{Addr: "127.0.0.1:0", Config: cfg, Out: d.out, Ready: ready, Sandbox: true,
			KeyFile: filepath.Join(dir, KeyFileName), DataDir: dir, Fresh: fresh, killed: killed, Phases: DefaultPhases(),
			sandboxHook: func(sb *Sandbox) { sbCh <- sb }, coreHook: func(c *Core) { coreCh <- c }})
	}()
	select {
	case d.r = <-ready:
	case err := <-d.done:
		cancel()
		t.Fatalf("Run returned early: %v\n%s", err, d.out.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not ready")
	}
	d.sb, d.core = <-sbCh, <-coreCh
	return d
}

// end stops the run (Ctrl-C, or a kill for a killed run) and returns its banner.
func (d *devRun) end(t *testing.T) string {
	t.Helper()
	d.stop()
	if err := <-d.done; err != nil {
		t.Fatalf("Run: %v\n%s", err, d.out.String())
	}
	return d.out.String()
}

// syncUsers starts a users run of the demo tenant and waits for its end.
func (d *devRun) syncUsers(t *testing.T, dry bool) runView {
	t.Helper()
	var queued struct {
		RunIDs []string `json:"run_ids"`
	}
	if err := call(context.Background(), http.MethodPost, d.r.BaseURL+"/v1/tenants/"+d.r.Demo.ID+"/sync/users", d.r.Demo.AdminToken,
		map[string]any{"dry_run": dry}, http.StatusAccepted, &queued); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, d.r, queued.RunIDs[0])
	run.ID = queued.RunIDs[0]
	return run
}

func protocolCount(t *testing.T, st *store.Store, tenant string) int {
	t.Helper()
	n := 0
	q := store.ProtocolQuery{Tenant: tenant, Area: domain.AreaUsers, Limit: 500}
	for {
		page, err := st.QueryProtocol(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Entries)
		if q.Next = page.Next; q.Next == "" {
			return n
		}
	}
}

// TestRunKeepsStateAcrossRestarts is `make run`, a sync, Ctrl-C and `make run` again:
// the second start finds the tenant, its token (no 401), the operator key, the run and
// its protocol, the mappings and the simulators' records they point at, so a second sync
// creates nothing. FRESH=1 then starts anew and says the old tokens are gone.
func TestRunKeepsStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first := startDev(t, dir, false, false)
	tenant, token := first.r.Demo.ID, first.r.Demo.AdminToken
	run := first.syncUsers(t, false)
	if run.Status != string(domain.RunSucceeded) || run.Counts["created"] == 0 {
		t.Fatalf("first sync: %+v", run)
	}
	// The lease ends with the run (one write with the final summary), not when its
	// 16 minutes are up: the next Sync Now is not refused. So for a dry run.
	if _, err := first.core.Store.GetLease(context.Background(), tenant, domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease after the run ended: %v, want none", err)
	}
	if dry := first.syncUsers(t, true); dry.Status != string(domain.RunSucceeded) {
		t.Fatalf("dry run: %+v", dry)
	}
	if _, err := first.core.Store.GetLease(context.Background(), tenant, domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease after the dry run ended: %v, want none", err)
	}
	sub := first.sb.Demo.StaffomaticSubdomain
	users := len(first.sb.Staffomatic.Account(sub).Users())
	entries := protocolCount(t, first.core.Store, tenant)
	mappings, err := first.core.Store.LoadMappings(context.Background(), tenant, domain.KindUser)
	if err != nil || len(mappings) == 0 {
		t.Fatalf("mappings: %v, %d", err, len(mappings))
	}
	banner1 := first.end(t)
	for _, want := range []string{"data:          " + dir + "/", "fresh: nothing kept yet", "kept in " + dir} {
		if !strings.Contains(banner1, want) {
			t.Errorf("first banner lacks %q:\n%s", want, banner1)
		}
	}

	second := startDev(t, dir, false, false)
	if second.r.Demo.ID != tenant || second.r.Demo.AdminToken != token {
		t.Fatalf("demo tenant after restart: %+v, want %s with the same token", second.r.Demo, tenant)
	}
	// The kept token opens the tenant: no 401 after a restart.
	if err := call(context.Background(), http.MethodGet, second.r.BaseURL+"/v1/tenants/"+tenant, token, nil, http.StatusOK, nil); err != nil {
		t.Fatalf("kept token: %v", err)
	}
	if got := waitRun(t, second.r, run.ID); got.Status != run.Status || got.Counts["created"] != run.Counts["created"] {
		t.Errorf("run after restart: %+v, was %+v", got, run)
	}
	if n := protocolCount(t, second.core.Store, tenant); n != entries {
		t.Errorf("protocol after restart: %d entries, was %d", n, entries)
	}
	for _, m := range mappings {
		got, err := second.core.Store.GetMapping(context.Background(), tenant, domain.KindUser, m.SourceID)
		if err != nil || strings.Join(got.TargetIDs, ",") != strings.Join(m.TargetIDs, ",") {
			t.Fatalf("mapping %s after restart: %+v, %v; was %+v", m.SourceID, got, err, m)
		}
	}
	if n := len(second.sb.Staffomatic.Account(sub).Users()); n != users {
		t.Errorf("simulated Staffomatic after restart: %d users, had %d", n, users)
	}
	// The mappings point at records that still exist: nothing is created twice.
	again := second.syncUsers(t, false)
	if again.Status != string(domain.RunSucceeded) || again.Counts["created"] != 0 || again.Counts["unchanged"] == 0 {
		t.Errorf("sync after restart: %+v", again)
	}
	// A kept token that a hand-over replaced is not offered as if it worked.
	if note, valid := keptTokenNote(context.Background(), second.r.BaseURL, DemoTenant{ID: tenant, AdminToken: "sst_" + tenant + ".replaced"}); valid || !strings.Contains(note, "no longer valid: a hand-over replaced it") {
		t.Errorf("note for a replaced token: %q", note)
	}
	// With background sync on, the banner says exactly when the first scheduled run comes.
	if err := call(context.Background(), http.MethodPut, second.r.BaseURL+"/v1/tenants/"+tenant+"/settings", token,
		map[string]any{"enable_background_sync": true}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := time.Date(2026, 12, 7, 5, 5, 0, 0, berlin)
	next, err := (&Scheduler{Timetable: domain.Timetable, Location: berlin}).NextRuns(at)
	if err != nil {
		t.Fatal(err)
	}
	// At 05:05 the next ones are WorkspacesFullDaily (05:15), then TimesheetsFullDaily (05:30).
	if got := backgroundText(context.Background(), second.core.Store, tenant, next); got != "on; the first scheduled run is WorkspacesFullDaily (workspaces full) at 2026-12-07 05:15:00 CET" {
		t.Errorf("background sync on: %q", got)
	}
	banner2 := second.end(t)
	op := func(banner string) string {
		_, rest, _ := strings.Cut(banner, " OP=")
		key, _, _ := strings.Cut(rest, " ")
		return key
	}
	for _, want := range []string{"restored, kept since", "(kept)", "admin token: " + token} {
		if !strings.Contains(banner2, want) {
			t.Errorf("second banner lacks %q:\n%s", want, banner2)
		}
	}
	if op(banner1) == "" || op(banner1) != op(banner2) {
		t.Errorf("operator key changed across the restart: %q, %q", op(banner1), op(banner2))
	}

	third := startDev(t, dir, true, false)
	defer third.end(t)
	if third.r.Demo.ID == tenant {
		t.Errorf("FRESH kept the tenant %s", tenant)
	}
	err = call(context.Background(), http.MethodGet, third.r.BaseURL+"/v1/tenants/"+tenant, token, nil, http.StatusUnauthorized, nil)
	if err != nil {
		t.Errorf("old token after FRESH: %v", err)
	}
	if got := len(third.sb.Staffomatic.Account(sub).Users()); got != len(first.sb.Demo.ExistingUsers) {
		t.Errorf("FRESH kept the simulators: %d Staffomatic users", got)
	}
	if !strings.Contains(third.out.String(), "the kept state was discarded; earlier tenants, tokens") {
		t.Errorf("FRESH banner:\n%s", third.out.String())
	}
}

// TestRunAfterKill: a process killed during a run leaves the run "running", its lease
// held and part of its protocol. The next start keeps every write that was made (the
// journal), marks the run failed saying what is missing, releases the lease so the phase
// runs at once, and ends a queued run that never started.
func TestRunAfterKill(t *testing.T) {
	dir := t.TempDir()
	first := startDev(t, dir, false, true)
	tenant := first.r.Demo.ID
	ctx := context.Background()
	run := first.syncUsers(t, false)
	if run.Status != string(domain.RunSucceeded) {
		t.Fatalf("sync: %+v", run)
	}
	st := first.core.Store
	// What the killed run had done: started, took the lease, stored one protocol batch.
	now := time.Now().UTC()
	running := domain.RunSummary{Tenant: tenant, RunID: domain.NewRunID(domain.PhaseUsers, now), Phase: domain.PhaseUsers, Mode: domain.ModeFull,
		Trigger: domain.TriggerManual, Status: domain.RunRunning, QueuedAt: now, StartedAt: now}
	queued := domain.RunSummary{Tenant: tenant, RunID: domain.NewRunID(domain.PhaseWorkspaces, now), Phase: domain.PhaseWorkspaces, Mode: domain.ModeFull,
		Trigger: domain.TriggerManual, Status: domain.RunQueued, QueuedAt: now}
	for _, r := range []domain.RunSummary{running, queued} {
		if err := st.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AcquireLease(ctx, tenant, domain.PhaseUsers, running.RunID, 16*time.Minute); err != nil {
		t.Fatal(err)
	}
	var batch []domain.ProtocolEntry
	for i := range 25 {
		batch = append(batch, domain.ProtocolEntry{Tenant: tenant, Area: domain.AreaUsers, RunID: running.RunID, Kind: domain.KindUser,
			SourceID: fmt.Sprint(1000 + i), Action: "update", Outcome: domain.OutcomeUpdated, Time: now.Add(time.Millisecond)})
	}
	if err := st.AppendProtocol(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	users := len(first.sb.Staffomatic.Account(first.sb.Demo.StaffomaticSubdomain).Users())
	first.end(t) // killed: no snapshot, no ended run
	if _, err := os.Stat(filepath.Join(dir, dbSnapshotFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a killed process wrote a snapshot (%v): the test would not test the journal", err)
	}

	second := startDev(t, dir, false, false)
	defer second.end(t)
	if second.r.Demo.ID != tenant {
		t.Fatalf("tenant after the kill: %s, want %s", second.r.Demo.ID, tenant)
	}
	if got := waitRun(t, second.r, run.ID); got.Status != string(domain.RunSucceeded) {
		t.Errorf("the finished run after the kill: %+v", got)
	}
	got := waitRun(t, second.r, running.RunID)
	if got.Status != string(domain.RunFailed) || got.Error == nil || got.Counts["updated"] != 25 ||
		!strings.Contains(*got.Error, "process stopped during this run") || !strings.Contains(*got.Error, "holds the 25 entries written") ||
		!strings.Contains(*got.Error, "up to 24 records") {
		t.Errorf("interrupted run: %+v %v", got, deref(got.Error))
	}
	if g := waitRun(t, second.r, queued.RunID); g.Status != string(domain.RunFailed) || !strings.Contains(deref(g.Error), "before this run began") {
		t.Errorf("queued run: %+v %v", g, deref(g.Error))
	}
	if _, err := second.core.Store.GetLease(ctx, tenant, domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease of the killed run: %v, want released", err)
	}
	if !strings.Contains(second.out.String(), "2 run(s) the stopped process left running or queued are marked failed (GET .../runs/<id> says what is missing), 1 lease(s) released") {
		t.Errorf("banner:\n%s", second.out.String())
	}
	if n := len(second.sb.Staffomatic.Account(second.sb.Demo.StaffomaticSubdomain).Users()); n != users {
		t.Errorf("simulated Staffomatic after the kill: %d users, had %d", n, users)
	}
	// The phase runs at once (no lease left over) and finds everything in place.
	again := second.syncUsers(t, false)
	if again.Status != string(domain.RunSucceeded) || again.Counts["created"] != 0 {
		t.Errorf("sync after the kill: %+v", again)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestDurableDBJournal: writes a caller saw succeed survive a kill (the journal, without
// any snapshot), a last journal line cut short by the kill is ignored, compaction folds
// the journal into the snapshot, and a line damaged in the middle refuses the start
// instead of silently dropping what follows.
func TestDurableDBJournal(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	compactAt := int64(1 << 40)
	clock := time.Now()
	openErr := func() (*durableDB, *store.Store, func(), error) {
		t.Helper()
		return startDurable(t, dir, cfg.Tables, func(d *durableDB) {
			d.compactAt, d.now = compactAt, func() time.Time { return clock }
		})
	}
	open := func() (*durableDB, *store.Store, func()) {
		t.Helper()
		d, st, stop, err := openErr()
		if err != nil {
			stop()
			t.Fatal(err)
		}
		return d, st, stop
	}
	tenant := func(i int) *domain.Tenant {
		return &domain.Tenant{ID: fmt.Sprintf("tenant%02d", i), Owner: domain.Owner{Email: "o@x.de"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
	}

	d, st, stop := open()
	for i := range 3 {
		if err := st.CreateTenant(ctx, tenant(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateTenant(ctx, tenant(1)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err) // refused, so not journalled
	}
	_ = d.journal.Close() // killed: no snapshot
	stop()
	// The kill cut the next line short.
	f, err := os.OpenFile(filepath.Join(dir, dbJournalFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":99,"target":"DynamoDB_20120810.PutItem","body":{"TableN`)
	_ = f.Close()

	d, st, stop = open()
	for i := range 3 {
		if _, err := st.GetTenant(ctx, tenant(i).ID); err != nil {
			t.Errorf("tenant %d after the kill: %v", i, err)
		}
	}
	if err := st.DeleteTenant(ctx, tenant(2).ID); err != nil {
		t.Fatal(err)
	}
	// More items than one scan page, so the snapshot pages through the table.
	var entries []domain.ProtocolEntry
	for i := range 1100 {
		entries = append(entries, domain.ProtocolEntry{Tenant: tenant(0).ID, Area: domain.AreaUsers, RunID: "20261207T000000Z-users-0000000000",
			Kind: domain.KindUser, SourceID: fmt.Sprint(i), Action: "create", Outcome: domain.OutcomeCreated})
	}
	if err := st.AppendProtocol(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	if err := d.close(); err != nil { // a clean stop: snapshot, empty journal
		t.Fatal(err)
	}
	stop()
	if fi, err := os.Stat(filepath.Join(dir, dbJournalFile)); err != nil || fi.Size() != 0 {
		t.Fatalf("journal after compaction: %v %v", fi, err)
	}

	d, st, stop = open()
	if _, err := st.GetTenant(ctx, tenant(2).ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted tenant after restart: %v", err)
	}
	if _, err := st.GetTenant(ctx, tenant(0).ID); err != nil {
		t.Errorf("tenant 0 from the snapshot: %v", err)
	}
	if n := protocolCount(t, st, tenant(0).ID); n != 1100 {
		t.Errorf("protocol from the snapshot: %d entries, want 1100", n)
	}
	// Expired protocol entries (minidyn never deletes them) are left out of a snapshot.
	clock = clock.Add(domain.ProtocolRetention + 24*time.Hour)
	if err := d.compact(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, dbSnapshotFile)); bytes.Contains(b, []byte(`"create"`)) || !bytes.Contains(b, []byte(tenant(0).ID)) {
		t.Errorf("snapshot after the protocol expired still holds its entries (%d bytes) or lost the tenants", len(b))
	}
	clock = time.Now()
	if err := st.CreateTenant(ctx, tenant(5)); err != nil {
		t.Fatal(err)
	}
	_ = d.journal.Close()
	stop()

	// A journal grown past compactAt is folded into the snapshot by the write that grew it.
	compactAt = 1
	d, st, stop = open()
	if err := st.CreateTenant(ctx, tenant(6)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, dbJournalFile)); err != nil || fi.Size() != 0 {
		t.Errorf("journal past compactAt: %v %v, want compacted", fi.Size(), err)
	}
	_ = d.journal.Close() // killed right after
	stop()
	compactAt = 1 << 40
	d, st, stop = open()
	for _, i := range []int{0, 5, 6} {
		if _, err := st.GetTenant(ctx, tenant(i).ID); err != nil {
			t.Errorf("tenant %d after compaction and kill: %v", i, err)
		}
	}
	if err := st.CreateTenant(ctx, tenant(7)); err != nil {
		t.Fatal(err)
	}
	_ = d.journal.Close()
	stop()
	b, _ := os.ReadFile(filepath.Join(dir, dbJournalFile))
	damaged := append([]byte("{not json}\n"), b...)
	if err := os.WriteFile(filepath.Join(dir, dbJournalFile), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	d, _, stop, err = openErr()
	if err == nil || !strings.Contains(err.Error(), "damaged at line 1") || !strings.Contains(err.Error(), "FRESH=1") {
		t.Errorf("damaged journal: %v", err)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	stop()
	if got, _ := os.ReadFile(filepath.Join(dir, dbJournalFile)); !bytes.Equal(got, damaged) {
		t.Error("a failed start changed the journal")
	}
}

// TestRunKeptCredentialsNeedTheirKey: kept credentials sealed with another key (the key
// file removed, STAFFSYNC_LOCAL_KEY changed) are named in the banner with the way out,
// instead of every run failing without a word at the start.
func TestRunKeptCredentialsNeedTheirKey(t *testing.T) {
	dir := t.TempDir()
	startDev(t, dir, false, false).end(t)
	keyFile := filepath.Join(dir, KeyFileName)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if banner := startDev(t, dir, false, false).end(t); !strings.Contains(banner, "the kept credentials do not open with this sealing key") {
		t.Errorf("banner with another key:\n%s", banner)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if banner := startDev(t, dir, false, false).end(t); strings.Contains(banner, "do not open") || !strings.Contains(banner, "restored") {
		t.Errorf("banner with the key they were sealed with:\n%s", banner)
	}
}

// TestDataFolderIsLocked: a second staffsync dev on the same folder is refused (it would
// interleave its journal with the first one's) and says how to go on; once the first
// stops, the folder opens.
func TestDataFolderIsLocked(t *testing.T) {
	dir := t.TempDir()
	first, err := openDataDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openDataDir(dir, false); err == nil || !strings.Contains(err.Error(), "another staffsync dev") || !strings.Contains(err.Error(), "STAFFSYNC_DATA") {
		t.Errorf("second open: %v", err)
	}
	first.close()
	again, err := openDataDir(dir, false)
	if err != nil {
		t.Fatalf("open after the first closed: %v", err)
	}
	again.close()
}
