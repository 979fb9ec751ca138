// Package staffomatic is the client of the Staffomatic public API v3, and the signing,
// verification and parsing of the webhook hints our receiver accepts (Staffomatic
// documents no webhooks of its own).
//
// The API is old and only partly documented (see shared/reference/staffomatic-api-notes.md),
// so the client is deliberately tolerant: unknown JSON fields are ignored, numbers that
// sometimes arrive as strings are accepted, any 2xx counts as success (creates answered
// 200 in the 2017 recordings, not the documented 201), and collections are read page by
// page until an empty page, as the documentation prescribes.
//
// Every call takes a context, goes through a client-side rate limiter (500 requests per
// 10 s, the documented budget; internal/vendors shares one per tenant and host, never
// across tenants, and caps a pause the server's headers ask for) and is retried with exponential backoff and jitter on 429, 5xx and transport errors.
// Credentials never appear in logs or error strings.
package staffomatic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the documented API root; the account subdomain is appended to it.
const DefaultBaseURL = "https://api.staffomaticapp.com/v3"

// PageSize is the documented maximum number of records in one collection page.
const PageSize = 50

// maxBody bounds how much of a response body is read, so a misbehaving server cannot
// exhaust a Lambda's memory.
const maxBody = 32 << 20

// Credentials authenticate as the one Staffomatic admin who owns the integration.
// Either Email and Password (HTTP Basic, the documented "private integration") or
// Token (an OAuth or /auth bearer token) is used; Token wins when both are set.
type Credentials struct {
	Email    string
	Password string
	Token    string
}

// String redacts the credentials so that a stray %v in a log line cannot leak them.
func (Credentials) String() string { return "staffomatic.Credentials{redacted}" }

// GoString redacts the credentials for %#v as well.
func (Credentials) GoString() string { return "staffomatic.Credentials{redacted}" }

// LogValue redacts the credentials for log/slog: the JSON handler Lambda uses marshals a
// struct attribute field by field and never calls String.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", c.Email), slog.String("secrets", "[REDACTED]"))
}

// MarshalJSON redacts the credentials, so that a Config or Credentials value encoded by
// accident (a log attribute, an error body) carries no password or token.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"email": c.Email, "secrets": "[REDACTED]"})
}

// Config configures one tenant's client.
type Config struct {
	// BaseURL is the API root without the subdomain; DefaultBaseURL when empty.
	BaseURL string
	// Subdomain is the account subdomain, appended to BaseURL.
	Subdomain   string
	Credentials Credentials
	// UserAgent is required by the API (400 without it); it should name the app and a
	// contact e-mail, e.g. "staffsync (ops@example.com)".
	UserAgent string
	// HTTPClient defaults to a client with a 60 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Limiter is the client-side rate limiter. Clients of one tenant's account share one
	// (internal/vendors); nil gives this client its own 500 req / 10 s limiter.
	Limiter *RateLimiter
	// MaxAttempts bounds the tries of one request (default 5).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff (defaults 500 ms, 30 s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxRetryAfter caps how long a 429's Retry-After is honoured before the call fails
	// with a retryable error instead of blocking a Lambda for minutes (default 60 s).
	MaxRetryAfter time.Duration
	// MaxPages is the pagination loop guard (default 10000 pages = 500,000 records).
	MaxPages int
	// TimeZone is the account time zone used to format timestamps we send. When nil it
	// is loaded once from GET /account.
	TimeZone *time.Location
}

// Client talks to one Staffomatic account. It is safe for concurrent use.
type Client struct {
	base    string // base URL including the subdomain, without trailing slash
	creds   Credentials
	ua      string
	hc      *http.Client
	log     *slog.Logger
	limiter *RateLimiter
	cfg     Config

	zoneMu sync.Mutex
	zone   *time.Location
}

// New validates the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.Subdomain == "" || strings.ContainsAny(cfg.Subdomain, "/?#") {
		return nil, errors.New("staffomatic: a valid account subdomain is required")
	}
	if strings.TrimSpace(cfg.UserAgent) == "" {
		return nil, errors.New("staffomatic: a User-Agent is required (the API answers 400 without one)")
	}
	if cfg.Credentials.Token == "" && (cfg.Credentials.Email == "" || cfg.Credentials.Password == "") {
		return nil, errors.New("staffomatic: credentials are required (e-mail and password, or a token)")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("staffomatic: invalid base URL %q", base)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewRateLimiter(500, 10*time.Second)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = 10000
	}
	return &Client{
		base:    strings.TrimRight(base, "/") + "/" + url.PathEscape(cfg.Subdomain),
		creds:   cfg.Credentials,
		ua:      cfg.UserAgent,
		hc:      cfg.HTTPClient,
		log:     cfg.Logger.With("component", "staffomatic", "subdomain", cfg.Subdomain),
		limiter: cfg.Limiter,
		cfg:     cfg,
		zone:    cfg.TimeZone,
	}, nil
}

