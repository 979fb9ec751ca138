// Package local runs the whole of staffsync in one process for `make run`: the admin API on
// a loopback port with the same handler as the Lambda function, an embedded DynamoDB, an
// in-process event bus delivering to the registered phases (internal/phases) in the same
// harness as their functions, the timetable scheduler, and optionally the simulated
// Personio and Staffomatic with the demo company. With a data folder (`make run`:
// .staffsync/) it keeps all of that across restarts (state.go, dbstate.go) and ends at
// the next start what a killed process left running (recover.go).
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	miniserver "github.com/truora/minidyn/server"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
)

// Options configures a local run.
type Options struct {
	// Addr is the API's listen address, for example 127.0.0.1:3000.
	Addr string
	// OperatorKey may create and list tenants. Empty: one is generated and printed.
	OperatorKey string
	// Sandbox starts the simulated Personio and Staffomatic with the demo company.
	Sandbox bool
	Config  config.Config
	Log     *slog.Logger
	// Out receives the start-up banner.
	Out io.Writer
	// Ready, if set, receives what is running once the API listens.
	Ready chan<- Ready
	// KeyFile holds the local sealing key when STAFFSYNC_LOCAL_KEY is unset.
	KeyFile string
	// Phases build the phase handlers that the bus invokes, one per phase.
	Phases []PhaseFactory
	// DataDir keeps the state across restarts (see state.go): the embedded DynamoDB, the
	// simulators, the generated operator key and the demo tenant. Empty: everything is
	// in memory and ends with the process.
	DataDir string
	// Fresh discards what DataDir kept and starts anew.
	Fresh bool
	// data is the opened DataDir (set by Run for NewCore).
	data *dataDir
	// sandboxHook lets tests look at the simulators, coreHook at the core.
	sandboxHook func(*Sandbox)
	coreHook    func(*Core)
	// killed makes the stop a kill's for tests: nothing more is written (no run is ended,
	// no snapshot written), as when the process dies.
	killed bool
}

// Ready describes a started system.
type Ready struct {
	BaseURL string
	// Demo is the demo tenant (zero without the sandbox).
	Demo DemoTenant
}

// PhaseHandler handles the SyncRequested events of one phase.
type PhaseHandler struct {
	Phase  domain.Phase
	Handle bus.Handler
}

// PhaseFactory builds a phase handler from the harness's dependencies.
type PhaseFactory func(phase.Deps) (PhaseHandler, error)

