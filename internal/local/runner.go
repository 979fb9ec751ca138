// Package local runs the whole of staffsync in one process for `make run`: the admin API on
// a loopback port with the same handler as the Lambda function, an embedded DynamoDB, an
// in-process event bus and the timetable scheduler.
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

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/schedule"
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
	// Ready, if set, receives the API's base URL once it listens.
	Ready chan<- string
}

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

	// DynamoDB: an embedded minidyn server unless an endpoint is configured.
	endpoint := o.Config.DynamoDBEndpoint
	dbDesc := endpoint
	if endpoint == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("embedded DynamoDB: %w", err)
		}
		srv := &http.Server{Handler: miniserver.NewServer(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		endpoint = "http://" + l.Addr().String()
		dbDesc = endpoint + " (embedded minidyn, in memory)"
	}
	db, err := DynamoDB(ctx, endpoint)
	if err != nil {
		return err
	}
	if err := store.CreateTables(ctx, db, o.Config.Tables); err != nil {
		return err
	}

	var sb *Sandbox
	if o.Sandbox {
		if sb, err = StartSandbox(time.Now(), log); err != nil {
			return err
		}
		defer sb.Close()
	}

	api := httpapi.New(httpapi.Options{Logger: log})
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set PORT to use another port)", o.Addr, err)
	}
	server := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(l) }()
	base := "http://" + l.Addr().String()

	sched := &Scheduler{Timetable: domain.Timetable, Location: loc, Log: log,
		Fire: func(ctx context.Context, s domain.Schedule, at time.Time) {
			log.InfoContext(ctx, "schedule fired", "schedule", s.Name, "phase", s.Phase, "mode", s.Mode)
		}}
	next, err := sched.NextRuns(time.Now())
	if err != nil {
		return err
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(schedCtx) }()

	fmt.Fprintf(o.Out, "staffsync dev is running (Ctrl-C stops it)\n")
	fmt.Fprintf(o.Out, "  API:           %s   (try: curl %s/v1/health)\n", base, base)
	fmt.Fprintf(o.Out, "  DynamoDB:      %s\n", dbDesc)
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
	if o.Ready != nil {
		o.Ready <- base
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
