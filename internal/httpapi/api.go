// Package httpapi is staffsync's admin HTTP API: set-up, "Sync Now", runs, protocol and the
// vendors' webhook receivers. It is one net/http handler, served by functions/api through
// API Gateway and by the local runner directly.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/console"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// APIMaxRetries is how often the API's vendor clients repeat a failed call: few, because
// API Gateway ends a request at 29 s and the API's checks stop after vendorTimeout.
const APIMaxRetries = 2

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 256 << 10

// Options configures the API. Everything but Logger is required for the routes behind
// authentication; without Store those routes answer 503, so that a function started
// without its tables still answers health checks.
type Options struct {
	Logger *slog.Logger
	// Store holds tenants, selections, runs, protocol and webhook secrets.
	Store *store.Store
	// Sealer seals credentials and webhook secrets (KMS in AWS, local AES in make run).
	Sealer seal.Sealer
	// Bus receives the SyncRequested events of Sync Now and webhooks.
	Bus bus.Publisher
	// Vendors builds the Personio and Staffomatic clients of a tenant; nil gives the real
	// clients under a deployed stack's policy (only the vendors' production hosts), with
	// few retries for API Gateway's 29 s.
	Vendors Vendors
	// OperatorKeyHash is the operator key's salted HMAC, hmac-sha256:<salt>:<hex>
	// (OperatorKeyHash makes one), or the older hex SHA-256 of the key, still accepted;
	// empty or malformed refuses every operator request.
	OperatorKeyHash string
	// PublicBaseURL is where vendors reach this API (https://…, no trailing slash).
	// When set, a tenant's Personio webhook is registered on creation and rotation.
	PublicBaseURL string
	// Location is the time zone of the timetable (next scheduled runs); default
	// Europe/Berlin.
	Location *time.Location
	// Now is the clock (default time.Now): signature tolerance, run ids, protocol range.
	Now func() time.Time
	// Phases are the sync phases this deployment runs (nil: all). Sync Now refuses the
	// others and webhooks ignore them, so no run is queued that no function would ever
	// pick up.
	Phases []domain.Phase
	// Throttle sets the per-tenant limits of Sync Now and webhook deliveries (zero values:
	// the defaults).
	Throttle Throttle
}

// API serves the routes under /v1.
type API struct {
	log     *slog.Logger
	mux     *http.ServeMux
	store   *store.Store
	sealer  seal.Sealer
	bus     bus.Publisher
	vendors Vendors
	opHash  *operatorHash
	public  string
	loc     *time.Location
	now     func() time.Time
	phases  []domain.Phase
	// patterns lists the registered routes; query the query parameters each reads.
	patterns []string
	query    map[string][]string
	// syncLimit and hookLimit are the per-tenant token buckets of Sync Now and of webhook
	// deliveries in this process.
	syncLimit, hookLimit *buckets
	// rosters keeps each tenant's last read of both vendors for the pages of step 3.
	rosters *rosterCache
}