// Run starts everything and blocks until ctx ends, then stops cleanly.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	var kept *devState
	discarded := false
	if o.DataDir != "" {
		d, err := openDataDir(o.DataDir, o.Fresh)
		if err != nil {
			return err
		}
		defer d.close()
		o.data, kept, discarded = d, d.state, d.discarded
	}
	key := o.OperatorKey
	generated := false
	if key == "" && kept != nil && kept.OperatorKey != "" {
		key, generated = kept.OperatorKey, true
	}
	if key == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		key, generated = "op_"+hex.EncodeToString(b), true
	}
	o.Config.OperatorKeyHash = httpapi.OperatorKeyHash(key)

	loc, err := schedule.LoadLocation(o.Config.ScheduleTimezone)
	if err != nil {
		return err
	}

	core, err := NewCore(ctx, o, log)
	if err != nil {
		return err
	}
	defer core.Close()
	var interrupted Interrupted
	keyNote := ""
	if core.Restored {
		if interrupted, err = recoverInterrupted(ctx, core.Store, time.Now()); err != nil {
			return fmt.Errorf("end the runs of the stopped process: %w", err)
		}
		keyNote = sealNote(ctx, core)
	}

	var sb *Sandbox
	var keptSandbox *sandboxState
	if kept != nil {
		keptSandbox = kept.Sandbox
	}
	if o.Sandbox {
		if sb, err = startSandbox(time.Now(), log, o.data, keptSandbox); err != nil {
			return err
		}
		defer sb.Close()
		core.saveFirst(sb.save)
		if o.sandboxHook != nil {
			o.sandboxHook(sb)
		}
	}

	api := httpapi.New(httpapi.Options{Logger: log, Store: core.Store, Sealer: core.Sealer, Bus: core.Bus,
		Vendors: httpapi.NewVendors(localVendors().WithLog(log)), OperatorKeyHash: o.Config.OperatorKeyHash, PublicBaseURL: o.Config.PublicBaseURL, Location: loc, Phases: core.Phases})
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set PORT to use another port)", o.Addr, err)
	}
	server := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(l) }()
	base := "http://" + l.Addr().String()
	var demoTenant DemoTenant
	tokenNote, hookNote, consoleNote := "", "", "   (signs in as the demo tenant)"
	if sb != nil {
		if keptSandbox != nil && keptDemo(ctx, core.Store, keptSandbox.Tenant.ID) {
			demoTenant = keptSandbox.Tenant
			var valid bool
			if tokenNote, valid = keptTokenNote(ctx, base, demoTenant); !valid {
				consoleNote = "   (no longer signs in: a hand-over replaced its token; open " + base + "/console/ and sign in with the token the hand-over returned)"
			}
			hookNote = keptWebhookNote(ctx, core.Store, demoTenant)
		} else if demoTenant, err = createDemoTenant(ctx, base, key, sb); err != nil {
			_ = server.Close()
			return err
		}
	}
	if o.data != nil {
		st := &devState{Version: devStateVersion, CreatedAt: time.Now().UTC(), Sandbox: keptSandbox}
		if kept != nil {
			st.CreatedAt = kept.CreatedAt
		}
		if generated {
			st.OperatorKey = key
		}
		if sb != nil {
			st.Sandbox = &sandboxState{PersonioAddr: addrOf(sb.PersonioURL), StaffomaticAddr: addrOf(sb.StaffomaticURL), Demo: sb.Demo, Tenant: demoTenant}
		}
		if err := o.data.saveState(st); err != nil {
			_ = server.Close()
			return err
		}
		sb.save()
	}

	sched := &Scheduler{Timetable: domain.Timetable, Location: loc, Log: log,
		Fire: core.Fire}
	next, err := sched.NextRuns(time.Now())
	if err != nil {
		return err
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(schedCtx) }()
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		// Simulator changes that no DynamoDB write followed (an edit through the
		// simulators' API) are saved within saveEvery.
		t := time.NewTicker(saveEvery)
		defer t.Stop()
		for {
			select {
			case <-schedCtx.Done():
				return
			case <-t.C:
				sb.save()
			}
		}
	}()

	fmt.Fprintf(o.Out, "staffsync dev is running (Ctrl-C stops it)\n")
	fmt.Fprintf(o.Out, "  API:           %s   (try: curl %s/v1/health)\n", base, base)
	if o.data != nil {
		fmt.Fprintf(o.Out, "  data:          %s   %s\n", strings.TrimSuffix(o.DataDir, "/")+"/", dataText(kept, discarded, core, interrupted, keyNote))
	}
	fmt.Fprintf(o.Out, "  DynamoDB:      %s\n", core.DBDesc)
	fmt.Fprintf(o.Out, "  tables:        %s, %s, %s\n", o.Config.Tables.Tenants, o.Config.Tables.Mappings, o.Config.Tables.Protocol)
	fmt.Fprintf(o.Out, "  timetable:     %d schedules in %s\n", len(domain.Timetable), loc)
	for _, s := range domain.Timetable {
		fmt.Fprintf(o.Out, "    %-22s %-26s %-10s %-8s next %s\n", s.Name, s.Expression, s.Phase, s.Mode, next[s.Name].Format("2006-01-02 15:04 MST"))
	}
	if sb != nil {
		fmt.Fprintf(o.Out, "  Personio:      %s   (simulated; demo company: %d employees, client id %s)\n", sb.PersonioURL, sb.Demo.Employees, sb.Demo.PersonioClientID)
		fmt.Fprintf(o.Out, "  Staffomatic:   %s/%s   (simulated; admin %s)\n", sb.StaffomaticURL, sb.Demo.StaffomaticSubdomain, sb.Demo.StaffomaticEmail)
	} else {
		fmt.Fprintf(o.Out, "  sandbox:       off (no simulated Personio/Staffomatic)\n")
	}
	if generated {
		fmt.Fprintf(o.Out, "  operator key:  %s   (generated; set STAFFSYNC_OPERATOR_KEY to choose one)\n", key)
	} else {
		fmt.Fprintf(o.Out, "  operator key:  from STAFFSYNC_OPERATOR_KEY\n")
	}
	if sb != nil {
		fmt.Fprintf(o.Out, "  demo tenant:   %s   admin token: %s%s\n", demoTenant.ID, demoTenant.AdminToken, tokenNote)
		fmt.Fprintf(o.Out, "  background sync: %s\n", backgroundText(ctx, core.Store, demoTenant.ID, next))
		fmt.Fprintf(o.Out, "  webhooks:      personio token %s, staffomatic secret %s%s\n", demoTenant.PersonioToken, demoTenant.StaffomaticSecret, hookNote)
		fmt.Fprintf(o.Out, "  console:       %s/console/#token=%s%s\n", base, demoTenant.AdminToken, consoleNote)
		fmt.Fprintf(o.Out, "\n  try:\n")
		// The variable names are the README's, so its walk-through can be pasted as it is.
		fmt.Fprintf(o.Out, "    export B=%s OP=%s T=%s TOK=%s\n", base, key, demoTenant.ID, demoTenant.AdminToken)
		// The webhook examples' secrets, and the base_url values of the set-up steps against the simulators.
		fmt.Fprintf(o.Out, "    export PERSONIO_TOKEN=%s STAFFOMATIC_SECRET=%s PERSONIO_URL=%s STAFFOMATIC_URL=%s\n",
			demoTenant.PersonioToken, demoTenant.StaffomaticSecret, sb.PersonioURL, sb.StaffomaticURL)
		fmt.Fprintf(o.Out, "    curl -s -H \"Authorization: Bearer $TOK\" %s/v1/tenants/$T/employees\n", base)
		fmt.Fprintf(o.Out, "    curl -s -X POST -H \"Authorization: Bearer $TOK\" -d '{\"dry_run\":true}' %s/v1/tenants/$T/sync/users\n", base)
		fmt.Fprintf(o.Out, "    curl -s -X POST -H \"Authorization: Bearer $TOK\" %s/v1/tenants/$T/sync/all\n", base)
		// Quoted, as in the README: zsh (macOS's shell) takes a bare ? for a glob.
		fmt.Fprintf(o.Out, "    curl -s -H \"Authorization: Bearer $TOK\" \"%s/v1/tenants/$T/protocol?area=users\"\n", base)
		fmt.Fprintf(o.Out, "    curl -s -u '%s:%s' -H 'User-Agent: demo' %s/%s/users.json   # the simulated Staffomatic's users\n",
			sb.Demo.StaffomaticEmail, sb.Demo.StaffomaticPassword, sb.StaffomaticURL, sb.Demo.StaffomaticSubdomain)
	} else {
		// Without the simulators there is no demo tenant; the README's set-up steps start
		// from the operator key.
		fmt.Fprintf(o.Out, "\n  try:\n    export B=%s OP=%s\n", base, key)
	}
	if o.coreHook != nil {
		o.coreHook(core)
	}
	if o.Ready != nil {
		o.Ready <- Ready{BaseURL: base, Demo: demoTenant}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopSched()
		<-saverDone
		return fmt.Errorf("API server: %w", err)
	}
	stopSched()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop API server: %w", err)
	}
	<-schedDone
	<-saverDone
	if o.killed {
		core.abandon()
		return nil
	}
	// The runs end first (they record themselves), then what they left is saved.
	core.Bus.Close()
	sb.save()
	if err := core.Close(); err != nil {
		return err
	}
	if o.data != nil {
		fmt.Fprintf(o.Out, "staffsync dev stopped; its state is kept in %s (FRESH=1 starts anew)\n", o.DataDir)
	} else {
		fmt.Fprintln(o.Out, "staffsync dev stopped")
	}
	return nil
}

