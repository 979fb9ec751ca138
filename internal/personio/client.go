// Package personio is the client of the Personio public API that the syncs
// use: v1 for employees and time-off types (one paginated call returns every
// attribute the set-up requires), v2 for absence and attendance periods
// (v1 attendances are deprecated) and webhooks.
//
// The client hides Personio's quirks from the sync code: three pagination
// styles, wrapped v1 attributes, weekly hours as strings, dates with
// offsets, local times without offset, three error shapes and 429s without
// Retry-After. It caches tokens for their lifetime (Personio's auth
// endpoints have their own low rate limits), paces calls per endpoint
// family with a token bucket that adapts to the x-ratelimit-* headers, and
// retries with exponential backoff and jitter where repeating is safe.
// Every call observes its context.
package personio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Personio's production API.
const DefaultBaseURL = "https://api.personio.de"

// Family is an endpoint family; Personio rate-limits per endpoint, so the
// client paces each family separately.
type Family string

// Endpoint families the client calls.
const (
	FamilyAuthV1            Family = "auth_v1"
	FamilyAuthV2            Family = "auth_v2"
	FamilyEmployees         Family = "employees"
	FamilyTimeOffTypes      Family = "time_off_types"
	FamilyAbsencePeriods    Family = "absence_periods"
	FamilyAbsenceTypes      Family = "absence_types"
	FamilyAttendancePeriods Family = "attendance_periods"
	FamilyWebhooks          Family = "webhooks"
)

// Limit is a client-side token bucket. PerSecond 0 disables pacing.
type Limit struct {
	PerSecond float64
	Burst     int
}

// DefaultLimits mirror Personio's documented or observed limits (notes
// §5.1): v1 auth 60/min, v2 auth 150/min, v1 employees 300/min burst 15,
// v1 overall 2000/min, v2 absences ≈10/s (attendances, absence types and
// webhooks undocumented: the same). Pacing below the server limit avoids 429s, whose
// back-off costs far more than waiting.
func DefaultLimits() map[Family]Limit {
	return map[Family]Limit{
		FamilyAuthV1: {PerSecond: 1, Burst: 5},
		FamilyAuthV2: {PerSecond: 2.5, Burst: 5},
		// 10 % below the documented 5/s (burst 15), like absence periods below: pacing at
		// exactly the server's rate met an empty server bucket on GET employees/{id} (a
		// 429 in the 5,000-employee absences test's partial run).
		FamilyEmployees:    {PerSecond: 4.5, Burst: 14},
		FamilyTimeOffTypes: {PerSecond: 30, Burst: 30},
		// 10 % below the ≈10/s observed: pacing at exactly the server's rate meets a
		// full server bucket whenever one request arrives later than the next (a 429
		// seen in the 5,000-employee absences test).
		FamilyAbsencePeriods:    {PerSecond: 9, Burst: 9},
		FamilyAbsenceTypes:      {PerSecond: 9, Burst: 9},
		FamilyAttendancePeriods: {PerSecond: 10, Burst: 10},
		FamilyWebhooks:          {PerSecond: 10, Burst: 10},
	}
}

// Config configures a Client. ClientID and ClientSecret are required.
type Config struct {
	BaseURL      string // default DefaultBaseURL
	ClientID     string
	ClientSecret string
	// PartnerID and AppID are sent as X-Personio-Partner-ID / X-Personio-App-ID
	// (UPPER_SNAKE_CASE identifiers Personio asks integrations to send).
	PartnerID string
	AppID     string
	UserAgent string // default "staffsync/1 (+personio-client)"

	HTTPClient *http.Client // default: a client without overall timeout
	Logger     *slog.Logger // default slog.Default()
	// RequestTimeout bounds one attempt (default 30 s); a timed-out attempt
	// counts as a transport error.
	RequestTimeout time.Duration
	// MaxRetries is the number of repeats after the first attempt (default 5;
	// negative: none).
	MaxRetries int
	// BackoffBase is the first back-off (default 1 s, as Personio asks for
	// 429s); BackoffMax caps it (default 30 s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Limits override DefaultLimits per family.
	Limits map[Family]Limit
	// Pacer, when set, paces the client instead of limiters of its own (Limits is then
	// ignored). Clients of one tenant's Personio share one, so that the API and the
	// phases of one process spend one budget; clients of different tenants never do.
	Pacer *Pacer
	// Tokens, when set, shares the access tokens between the clients of one company
	// (internal/vendors keeps one per tenant and host, like the pacer): a run builds new
	// clients, and without it every run, and every webhook's targeted run, fetched a new
	// token from auth endpoints that allow a few a second. nil: the client's own.
	Tokens *TokenStore
	// TokenRefreshMargin renews a token this long before it expires
	// (default 5 min, at most a tenth of the lifetime).
	TokenRefreshMargin time.Duration
	// Now is the clock for token expiry (default time.Now).
	Now func() time.Time
	// Location is the company time zone for updated_since (default
	// Europe/Berlin); Personio reads that parameter as local time.
	Location *time.Location
}