// TimeZone returns the account time zone, loading it from GET /account on first use.
// Timestamps we send are formatted in it, as the API expects.
func (c *Client) TimeZone(ctx context.Context) (*time.Location, error) {
	c.zoneMu.Lock()
	z := c.zone
	c.zoneMu.Unlock()
	if z != nil {
		return z, nil
	}
	a, err := c.Account(ctx)
	if err != nil {
		return nil, err
	}
	return a.Location()
}

func (c *Client) setZone(ctx context.Context, name string) {
	if name == "" {
		return
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		c.log.WarnContext(ctx, "account time zone unknown; keeping the previous one", "time_zone", name)
		return
	}
	c.zoneMu.Lock()
	if c.cfg.TimeZone == nil {
		c.zone = loc
	}
	c.zoneMu.Unlock()
}

// formatTime renders t with the offset of the account time zone.
func (c *Client) formatTime(ctx context.Context, t time.Time) (string, error) {
	z, err := c.TimeZone(ctx)
	if err != nil {
		return "", err
	}
	return t.In(z).Format(time.RFC3339), nil
}

// idempotent reports whether a failed request may be sent again without risk of
// doing its effect twice. POST creates are retried only on 429, which the server
// answers before doing anything. So are the one-shot actions of a PUT: after a lost
// answer a repeated approve or decline is refused with 422 (processed absences are
// immutable) although the first one succeeded, and a repeated send_invitation sends a
// second e-mail. Lock and unlock leave the same state when repeated.
func idempotent(method string, body any) bool {
	if method == http.MethodPost {
		return false
	}
	if b, ok := body.(map[string]any); ok {
		switch b["do"] {
		case "approve", "decline", "send_invitation":
			return false
		}
	}
	return true
}

// do sends one API request with rate limiting and retries and decodes a 2xx body
// into out (when out is non-nil and the body is not empty).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, out any) error {
	raw, err := c.doRaw(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Method: method, Path: path, Status: 200, Message: "undecodable response body", Err: err}
	}
	return nil
}

func (c *Client) doRaw(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("staffomatic: encode %s %s: %w", method, path, err)
		}
	}
	u := c.base + path + ".json"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var last error
	ambiguous := false // an earlier attempt may have been carried out (5xx, lost answer)
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("staffomatic: %s %s: waiting for the rate limiter: %w", method, path, err)
		}
		raw, wait, err := c.once(ctx, method, path, u, payload)
		if err == nil {
			return raw, nil
		}
		last = err
		var apiErr *Error
		if method == http.MethodDelete && ambiguous && errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			// An earlier attempt deleted the record before its answer was lost.
			return nil, nil
		}
		if !errors.As(err, &apiErr) || !apiErr.Retryable || ctx.Err() != nil {
			return nil, err
		}
		if apiErr.Status != http.StatusTooManyRequests {
			ambiguous = true
		}
		if apiErr.Status != http.StatusTooManyRequests && !idempotent(method, body) {
			return nil, err
		}
		if attempt == c.cfg.MaxAttempts {
			break
		}
		if backoff := c.backoff(attempt); wait < backoff {
			wait = backoff
		}
		if wait > c.cfg.MaxRetryAfter {
			return nil, err
		}
		c.log.InfoContext(ctx, "retrying staffomatic request", "method", method, "path", path, "attempt", attempt, "status", apiErr.Status, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("staffomatic: %s %s: %w", method, path, err)
		}
	}
	return nil, last
}

// once performs a single HTTP exchange. wait is the server-requested pause before a retry.
func (c *Client) once(ctx context.Context, method, path, u string, payload []byte) ([]byte, time.Duration, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("staffomatic: build %s %s: %w", method, path, err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if c.creds.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.creds.Token)
	} else {
		req.SetBasicAuth(c.creds.Email, c.creds.Password)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error carries the URL, which holds no secret: credentials travel in headers.
		// A connection the vendor policy refused (a private address, a host off the
		// allow-list) is refused again on every try.
		return nil, 0, &Error{Method: method, Path: path, Retryable: ctx.Err() == nil && !permanent(err), Message: "transport error", Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, &Error{Method: method, Path: path, Status: resp.StatusCode, Retryable: ctx.Err() == nil, Message: "reading the response failed", Err: err}
	}
	now := time.Now()
	c.limiter.Observe(resp.Header, now)
	c.log.DebugContext(ctx, "staffomatic request", "method", method, "path", path, "status", resp.StatusCode, "elapsed", now.Sub(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, 0, nil
	}
	e := newError(method, path, resp.StatusCode, raw)
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests {
		wait = retryAfter(resp.Header, now)
		c.limiter.PauseUntil(now.Add(wait))
	}
	c.log.WarnContext(ctx, "staffomatic request failed", "method", method, "path", path, "status", resp.StatusCode, "message", e.Message, "body", e.Body)
	return nil, wait, e
}

// backoff returns the exponential backoff before attempt+1, with jitter in [d/2, d] so
// that many Lambdas hit by the same 5xx do not retry in lockstep.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase << min(attempt-1, 20)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// retryAfter reads the server's requested pause from Retry-After (seconds, documented)
// or X-RateLimit-Reset (Unix seconds, Octokit heritage; small values are read as seconds).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if t, ok := resetTime(h, now); ok {
		return max(t.Sub(now), 0)
	}
	return 0
}