// saveEvery is how often the simulators' unsaved changes are written.
const saveEvery = 2 * time.Second

// dataText says what the start found in the data folder.
func dataText(kept *devState, discarded bool, core *Core, in Interrupted, keyNote string) string {
	switch {
	case kept == nil && discarded:
		return "(fresh: the kept state was discarded; earlier tenants, tokens and generated operator key are gone)"
	case kept == nil:
		return "(fresh: nothing kept yet; from now on a restart keeps tenants, tokens, runs and the simulators; FRESH=1 starts anew)"
	}
	since := kept.CreatedAt.Local().Format("2006-01-02 15:04")
	s := fmt.Sprintf("(restored, kept since %s: tenants, tokens, mappings, runs, protocol, simulators; FRESH=1 starts anew)", since)
	if !core.Restored {
		s = fmt.Sprintf("(restored, kept since %s: operator key, demo tenant, simulators; DynamoDB at %s keeps its own)", since, core.DBDesc)
	}
	s += keyNote
	if n := len(in.Runs); n > 0 || in.Leases > 0 {
		s += fmt.Sprintf("\n                 %d run(s) the stopped process left running or queued are marked failed (GET .../runs/<id> says what is missing), %d lease(s) released", n, in.Leases)
	}
	return s
}

// keptDemo reports whether the kept demo tenant is still stored (it may have been
// deleted, or live in a DynamoDB that was emptied); otherwise a new one is set up.
func keptDemo(ctx context.Context, st *store.Store, id string) bool {
	if id == "" {
		return false
	}
	_, err := st.GetTenant(ctx, id)
	return err == nil
}

