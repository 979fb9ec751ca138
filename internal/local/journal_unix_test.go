//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phases"
)

// TestJournalWriteCutShortByAFullDisk: a journal write that fails part-way (the disk is
// full: here the file size limit) leaves no part of its line behind, so the entries
// written after it are whole lines and the next start reads the journal, instead of
// finding it damaged in the middle and refusing to start.
func TestJournalWriteCutShortByAFullDisk(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tenant := func(i int) *domain.Tenant {
		return &domain.Tenant{ID: fmt.Sprintf("tenant%02d", i), Owner: domain.Owner{Email: "o@x.de"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
	}
	d, st, stop, err := startDurable(t, dir, cfg.Tables, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, tenant(0)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, dbJournalFile))
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(fi.Size()) + 20, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	err = st.CreateTenant(ctx, tenant(1)) // applied, its journal line cut after 20 bytes
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, tenant(2)); err != nil {
		t.Fatal(err)
	}
	_ = d.journal.Close() // killed
	stop()

	d, st, stop, err = startDurable(t, dir, cfg.Tables, nil)
	defer stop()
	if err != nil {
		t.Fatalf("start after a journal write failed part-way: %v", err)
	}
	defer d.journal.Close()
	for _, i := range []int{0, 2} {
		if _, err := st.GetTenant(ctx, tenant(i).ID); err != nil {
			t.Errorf("tenant %d: %v", i, err)
		}
	}
}