func resetTime(h http.Header, now time.Time) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if v == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	if n > 1_000_000_000 {
		return time.Unix(n, 0), true
	}
	return now.Add(time.Duration(n) * time.Second), true
}

// permanent reports an error that says of itself that no retry can succeed
// (Permanent() true), such as the vendor builder's refusal of an address.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// listAll reads every page of a collection (page=1,2,… until an empty page), one page
// after the other, and keeps every record.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values, setRaw func(*T, json.RawMessage)) ([]T, error) {
	return listAhead(ctx, c, path, q, 1, setRaw)
}

// listAhead is listAll asking for ahead pages at once (eachRecord).
func listAhead[T any](ctx context.Context, c *Client, path string, q url.Values, ahead int, setRaw func(*T, json.RawMessage)) ([]T, error) {
	var out []T
	err := eachRecord(ctx, c, path, q, ahead, func(v T, raw json.RawMessage) error {
		if setRaw != nil {
			setRaw(&v, raw)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRecord reads every page of a collection (page=1,2,… until an empty page) and calls
// fn for each record in order, so a caller keeps only what it needs of a large list. With
// ahead > 1 it asks for that many pages at once (the client's limiter still paces them):
// a list of n pages then costs about n/ahead latencies instead of n, for at most ahead-1
// requests past the empty page. The loop guard stops at MaxPages and when a page holds
// only records already seen, which is what a server ignoring the page parameter would
// return forever: the list is complete when that page is not a full one, else the call
// fails with ErrPaginationLoop.
func eachRecord[T any](ctx context.Context, c *Client, path string, q url.Values, ahead int, fn func(T, json.RawMessage) error) error {
	if q == nil {
		q = url.Values{}
	}
	ahead = max(1, ahead)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		items []json.RawMessage
		err   error
	}
	fetch := func(page int) <-chan result {
		ch := make(chan result, 1)
		pq := url.Values{}
		for k, v := range q {
			pq[k] = append([]string(nil), v...)
		}
		pq.Set("page", strconv.Itoa(page))
		go func() {
			var items []json.RawMessage
			err := c.do(ctx, http.MethodGet, path, pq, nil, &items)
			ch <- result{items, err}
		}()
		return ch
	}
	var inflight []<-chan result
	next := 1
	// more is false once a page came back short: the list ends there, and only the page
	// that proves it (the empty one) is still asked for.
	more := true
	seen := map[int64]bool{}
	for page := 1; ; page++ {
		if page > c.cfg.MaxPages {
			return fmt.Errorf("staffomatic: GET %s: %w after %d pages", path, ErrPaginationLoop, c.cfg.MaxPages)
		}
		for (len(inflight) == 0 || (more && len(inflight) < ahead)) && next <= c.cfg.MaxPages {
			inflight = append(inflight, fetch(next))
			next++
		}
		res := <-inflight[0]
		inflight = inflight[1:]
		if res.err != nil {
			return res.err
		}
		if len(res.items) == 0 {
			return nil
		}
		if len(res.items) < PageSize {
			more = false
		}
		fresh := 0
		for _, it := range res.items {
			var v T
			if err := json.Unmarshal(it, &v); err != nil {
				return &Error{Method: http.MethodGet, Path: path, Status: 200, Message: "undecodable record", Err: err}
			}
			var id struct {
				ID int64 `json:"id"`
			}
			_ = json.Unmarshal(it, &id)
			if id.ID != 0 {
				if seen[id.ID] {
					continue
				}
				seen[id.ID] = true
			}
			fresh++
			if err := fn(v, it); err != nil {
				return err
			}
		}
		if fresh == 0 {
			// The server ignores the page parameter. Only "most" collections are
			// paginated [doc]: one that is not sends the whole collection on every page,
			// so a repeated page other than a full one is the complete list (as is a
			// clamped last page). A repeated full page may hide more records.
			if len(res.items) != PageSize {
				return nil
			}
			return fmt.Errorf("staffomatic: GET %s page %d: %w (only records already seen)", path, page, ErrPaginationLoop)
		}
	}
}

// getOne reads a single record and keeps its raw JSON.
func getOne[T any](ctx context.Context, c *Client, method, path string, body any, setRaw func(*T, json.RawMessage)) (T, error) {
	var v T
	raw, err := c.doRaw(ctx, method, path, nil, body)
	if err != nil {
		return v, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return v, &Error{Method: method, Path: path, Status: 200, Message: "empty response body"}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, &Error{Method: method, Path: path, Status: 200, Message: "undecodable response body", Err: err}
	}
	if setRaw != nil {
		setRaw(&v, json.RawMessage(raw))
	}
	return v, nil
}