// sealNote checks that the kept credentials open with this start's sealing key: with
// another one (STAFFSYNC_LOCAL_KEY changed, local.key removed) every run would fail.
func sealNote(ctx context.Context, c *Core) string {
	var note string
	errStop := errors.New("stop")
	_ = c.Store.ListTenants(ctx, func(t domain.Tenant) error {
		if t.Sealed.IsZero() {
			return nil
		}
		if _, err := seal.OpenCredentials(ctx, c.Sealer, t.ID, t.Sealed); err != nil {
			note = "\n                 the kept credentials do not open with this sealing key: start with the STAFFSYNC_LOCAL_KEY (or local.key) they were sealed with, or FRESH=1"
		}
		return errStop
	})
	return note
}

// keptTokenNote checks the kept demo admin token against the API: a hand-over since
// replaced it, and the banner must not offer a token that answers 401 (neither as the
// admin token nor in the console's sign-in link). valid is false when it answers so.
func keptTokenNote(ctx context.Context, base string, t DemoTenant) (note string, valid bool) {
	err := call(ctx, http.MethodGet, base+"/v1/tenants/"+t.ID, t.AdminToken, nil, http.StatusOK, nil)
	if err == nil {
		return "   (kept)", true
	}
	return "   (no longer valid: a hand-over replaced it; use the token the hand-over returned, or FRESH=1)", false
}

// keptWebhookNote checks the kept demo webhook secrets against the stored ones: a
// rotation (or a new Personio credential) may have replaced them since, and the banner
// must not offer secrets that answer 401. The Personio token is compared by its stored
// hash; a rotation replaces both secrets.
func keptWebhookNote(ctx context.Context, st *store.Store, t DemoTenant) string {
	sec, err := st.GetWebhookSecrets(ctx, t.ID)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(t.PersonioToken))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(sec.PersonioTokenHash)) == 1 {
		return ""
	}
	return "   (no longer valid: replaced since, by a rotation or a new Personio credential; use the secrets that call returned, or FRESH=1)"
}

// backgroundText says whether the demo tenant's background sync is on and, if so, when
// the first scheduled run comes.
func backgroundText(ctx context.Context, st *store.Store, tenant string, next map[string]time.Time) string {
	t, err := st.GetTenant(ctx, tenant)
	if err != nil || !t.Settings.EnableBackgroundSync {
		return "off until you switch it on (PUT /v1/tenants/$T/settings {\"enable_background_sync\":true}); look and dry-run first"
	}
	var first domain.Schedule
	var at time.Time
	for _, s := range domain.Timetable {
		if n := next[s.Name]; at.IsZero() || n.Before(at) {
			first, at = s, n
		}
	}
	return fmt.Sprintf("on; the first scheduled run is %s (%s %s) at %s", first.Name, first.Phase, first.Mode, at.Format("2006-01-02 15:04:05 MST"))
}

