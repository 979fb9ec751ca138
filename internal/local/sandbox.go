package local

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// Sandbox is the simulated Personio and Staffomatic with the demo company, each served on
// its own loopback port as the real APIs would be.
type Sandbox struct {
	Personio        *personiosim.Server
	Staffomatic     *staffomaticsim.Server
	PersonioURL     string
	StaffomaticURL  string // the v3 base URL; the client appends the subdomain
	Demo            demo.Info
	personioHTTP    *http.Server
	staffomaticHTTP *http.Server

	// Set when the simulators are kept in a data folder: each one's changes since its
	// last save, and the files they are saved to.
	personioDirty, staffomaticDirty atomic.Bool
	saveMu                          sync.Mutex
	personioFile, staffomaticFile   string
	log                             *slog.Logger
}

// StartSandbox starts both simulators on free loopback ports and seeds the demo company as
// of now.
func StartSandbox(now time.Time, log *slog.Logger) (*Sandbox, error) {
	return startSandbox(now, log, nil, nil)
}

// startSandbox starts both simulators. With kept (an earlier run's simulators), they
// listen on the same addresses (the tenants' stored base URLs name them) and are
// restored from dir's files instead of seeded. With dir, their changes are saved there
// (Sandbox.save).
func startSandbox(now time.Time, log *slog.Logger, dir *dataDir, kept *sandboxState) (*Sandbox, error) {
	sb := &Sandbox{
		Personio:    personiosim.New(personiosim.Config{Logger: log}),
		Staffomatic: staffomaticsim.New(staffomaticsim.Config{Logger: log}),
		log:         log,
	}
	if dir != nil {
		sb.personioFile, sb.staffomaticFile = dir.file(personioFile), dir.file(staffomaticFile)
	}
	pAddr, sAddr := "127.0.0.1:0", "127.0.0.1:0"
	if kept != nil {
		pAddr, sAddr = kept.PersonioAddr, kept.StaffomaticAddr
		for _, r := range []struct {
			file    string
			restore func([]byte) error
		}{{sb.personioFile, sb.Personio.Restore}, {sb.staffomaticFile, sb.Staffomatic.Restore}} {
			b, err := os.ReadFile(r.file)
			if err == nil {
				err = r.restore(b)
			}
			if err != nil {
				return nil, fmt.Errorf("restore the simulators: %w (start with FRESH=1 to discard the kept state)", err)
			}
		}
		sb.Demo = kept.Demo
	}
	var err error
	if sb.personioHTTP, sb.PersonioURL, err = serve(pAddr, tracked(sb.Personio, &sb.personioDirty)); err != nil {
		return nil, fmt.Errorf("Personio simulator: %w", portHint(err, kept))
	}
	var base string
	if sb.staffomaticHTTP, base, err = serve(sAddr, tracked(sb.Staffomatic, &sb.staffomaticDirty)); err != nil {
		sb.Close()
		return nil, fmt.Errorf("Staffomatic simulator: %w", portHint(err, kept))
	}
	sb.StaffomaticURL = base + "/v3"
	if kept == nil {
		if sb.Demo, err = demo.Seed(sb.Personio, sb.Staffomatic, now); err != nil {
			sb.Close()
			return nil, fmt.Errorf("seed the demo company: %w", err)
		}
		sb.personioDirty.Store(true)
		sb.staffomaticDirty.Store(true)
	}
	return sb, nil
}

func portHint(err error, kept *sandboxState) error {
	if kept == nil {
		return err
	}
	return fmt.Errorf("%w: the kept tenants' credentials name this address; free it, or start with FRESH=1", err)
}

// tracked marks the simulator changed by each request that may change it, before the
// answer leaves: the client's next DynamoDB write (the mapping of what it created) then
// saves the simulator first.
func tracked(h http.Handler, dirty *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		dirty.Store(true)
		sendRecorded(w, rec)
	})
}

// save writes each simulator changed since its last save (nothing without a data
// folder). A failure is logged: the simulator keeps running, and the next save tries
// again.
func (sb *Sandbox) save() {
	if sb == nil || sb.personioFile == "" {
		return
	}
	sb.saveMu.Lock()
	defer sb.saveMu.Unlock()
	for _, s := range []struct {
		name     string
		dirty    *atomic.Bool
		file     string
		snapshot func() ([]byte, error)
	}{{"Personio", &sb.personioDirty, sb.personioFile, sb.Personio.Snapshot}, {"Staffomatic", &sb.staffomaticDirty, sb.staffomaticFile, sb.Staffomatic.Snapshot}} {
		if !s.dirty.Swap(false) {
			continue
		}
		b, err := s.snapshot()
		if err == nil {
			err = writeFileAtomic(s.file, b)
		}
		if err != nil {
			s.dirty.Store(true)
			sb.log.Error("save the simulated "+s.name, "error", err)
		}
	}
}

// Close stops both simulators.
func (sb *Sandbox) Close() {
	for _, s := range []*http.Server{sb.personioHTTP, sb.staffomaticHTTP} {
		if s != nil {
			_ = s.Close()
		}
	}
}

func serve(addr string, h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String(), nil
}

// addrOf returns host:port of an http:// URL.
func addrOf(u string) string {
	return strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/v3")
}
