// Package personiosim is an in-memory simulator of the Personio public API
// (v1 employees, time-off types, time-offs and attendances, v2 absence and
// attendance periods, authentication and webhooks), usable as an
// http.Handler with httptest.
//
// It exists because we cannot call the real Personio from tests, benchmarks
// or `make run`, and because Personio's quirks (three pagination styles,
// wrapped v1 attributes, weekly hours as a string, problem+json errors, 429
// without Retry-After, German error texts) break clients that were only
// tested against our wishes. Behaviour follows
// shared/reference/personio-api-notes.md; where the notes are silent the
// choice is marked "assumption" in the code.
//
// Typical test use:
//
//	sim := personiosim.New(personiosim.Config{})
//	sim.AddCredential(personiosim.Credential{ClientID: "id", ClientSecret: "secret"})
//	sim.Generate(personiosim.GenerateOptions{Employees: 250, Seed: 1})
//	srv := httptest.NewServer(sim)
//	defer srv.Close()
//
// Seeding (Add*, Update*, Generate), inspection (Employees, AbsencePeriods,
// Calls, CallCount, WriteCalls, …), fault injection (InjectFault), rate
// limits (SetRateLimit) and latency (SetLatency) are safe for concurrent use.
package personiosim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Berlin offsets must render on machines without tzdata

	"github.com/staffsync/staffsync/internal/sandbox/inflight"
)

// Family names an endpoint family; rate limits and latency are configured per
// family because Personio limits per endpoint.
type Family string

// Endpoint families served by the simulator.
const (
	FamilyAuthV1            Family = "auth_v1"
	FamilyAuthV2            Family = "auth_v2"
	FamilyEmployees         Family = "employees"
	FamilyTimeOffTypes      Family = "time_off_types"
	FamilyAbsencePeriods    Family = "absence_periods"
	FamilyAttendancePeriods Family = "attendance_periods"
	FamilyWebhooks          Family = "webhooks"
	// FamilyAbsenceTypes is v2 /absence-types.
	FamilyAbsenceTypes Family = "absence_types"
	// FamilyTimeOffs is v1 /company/time-offs (day-unit absences).
	FamilyTimeOffs Family = "time_offs"
	// FamilyAttendancesV1 is the deprecated v1 /company/attendances.
	FamilyAttendancesV1 Family = "attendances_v1"
)

// RateLimit is a token bucket: PerSecond tokens are replenished each second up
// to Burst. Cooldown, when set, blocks the family for that long once the
// bucket ran empty (Personio's auth endpoints do this); CooldownPerSecond, when
// set, still lets that many requests a second through during the cool-down
// (v2 auth: 1/s for 60 s). PerSecond 0 disables limiting.
type RateLimit struct {
	PerSecond         float64
	Burst             int
	Cooldown          time.Duration
	CooldownPerSecond float64
}

// DefaultRateLimits are the documented or observed limits of the notes (§5.1):
// v1 auth 60/min with a 60 s cool-down, v2 auth 150/min and then 1/s for
// 60 s, v1 employees 300/min with burst 15, v1 in general 2000/min per IP, v2
// absences ≈10/s. v2 attendance, absence-type and webhook limits are
// undocumented; assumption: like absence periods.
func DefaultRateLimits() map[Family]RateLimit {
	return map[Family]RateLimit{
		FamilyAuthV1:            {PerSecond: 1, Burst: 60, Cooldown: 60 * time.Second},
		FamilyAuthV2:            {PerSecond: 2.5, Burst: 150, Cooldown: 60 * time.Second, CooldownPerSecond: 1},
		FamilyEmployees:         {PerSecond: 5, Burst: 15},
		FamilyTimeOffTypes:      {PerSecond: 33, Burst: 33},
		FamilyAbsencePeriods:    {PerSecond: 10, Burst: 10},
		FamilyAttendancePeriods: {PerSecond: 10, Burst: 10},
		FamilyWebhooks:          {PerSecond: 10, Burst: 10},
		FamilyAbsenceTypes:      {PerSecond: 10, Burst: 10},
		// v1 time-offs and attendances have no own documented limit; the v1
		// per-IP limit of 2000/min applies (like time-off types).
		FamilyTimeOffs:      {PerSecond: 33, Burst: 33},
		FamilyAttendancesV1: {PerSecond: 33, Burst: 33},
	}
}

