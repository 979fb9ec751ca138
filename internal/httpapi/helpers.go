package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Constructors of the API's errors: one place decides the status of each kind.
func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: field, Message: fmt.Sprintf(format, args...)}
}

func unprocessable(code, field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf(format, args...)}
}

var (
	errNoStore = &Error{Status: http.StatusServiceUnavailable, Code: "not_configured",
		Message: "this API has no data store configured; set the table names and (locally) DYNAMODB_ENDPOINT"}
	errUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "send Authorization: Bearer <key>: the operator key or the tenant's admin token"}
	errBadToken = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "the key or token is not valid: check it was copied whole; it may belong to another deployment, to a make run whose state was discarded since (FRESH=1, or another data folder), or have been revoked by a hand-over"}
)

// decode reads a JSON body into v, refusing unknown fields, trailing data and oversized
// bodies, so a typo in a field name is an error instead of a silently ignored setting.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the request body is larger than 256 KB; send less data per request"}
	}
	if err != nil {
		return badRequest("", "the request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "a JSON body is required")
	}
	return decodeBytes(body, v)
}

// MaxJSONDepth bounds how deeply a request body may nest arrays and objects. The bodies
// the API documents nest at most a few levels; a body of 256 KB of "[[[[…" would make the
// key check recurse 260,000 levels deep (and encoding/json allocate per level), which
// took a process to more than twice the API function's memory.
const MaxJSONDepth = 32

// jsonDepthOK reports whether body nests no deeper than limit, reading it once without
// allocating: brackets inside strings (and escaped quotes) do not count.
func jsonDepthOK(body []byte, limit int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return true
}

func decodeBytes(body []byte, v any) error {
	if !jsonDepthOK(body, MaxJSONDepth) {
		return badRequest("", "the body nests arrays or objects more than %d levels deep; no request of this API needs that", MaxJSONDepth)
	}
	if err := checkKeys(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("", "the body is not valid JSON (at byte %d): %s", se.Offset, syntaxText(body, se))
		case errors.As(err, &te):
			f := jsonPath(te.Field)
			return badRequest(f, "field %s: expected %s, got JSON %s", f, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(f, "unknown field %q: check the spelling against the API document (GET /v1/openapi.yaml)", f)
		default:
			return badRequest("", "the body is not valid JSON: %v", err)
		}
	}
	if dec.More() {
		return badRequest("", "the body holds more than one JSON value")
	}
	return nil
}

// errStopCheck ends checkKeys at a syntax error, which the decoder then reports.
var errStopCheck = errors.New("stop")

// checkKeys walks a JSON body beside the Go type it is decoded into and refuses what
// encoding/json would silently accept: a key given twice in one object (the last one
// would win) and a struct field spelt in another case ("Verify", "CLIENT_SECRET"), which
// the document does not know (additionalProperties: false). Syntax errors and other
// unknown fields are left to the decoder.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	err := walkKeys(dec, t, path)
	if errors.Is(err, errStopCheck) {
		return nil
	}
	return err
}

func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errStopCheck
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())) {
		t = nil // its own decoding decides
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = map[string]reflect.Type{}
				jsonFields(t, fields)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errStopCheck
			}
			k, _ := kt.(string)
			f := k
			if path != "" {
				f = path + "." + k
			}
			if seen[k] {
				return badRequest(f, "field %s is given twice: send it once", f)
			}
			seen[k] = true
			vt := elem
			if fields != nil {
				ft, ok := fields[k]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, k) {
							return badRequest(f, "unknown field %q: field names are lower case; did you mean %q?", f, name)
						}
					}
					return errStopCheck // the decoder refuses an unknown field
				}
				vt = ft
			}
			if err := walkKeys(dec, vt, f); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errStopCheck
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem, path); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errStopCheck
		}
	}
	return nil
}

// jsonFields collects the JSON names of a struct's fields as encoding/json sees them,
// including those of embedded structs.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				jsonFields(ft, into)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		into[name] = sf.Type
	}
}

// optionalBody decodes a body that may be absent (Sync Now without options).
func optionalBody(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the request body is larger than 256 KB; send less data per request"}
	}
	if err != nil {
		return badRequest("", "the request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeBytes(body, v)
}

// storeErr turns store errors clients can act on into API errors.
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s does not exist", what)
	case errors.Is(err, store.ErrConflict):
		return conflict("%s was changed by someone else in the meantime; read it again and repeat the change", what)
	case errors.Is(err, store.ErrExists):
		return conflict("%s exists already", what)
	}
	return err
}