// Client talks to one Personio company with one credential. It is safe for
// concurrent use; concurrent calls share tokens and rate limiters.
type Client struct {
	cfg    Config
	base   *url.URL
	hc     *http.Client
	log    *slog.Logger
	tokens *[3]tokenCache // index 1: v1, 2: v2
	pacer  *Pacer
}

// New validates cfg and returns a client. It makes no network call; use
// Verify to check the credential.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("personio: client id and client secret are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("personio: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "staffsync/1 (+personio-client)"
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.TokenRefreshMargin == 0 {
		cfg.TokenRefreshMargin = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, base: base, hc: cfg.HTTPClient, log: cfg.Logger, pacer: cfg.Pacer, tokens: &[3]tokenCache{}}
	if cfg.Tokens != nil {
		c.tokens = cfg.Tokens.caches(cfg.ClientID, cfg.ClientSecret)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.pacer == nil {
		c.pacer = NewPacer(cfg.Limits, nil)
	}
	return c, nil
}

// ---- tokens ----

// TokenStore holds the access tokens of the clients of one Personio company, by
// credential: a client built with another client id or secret never sees them. It keeps
// the tokens of at most maxCredentials credentials (a hand-over or a rotation adds one),
// dropping the least recently used.
type TokenStore struct {
	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*[3]tokenCache
	order [][sha256.Size]byte // least recently used first
}

// maxCredentials bounds the credentials a TokenStore keeps tokens of.
const maxCredentials = 4

// NewTokenStore returns an empty store.
func NewTokenStore() *TokenStore {
	return &TokenStore{byKey: map[[sha256.Size]byte]*[3]tokenCache{}}
}