// Config configures a simulator. The zero value is usable.
type Config struct {
	// Now is the clock for data timestamps and token expiry (not for rate
	// limits, which pace real requests). Default time.Now.
	Now func() time.Time
	// TokenTTL is the token lifetime (default 24 h, as Personio).
	TokenTTL time.Duration
	// RateLimits overrides DefaultRateLimits per family; use SetRateLimit or
	// NoRateLimits to change them later.
	RateLimits map[Family]RateLimit
	// NoRateLimits disables all rate limits (fast unit tests).
	NoRateLimits bool
	// BaseURL is used for absolute v2 `next`/`self` links. Default: derived
	// from each request's Host header.
	BaseURL string
	// RelativeNextLinks makes v2 list responses use relative `next` links, as
	// Personio did before Sep 2025.
	RelativeNextLinks bool
	// SelfNextLinks makes `next` point at the page itself, reproducing the
	// looping link reported for /v2/persons (clients must detect it).
	SelfNextLinks bool
	// LegacyVacationDayBalance renders vacation_day_balance in v1 employees,
	// which Personio removed from responses on 2024-04-08.
	LegacyVacationDayBalance bool
	// FaultTimeout is how long a Timeout fault holds a request before giving
	// up with 504 (default 30 s; the client's own timeout usually ends it).
	FaultTimeout time.Duration
	// CompanyID is sent in webhook deliveries (default "4711").
	CompanyID string
	// Seed makes generated ids (UUIDs, tokens) deterministic (default 1).
	Seed uint64
	// WebhookClient posts webhook deliveries (default: 3 s timeout, as
	// Personio's acknowledgement deadline).
	WebhookClient *http.Client
	// Logger receives debug logs of handled requests (default slog.Default()).
	Logger *slog.Logger
}

// Server is the simulated Personio. Create it with New.
type Server struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger

	mu           sync.Mutex
	rnd          *rand.Rand
	credentials  map[string]Credential
	tokens       map[string]token // token → info
	credToken    map[string]string
	nextID       int64
	offices      map[int64]OrgUnit
	departments  map[int64]OrgUnit
	teams        map[int64]OrgUnit
	subcompanies map[int64]OrgUnit
	customAttrs  []CustomAttribute
	types        []TimeOffType
	employees    map[int64]*Employee
	empOrder     []int64
	absences     map[string]*AbsencePeriod
	absOrder     []string
	attendances  map[string]*AttendancePeriod
	attOrder     []string
	// absByPerson and attByPerson index period ids by person for the overlap checks
	// (a create must not scan every period of the company).
	absByPerson map[int64][]string
	attByPerson map[int64][]string
	projects    map[string]Project
	webhooks    map[string]*Webhook
	whOrder     []string
	deliveries  []Delivery
	calls       []Call
	faults      map[string][]Fault
	limits      map[Family]*bucket
	latency     map[Family]time.Duration
	// pending counts webhook deliveries in flight (a Counter, as a delivery may begin
	// while a test waits).
	pending inflight.Counter
	// inflight counts the requests being answered (Quiesce).
	inflight inflight.Counter
	// v1 integer ids of the shared period stores (see v1periods.go).
	v1ids v1IDs
}

type token struct {
	clientID string
	expires  time.Time
	version  int // 1 or 2: which endpoint issued it
}

// New returns a simulator with an empty company.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.FaultTimeout == 0 {
		cfg.FaultTimeout = 30 * time.Second
	}
	if cfg.CompanyID == "" {
		cfg.CompanyID = "4711"
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = &http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // Personio follows no redirects
		}}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		cfg:          cfg,
		log:          log,
		rnd:          rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		credentials:  map[string]Credential{},
		tokens:       map[string]token{},
		credToken:    map[string]string{},
		nextID:       1000,
		offices:      map[int64]OrgUnit{},
		departments:  map[int64]OrgUnit{},
		teams:        map[int64]OrgUnit{},
		subcompanies: map[int64]OrgUnit{},
		employees:    map[int64]*Employee{},
		absences:     map[string]*AbsencePeriod{},
		attendances:  map[string]*AttendancePeriod{},
		projects:     map[string]Project{},
		webhooks:     map[string]*Webhook{},
		faults:       map[string][]Fault{},
		limits:       map[Family]*bucket{},
		latency:      map[Family]time.Duration{},
	}
	if !cfg.NoRateLimits {
		for f, l := range DefaultRateLimits() {
			s.limits[f] = newBucket(l)
		}
		for f, l := range cfg.RateLimits {
			s.limits[f] = newBucket(l)
		}
	}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Begin()
	defer s.inflight.End()
	s.mux.ServeHTTP(w, r)
}

