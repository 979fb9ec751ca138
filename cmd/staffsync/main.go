// Command staffsync is the developer's entry point: `staffsync dev` runs the whole system on
// one machine (what `make run` starts).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/local"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/phases"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "dev" {
		fmt.Fprintln(os.Stderr, "usage: staffsync dev [--port N] [--no-sandbox] [--data DIR] [--fresh]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("dev", flag.ExitOnError)
	port := fs.String("port", envOr("PORT", "3000"), "API port on 127.0.0.1 (env PORT)")
	noSandbox := fs.Bool("no-sandbox", os.Getenv("STAFFSYNC_SANDBOX") == "off", "start without the simulated Personio and Staffomatic (env STAFFSYNC_SANDBOX=off)")
	data := fs.String("data", envOr("STAFFSYNC_DATA", ".staffsync"), "folder that keeps tenants, tokens, runs, protocol and the simulators across restarts (env STAFFSYNC_DATA)")
	fresh := fs.Bool("fresh", false, "discard what the data folder kept and start anew (make run FRESH=1)")
	_ = fs.Parse(os.Args[2:])

	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		fmt.Fprintln(os.Stderr, "staffsync:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = local.Run(ctx, local.Options{
		Addr: "127.0.0.1:" + *port, OperatorKey: os.Getenv("STAFFSYNC_OPERATOR_KEY"), Sandbox: !*noSandbox,
		Config: cfg, Log: obs.NewLogger(os.Stderr, false, slog.LevelInfo), Out: os.Stdout,
		KeyFile: filepath.Join(*data, local.KeyFileName), DataDir: *data, Fresh: *fresh, Phases: local.DefaultPhases(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "staffsync:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