// caches returns the token caches of a credential, keyed by a hash of it (the store
// holds no secret).
func (s *TokenStore) caches(id, secret string) *[3]tokenCache {
	k := sha256.Sum256([]byte(id + "\x00" + secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.order {
		if o == k {
			s.order = append(append(s.order[:i:i], s.order[i+1:]...), k)
			return s.byKey[k]
		}
	}
	c := &[3]tokenCache{}
	s.byKey[k] = c
	s.order = append(s.order, k)
	if len(s.order) > maxCredentials {
		delete(s.byKey, s.order[0])
		s.order = s.order[1:]
	}
	return c
}

type tokenCache struct {
	mu       sync.Mutex
	token    string
	renewAt  time.Time
	inflight *tokenFetch
}

type tokenFetch struct {
	done chan struct{}
	err  error
}

// PrefetchV2Token fetches the v2 API's access token unless the client (or the clients
// sharing its token store) holds a valid one. A caller that will call a v2 endpoint after
// reads elsewhere (a webhook's run: Staffomatic first, then the attendance POSTs) calls
// it beside those reads, so the token's request does not come in front of its first
// call; that call fetches the token itself when this one failed.
func (c *Client) PrefetchV2Token(ctx context.Context) error {
	_, err := c.token(ctx, 2)
	return err
}

// token returns a cached token of the generation (1 or 2) or fetches one;
// concurrent callers wait for a single fetch, so 50 parallel calls cost one
// auth request.
func (c *Client) token(ctx context.Context, gen int) (string, error) {
	tc := &c.tokens[gen]
	for {
		tc.mu.Lock()
		if tc.token != "" && c.cfg.Now().Before(tc.renewAt) {
			t := tc.token
			tc.mu.Unlock()
			return t, nil
		}
		if f := tc.inflight; f != nil {
			tc.mu.Unlock()
			select {
			case <-f.done:
				// The fetch ran on another caller's context: if that caller gave
				// up, this one (still live) fetches itself instead of failing.
				if f.err != nil && !(isContextErr(f.err) && ctx.Err() == nil) {
					return "", f.err
				}
				continue
			case <-ctx.Done():
				return "", fmt.Errorf("personio: waiting for token: %w", ctx.Err())
			}
		}
		f := &tokenFetch{done: make(chan struct{})}
		tc.inflight = f
		tc.mu.Unlock()

		tok, renewAt, err := c.fetchToken(ctx, gen)
		tc.mu.Lock()
		tc.inflight = nil
		if err == nil {
			tc.token, tc.renewAt = tok, renewAt
		}
		f.err = err
		close(f.done)
		tc.mu.Unlock()
		return tok, err
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// renew drops the cached token of the generation, so the next call fetches one.
func (c *Client) renew(gen int) {
	tc := &c.tokens[gen]
	tc.mu.Lock()
	tc.token = ""
	tc.mu.Unlock()
}

// invalidate drops a token that Personio refused, unless another caller
// already replaced it.
func (c *Client) invalidate(gen int, tok string) {
	tc := &c.tokens[gen]
	tc.mu.Lock()
	if tc.token == tok {
		tc.token = ""
	}
	tc.mu.Unlock()
}

func (c *Client) fetchToken(ctx context.Context, gen int) (string, time.Time, error) {
	form := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}}
	var tok string
	var expiresIn float64
	if gen == 1 {
		var out struct {
			Data struct {
				Token     string  `json:"token"`
				ExpiresIn float64 `json:"expires_in"`
			} `json:"data"`
		}
		if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/auth", form: form, family: FamilyAuthV1}, &out); err != nil {
			return "", time.Time{}, err
		}
		tok, expiresIn = out.Data.Token, out.Data.ExpiresIn
	} else {
		form.Set("grant_type", "client_credentials")
		var out struct {
			AccessToken string  `json:"access_token"`
			ExpiresIn   float64 `json:"expires_in"`
		}
		if err := c.do(ctx, call{method: http.MethodPost, path: "/v2/auth/token", form: form, family: FamilyAuthV2}, &out); err != nil {
			return "", time.Time{}, err
		}
		tok, expiresIn = out.AccessToken, out.ExpiresIn
	}
	if tok == "" {
		return "", time.Time{}, fmt.Errorf("personio: auth v%d: response carried no token", gen)
	}
	if expiresIn <= 0 {
		expiresIn = 86400 // documented lifetime
	}
	life := time.Duration(expiresIn * float64(time.Second))
	margin := min(c.cfg.TokenRefreshMargin, life/10)
	c.log.DebugContext(ctx, "personio token issued", "generation", gen, "expires_in", life)
	return tok, c.cfg.Now().Add(life - margin), nil
}

// ---- requests ----

type call struct {
	method string
	path   string // "/v1/…" or an absolute same-origin URL (pagination links)
	query  url.Values
	body   any        // JSON body
	form   url.Values // form body (auth)
	gen    int        // token generation; 0 = unauthenticated
	family Family
}

// idempotent reports whether repeating the request cannot duplicate effects.
// The auth POSTs create nothing (the same credentials get the same stable
// token), and Personio answers fast auth calls with 500s now and then (notes
// §9.3), so they are retried like reads.
func (r call) idempotent() bool {
	return r.method != http.MethodPost || r.family == FamilyAuthV1 || r.family == FamilyAuthV2
}

// do performs one logical request with pacing, auth, retries and decoding
// of a 2xx body into out (nil: discard).
func (c *Client) do(ctx context.Context, r call, out any) error {
	target, err := c.resolve(r.path)
	if err != nil {
		return err
	}
	if len(r.query) > 0 {
		target.RawQuery = r.query.Encode()
	}
	var payload []byte
	contentType := ""
	switch {
	case r.form != nil:
		payload, contentType = []byte(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.body != nil:
		payload, err = json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("personio: encode %s %s: %w", r.method, target.Path, err)
		}
		contentType = "application/json"
	}
	lim := c.pacer.limiters[r.family]
	refreshed, ambiguous := false, false
	for attempt := 0; ; attempt++ {
		if err := lim.wait(ctx); err != nil {
			return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, err)
		}
		tok := ""
		if r.gen > 0 {
			if tok, err = c.token(ctx, r.gen); err != nil {
				return err
			}
		}
		status, header, body, err := c.send(ctx, r.method, target, contentType, payload, tok)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, ctx.Err())
			}
			// A POST may have been processed before the connection broke;
			// repeating it could create a duplicate, so only reads and
			// idempotent writes are retried.
			if r.idempotent() && attempt < c.cfg.MaxRetries && !permanent(err) {
				ambiguous = true
				c.log.WarnContext(ctx, "personio transport error, retrying", "method", r.method, "path", target.Path, "attempt", attempt+1, "error", err.Error())
				if err := c.backoff(ctx, attempt, nil); err != nil {
					return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, err)
				}
				continue
			}
			return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, err)
		}
		rl := parseRateLimit(header)
		lim.adapt(rl, status == http.StatusTooManyRequests)
		c.log.DebugContext(ctx, "personio response", "method", r.method, "path", target.Path, "status", status, "attempt", attempt+1)
		if status >= 200 && status < 300 {
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("personio: decode %s %s: %w", r.method, target.Path, err)
			}
			return nil
		}
		perr := ParseError(status, r.method, target.Path, body)
		perr.RateLimit = rl
		switch {
		case (status == http.StatusUnauthorized || status == http.StatusForbidden) && r.gen > 0 && !refreshed:
			// The token may have expired or been revoked early: renew once.
			refreshed = true
			c.invalidate(r.gen, tok)
			continue
		case status == http.StatusTooManyRequests && attempt < c.cfg.MaxRetries:
			// A 429 was not processed: safe to repeat, even a POST.
			c.log.WarnContext(ctx, "personio rate limited, backing off", "method", r.method, "path", target.Path, "attempt", attempt+1)
			if err := c.backoff(ctx, attempt, rl); err != nil {
				return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, err)
			}
			continue
		case perr.Retryable && r.idempotent() && attempt < c.cfg.MaxRetries:
			ambiguous = true
			c.log.WarnContext(ctx, "personio server error, retrying", "method", r.method, "path", target.Path, "status", status, "attempt", attempt+1)
			if err := c.backoff(ctx, attempt, rl); err != nil {
				return fmt.Errorf("personio: %s %s: %w", r.method, target.Path, err)
			}
			continue
		case status == http.StatusNotFound && r.method == http.MethodDelete && ambiguous:
			// An earlier attempt probably deleted it before failing to answer.
			return nil
		}
		return perr
	}
}

