package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	miniserver "github.com/truora/minidyn/server"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	"github.com/staffsync/staffsync/internal/store"
)

// TestJournalTornTailThenKilledAgain: a kill leaves the journal's last line cut short
// (or whole but without its newline); the next start ignores (or keeps) it, and the
// writes it then journals must not be glued onto that line: after a second kill, without
// any snapshot in between, a third start finds every write and does not call the journal
// damaged.
func TestJournalTornTailThenKilledAgain(t *testing.T) {
	for _, tail := range []struct{ name, text string }{
		{"cut short", `{"seq":99,"target":"DynamoDB_20120810.PutItem","body":{"TableN`},
		{"whole line without newline", ""}, // the last entry's newline is cut (set below)
	} {
		t.Run(tail.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := config.FromEnv(phases.Names())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			journal := filepath.Join(dir, dbJournalFile)
			// open starts the embedded DynamoDB on dir; kill ends it as a killed process
			// would: no snapshot.
			open := func() (*store.Store, func()) {
				t.Helper()
				d, st, stop, err := startDurable(t, dir, cfg.Tables, nil)
				if err != nil {
					stop()
					t.Fatalf("start: %v", err)
				}
				return st, func() { _ = d.journal.Close(); stop() }
			}
			tenant := func(i int) *domain.Tenant {
				return &domain.Tenant{ID: fmt.Sprintf("tenant%02d", i), Owner: domain.Owner{Email: "o@x.de"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
			}

			st, kill := open()
			for i := range 2 {
				if err := st.CreateTenant(ctx, tenant(i)); err != nil {
					t.Fatal(err)
				}
			}
			kill()
			b, err := os.ReadFile(journal)
			if err != nil {
				t.Fatal(err)
			}
			if tail.text == "" {
				b = b[:len(b)-1]
			} else {
				b = append(b, tail.text...)
			}
			if err := os.WriteFile(journal, b, 0o600); err != nil {
				t.Fatal(err)
			}

			st, kill = open()
			if err := st.CreateTenant(ctx, tenant(2)); err != nil {
				t.Fatal(err)
			}
			kill()

			st, kill = open()
			defer kill()
			for i := range 3 {
				if _, err := st.GetTenant(ctx, tenant(i).ID); err != nil {
					t.Errorf("tenant %d after two kills: %v", i, err)
				}
			}
		})
	}
}

// startDurable starts the embedded DynamoDB kept in dir behind a test server, tune (if
// set) adjusting it before its restore; stop ends the server. The error is restore's.
func startDurable(t *testing.T, dir string, tables store.Tables, tune func(*durableDB)) (*durableDB, *store.Store, func(), error) {
	t.Helper()
	ctx := context.Background()
	d := newDurableDB(miniserver.NewServer(), tables, filepath.Join(dir, dbSnapshotFile), filepath.Join(dir, dbJournalFile), slog.New(slog.DiscardHandler))
	if tune != nil {
		tune(d)
	}
	srv := httptest.NewServer(d)
	db, err := DynamoDB(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.restore()
	return d, store.New(db, tables), srv.Close, err
}

// TestWriteFileAtomicFlushesBeforeAndAfterTheRename: the new content is flushed to the
// disk before it replaces the file (else a power cut can leave the renamed file empty,
// after the journal it replaced was emptied), and the rename is flushed with its folder.
func TestWriteFileAtomicFlushesBeforeAndAfterTheRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dynamodb.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	var flushes []string
	orig := fsync
	defer func() { fsync = orig }()
	fsync = func(f *os.File) error {
		cur, _ := os.ReadFile(path)
		flushes = append(flushes, fmt.Sprintf("%s while %s holds %s", filepath.Base(f.Name()), filepath.Base(path), cur))
		return orig(f)
	}
	if err := writeFileAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if len(flushes) != 2 || !strings.HasPrefix(flushes[0], ".dynamodb.json.") || !strings.HasSuffix(flushes[0], "holds old") ||
		flushes[1] != filepath.Base(dir)+" while dynamodb.json holds new" {
		t.Fatalf("flushes %q; want the temporary file's before the rename, then the folder's", flushes)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	// A failed flush leaves the old file and no temporary one.
	fsync = func(*os.File) error { return errors.New("disk full") }
	if err := writeFileAtomic(path, []byte("newer")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("a failed flush: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content after a failed flush %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("folder after a failed flush: %v", ents)
	}
}

// TestSnapshotOfAnotherTableNamesTheWayOut: a snapshot naming a table this start does not
// create (the table names were changed) refuses the start with the way out, not with
// minidyn's bare answer.
func TestSnapshotOfAnotherTableNamesTheWayOut(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	snap := `{"version":1,"seq":1,"tables":{"old-tenants":[{"pk":{"S":"t"},"sk":{"S":"t"}}]}}`
	if err := os.WriteFile(filepath.Join(dir, dbSnapshotFile), []byte(snap), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, stop, err := startDurable(t, dir, cfg.Tables, nil)
	stop()
	if err == nil || !strings.Contains(err.Error(), "old-tenants") || !strings.Contains(err.Error(), "table names") || !strings.Contains(err.Error(), "FRESH=1") {
		t.Fatalf("start on a snapshot of another table: %v", err)
	}
}

// TestKeptWebhookSecretsAfterARotation: the banner of a restart shows the demo tenant's
// webhook secrets as make run kept them; after a rotation they no longer work, and the
// banner says so instead of offering them for the README's webhook examples.
func TestKeptWebhookSecretsAfterARotation(t *testing.T) {
	dir := t.TempDir()
	first := startDev(t, dir, false, false)
	tenant, token := first.r.Demo.ID, first.r.Demo.AdminToken
	if err := call(context.Background(), http.MethodPost, first.r.BaseURL+"/v1/tenants/"+tenant+"/webhook-secrets", token, nil, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	first.end(t)
	second := startDev(t, dir, false, false)
	banner := second.end(t)
	_, line, _ := strings.Cut(banner, "  webhooks:")
	line, _, _ = strings.Cut(line, "\n")
	if !strings.Contains(line, "no longer valid: replaced since") || !strings.Contains(line, "FRESH=1") {
		t.Errorf("webhooks line after a rotation: %q", line)
	}
	third := startDev(t, t.TempDir(), false, false)
	banner = third.end(t)
	_, line, _ = strings.Cut(banner, "  webhooks:")
	line, _, _ = strings.Cut(line, "\n")
	if strings.Contains(line, "no longer valid") || !strings.Contains(line, third.r.Demo.PersonioToken) {
		t.Errorf("webhooks line of a new demo tenant: %q", line)
	}
}

// TestKeptTokenAfterAHandOver: after a hand-over to the demo's second admin the kept
// admin token answers 401, so a restart's banner marks it and its console link instead
// of offering a link that signs nobody in.
func TestKeptTokenAfterAHandOver(t *testing.T) {
	dir := t.TempDir()
	first := startDev(t, dir, false, false)
	tenant, token := first.r.Demo.ID, first.r.Demo.AdminToken
	if err := call(context.Background(), http.MethodPost, first.r.BaseURL+"/v1/tenants/"+tenant+"/owner", token,
		map[string]any{"staffomatic": map[string]any{"email": demo.SecondAdminEmail, "password": demo.SecondAdminPassword}}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	first.end(t)
	banner := startDev(t, dir, false, false).end(t)
	for _, c := range []struct{ prefix, want string }{
		{"  demo tenant:", "no longer valid: a hand-over replaced it"},
		{"  console:", "no longer signs in: a hand-over replaced its token; open "},
	} {
		_, line, _ := strings.Cut(banner, c.prefix)
		line, _, _ = strings.Cut(line, "\n")
		if !strings.Contains(line, c.want) || strings.Contains(line, "signs in as the demo tenant") {
			t.Errorf("%s line after a hand-over: %q, want %q", c.prefix, line, c.want)
		}
	}
}
