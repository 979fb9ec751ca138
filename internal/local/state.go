package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/staffsync/staffsync/internal/sandbox/demo"
)

// The data folder of `staffsync dev` (`.staffsync/` for `make run`) holds what a restart
// keeps: the sealing key (local.key), the embedded DynamoDB (dynamodb.json and its
// journal), both simulators (personio.json, staffomatic.json) and dev.json with what only
// the process knew: the generated operator key, the demo tenant's tokens as issued, and
// the simulators' addresses (the tenants' stored base URLs name them).
const (
	stateFile       = "dev.json"
	dbSnapshotFile  = "dynamodb.json"
	dbJournalFile   = "dynamodb.journal"
	personioFile    = "personio.json"
	staffomaticFile = "staffomatic.json"
	lockFile        = "lock"
	// KeyFileName is the local sealing key's file in the data folder.
	KeyFileName = "local.key"
)

// stateFiles are removed by a fresh start. The sealing key stays: nothing sealed with it
// remains, and it seals the new credentials as well as a new key would.
var stateFiles = []string{stateFile, dbSnapshotFile, dbJournalFile, personioFile, staffomaticFile}

// devState is dev.json.
type devState struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// OperatorKey is the generated operator key ("" when STAFFSYNC_OPERATOR_KEY chose one).
	OperatorKey string `json:"operator_key,omitempty"`
	// Sandbox is set when the simulators ran.
	Sandbox *sandboxState `json:"sandbox,omitempty"`
}

type sandboxState struct {
	PersonioAddr    string     `json:"personio_addr"`
	StaffomaticAddr string     `json:"staffomatic_addr"`
	Demo            demo.Info  `json:"demo"`
	Tenant          DemoTenant `json:"tenant"`
}

const devStateVersion = 1

// dataDir is an opened data folder, locked against a second `staffsync dev` using it.
type dataDir struct {
	path   string
	unlock func()
	// state is what dev.json held at the start (nil: nothing to restore).
	state *devState
	// discarded is set when a fresh start removed a kept state.
	discarded bool
}

func (d *dataDir) file(name string) string { return filepath.Join(d.path, name) }

// openDataDir creates and locks the folder; fresh removes what an earlier run kept.
func openDataDir(path string, fresh bool) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", path, err)
	}
	unlock, err := lockDir(filepath.Join(path, lockFile))
	if err != nil {
		return nil, fmt.Errorf("data folder %s: %w", path, err)
	}
	d := &dataDir{path: path, unlock: unlock}
	if fresh {
		_, err := os.Stat(d.file(stateFile))
		d.discarded = err == nil
		for _, f := range stateFiles {
			if err := os.Remove(d.file(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				unlock()
				return nil, fmt.Errorf("start fresh: %w", err)
			}
		}
		return d, nil
	}
	b, err := os.ReadFile(d.file(stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Without dev.json nothing else is used: a folder from before it existed, or one
		// whose first start did not get that far, starts fresh.
		for _, f := range stateFiles[1:] {
			_ = os.Remove(d.file(f))
		}
	case err != nil:
		unlock()
		return nil, fmt.Errorf("read %s: %w", d.file(stateFile), err)
	default:
		var st devState
		if err := json.Unmarshal(b, &st); err != nil || st.Version != devStateVersion {
			unlock()
			return nil, fmt.Errorf("%s cannot be read by this staffsync (%v, version %d): start with FRESH=1 (or --fresh) to discard the kept state", d.file(stateFile), err, st.Version)
		}
		d.state = &st
	}
	return d, nil
}

func (d *dataDir) saveState(st *devState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(d.file(stateFile), b)
}

func (d *dataDir) close() {
	if d != nil && d.unlock != nil {
		d.unlock()
	}
}

// writeFileAtomic replaces path with data (mode 0600): written to a temporary file in
// the same folder, flushed to the disk, and renamed over path, and the rename flushed
// too, so a reader, or the next start after a kill or a power cut, finds the old or the
// new file, never a half-written or empty one. The DynamoDB snapshot relies on it: the
// journal is emptied right after the snapshot is written.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		err = fsync(dir)
		_ = dir.Close()
		if err != nil {
			return fmt.Errorf("write %s: flush its folder: %w", path, err)
		}
	}
	return nil
}

// fsync flushes f to the disk (a variable so that a test can see the order of flushes).
var fsync = (*os.File).Sync
