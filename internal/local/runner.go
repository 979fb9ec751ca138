// Package local runs the whole of staffsync in one process for `make run`: the admin API on
// a loopback port with the same handler as the Lambda function, an embedded DynamoDB, an
// in-process event bus delivering to the registered phases (internal/phases) in the same
// harness as their functions, the timetable scheduler, and optionally the simulated
// Personio and Staffomatic with the demo company.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	// sandboxHook lets tests look at the simulators.
	sandboxHook func(*Sandbox)
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
	key := o.OperatorKey
	generated := false
	if key == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		key, generated = "op_"+hex.EncodeToString(b), true
	}
	sum := sha256.Sum256([]byte(key))
	o.Config.OperatorKeyHash = hex.EncodeToString(sum[:])

	loc, err := schedule.LoadLocation(o.Config.ScheduleTimezone)
	if err != nil {
		return err
	}

	core, err := NewCore(ctx, o, log)
	if err != nil {
		return err
	}
	defer core.Close()

	var sb *Sandbox
	if o.Sandbox {
		if sb, err = StartSandbox(time.Now(), log); err != nil {
			return err
		}
		defer sb.Close()
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
	if sb != nil {
		if demoTenant, err = createDemoTenant(ctx, base, key, sb); err != nil {
			_ = server.Close()
			return err
		}
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

	fmt.Fprintf(o.Out, "staffsync dev is running (Ctrl-C stops it)\n")
	fmt.Fprintf(o.Out, "  API:           %s   (try: curl %s/v1/health)\n", base, base)
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
		fmt.Fprintf(o.Out, "  demo tenant:   %s   admin token: %s\n", demoTenant.ID, demoTenant.AdminToken)
		fmt.Fprintf(o.Out, "  background sync: off until you switch it on (PUT /v1/tenants/$T/settings {\"enable_background_sync\":true}); look and dry-run first\n")
		fmt.Fprintf(o.Out, "  webhooks:      personio token %s, staffomatic secret %s\n", demoTenant.PersonioToken, demoTenant.StaffomaticSecret)
		fmt.Fprintf(o.Out, "  console:       %s/console/#token=%s   (signs in as the demo tenant)\n", base, demoTenant.AdminToken)
		fmt.Fprintf(o.Out, "\n  try:\n")
		// The variable names are the README's, so its walk-through can be pasted as it is.
		fmt.Fprintf(o.Out, "    export B=%s OP=%s T=%s TOK=%s\n", base, key, demoTenant.ID, demoTenant.AdminToken)
		fmt.Fprintf(o.Out, "    curl -s -H \"Authorization: Bearer $TOK\" %s/v1/tenants/$T/employees\n", base)
		fmt.Fprintf(o.Out, "    curl -s -X POST -H \"Authorization: Bearer $TOK\" -d '{\"dry_run\":true}' %s/v1/tenants/$T/sync/users\n", base)
		fmt.Fprintf(o.Out, "    curl -s -X POST -H \"Authorization: Bearer $TOK\" %s/v1/tenants/$T/sync/all\n", base)
		fmt.Fprintf(o.Out, "    curl -s -H \"Authorization: Bearer $TOK\" %s/v1/tenants/$T/protocol?area=users\n", base)
		fmt.Fprintf(o.Out, "    curl -s -u '%s:%s' -H 'User-Agent: demo' %s/%s/users.json   # the simulated Staffomatic's users\n",
			sb.Demo.StaffomaticEmail, sb.Demo.StaffomaticPassword, sb.StaffomaticURL, sb.Demo.StaffomaticSubdomain)
	}
	if o.Ready != nil {
		o.Ready <- Ready{BaseURL: base, Demo: demoTenant}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopSched()
		return fmt.Errorf("API server: %w", err)
	}
	stopSched()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop API server: %w", err)
	}
	<-schedDone
	fmt.Fprintln(o.Out, "staffsync dev stopped")
	return nil
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
	DBDesc  string
	log     *slog.Logger
	closers []func()
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
		srv := &http.Server{Handler: miniserver.NewServer(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		c.closers = append(c.closers, func() { _ = srv.Close() })
		endpoint = "http://" + l.Addr().String()
		c.DBDesc = endpoint + " (embedded minidyn, in memory)"
	}
	db, err := DynamoDB(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	if err := store.CreateTables(ctx, db, o.Config.Tables); err != nil {
		return nil, err
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

// Close stops the running phase handlers (their contexts end; each records its run and
// releases its lease), waits for them, then stops the embedded DynamoDB.
func (c *Core) Close() {
	if c.Bus != nil {
		c.Bus.Close()
	}
	for _, f := range c.closers {
		f()
	}
}
