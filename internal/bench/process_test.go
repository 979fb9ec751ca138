package bench_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
)

// The users-10k-memory scenario measures the product's heap alone: the simulators and
// minidyn run in a second process (this test binary again, started with envWorld set), so
// neither their data nor their garbage is in the figure, nor do they pace this process's
// collector. The product's process is the benchmark's: the phase harness, the store
// client and the vendor clients, as in the users function.
const (
	envWorld = "STAFFSYNC_BENCH_WORLD"   // employees to generate; set in the world process
	envScale = "STAFFSYNC_BENCH_SCALE"   // the scale of the limits
	envBench = "STAFFSYNC_BENCH_LATENCY" // the latency per call
)

// worldInfo is what the world process tells the benchmark on its first line.
type worldInfo struct {
	PersonioURL, StaffomaticURL, DynamoDB, LocalKey string
	Tables                                          store.Tables
	Budgets                                         map[string]bench.Budget
	// Users is the Staffomatic users before the run; Creates and Locks the writes the
	// company needs (usersToCreate).
	Users, Creates, Locks int
}

func TestMain(m *testing.M) {
	if n := os.Getenv(envWorld); n != "" {
		os.Exit(serveWorld(n))
	}
	os.Exit(m.Run())
}

// processTB is the testing.TB the world process hands synctest: it runs outside a test,
// so a failure ends the process and cleanups run when it stops. Only the methods synctest
// and awstest call are implemented (the embedded nil TB is never reached).
type processTB struct {
	testing.TB
	cleanups []func()
}

func (p *processTB) Helper()           {}
func (p *processTB) Cleanup(f func())  { p.cleanups = append(p.cleanups, f) }
func (p *processTB) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(2) }
func (p *processTB) Fatalf(f string, args ...any) {
	fmt.Fprintf(os.Stderr, f+"\n", args...)
	os.Exit(2)
}
func (p *processTB) Logf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }

// serveWorld runs the simulators and minidyn of a generated company of n employees with
// the benchmark's latency and scaled limits, prints worldInfo and serves until its stdin
// closes.
func serveWorld(n string) int {
	employees, err := strconv.Atoi(n)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	k, err := strconv.ParseFloat(os.Getenv(envScale), 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tb := &processTB{}
	defer func() {
		for i := len(tb.cleanups) - 1; i >= 0; i-- {
			tb.cleanups[i]()
		}
	}()
	env := synctest.New(tb, synctest.Options{Generate: employees, NoPersonioRateLimits: true})
	env.Select(tb, nil, allStatuses)
	placeOffices(tb, env)
	w := &world{env: env}
	budgets := w.limitSimulators(k)
	creates, locks := usersToCreate(w)
	info := worldInfo{PersonioURL: env.PersonioURL, StaffomaticURL: env.StaffomaticURL, DynamoDB: env.DynamoDBEndpoint,
		LocalKey: env.LocalKey, Tables: env.Tables, Budgets: budgets, Creates: creates, Locks: locks,
		Users: len(env.S.Account(demo.StaffomaticSubdomain).Users())}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// remoteWorld starts the world process and returns a world whose store, sealer and
// vendor builder reach it, and its info.
func remoteWorld(b *testing.B, employees int, k float64) (*world, worldInfo) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorld+"="+strconv.Itoa(employees), envScale+"="+strconv.FormatFloat(k, 'f', -1, 64))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var info worldInfo
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		b.Fatalf("the world process did not start: %v", err)
	}
	if err := json.Unmarshal(line, &info); err != nil {
		b.Fatalf("the world process said %q: %v", line, err)
	}
	key, err := hex.DecodeString(info.LocalKey)
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := seal.NewLocal(key)
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(store.NewClient(awstest.Config(b), info.DynamoDB), info.Tables)
	u, err := url.Parse(info.PersonioURL)
	if err != nil {
		b.Fatal(err)
	}
	env := &synctest.Env{Now: defaultNow, PersonioURL: info.PersonioURL, StaffomaticURL: info.StaffomaticURL, Store: st, Sealer: sealer,
		Transport: &synctest.HookTransport{}, DynamoDBEndpoint: info.DynamoDB, Tables: info.Tables, LocalKey: info.LocalKey}
	w := &world{env: env, count: &bench.Counter{Next: env.Transport, PersonioHost: u.Host}, quiet: quiet}
	return w, info
}

// TestWorldProcessStarts: the world process of users-10k-memory starts and tells its
// addresses (make test runs this; the benchmark itself runs only in make bench). It starts
// from TestMain, before the test flags are parsed, which once made it panic in a helper
// that asked testing.Short.
func TestWorldProcessStarts(t *testing.T) {
	awstest.LongLane(t, "starts a world process")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorld+"=20", envScale+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("the world process did not end when its input closed")
		}
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("the world process did not start: %v\n%s", err, stderr.String())
	}
	var info worldInfo
	if err := json.Unmarshal(line, &info); err != nil || info.PersonioURL == "" || info.StaffomaticURL == "" || info.DynamoDB == "" {
		t.Fatalf("the world process said %q: %v", line, err)
	}
}
