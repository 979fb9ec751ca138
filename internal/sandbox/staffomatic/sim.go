// Package staffomaticsim is an in-memory simulator of the Staffomatic public API v3,
// faithful to what is documented and recorded (shared/reference/staffomatic-api-notes.md
// and the 2017 recordings): paths under /v3/<subdomain>/ with an optional .json suffix,
// 400 without User-Agent, 401 for bad credentials, 403 for writes by non-admins, 404 and
// 422 with bodies, 415 for writes without a JSON Content-Type, 429 with X-RateLimit-*
// (no Retry-After: the docs name only those headers), pages of 50 records, state
// changes via "do", all-day absences stored 00:00 to 23:59:59, absences immutable once
// approved or declined, and work timers running → stopped → verified with durations in
// seconds.
//
// Where the sources are silent the simulator picks the plausible behaviour and says so
// in a comment marked [inf]. It is an http.Handler for httptest and for `make run`, with
// a seeding API, a deterministic generator, an inspection API (stored records, calls per
// route and method), latency, rate limits, fault injection and optional signed webhook
// hints.
package staffomaticsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/sandbox/inflight"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Now is the simulator's clock (default time.Now). Demo and tests fix it.
	Now func() time.Time
	// Latency is added to every request.
	Latency time.Duration
	// RateLimit requests per RateWindow per account (defaults 500 per 10 s, as
	// documented). A negative RateLimit disables limiting.
	RateLimit  int
	RateWindow time.Duration
	// PageSize is the page length of collections (default 50, as documented).
	PageSize int
	// WebhookClient sends webhook hints (default: a client with a 5 s timeout).
	WebhookClient *http.Client
	Logger        *slog.Logger
}

// Server simulates the Staffomatic API for any number of accounts.
type Server struct {
	// inflight counts the requests being answered (Quiesce).
	inflight inflight.Counter
	mu       sync.Mutex
	cfg      Config
	accounts map[string]*account
	calls    []Call
	faults   []*Fault
	rl       map[string]*window

	hooks      inflight.Counter // hints being sent (a Counter, as one may begin while a test waits)
	deliveryMu sync.Mutex
	deliveries []Delivery
}

type window struct {
	start time.Time
	count int
}

// Call is one request the simulator answered, for tests that assert what a sync did
// (e.g. "zero write calls").
type Call struct {
	Subdomain string
	Method    string
	Route     string // the matched route pattern, e.g. "/absences/{id}"; "" when none matched
	Path      string // the path as requested, after the subdomain, without .json
	Status    int
	// Auth is "basic", "bearer" or "" (never the credential itself).
	Auth string
}

// Fault makes matching requests fail. Method and Route ("" matches any) select the
// requests; Times is how many of them fail (0 means once, negative means forever).
type Fault struct {
	Method string
	Route  string
	Status int    // answered status, e.g. 500, 503, 429
	Body   string // answered body; a JSON error when empty
	// Drop closes the connection without an answer (a transport error for the client).
	Drop bool
	// RetryAfter is sent as Retry-After with a 429.
	RetryAfter string
	Times      int
}

// New returns a simulator without accounts; add them with AddAccount.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 500
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = 10 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, accounts: map[string]*account{}, rl: map[string]*window{}}
}

// SetLatency changes the latency added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.cfg.Latency = d
	s.mu.Unlock()
}

// SetRateLimit changes the budget: limit requests per window per account (limit < 0
// disables limiting). The current windows restart.
func (s *Server) SetRateLimit(limit int, per time.Duration) {
	s.mu.Lock()
	s.cfg.RateLimit, s.cfg.RateWindow = limit, per
	s.rl = map[string]*window{}
	s.mu.Unlock()
}

// InjectFault adds a fault; faults are matched in the order they were added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Calls returns a copy of every answered request, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts answered requests by method and route pattern ("" matches any).
func (s *Server) CallCount(method, route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if (method == "" || c.Method == method) && (route == "" || c.Route == route) {
			n++
		}
	}
	return n
}

// WriteCalls counts requests with a method other than GET and HEAD.
func (s *Server) WriteCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method != http.MethodGet && c.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// Account returns the handle of a seeded account, or nil.
func (s *Server) Account(subdomain string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[subdomain]; !ok {
		return nil
	}
	return &Account{s: s, sub: subdomain}
}

// reqCtx is the state of one request inside the handler.
type reqCtx struct {
	s      *Server
	a      *account
	w      http.ResponseWriter
	r      *http.Request
	me     *User
	params map[string]int64
	body   map[string]json.RawMessage
	now    time.Time
	status int
	// changed collects webhook hints to send after the lock is released.
	hints []hint
}

