package bench_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/synctest"
)

// Environment of BenchmarkFunctions, set by make bench.
const (
	// envFunctions lists the functions' logical ids (the Makefile's FUNCTIONS).
	envFunctions = "STAFFSYNC_FUNCTIONS"
	// envBuildDir is where `make build` put build/<LogicalId>/bootstrap (linux/arm64).
	envBuildDir = "STAFFSYNC_BUILD_DIR"
)

// BenchmarkFunctions prints one line per function: the size of its arm64 bootstrap as
// `make build` made it, and its init duration under aws-lambda-rie (the emulator's INIT
// REPORT: from the bootstrap's start until it asks for its first event). This machine
// cannot run arm64, so the init is measured on a host build of the same package with the
// same flags.
func BenchmarkFunctions(b *testing.B) {
	ids := strings.Fields(os.Getenv(envFunctions))
	if len(ids) == 0 {
		b.Fatalf("%s is empty: run make bench (it lists the Makefile's FUNCTIONS)", envFunctions)
	}
	dir := os.Getenv(envBuildDir)
	if dir == "" {
		dir = filepath.Join(lambdatest.ModuleRoot(b), "build")
	}
	env := synctest.New(b, synctest.Options{})
	sum := sha256.Sum256([]byte("bench-operator-key"))
	vars := env.BootstrapEnv()
	// The API and dispatch functions read these too; dispatch's bus is never reached
	// (the invocation that starts it fails on its payload).
	vars["OPERATOR_KEY_HASH"] = hex.EncodeToString(sum[:])
	vars["EVENT_BUS_NAME"] = "staffsync-bench"
	for _, id := range ids {
		fi, err := os.Stat(filepath.Join(dir, id, "bootstrap"))
		if err != nil {
			b.Fatalf("%s: %v (make bench runs make build first)", id, err)
		}
		pkg := "./functions/" + strings.ToLower(strings.TrimSuffix(id, "Function"))
		emu := lambdatest.StartLogged(b, lambdatest.Build(b, pkg), vars, "info")
		emu.Invoke(b, []byte(`{}`))
		var init time.Duration
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			d, ok := emu.InitDuration()
			if ok {
				init = d
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: no INIT REPORT from aws-lambda-rie:\n%s", id, emu.Logs())
			}
		}
		fmt.Printf("FUNCTION name=%s bootstrap_arm64_mib=%.1f init_ms=%.1f\n", id, float64(fi.Size())/(1<<20), float64(init)/float64(time.Millisecond))
	}
}
