package staffomatic

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// ErrPaginationLoop is returned when a collection keeps returning pages (more than
// MaxPages, or pages of records already seen) instead of ending with an empty page.
var ErrPaginationLoop = errors.New("pagination did not end with an empty page")

// Error is a failed API call: an HTTP status other than 2xx, or a transport failure
// (Status 0). Message is the server's explanation when the body carried one; Body is
// the raw body (truncated) for the sync log, because the error format is undocumented.
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
// field to messages), so we do too and fall back to the raw text.
func newError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status, Retryable: retryableStatus(status)}
	text := strings.TrimSpace(string(body))
	if len(text) > 2048 {
		text = text[:2048] + "…"
	}
	e.Body = text
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
		e.Message = strings.Join(parts, "; ")
	}
	if e.Message == "" && text != "" && len(text) <= 200 && !strings.HasPrefix(text, "<") {
		e.Message = text
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