// Quiesce waits until every request the server is answering has been answered. A client
// whose context ends stops waiting for its response while the server may still carry the
// request out (create an absence or attendance period), as the real API does; a test that
// counts what exists after such a crash calls Quiesce first. Requests may still arrive
// while it waits (a cancelled run's last ones).
func (s *Server) Quiesce() { s.inflight.Wait() }

// Close waits for webhook deliveries in flight.
func (s *Server) Close() { s.pending.Wait() }

// WaitWebhooks blocks until all webhook deliveries started so far finished.
func (s *Server) WaitWebhooks() { s.pending.Wait() }

func (s *Server) routes() {
	m := http.NewServeMux()
	h := func(pattern string, fam Family, auth int, fn http.HandlerFunc) {
		m.Handle(pattern, s.wrap(pattern, fam, auth, fn))
	}
	// auth: 0 none, 1 v1 token, 2 v2 token
	h("POST /v1/auth", FamilyAuthV1, 0, s.v1Auth)
	h("GET /v1/company/employees", FamilyEmployees, 1, s.v1Employees)
	h("GET /v1/company/employees/{id}", FamilyEmployees, 1, s.v1Employee)
	h("GET /v1/company/employees/attributes", FamilyEmployees, 1, s.v1Attributes)
	h("GET /v1/company/employees/custom-attributes", FamilyEmployees, 1, s.v1Attributes)
	h("GET /v1/company/employees/{id}/absences/balance", FamilyEmployees, 1, s.v1Balance)
	h("GET /v1/company/time-off-types", FamilyTimeOffTypes, 1, s.v1TimeOffTypes)
	h("GET /v1/company/time-offs", FamilyTimeOffs, 1, s.v1ListTimeOffs)
	h("POST /v1/company/time-offs", FamilyTimeOffs, 1, s.v1CreateTimeOff)
	h("GET /v1/company/time-offs/{id}", FamilyTimeOffs, 1, s.v1GetTimeOff)
	h("DELETE /v1/company/time-offs/{id}", FamilyTimeOffs, 1, s.v1DeleteTimeOff)
	h("GET /v1/company/attendances", FamilyAttendancesV1, 1, s.v1ListAttendances)
	h("POST /v1/company/attendances", FamilyAttendancesV1, 1, s.v1CreateAttendances)
	h("PATCH /v1/company/attendances/{id}", FamilyAttendancesV1, 1, s.v1PatchAttendance)
	h("DELETE /v1/company/attendances/{id}", FamilyAttendancesV1, 1, s.v1DeleteAttendance)

	h("POST /v2/auth/token", FamilyAuthV2, 0, s.v2Token)
	h("GET /v2/absence-periods", FamilyAbsencePeriods, 2, s.v2ListAbsences)
	h("POST /v2/absence-periods", FamilyAbsencePeriods, 2, s.v2CreateAbsence)
	h("GET /v2/absence-periods/{id}", FamilyAbsencePeriods, 2, s.v2GetAbsence)
	h("PATCH /v2/absence-periods/{id}", FamilyAbsencePeriods, 2, s.v2PatchAbsence)
	h("DELETE /v2/absence-periods/{id}", FamilyAbsencePeriods, 2, s.v2DeleteAbsence)
	h("GET /v2/absence-types", FamilyAbsenceTypes, 2, s.v2ListAbsenceTypes)
	h("GET /v2/absence-types/{id}", FamilyAbsenceTypes, 2, s.v2GetAbsenceType)
	h("GET /v2/attendance-periods", FamilyAttendancePeriods, 2, s.v2ListAttendances)
	h("POST /v2/attendance-periods", FamilyAttendancePeriods, 2, s.v2CreateAttendance)
	h("GET /v2/attendance-periods/{id}", FamilyAttendancePeriods, 2, s.v2GetAttendance)
	h("PATCH /v2/attendance-periods/{id}", FamilyAttendancePeriods, 2, s.v2PatchAttendance)
	h("DELETE /v2/attendance-periods/{id}", FamilyAttendancePeriods, 2, s.v2DeleteAttendance)
	h("GET /v2/webhooks", FamilyWebhooks, 2, s.v2ListWebhooks)
	h("POST /v2/webhooks", FamilyWebhooks, 2, s.v2CreateWebhook)
	h("DELETE /v2/webhooks/{id}", FamilyWebhooks, 2, s.v2DeleteWebhook)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(Call{Method: r.Method, Path: r.URL.Path, Endpoint: "unknown", Status: http.StatusNotFound, At: s.cfg.Now()})
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			writeProblem(w, http.StatusNotFound, problem{
				Title: "Not Found", Detail: "The endpoint with " + r.URL.Path + " was not found.",
				Type: "https://developer.personio.de/v2.0/page/public-api-error-codes#apinot_found",
				Meta: map[string]string{"path": r.URL.Path},
			})
			return
		}
		writeV1Error(w, http.StatusNotFound, 0, "Es ist ein Problem aufgetreten")
	})
	s.mux = m
}

