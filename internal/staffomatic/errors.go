package staffomatic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/staffsync/staffsync/internal/vendors/safetext"
)

// ErrPaginationLoop is returned when a collection keeps returning pages (more than
// MaxPages, or pages of records already seen) instead of ending with an empty page.
var ErrPaginationLoop = errors.New("pagination did not end with an empty page")

// Error is a failed API call: an HTTP status other than 2xx, or a transport failure
// (Status 0). Message is the server's explanation when the body carried one in the JSON
// fields the API uses, sanitised (safetext: one line, at most 200 characters), because it
// reaches admins through API errors, run summaries and the protocol, and the server is
// whatever host a tenant's base URL names. Body is a short printable excerpt of the raw
// body for the operator's log only (the error format is undocumented); Error() never
// includes it.
type Error struct {
	Method    string
	Path      string
	Status    int
	Message   string
	Retryable bool
	Body      string
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "staffomatic: %s %s", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports a 404, e.g. a record deleted in Staffomatic since it was mapped.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsUnauthorized reports bad credentials (401), which no retry can fix.
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// IsForbidden reports a 403: the integration's user lacks the role for the action.
func IsForbidden(err error) bool { return StatusOf(err) == http.StatusForbidden }

// IsRetryable reports whether trying again later may succeed (429, 5xx, transport).
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// newError builds an Error from a non-2xx response. The body format is undocumented;
// the Ruby client looks for "message", "error" and "errors" (a list, or Rails' map of
// field to messages), so we do too. Field errors (a partial failure the admin can act on)
// are kept, each sanitised, joined and capped. A body that is no such JSON leaves no
// message: its bytes are never repeated to an admin. A 3xx says that redirects are not
// followed.
func newError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status, Retryable: retryableStatus(status)}
	e.Body = safetext.LogExcerpt(bytes.TrimSpace(body))
	if status >= 300 && status < 400 {
		e.Message = "the server answered with a redirect, which is not followed: check the base URL"
		return e
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		var parts []string
		for _, k := range []string{"message", "error"} {
			var s string
			if json.Unmarshal(m[k], &s) == nil && s != "" {
				parts = append(parts, s)
			}
		}
		if raw, ok := m["errors"]; ok {
			parts = append(parts, flattenErrors(raw)...)
		}
		e.Message = safetext.Join(parts)
	}
	return e
}

func flattenErrors(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var objs []map[string]any
	if json.Unmarshal(raw, &objs) == nil {
		var out []string
		for _, o := range objs {
			if s, ok := o["message"].(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			var msgs []string
			var one string
			switch {
			case json.Unmarshal(fields[k], &msgs) == nil:
				for _, msg := range msgs {
					out = append(out, k+" "+msg)
				}
			case json.Unmarshal(fields[k], &one) == nil:
				out = append(out, k+" "+one)
			}
		}
		return out
	}
	return nil
}
