// Package lambdatest runs a function's real bootstrap binary under aws-lambda-rie (the
// Lambda Runtime Interface Emulator) so that tests exercise the Lambda entry point exactly
// as AWS invokes it, with the sample payloads of events/.
package lambdatest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
)

// EnvRIE names the aws-lambda-rie binary; `make test` sets it after installing the pinned
// version into bin/.
const EnvRIE = "STAFFSYNC_RIE"

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// RIE returns the path of aws-lambda-rie or fails the test with how to get it. A missing
// emulator is a failure, not a skip: a skipped runtime test proves nothing.
func RIE(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvRIE); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p := filepath.Join(ModuleRoot(t), "bin", "aws-lambda-rie"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	t.Fatalf("aws-lambda-rie not found: run `make test` (it installs the pinned version into bin/) or set %s", EnvRIE)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Build compiles the function package (for example "./functions/api") for the host
// architecture with the Lambda build flags and returns the bootstrap's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	awstest.LongLane(t, "builds a bootstrap for aws-lambda-rie")
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Emulator is one running aws-lambda-rie serving one bootstrap. Invocations are
// serialised: RIE crashes when it receives two at once.
type Emulator struct {
	url  string
	mu   sync.Mutex
	logs *bytes.Buffer
	lmu  *sync.Mutex
}

// Start runs bootstrap under aws-lambda-rie with env added to the test's environment, on
// free loopback ports, and stops it when the test ends.
func Start(t testing.TB, bootstrap string, env map[string]string) *Emulator {
	t.Helper()
	return StartLogged(t, bootstrap, env, "error")
}

// StartLogged is Start with the emulator's log level: "info" keeps its INIT REPORT line,
// which InitDuration reads.
func StartLogged(t testing.TB, bootstrap string, env map[string]string, level string) *Emulator {
	t.Helper()
	awstest.LongLane(t, "runs aws-lambda-rie")
	rie := RIE(t)
	apiPort, runtimePort := freePort(t), freePort(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		"--log-level", level,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), "AWS_REGION=eu-central-1", "AWS_DEFAULT_REGION=eu-central-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	e := &Emulator{url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", apiPort), logs: &bytes.Buffer{}, lmu: &sync.Mutex{}}
	w := &lockedWriter{mu: e.lmu, w: e.logs}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", e.Logs())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort), 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("aws-lambda-rie exited early:\n%s", e.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie did not listen within 10 s:\n%s", e.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e
}

// Invoke sends one payload and returns the HTTP status and body of the emulator's answer.
// A handler error comes back as 200 with an errorMessage body; a panic as 502.
func (e *Emulator) Invoke(t testing.TB, payload []byte) (int, []byte) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	res, err := (&http.Client{Timeout: 90 * time.Second}).Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, e.Logs())
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read invoke response: %v", err)
	}
	return res.StatusCode, b
}

// Logs returns what the emulator and the function printed so far.
func (e *Emulator) Logs() string {
	e.lmu.Lock()
	defer e.lmu.Unlock()
	return e.logs.String()
}

// initReport is the emulator's line (at log level info) with the function's init time.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration is the function's init time as the emulator measured it (from the start of
// the bootstrap until it asked for its first event), once an invocation made it start;
// false before that or when the emulator logs below info (StartLogged).
func (e *Emulator) InitDuration() (time.Duration, bool) {
	m := initReport.FindStringSubmatch(e.Logs())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Events returns the sample payloads events/<logicalID>-<case>.json by case name.
func Events(t testing.TB, logicalID string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(ModuleRoot(t), "events", logicalID+"-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no events/%s-*.json files", logicalID)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), logicalID+"-"), ".json")
		out[name] = b
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
