// Package httpapi is staffsync's admin HTTP API: set-up, "Sync Now", runs, protocol and the
// vendors' webhook receivers. It is one net/http handler, served by functions/api through
// API Gateway and by the local runner directly.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 256 << 10

// Options configures the API.
type Options struct {
	Logger *slog.Logger
}

// API serves the routes under /v1.
type API struct {
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the API handler.
func New(opts Options) *API {
	a := &API{log: opts.Logger, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.mux.HandleFunc("GET /v1/health", a.health)
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
	if r.ContentLength > MaxBodyBytes {
		WriteError(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the request body is larger than 256 KB; send less data per request"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
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
	h.ServeHTTP(w, r)
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

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusOnly records the status and headers ServeMux's fallback handler would send.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }
