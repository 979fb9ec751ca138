package local

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
}

// StartSandbox starts both simulators on free loopback ports and seeds the demo company as
// of now.
func StartSandbox(now time.Time, log *slog.Logger) (*Sandbox, error) {
	sb := &Sandbox{
		Personio:    personiosim.New(personiosim.Config{Logger: log}),
		Staffomatic: staffomaticsim.New(staffomaticsim.Config{Logger: log}),
	}
	var err error
	if sb.personioHTTP, sb.PersonioURL, err = serve(sb.Personio); err != nil {
		return nil, fmt.Errorf("Personio simulator: %w", err)
	}
	var base string
	if sb.staffomaticHTTP, base, err = serve(sb.Staffomatic); err != nil {
		sb.Close()
		return nil, fmt.Errorf("Staffomatic simulator: %w", err)
	}
	sb.StaffomaticURL = base + "/v3"
	if sb.Demo, err = demo.Seed(sb.Personio, sb.Staffomatic, now); err != nil {
		sb.Close()
		return nil, fmt.Errorf("seed the demo company: %w", err)
	}
	return sb, nil
}

// Close stops both simulators.
func (sb *Sandbox) Close() {
	for _, s := range []*http.Server{sb.personioHTTP, sb.staffomaticHTTP} {
		if s != nil {
			_ = s.Close()
		}
	}
}

func serve(h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String(), nil
}