// New returns the API handler.
func New(opts Options) *API {
	a := &API{
		log: opts.Logger, mux: http.NewServeMux(), store: opts.Store, sealer: opts.Sealer, bus: opts.Bus,
		vendors: opts.Vendors,
		public:  strings.TrimRight(opts.PublicBaseURL, "/"), loc: opts.Location, now: opts.Now,
		phases:    opts.Phases,
		syncLimit: newBuckets(opts.Throttle.SyncNow, DefaultSyncNowLimit, opts.Throttle.Tenants, "Sync Now requests"),
		hookLimit: newBuckets(opts.Throttle.Webhooks, DefaultWebhooksLimit, opts.Throttle.Tenants, "webhook deliveries"),
		rosters:   newRosterCache(rosterTTL, rosterMaxRecords),
	}
	if a.phases == nil {
		a.phases = domain.Phases
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if h, err := parseOperatorHash(opts.OperatorKeyHash); err != nil {
		a.log.Error("no operator access: "+err.Error(), "setting", "OPERATOR_KEY_HASH")
	} else if a.opHash = h; h.legacy() {
		a.log.Warn("OPERATOR_KEY_HASH is a plain SHA-256 of the operator key; replace it with the salted hmac-sha256:<salt>:<hmac> form (README, Deploying)")
	}
	if a.vendors == nil {
		a.vendors = NewVendors(vendors.New(vendors.Options{Log: a.log, MaxRetries: APIMaxRetries}))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.loc == nil {
		if loc, err := schedule.LoadLocation(domain.DefaultScheduleTimezone); err == nil {
			a.loc = loc
		} else {
			a.loc = time.UTC
		}
	}
	// Health checks and the document are read by tools that may add a cache-busting query.
	a.handleAnyQuery("GET /v1/health", a.health)
	a.routes()
	return a
}

// ServeHTTP recovers from panics (a request must never crash the function), limits the
// body size and answers unknown routes in the API's error format.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			a.log.ErrorContext(r.Context(), "panic in request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			WriteError(w, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "an internal error occurred; nothing was changed"})
		}
	}()
	if console.Owns(r.URL.Path) { // the admin console's page and files, not JSON routes
		console.Handler.ServeHTTP(w, r)
		return
	}
	// Answers echo what a client sent (a path, a tenant id, a field); none may be read
	// as a page: a browser is told not to guess another type than JSON or CSV, and that
	// nothing in an answer may run, load or be framed.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if r.ContentLength > MaxBodyBytes {
		WriteError(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the request body is larger than 256 KB; send less data per request"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	r = r.WithContext(context.WithValue(r.Context(), requestBaseKey{}, requestBase(r)))
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		// ServeMux would redirect to the cleaned path with an HTML body; an API client
		// gets the API's error format, and no route has . or .. segments or a trailing /.
		WriteError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route: " + r.Method + " " + p + " (write the path without //, . or .. segments and without a trailing /)"})
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		// ServeMux answers 404 and 405 in plain text; ours are JSON.
		status, code, msg := http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			status, code, msg = rec.status, "method_not_allowed", "method "+r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+rec.header.Get("Allow")
			w.Header().Set("Allow", rec.header.Get("Allow"))
		}
		WriteError(w, &Error{Status: status, Code: code, Message: msg})
		return
	}
	// ServeHTTP (not the handler found above) sets the path values the routes read.
	a.mux.ServeHTTP(w, r)
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Error is an API error as clients see it: {"error":{"code","message","field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WriteError writes err in the API's error format. Errors that are not *Error are
// internal and are answered without their text, which might contain details of a vendor
// response or a secret.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "an internal error occurred; nothing was changed"}
	}
	WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

// WriteJSON writes v as a JSON response with the given status. '<', '>' and '&' stay as
// they are (an owner "Ada <ada@…>", "Settings > API credentials") instead of Go's HTML-safe
// \u003c escapes, which an admin reading curl's output cannot read; the response is
// JSON (nosniff), never HTML.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// statusOnly records the status and headers ServeMux's fallback handler would send.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// routes registers every route of the API (the table in the OpenAPI document) with the
// query parameters it reads.
func (a *API) routes() {
	a.handleAnyQuery("GET /v1/openapi.yaml", a.openapi)
	a.handle("POST /v1/tenants", a.operatorOnly(a.createTenant))
	a.handle("GET /v1/tenants", a.operatorOnly(a.listTenants), "limit", "cursor")
	a.handle("GET /v1/tenants/{id}", a.tenantOnly(a.getTenant))
	a.handle("PUT /v1/tenants/{id}/credentials", a.tenantOnly(a.putCredentials))
	a.handle("PUT /v1/tenants/{id}/sources", a.tenantOnly(a.putSources))
	a.handle("GET /v1/tenants/{id}/employees", a.tenantOnly(a.listEmployees), "personio_status", "limit", "cursor")
	a.handle("GET /v1/tenants/{id}/selection", a.tenantOnly(a.getSelection))
	a.handle("PUT /v1/tenants/{id}/selection", a.tenantOnly(a.putSelection))
	a.handle("PUT /v1/tenants/{id}/settings", a.tenantOnly(a.putSettings))
	a.handle("POST /v1/tenants/{id}/owner", a.tenantOnly(a.handOver))
	a.handle("POST /v1/tenants/{id}/webhook-secrets", a.tenantOnly(a.rotateWebhookSecrets))
	a.handle("POST /v1/tenants/{id}/sync/{phase}", a.tenantOnly(a.syncNow))
	a.handle("GET /v1/tenants/{id}/runs", a.tenantOnly(a.listRuns), "phase", "limit", "cursor")
	a.handle("GET /v1/tenants/{id}/runs/{run_id}", a.tenantOnly(a.getRun), "limit", "cursor")
	a.handle("GET /v1/tenants/{id}/protocol", a.tenantOnly(a.protocol), "area", "from", "to", "run_id", "limit", "cursor")
	a.handle("GET /v1/tenants/{id}/checks", a.tenantOnly(a.checks))
	// The vendors call the receivers; what they append to the URL is theirs to decide.
	a.handleAnyQuery("POST /v1/webhooks/personio/{tenant_id}", a.serve(a.personioWebhook))
	a.handleAnyQuery("POST /v1/webhooks/staffomatic/{tenant_id}", a.serve(a.staffomaticWebhook))
}

// handleAnyQuery registers a route that ignores its query string.
func (a *API) handleAnyQuery(pattern string, h http.HandlerFunc) {
	a.patterns = append(a.patterns, pattern)
	a.mux.HandleFunc(pattern, h)
}

// handle registers a route with the query parameters it reads and remembers both (the
// OpenAPI test compares them). Any other query parameter is a 400 naming it: a misspelt
// filter (?until= for ?to=) would otherwise be ignored, and the admin would read an
// answer to a question they did not ask.
func (a *API) handle(pattern string, h http.HandlerFunc, query ...string) {
	a.patterns = append(a.patterns, pattern)
	if a.query == nil {
		a.query = map[string][]string{}
	}
	a.query[pattern] = query
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		for name := range r.URL.Query() {
			if !slices.Contains(query, name) {
				WriteError(w, unknownQuery(name, query))
				return
			}
		}
		h(w, r)
	})
}

// querySynonyms are the names admins reach for, and the parameter this API calls it.
var querySynonyms = map[string]string{"until": "to", "since": "from", "after": "from", "before": "to",
	"page": "cursor", "next": "cursor", "next_cursor": "cursor", "offset": "cursor", "page_size": "limit", "per_page": "limit",
	"status": "personio_status", "run": "run_id", "kind": "area"}

// unknownQuery is the 400 for a query parameter the route does not read, with the
// parameter the admin probably meant.
func unknownQuery(name string, known []string) *Error {
	msg := fmt.Sprintf("unknown query parameter %q", name)
	guess := querySynonyms[strings.ToLower(name)]
	if !slices.Contains(known, guess) {
		guess = ""
		for _, k := range known {
			if strings.EqualFold(k, name) || editDistance(strings.ToLower(name), k) <= 2 {
				guess = k
				break
			}
		}
	}
	switch {
	case guess != "":
		msg += fmt.Sprintf(": did you mean %q?", guess)
	case len(known) == 0:
		msg += ": this route takes no query parameters"
	default:
		msg += ": this route takes " + strings.Join(known, ", ")
	}
	return badRequest(name, "%s", msg)
}

// editDistance is the Levenshtein distance of a and b (short parameter names only).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