// vendorErr explains a failed vendor call: wrong credentials are the admin's to fix (422,
// naming the field), outages are not (502, naming the vendor and the host the call went
// to, from the tenant's base URL or the deployment's default). The vendor's message is kept
// only where it cannot contain a secret (Personio's error text never does).
func (a *API) vendorErr(err error, system domain.System, field, baseURL string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if vendors.IsRefused(err) {
		return refusedErr(system, err)
	}
	switch system {
	case domain.SystemPersonio:
		var pe *personio.Error
		if personio.IsAuth(err) {
			return unprocessable("personio_credentials_invalid", field, "Personio refused the credential: check the client id and secret in Personio under Settings > API credentials")
		}
		if errors.As(err, &pe) && pe.StatusCode >= 300 && pe.StatusCode < 400 {
			return unprocessable("personio_redirect", "personio.base_url", "Personio answered %d, a redirect, which is not followed: check personio.base_url", pe.StatusCode)
		}
		if errors.As(err, &pe) && !pe.Retryable {
			// pe.Message is sanitised by the client: short, one line, from Personio's
			// documented error fields only.
			msg := pe.Message
			if msg == "" {
				msg = http.StatusText(pe.StatusCode)
			}
			return unprocessable("personio_error", field, "Personio answered %d: %s", pe.StatusCode, msg)
		}
	case domain.SystemStaffomatic:
		if staffomatic.IsUnauthorized(err) {
			return unprocessable("staffomatic_credentials_invalid", field, "Staffomatic refused the credentials: check the admin's e-mail and password (or token) and the subdomain")
		}
		if staffomatic.IsForbidden(err) {
			return unprocessable("staffomatic_forbidden", field, "Staffomatic refused access: the credentials must be those of an account admin")
		}
		if staffomatic.IsNotFound(err) {
			return unprocessable("staffomatic_account_not_found", "staffomatic.subdomain", "Staffomatic knows no account at this base URL and subdomain")
		}
		if s := staffomatic.StatusOf(err); s >= 300 && s < 400 {
			return unprocessable("staffomatic_redirect", "staffomatic.base_url", "Staffomatic answered %d, a redirect, which is not followed: check staffomatic.base_url", s)
		}
		if s := staffomatic.StatusOf(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests {
			return unprocessable("staffomatic_error", field, "Staffomatic answered %d to the check", s)
		}
	}
	return vendorDown(err, system, a.vendorHost(system, baseURL))
}

// vendorHost is the host (with its port, if any) the clients of system reach for a
// tenant's base URL.
func (a *API) vendorHost(system domain.System, baseURL string) string {
	if u, err := url.Parse(a.vendors.BaseURL(system, baseURL)); err == nil && u.Host != "" {
		return u.Host
	}
	return "its API"
}

// vendorDown is the 502 of a vendor that could not be reached or failed: it names the
// vendor, the host and what went wrong (no answer in time, no connection, or the HTTP
// status it answered), never the vendor's body.
func vendorDown(err error, system domain.System, host string) *Error {
	name := "Personio"
	if system == domain.SystemStaffomatic {
		name = "Staffomatic"
	}
	status := 0
	var pe *personio.Error
	if errors.As(err, &pe) {
		status = pe.StatusCode
	} else if s := staffomatic.StatusOf(err); s > 0 {
		status = s
	}
	what := "failed"
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		what = "did not answer in time"
	case status > 0:
		what = fmt.Sprintf("answered %d %s", status, http.StatusText(status))
	case errors.As(err, new(*net.OpError)) || errors.As(err, new(*net.DNSError)):
		what = "could not be reached (no connection)"
	}
	return &Error{Status: http.StatusBadGateway, Code: "vendor_unavailable",
		Message: fmt.Sprintf("%s at %s %s; nothing was changed, try again in a minute", name, host, what)}
}

// refusedErr is a vendor URL or address the deployment's policy refused (a base URL off
// the allow-list, or one whose name resolved to a private address at connect time): a 400
// naming the vendor's base_url field and the rule, never the vendor's answer.
func refusedErr(system domain.System, err error) error {
	field := string(system) + ".base_url"
	var ref *vendors.RefusedError
	if errors.As(err, &ref) {
		return badRequest(field, "%s: %s is not allowed: %s", field, ref.Target, ref.Rule)
	}
	return badRequest(field, "%s: this base URL is not allowed", field)
}

// newSecret returns n random bytes, URL-safe base64 encoded.
func newSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // cannot happen on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// equalHash compares the SHA-256 of secret with a stored hex hash in constant time.
func equalHash(secret, storedHex string) bool {
	want, err := hex.DecodeString(storedHex)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// syntaxText explains a JSON syntax error. encoding/json names the offending byte as if it
// were a character, so a "…" left from an example reads as 'â': a character outside ASCII
// is named whole instead, and where it can only be (inside strings).
func syntaxText(body []byte, se *json.SyntaxError) string {
	if at := se.Offset - 1; at >= 0 && at < int64(len(body)) && body[at] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(body[at:]); r != utf8.RuneError {
			return fmt.Sprintf("unexpected %q outside a string (a placeholder left in?); JSON allows such characters only inside quotes", r)
		}
	}
	return se.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// intParam reads an optional positive integer query parameter bounded by max.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badRequest(name, "%s: use a whole number from 1 to %d", name, max)
	}
	return n, nil
}

// jsonPath drops the Go names of embedded structs from a decoder's field path
// ("CredentialsInput.verify" is the client's "verify").
func jsonPath(p string) string {
	parts := strings.Split(p, ".")
	out := parts[:0]
	for _, s := range parts {
		if s != "" && !unicode.IsUpper(rune(s[0])) {
			out = append(out, s)
		}
	}
	return strings.Join(out, ".")
}