// Call is one request the simulator received, for inspection by tests.
type Call struct {
	Method   string
	Path     string
	Query    string
	Endpoint string // route pattern, e.g. "GET /v2/absence-periods/{id}"
	Family   Family
	Status   int
	At       time.Time
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) wrap(endpoint string, fam Family, auth int, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &statusWriter{ResponseWriter: rw}
		defer func() {
			s.record(Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Endpoint: endpoint,
				Family: fam, Status: w.status, At: s.cfg.Now()})
			s.log.Debug("personiosim request", "endpoint", endpoint, "status", w.status)
		}()
		// Read the body first: only then does net/http notice a client that
		// hangs up, which ends latency and timeout waits early.
		if r.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		s.mu.Lock()
		lat := s.latency[fam]
		s.mu.Unlock()
		if lat > 0 {
			if !sleepCtx(r.Context(), lat) {
				w.WriteHeader(499) // client went away; nothing to read
				return
			}
		}
		if f, ok := s.takeFault(endpoint); ok && (f.Status != 0 || f.Timeout) {
			if f.Timeout {
				if !sleepCtx(r.Context(), s.cfg.FaultTimeout) {
					w.WriteHeader(499)
					return
				}
				f.Status = http.StatusGatewayTimeout
			}
			s.writeFault(w, r, f.Status)
			return
		}
		if !s.allow(w, r, fam) {
			return
		}
		switch auth {
		case 1:
			if _, ok := s.v1Authenticate(w, r); !ok {
				return
			}
		case 2:
			if _, ok := s.v2Authenticate(w, r, endpoint); !ok {
				return
			}
		}
		fn(w, r)
	})
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts requests to one endpoint pattern, e.g.
// "POST /v2/attendance-periods" or "GET /v1/company/employees".
func (s *Server) CallCount(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// MethodCount counts requests with the given HTTP method (auth calls included).
func (s *Server) MethodCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// WriteCalls counts requests that could change company data: POST, PATCH,
// PUT and DELETE, excluding the auth endpoints. Tests of dry runs assert 0.
func (s *Server) WriteCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Family == FamilyAuthV1 || c.Family == FamilyAuthV2 {
			continue
		}
		switch c.Method {
		case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
			n++
		}
	}
	return n
}

// StatusCount counts responses with the given status for a family ("" = all).
func (s *Server) StatusCount(fam Family, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if (fam == "" || c.Family == fam) && c.Status == status {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls (not the data).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// Fault makes a call fail. Status is 500, 502, 503 or 504 (answered with the
// generation's error body); Timeout holds the request until the client gives
// up (or Config.FaultTimeout passes, then 504). The zero Fault lets one call
// pass, so a queue like [{}, {Status: 500}] fails the second call.
type Fault struct {
	Status  int
	Timeout bool
}

// InjectFault makes the next n calls of endpoint (a route pattern such as
// "GET /v1/company/employees") fail with f.
func (s *Server) InjectFault(endpoint string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[endpoint] = append(s.faults[endpoint], f)
	}
}

func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[endpoint]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[endpoint] = q[1:]
	return q[0], true
}

func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, status int) {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		code := map[int]string{500: "common.internal_server_error", 502: "common.bad_gateway",
			503: "common.service_unavailable", 504: "common.gateway_timeout"}[status]
		writeProblem(w, status, problem{Title: http.StatusText(status), Detail: "The server could not process the request.",
			Type: "https://developer.personio.de/reference/errors#" + code})
		return
	}
	writeV1Error(w, status, status, "Es ist ein Problem aufgetreten")
}

// SetLatency delays every call of a family by d before it is handled.
func (s *Server) SetLatency(fam Family, d time.Duration) {
	s.mu.Lock()
	s.latency[fam] = d
	s.mu.Unlock()
}

// SetRateLimit replaces the limit of a family; PerSecond 0 removes it.
func (s *Server) SetRateLimit(fam Family, l RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.PerSecond <= 0 {
		delete(s.limits, fam)
		return
	}
	s.limits[fam] = newBucket(l)
}

// bucket is a token bucket on real (monotonic) time.
type bucket struct {
	limit     RateLimit
	tokens    float64
	last      time.Time
	coolUntil time.Time
	slowNext  time.Time // during the cool-down: when the slow lane lets the next request through
}

