package personio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/staffsync/staffsync/internal/vendors/safetext"
)

// Error is every error Personio answered with, in one type whatever the
// generation: the v1 envelope {success:false,error:{code,message}}, v2
// problem+json {errors:[{title,detail,type}]} and the OAuth2 error of the v2
// token endpoint. Message is Personio's text (it can be German, e.g. "Es ist
// ein Problem aufgetreten") so the protocol can show what Personio said, but
// sanitised (safetext: one line, at most 200 characters): it reaches admins,
// and the server is whatever host a tenant's base URL names. A body in none
// of these shapes leaves no message; its bytes are never repeated. It never
// contains credentials or tokens.
type Error struct {
	StatusCode int
	Method     string
	Path       string // request path without query
	// Code is the v1 numeric code (as text), the v2 error type URL or the
	// OAuth2 error code ("invalid_client").
	Code    string
	Title   string // v2 title, if any
	Message string // Personio's message or detail, verbatim
	TraceID string
	// Retryable says whether repeating the same request later may succeed
	// (429, 5xx). The client already retried when it was safe to.
	Retryable bool
	// RateLimit holds the x-ratelimit-* headers of the response, if any.
	RateLimit *RateLimitInfo
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("personio: %s %s: %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// IsNotFound reports whether err is a Personio 404.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 (e.g. "Absence period conflict").
func IsConflict(err error) bool { return statusIs(err, http.StatusConflict) }

// IsUnprocessable reports whether err is a 422 validation error.
func IsUnprocessable(err error) bool { return statusIs(err, http.StatusUnprocessableEntity) }

// IsAuth reports whether err is an authentication or permission error
// (401/403 or an OAuth2 error), i.e. the credential needs attention.
func IsAuth(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
		strings.HasPrefix(e.Code, "invalid_") || e.Code == "unauthorized_client"
}

// IsRetryable reports whether err may succeed when retried later.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return false
}

func statusIs(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == code
}

// RateLimitInfo are the x-ratelimit-* headers of Personio's gateway.
type RateLimitInfo struct {
	ReplenishRate   float64 // tokens per second
	BurstCapacity   int
	RequestedTokens int
	Remaining       int
}

func parseRateLimit(h http.Header) *RateLimitInfo {
	rate := h.Get("x-ratelimit-replenish-rate")
	if rate == "" {
		return nil
	}
	var info RateLimitInfo
	info.ReplenishRate, _ = strconv.ParseFloat(rate, 64)
	info.BurstCapacity, _ = strconv.Atoi(h.Get("x-ratelimit-burst-capacity"))
	info.RequestedTokens, _ = strconv.Atoi(h.Get("x-ratelimit-requested-tokens"))
	info.Remaining, _ = strconv.Atoi(h.Get("x-ratelimit-remaining"))
	return &info
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ParseError turns a non-2xx response body into an *Error. It understands
// the three error shapes Personio uses and falls back to the HTTP status
// text for anything else (e.g. an HTML page from a proxy).
func ParseError(status int, method, path string, body []byte) *Error {
	e := &Error{StatusCode: status, Method: method, Path: path, Retryable: retryableStatus(status)}
	if status >= 300 && status < 400 {
		e.Message = "the server answered with a redirect, which is not followed: check the base URL"
		return e
	}
	defer func() {
		e.Message, e.Title = safetext.Message(e.Message), safetext.Message(e.Title)
		e.Code, e.TraceID = safetext.Message(e.Code), safetext.Message(e.TraceID)
	}()
	var probe struct {
		// v1
		Success *bool `json:"success"`
		Error   json.RawMessage
		// v2
		TraceID string `json:"personio_trace_id"`
		Errors  []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Type   string `json:"type"`
		} `json:"errors"`
		// OAuth2
		ErrorDescription string `json:"error_description"`
		OAuthTraceID     string `json:"trace_id"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return e
	}
	switch {
	case len(probe.Errors) > 0:
		e.TraceID = probe.TraceID
		e.Title = probe.Errors[0].Title
		e.Message = probe.Errors[0].Detail
		e.Code = probe.Errors[0].Type
		if len(probe.Errors) > 1 {
			all := []string{e.Message}
			for _, x := range probe.Errors[1:] {
				all = append(all, x.Detail)
			}
			e.Message = safetext.Join(all)
		}
	case len(probe.Error) > 0 && probe.Error[0] == '{':
		var v1 struct {
			Code    json.Number `json:"code"`
			Message string      `json:"message"`
		}
		_ = json.Unmarshal(probe.Error, &v1)
		e.Code = v1.Code.String()
		e.Message = v1.Message
	case len(probe.Error) > 0 && probe.Error[0] == '"':
		_ = json.Unmarshal(probe.Error, &e.Code)
		e.Message = probe.ErrorDescription
		e.TraceID = probe.OAuthTraceID
	}
	return e
}