func (c *Client) send(ctx context.Context, method string, target *url.URL, contentType string, payload []byte, tok string) (int, http.Header, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target.String(), rdr)
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.PartnerID != "" {
		req.Header.Set("X-Personio-Partner-ID", c.cfg.PartnerID)
	}
	if c.cfg.AppID != "" {
		req.Header.Set("X-Personio-App-ID", c.cfg.AppID)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// stripURL removes the URL (with its query, which may hold e-mail
// addresses) from transport errors; callers add method and path.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// resolve turns a path or a pagination link into a URL on the base origin.
// Links to other origins are refused: a token must never leave Personio.
func (c *Client) resolve(p string) (*url.URL, error) {
	u, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("personio: invalid link %q: %w", p, err)
	}
	if u.IsAbs() {
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nil, fmt.Errorf("personio: refusing link to another origin %s://%s", u.Scheme, u.Host)
		}
		return u, nil
	}
	out := *c.base
	out.Path = strings.TrimRight(c.base.Path, "/") + "/" + strings.TrimLeft(u.Path, "/")
	out.RawQuery = u.RawQuery
	return &out, nil
}

// backoff sleeps base·2^attempt with full jitter (capped), and at least as
// long as the rate-limit headers say one token takes to replenish.
func (c *Client) backoff(ctx context.Context, attempt int, rl *RateLimitInfo) error {
	d := c.cfg.BackoffBase << min(attempt, 20)
	if d > c.cfg.BackoffMax || d <= 0 {
		d = c.cfg.BackoffMax
	}
	d = d/2 + rand.N(d/2+1)
	if rl != nil && rl.ReplenishRate > 0 && rl.Remaining <= 0 {
		need := max(rl.RequestedTokens, 1)
		// The headers come from the server the tenant's base URL names: a tiny rate
		// must not turn into a pause of hours.
		w := min(time.Duration(float64(need)/rl.ReplenishRate*float64(time.Second)), MaxHeaderPause)
		if w > d {
			d = w
		}
	}
	// A wait that ends after the caller's deadline cannot lead to an answer: say so at
	// once instead of sleeping the rest of the invocation away.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("the next attempt would be due in %s, after the deadline of this call: %w", d.Round(time.Second), context.DeadlineExceeded)
	}
	return sleep(ctx, d)
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
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- client-side rate limiter ----

