// Package vendors is the one builder of Personio and Staffomatic clients: the admin API and
// every sync phase, in Lambda and in the local runner, get their clients here, so that all
// of them send one User-Agent, retry by one policy, count their calls per run, share rate
// limits per tenant (never across tenants), follow no redirects, and in a deployed stack
// reach only the vendors' hosts over https, checked on the resolved address at connect
// time (Policy).
//
// It imports no sync package; the phases and the API import it.
package vendors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// UserAgent identifies staffsync to both vendors (Staffomatic answers 400 without one).
const UserAgent = "staffsync (Personio-Staffomatic sync; https://github.com/staffsync/staffsync)"

// DefaultTimeout bounds one HTTP exchange of a client.
const DefaultTimeout = 60 * time.Second

// Options configure a Builder.
type Options struct {
	// Policy says which URLs and addresses may be reached. The zero Policy is a deployed
	// stack's: only https to the vendors' production hosts.
	Policy Policy
	Log    *slog.Logger
	// PersonioBaseURL and StaffomaticBaseURL replace a tenant's empty base URL (the
	// simulators of tests); empty: the vendors' production APIs.
	PersonioBaseURL    string
	StaffomaticBaseURL string
	// MaxRetries is how often a failed request is repeated (0: the clients' defaults,
	// 5 and 4; negative: never). The API sets it low because API Gateway ends a request
	// at 29 s; the phases keep the defaults.
	MaxRetries int
	// Timeout bounds one HTTP exchange (default DefaultTimeout).
	Timeout time.Duration
	// Transport replaces the network transport (tests that intercept calls). The URL
	// check of Policy still applies; the connect-time address check is the default
	// transport's.
	Transport http.RoundTripper
	// Limiters are the process's rate limiters (nil: a registry of its own, with
	// DefaultRegistrySize entries).
	Limiters *Registry
}

// Builder builds vendor clients. It is safe for concurrent use; build one per process and
// share it, so its limiters and connections are shared too.
type Builder struct {
	o         Options
	log       *slog.Logger
	transport map[domain.System]http.RoundTripper
}