// DynamoDB returns a client for a local DynamoDB-protocol endpoint with static test
// credentials. Response checksum validation is off because minidyn sends no X-Amz-Crc32.
func DynamoDB(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("eu-central-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	}), nil
}

// Core is the part of the system behind the API: DynamoDB, the sealer, the in-process bus
// with the phase handlers, and dispatch.
type Core struct {
	Store      *store.Store
	Sealer     seal.Sealer
	Bus        *bus.Local
	Dispatcher *dispatch.Dispatcher
	// Phases are the phases with a handler on the bus: the only ones the API queues runs for.
	Phases []domain.Phase
	// DBDesc says which DynamoDB the core uses.
	DBDesc string
	// Restored is set when the embedded DynamoDB was loaded from the data folder.
	Restored bool
	log      *slog.Logger
	db       *durableDB // the embedded DynamoDB's journal (nil: in memory only)
	closers  []func()
}

// NewCore starts the embedded DynamoDB (unless o.Config.DynamoDBEndpoint is set), creates
// the tables and wires the bus to the phase handlers of o.Phases.
func NewCore(ctx context.Context, o Options, log *slog.Logger) (*Core, error) {
	c := &Core{log: log, Phases: []domain.Phase{}}
	// DynamoDB: an embedded minidyn server unless an endpoint is configured.
	endpoint := o.Config.DynamoDBEndpoint
	c.DBDesc = endpoint
	if endpoint == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded DynamoDB: %w", err)
		}
		var h http.Handler = miniserver.NewServer()
		if o.data != nil {
			c.db = newDurableDB(h, o.Config.Tables, o.data.file(dbSnapshotFile), o.data.file(dbJournalFile), log)
			h = c.db
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		c.closers = append(c.closers, func() { _ = srv.Close() })
		endpoint = "http://" + l.Addr().String()
		c.DBDesc = endpoint + " (embedded minidyn, in memory)"
		if c.db != nil {
			c.DBDesc = endpoint + " (embedded minidyn, kept in " + o.DataDir + ")"
		}
	}
	db, err := DynamoDB(ctx, endpoint)
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := store.CreateTables(ctx, db, o.Config.Tables); err != nil {
		c.Close()
		return nil, err
	}
	if c.db != nil {
		items, replayed, err := c.db.restore()
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Restored = o.data.state != nil
		log.InfoContext(ctx, "embedded DynamoDB restored", "folder", o.DataDir, "items", items, "journal_entries", replayed)
	}
	c.Store = store.New(db, o.Config.Tables)
	st := c.Store
	sealer, err := seal.LocalFromEnv(o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("local sealing key: %w", err)
	}
	// The in-process bus routes SyncRequested events to the phase handlers by the same
	// patterns as the template's EventBridge rules.
	events := bus.NewLocal(log)
	c.Bus = events
	metrics := obs.NewMetrics(io.Discard, "local")
	c.Sealer = sealer
	phaseDeps := phase.Deps{Store: st, Sealer: sealer, Log: log, Metrics: metrics, Bus: events}
	for _, p := range o.Phases {
		h, err := p(phaseDeps)
		if err != nil {
			return nil, err
		}
		events.Subscribe(h.Phase, h.Handle)
		c.Phases = append(c.Phases, h.Phase)
	}
	c.Dispatcher = dispatch.New(st, events, log, metrics).WithPhases(c.Phases)

	return c, nil
}

// Fire is what a due schedule does: the same dispatch as the Lambda function, publishing
// one event per tenant with background sync on to the in-process bus.
func (c *Core) Fire(ctx context.Context, s domain.Schedule, at time.Time) {
	res, err := c.Dispatcher.Dispatch(ctx, dispatch.Input{Phase: s.Phase, Mode: s.Mode, ScheduledTime: at.UTC().Format(time.RFC3339)})
	if err != nil {
		c.log.ErrorContext(ctx, "dispatch failed", "schedule", s.Name, "error", err)
		return
	}
	c.log.InfoContext(ctx, "dispatched", "schedule", s.Name, "tenants", res.Tenants, "published", res.Published)
}

// saveFirst makes every DynamoDB write first call save (the simulators' changes), so
// nothing kept in DynamoDB names a simulator record that was not kept.
func (c *Core) saveFirst(save func()) {
	if c.db == nil {
		return
	}
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	c.db.before = save
}

// abandon drops the embedded DynamoDB's journal without a snapshot, as a killed process
// leaves it (tests).
func (c *Core) abandon() {
	if c.db == nil {
		return
	}
	c.db.mu.Lock()
	_ = c.db.journal.Close()
	c.db.journal = nil
	c.db.mu.Unlock()
	c.db = nil
}

// Close stops the running phase handlers (their contexts end; each records its run and
// releases its lease), waits for them, then writes the embedded DynamoDB's snapshot (when
// it is kept) and stops it. It may be called more than once; only the first call writes.
func (c *Core) Close() error {
	if c.Bus != nil {
		c.Bus.Close()
	}
	var err error
	if c.db != nil {
		if err = c.db.close(); err != nil {
			err = fmt.Errorf("save the embedded DynamoDB: %w", err)
		}
		c.db = nil
	}
	for _, f := range c.closers {
		f()
	}
	c.closers = nil
	return err
}