// MaxHeaderPause bounds any pause derived from the x-ratelimit-* headers: a wait before a
// retry, and the time one token takes at an adapted (lowered) pace.
const MaxHeaderPause = 60 * time.Second

// minAdaptedRate is the slowest pace the headers can impose: one token per
// MaxHeaderPause.
var minAdaptedRate = 1 / MaxHeaderPause.Seconds()

// Pacer is the set of per-family token buckets of one Personio company (Personio limits
// per endpoint). A client makes its own unless Config.Pacer shares one.
type Pacer struct {
	limiters map[Family]*limiter
}

// NewPacer returns buckets for DefaultLimits overridden by limits. now is the clock
// (nil: time.Now); tests inject one so that no test measures time.
func NewPacer(limits map[Family]Limit, now func() time.Time) *Pacer {
	if now == nil {
		now = time.Now
	}
	all := DefaultLimits()
	for f, l := range limits {
		all[f] = l
	}
	p := &Pacer{limiters: map[Family]*limiter{}}
	for f, l := range all {
		p.limiters[f] = newLimiter(l, now)
	}
	return p
}

// Delay reports how long a request of family f sent now would wait, without taking a
// token (tests, logs).
func (p *Pacer) Delay(f Family) time.Duration {
	l := p.limiters[f]
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.now())
	if l.rate <= 0 || l.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
}

// Observe feeds the rate-limit headers of a response to family f's bucket, as the client
// does after every response (throttled: the response was a 429).
func (p *Pacer) Observe(f Family, h http.Header, throttled bool) {
	p.limiters[f].adapt(parseRateLimit(h), throttled)
}

// limiter is a token bucket that hands out reservations, so concurrent
// callers queue fairly instead of stampeding when tokens return.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	// limit is the configured pace, the ceiling of what the headers may set.
	limit Limit
}

func newLimiter(l Limit, now func() time.Time) *limiter {
	b := float64(max(l.Burst, 1))
	return &limiter{rate: l.PerSecond, burst: b, tokens: b, last: now(), now: now, limit: l}
}

func (l *limiter) refill(now time.Time) {
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	if l.rate <= 0 {
		l.mu.Unlock()
		return ctx.Err()
	}
	l.refill(l.now())
	l.tokens--
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if err := sleep(ctx, d); err != nil {
		l.mu.Lock()
		l.tokens++ // hand the reservation back
		l.mu.Unlock()
		return err
	}
	return nil
}

// adapt sets the pace to what the server announces, never above the configured limit and
// never below one token per MaxHeaderPause, and, after a 429, empties the bucket so
// queued callers wait for real tokens. The pace follows the server back up once it
// announces more again: the pacer lives as long as the process, and a storm of a minute
// must not slow a warm function's later runs for good.
func (l *limiter) adapt(rl *RateLimitInfo, throttled bool) {
	if l == nil || (rl == nil && !throttled) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.now())
	if rl != nil && rl.ReplenishRate > 0 {
		l.rate = max(rl.ReplenishRate, minAdaptedRate)
		if l.limit.PerSecond > 0 {
			l.rate = min(l.rate, l.limit.PerSecond)
		}
		l.burst = float64(max(l.limit.Burst, 1))
		if rl.BurstCapacity > 0 && float64(rl.BurstCapacity) < l.burst {
			l.burst = float64(rl.BurstCapacity)
		}
		l.tokens = min(l.tokens, l.burst)
	}
	if throttled && l.tokens > 0 {
		l.tokens = 0
	}
}