// Quiesce waits until every request the server is answering has been answered. A client
// whose context ends stops waiting for its response while the server may still carry the
// request out, as a real API does; a test that counts what exists after such a crash calls
// Quiesce first, once no new requests come.
// Requests may still arrive while it waits (a cancelled run's last ones).
func (s *Server) Quiesce() { s.inflight.Wait() }

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Begin()
	defer s.inflight.End()
	s.mu.Lock()
	lat := s.cfg.Latency
	s.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}

	sub, rest, ok := splitPath(r.URL.Path)
	call := Call{Subdomain: sub, Method: r.Method, Path: rest, Auth: authKind(r)}
	rt, params := match(r.Method, rest)
	if rt != nil {
		call.Route = rt.pattern
	}

	s.mu.Lock()
	var rc *reqCtx
	var drop bool
	defer func() {
		call.Status = rc.status
		s.calls = append(s.calls, call)
		var hints []hint
		var a *account
		if rc.a != nil {
			hints, a = rc.hints, rc.a
		}
		s.mu.Unlock()
		if len(hints) > 0 {
			s.sendHints(a, hints)
		}
		if drop {
			panic(http.ErrAbortHandler)
		}
	}()
	rc = &reqCtx{s: s, w: w, r: r, params: params, now: s.cfg.Now()}

	if f := s.takeFault(r.Method, call.Route); f != nil {
		if f.Drop {
			drop = true
			rc.status = 0
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body != "" {
			rc.status = f.Status
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return
		}
		rc.fail(f.Status, http.StatusText(f.Status))
		return
	}
	if strings.TrimSpace(r.Header.Get("User-Agent")) == "" {
		// Documented: requests without a User-Agent are refused with 400.
		rc.fail(http.StatusBadRequest, "Please send a User-Agent header naming your application and a contact e-mail")
		return
	}
	if !ok {
		rc.fail(http.StatusNotFound, "Not Found")
		return
	}
	a := s.accounts[sub]
	if a == nil {
		rc.fail(http.StatusNotFound, "Account not found")
		return
	}
	rc.a = a
	if !s.rateLimit(rc, sub) {
		return
	}
	me := a.authenticate(r)
	if me == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
		rc.fail(http.StatusUnauthorized, "You need to sign in or sign up before continuing.")
		return
	}
	rc.me = me
	if rt == nil {
		rc.fail(http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if me.Role != "admin" {
			rc.fail(http.StatusForbidden, "You are not authorized to perform this action.")
			return
		}
		if !rc.readBody() {
			return
		}
		// Whatever a write changed, derived views must be rebuilt.
		defer a.invalidate()
	}
	rt.h(rc)
}

// splitPath turns /v3/<sub>/a/b.json into (sub, "/a/b").
func splitPath(p string) (string, string, bool) {
	p = strings.TrimPrefix(p, "/")
	ver, p, ok := strings.Cut(p, "/")
	if !ok || ver != "v3" {
		return "", "", false
	}
	sub, rest, _ := strings.Cut(p, "/")
	if sub == "" {
		return "", "", false
	}
	rest = "/" + strings.TrimSuffix(strings.TrimSuffix(rest, "/"), ".json")
	return sub, rest, true
}

func authKind(r *http.Request) string {
	h := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(h, "Basic "):
		return "basic"
	case strings.HasPrefix(h, "Bearer "):
		return "bearer"
	}
	return ""
}

func (s *Server) takeFault(method, route string) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == method) && (f.Route == "" || f.Route == route) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			return f
		}
	}
	return nil
}

// rateLimit applies the per-account fixed window and sets the X-RateLimit-* headers on
// every response. X-RateLimit-Reset is the window end in Unix seconds (Octokit heritage
// of the Ruby client [client]). A 429 carries no Retry-After: the docs name only the
// X-RateLimit-* headers [doc], so a client must recover from those (injected faults may
// still send one).
func (s *Server) rateLimit(rc *reqCtx, sub string) bool {
	limit := s.cfg.RateLimit
	if limit < 0 {
		return true
	}
	// The rate window runs on the wall clock so that a fixed demo clock cannot freeze it.
	now := time.Now()
	win := s.rl[sub]
	if win == nil || !now.Before(win.start.Add(s.cfg.RateWindow)) {
		win = &window{start: now}
		s.rl[sub] = win
	}
	reset := win.start.Add(s.cfg.RateWindow)
	h := rc.w.Header()
	h.Set("X-RateLimit-Limit", fmt.Sprint(limit))
	h.Set("X-RateLimit-Reset", fmt.Sprint(int64(math.Ceil(float64(reset.UnixNano())/1e9))))
	if win.count >= limit {
		h.Set("X-RateLimit-Remaining", "0")
		rc.fail(http.StatusTooManyRequests, "Rate limit exceeded. Retry later.")
		return false
	}
	win.count++
	h.Set("X-RateLimit-Remaining", fmt.Sprint(limit-win.count))
	return true
}

// readBody parses a JSON object body of a write. The docs demand a JSON Content-Type
// (415 otherwise); an empty body is an empty object (DELETE sends none or {}).
func (rc *reqCtx) readBody() bool {
	rc.body = map[string]json.RawMessage{}
	if rc.r.Body == nil {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(rc.w, rc.r.Body, 1<<20))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if err.Error() == "EOF" {
			return true
		}
		rc.fail(http.StatusBadRequest, "Malformed JSON body")
		return false
	}
	ct := rc.r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/vnd.staffomatic") {
		rc.fail(http.StatusUnsupportedMediaType, "Send Content-Type: application/json; charset=utf-8")
		return false
	}
	if string(raw) == "null" {
		return true
	}
	if err := json.Unmarshal(raw, &rc.body); err != nil {
		rc.fail(http.StatusBadRequest, "The JSON body must be an object")
		return false
	}
	return true
}

// fail answers with Rails-like error bodies: {"error": "..."} for 4xx/5xx other than
// 422 (the Ruby client looks for "error" and "message").
func (rc *reqCtx) fail(status int, msg string) {
	rc.json(status, map[string]string{"error": msg})
}

// invalid answers 422 with Rails' {"errors": {field: [messages]}} [inf].
func (rc *reqCtx) invalid(field, msg string) {
	rc.json(http.StatusUnprocessableEntity, map[string]map[string][]string{"errors": {field: {msg}}})
}

func (rc *reqCtx) notFound(what string) {
	rc.fail(http.StatusNotFound, what+" not found")
}

func (rc *reqCtx) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	rc.status = status
	h := rc.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "max-age=0, private, must-revalidate")
	rc.w.WriteHeader(status)
	_, _ = rc.w.Write(b)
}

func (rc *reqCtx) noContent() {
	rc.status = http.StatusNoContent
	rc.w.Header().Set("Cache-Control", "no-cache")
	rc.w.WriteHeader(http.StatusNoContent)
}
