// Package awstest gives tests real AWS-protocol servers: minidyn in-process (fast,
// catches batch-size bugs, can inject unprocessed keys) and moto_server as a subprocess
// (DynamoDB, EventBridge with rule delivery to SQS, KMS). A missing moto_server fails the
// test with how to install it; it is never skipped for that, because a skipped
// integration test proves nothing (under CI=true or not). Only the fast lane (-short, make
// test-short) leaves such tests to make test, which runs them all (LongLane).
package awstest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	miniserver "github.com/truora/minidyn/server"
)

// Region is the region every test client uses.
const Region = "eu-central-1"

// Config returns an SDK configuration with static test credentials, so no test ever
// reaches for real ones.
func Config(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// MiniDyn starts minidyn's DynamoDB HTTP server in-process and returns a client for it and
// the server (for EmulateUnprocessedItems and Reset). Response checksum validation is off
// because minidyn sends no X-Amz-Crc32 header.
func MiniDyn(t testing.TB) (*dynamodb.Client, *miniserver.Server) {
	t.Helper()
	s := miniserver.NewServer()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	db := dynamodb.NewFromConfig(Config(t), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.DisableValidateResponseChecksum = true
	})
	return db, s
}

// LongLane skips the calling test under -short (make test-short, the fast lane of unit
// and planner tests with the race detector) because what is names a subprocess or an
// end-to-end world the lane leaves to make test, which runs every test. The test helpers
// that start such things call it, so the lane needs no list of tests.
func LongLane(t testing.TB, what string) {
	t.Helper()
	// Before the flags are parsed (a TestMain serving a world to another process, as the
	// benchmarks' memory scenario does) there is no -short to honour, and testing.Short
	// would panic.
	if flag.Parsed() && testing.Short() {
		t.Skipf("%s: make test runs it, make test-short (-short) does not", what)
	}
}

// Moto is one moto_server subprocess on a free loopback port.
type Moto struct {
	URL string
	cfg aws.Config
}

// StartMoto starts moto_server, waits until it answers, and kills its process group when
// the test ends.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	LongLane(t, "needs moto_server")
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		ci := ""
		if os.Getenv("CI") == "true" {
			ci = " (CI=true: this run requires it)"
		}
		t.Fatalf("moto_server not found on PATH%s: install it with pip install 'moto[server]>=5,<6'; the store, bus and dispatch tests run against it", ci)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var out lockedBuffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cfg: Config(t)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("moto_server exited before it was ready (port taken?):\n%s", out.String())
		default:
		}
		res, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server not ready within 30 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Reset drops all state (tables, buses, queues, keys) in a few milliseconds.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	res, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: status %d", res.StatusCode)
	}
}

// Config returns the SDK configuration for clients of this server.
func (m *Moto) Config() aws.Config { return m.cfg }

// DynamoDB returns a DynamoDB client for moto.
func (m *Moto) DynamoDB() *dynamodb.Client {
	return dynamodb.NewFromConfig(m.cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

// EventBridge returns an EventBridge client for moto.
func (m *Moto) EventBridge() *eventbridge.Client {
	return eventbridge.NewFromConfig(m.cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

// SQS returns an SQS client for moto.
func (m *Moto) SQS() *sqs.Client {
	return sqs.NewFromConfig(m.cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

// KMS returns a KMS client for moto.
func (m *Moto) KMS() *kms.Client {
	return kms.NewFromConfig(m.cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(m.URL) })
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// OnRequest is a DynamoDB client option that calls f with the input of every request
// (a *dynamodb.QueryInput, …) before it is sent: tests count the reads a code path makes
// with a client made by dynamodb.New(db.Options(), OnRequest(f)). f may be called from
// several goroutines at once.
func OnRequest(f func(in any)) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("awstest-on-request", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				f(in.Parameters)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	}
}