func newBucket(l RateLimit) *bucket {
	if l.Burst < 1 {
		l.Burst = 1
	}
	return &bucket{limit: l, tokens: float64(l.Burst), last: time.Now()}
}

// take returns whether a token was available and what remains.
func (b *bucket) take(now time.Time) (bool, int) {
	b.tokens += now.Sub(b.last).Seconds() * b.limit.PerSecond
	if b.tokens > float64(b.limit.Burst) {
		b.tokens = float64(b.limit.Burst)
	}
	b.last = now
	if now.Before(b.coolUntil) {
		if b.limit.CooldownPerSecond > 0 && !now.Before(b.slowNext) {
			b.slowNext = now.Add(time.Duration(float64(time.Second) / b.limit.CooldownPerSecond))
			return true, 0
		}
		return false, 0
	}
	if b.tokens < 1 {
		if b.limit.Cooldown > 0 {
			b.coolUntil = now.Add(b.limit.Cooldown)
			if b.limit.CooldownPerSecond > 0 {
				b.slowNext = now.Add(time.Duration(float64(time.Second) / b.limit.CooldownPerSecond))
			}
		}
		return false, 0
	}
	b.tokens--
	return true, int(b.tokens)
}

// allow applies the family's bucket and writes the x-ratelimit-* headers
// Personio's gateway sends; a 429 deliberately carries no Retry-After.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, fam Family) bool {
	s.mu.Lock()
	b := s.limits[fam]
	var ok bool
	var remaining int
	var l RateLimit
	if b != nil {
		ok, remaining = b.take(time.Now())
		l = b.limit
	}
	s.mu.Unlock()
	if b == nil {
		return true
	}
	h := w.Header()
	h.Set("x-ratelimit-replenish-rate", strconv.FormatFloat(l.PerSecond, 'f', -1, 64))
	h.Set("x-ratelimit-burst-capacity", strconv.Itoa(l.Burst))
	h.Set("x-ratelimit-requested-tokens", "1")
	h.Set("x-ratelimit-remaining", strconv.Itoa(remaining))
	if ok {
		return true
	}
	switch {
	case fam == FamilyAuthV2:
		writeOAuthError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests.")
	case strings.HasPrefix(r.URL.Path, "/v2/"):
		writeProblem(w, http.StatusTooManyRequests, problem{Title: "Too Many Requests",
			Detail: "Rate limit exceeded.", Type: "https://developer.personio.de/reference/errors#common.too_many_requests"})
	default:
		writeV1Error(w, http.StatusTooManyRequests, 429, "Too Many Requests")
	}
	return false
}

// ---- response helpers ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeV1Error(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"success": false, "error": map[string]any{"code": code, "message": msg}})
}

type problem struct {
	Title  string
	Detail string
	Type   string
	Meta   map[string]string
}

func writeProblem(w http.ResponseWriter, status int, p problem) {
	meta := p.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"personio_trace_id": traceID(),
		"timestamp":         time.Now().UTC().Format(time.RFC3339),
		"errors": []map[string]any{{
			"title": p.Title, "detail": p.Detail, "type": p.Type, "_meta": meta,
		}},
	})
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"timestamp":         time.Now().UTC().Format(time.RFC3339),
		"trace_id":          traceID(),
		"error":             code,
		"error_description": desc,
		"error_uri":         "https://developer.personio.de/reference/errors#credentials.oauth2." + code,
		"meta":              map[string]any{},
	})
}

var traceSeq struct {
	sync.Mutex
	n int
}

func traceID() string {
	traceSeq.Lock()
	defer traceSeq.Unlock()
	traceSeq.n++
	return fmt.Sprintf("sim-%08x-0000-4000-8000-%012x", traceSeq.n, traceSeq.n)
}

// uuid returns a deterministic (by Config.Seed) version-4 style UUID.
// Callers hold s.mu.
func (s *Server) uuid() string {
	a, b := s.rnd.Uint64(), s.rnd.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12)
	b = (b &^ (0x3 << 62)) | (0x2 << 62)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// id returns the next integer id. Callers hold s.mu.
func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "o:") {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[2:]))
	return n, err == nil && n >= 0
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // time/tzdata is embedded; cannot happen
	}
	return loc
}()

// v1Date renders a calendar date the way v1 does: midnight in the company
// time zone with offset, e.g. "2022-01-12T00:00:00+01:00"; zero is null.
func v1Date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, berlin).Format("2006-01-02T15:04:05-07:00")
}

func v1Timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(berlin).Format("2006-01-02T15:04:05-07:00")
}

const localLayout = "2006-01-02T15:04:05"