// New returns a builder.
func New(o Options) *Builder {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Limiters == nil {
		o.Limiters = NewRegistry(0, nil)
	}
	b := &Builder{o: o, log: o.Log, transport: map[domain.System]http.RoundTripper{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	for _, sys := range []domain.System{domain.SystemPersonio, domain.SystemStaffomatic} {
		next := o.Transport
		if next == nil {
			next = newTransport(o.Policy, sys)
		}
		b.transport[sys] = guard{policy: o.Policy, system: sys, next: next}
	}
	return b
}

// WithLog returns a builder that logs to log and shares b's transports and limiters, for
// a caller with a logger of its own (a phase harness, the local runner's API).
func (b *Builder) WithLog(log *slog.Logger) *Builder {
	c := *b
	if log != nil {
		c.log = log
	}
	return &c
}

// Limiters returns the builder's registry.
func (b *Builder) Limiters() *Registry { return b.o.Limiters }

// Policy returns the builder's policy (the API checks base URLs with it before storing).
func (b *Builder) Policy() Policy { return b.o.Policy }

// newTransport is a connection pool for one vendor whose every connection passes the
// policy's address check at connect time. It uses no proxy from the environment: the
// checked address must be the vendor's, not a proxy's.
func newTransport(p Policy, sys domain.System) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: p.control(sys)}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// guard refuses a request whose URL the policy does not admit, before any connection.
type guard struct {
	policy Policy
	system domain.System
	next   http.RoundTripper
}

func (g guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := g.policy.CheckURL(g.system, r.URL.String()); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(r)
}

// counting counts every request a client sends, for the run summary's API calls.
type counting struct {
	next   http.RoundTripper
	system domain.System
	count  func(domain.System)
}

func (t counting) RoundTrip(r *http.Request) (*http.Response, error) {
	t.count(t.system)
	return t.next.RoundTrip(r)
}

// httpClient is sys's client: the guarded transport, counted when count is set, and no
// redirects: a 3xx comes back as the response, which the vendor clients turn into an
// error naming the vendor and status (a redirect could lead a token, or a read-back,
// to any host).
func (b *Builder) httpClient(sys domain.System, count func(domain.System)) *http.Client {
	rt := b.transport[sys]
	if count != nil {
		rt = counting{next: rt, system: sys, count: count}
	}
	return &http.Client{Transport: rt, Timeout: b.o.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// hostOf is the registry key's host of a base URL (lower case, with a port if any).
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// BaseURL is the base URL a client of sys uses for a tenant whose own base URL is
// tenantBase: that one, else the builder's (the simulators of tests and make run), else the
// vendor's production API. Error messages name its host.
func (b *Builder) BaseURL(sys domain.System, tenantBase string) string {
	if tenantBase != "" {
		return tenantBase
	}
	switch sys {
	case domain.SystemPersonio:
		return cmp.Or(b.o.PersonioBaseURL, personio.DefaultBaseURL)
	default:
		return cmp.Or(b.o.StaffomaticBaseURL, staffomatic.DefaultBaseURL)
	}
}

// Personio returns a client of tenant's Personio company. count, when set, is called
// for every request (the run's API-call figure).
func (b *Builder) Personio(tenant string, conn domain.Personio, clientID, clientSecret string, count func(domain.System)) (*personio.Client, error) {
	base := b.BaseURL(domain.SystemPersonio, conn.BaseURL)
	if err := b.o.Policy.CheckURL(domain.SystemPersonio, base); err != nil {
		return nil, err
	}
	retries := b.o.MaxRetries
	c, err := personio.New(personio.Config{BaseURL: base, ClientID: clientID, ClientSecret: clientSecret,
		PartnerID: conn.PartnerID, AppID: conn.AppID, UserAgent: UserAgent, MaxRetries: retries,
		HTTPClient: b.httpClient(domain.SystemPersonio, count), Logger: b.log,
		Pacer: b.o.Limiters.Personio(tenant, hostOf(base)), Tokens: b.o.Limiters.PersonioTokens(tenant, hostOf(base))})
	if err != nil {
		return nil, fmt.Errorf("Personio client: %w", err)
	}
	return c, nil
}

// Staffomatic returns a client of tenant's Staffomatic account.
func (b *Builder) Staffomatic(tenant string, conn domain.Staffomatic, creds staffomatic.Credentials, count func(domain.System)) (*staffomatic.Client, error) {
	base := b.BaseURL(domain.SystemStaffomatic, conn.BaseURL)
	if err := b.o.Policy.CheckURL(domain.SystemStaffomatic, base); err != nil {
		return nil, err
	}
	attempts := 0
	switch r := b.o.MaxRetries; {
	case r > 0:
		attempts = r + 1
	case r < 0:
		attempts = 1
	}
	c, err := staffomatic.New(staffomatic.Config{BaseURL: base, Subdomain: conn.Subdomain, Credentials: creds,
		UserAgent: UserAgent, HTTPClient: b.httpClient(domain.SystemStaffomatic, count), Logger: b.log,
		Limiter: b.o.Limiters.Staffomatic(tenant, hostOf(base)), MaxAttempts: attempts, MaxRetryAfter: MaxPause})
	if err != nil {
		return nil, fmt.Errorf("Staffomatic client: %w", err)
	}
	return c, nil
}

// Connect returns both clients of a tenant's run, from its connection data and its opened
// credentials; count (usually run.CountAPICall) is called for every request.
func (b *Builder) Connect(ctx context.Context, t domain.Tenant, creds domain.Credentials, count func(domain.System)) (*personio.Client, *staffomatic.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	p, err := b.Personio(t.ID, t.Personio, creds.PersonioClientID, creds.PersonioClientSecret, count)
	if err != nil {
		return nil, nil, err
	}
	s, err := b.Staffomatic(t.ID, t.Staffomatic,
		staffomatic.Credentials{Email: creds.StaffomaticEmail, Password: creds.StaffomaticPassword, Token: creds.StaffomaticToken}, count)
	if err != nil {
		return nil, nil, err
	}
	return p, s, nil
}

// IsRefused reports whether err is (or wraps) the policy's refusal of a URL or address.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
