package vendors

import (
	"container/list"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// DefaultRegistrySize bounds the limiters a process keeps: far more than the tenants one
// Lambda instance serves between cold starts, and small enough that a process serving
// every tenant of a large installation (the local runner, a warm API instance) never
// grows without bound.
const DefaultRegistrySize = 1024

// MaxPause caps a pause that a vendor's response headers impose (Staffomatic's
// X-RateLimit-Reset and Retry-After, Personio's x-ratelimit-*). The headers come from
// whatever host a tenant's base URL names; a reset in the year 2100 once stalled a
// tenant's runs for good.
const MaxPause = 60 * time.Second

// Registry holds the rate limiters of a process, one per (vendor, tenant, vendor host):
// every client of one tenant's account shares the budget (the API's checks and the
// phases of the local runner), and a pause one tenant's server asks for never delays
// another tenant. It keeps at most its size in entries, dropping the least recently
// used; a dropped entry's clients keep their limiter, new clients get a fresh one.
type Registry struct {
	mu   sync.Mutex
	size int
	now  func() time.Time
	lru  *list.List // of *regEntry, most recently used first
	byID map[regKey]*list.Element
	// personioLimits override Personio's documented limits (tests and benchmarks that
	// scale the simulator's limits; nil in production).
	personioLimits map[personio.Family]personio.Limit
	// staffomaticLimit and staffomaticWindow override Staffomatic's documented 500
	// requests per 10 s likewise (zero in production).
	staffomaticLimit  int
	staffomaticWindow time.Duration
}

// WithPersonioLimits makes the registry's Personio pacers use limits instead of
// Personio's documented ones, for tests and benchmarks whose simulator allows more; it
// must be set before the registry is used.
func (r *Registry) WithPersonioLimits(limits map[personio.Family]personio.Limit) *Registry {
	r.personioLimits = limits
	return r
}

// WithStaffomaticLimit makes the registry's Staffomatic limiters allow limit requests per
// window instead of the documented 500 per 10 s, for tests and benchmarks whose simulator
// is scaled down likewise; it must be set before the registry is used.
func (r *Registry) WithStaffomaticLimit(limit int, window time.Duration) *Registry {
	r.staffomaticLimit, r.staffomaticWindow = limit, window
	return r
}

type regKey struct {
	system domain.System
	tenant string
	host   string
}

type regEntry struct {
	key            regKey
	staffomatic    *staffomatic.RateLimiter
	personio       *personio.Pacer
	personioTokens *personio.TokenStore
}

// NewRegistry returns a registry of at most size entries (<= 0: DefaultRegistrySize).
// now is the limiters' clock (nil: time.Now); tests inject one.
func NewRegistry(size int, now func() time.Time) *Registry {
	if size <= 0 {
		size = DefaultRegistrySize
	}
	if now == nil {
		now = time.Now
	}
	return &Registry{size: size, now: now, lru: list.New(), byID: map[regKey]*list.Element{}}
}

// Staffomatic returns the limiter of tenant's Staffomatic account at host: the documented
// 500 requests per 10 s, pauses from headers capped at MaxPause.
func (r *Registry) Staffomatic(tenant, host string) *staffomatic.RateLimiter {
	return r.get(regKey{domain.SystemStaffomatic, tenant, host}).staffomatic
}

// Personio returns the per-endpoint pacer of tenant's Personio company at host.
func (r *Registry) Personio(tenant, host string) *personio.Pacer {
	return r.get(regKey{domain.SystemPersonio, tenant, host}).personio
}

// PersonioTokens returns the access tokens of tenant's Personio company at host, shared
// by its clients like the pacer: a run, and each webhook's targeted run, reuses the token
// an earlier run of the process fetched instead of asking auth endpoints that allow a few
// requests a second.
func (r *Registry) PersonioTokens(tenant, host string) *personio.TokenStore {
	return r.get(regKey{domain.SystemPersonio, tenant, host}).personioTokens
}

// Len is the number of entries kept.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

func (r *Registry) get(k regKey) *regEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byID[k]; ok {
		r.lru.MoveToFront(el)
		return el.Value.(*regEntry)
	}
	e := &regEntry{key: k}
	switch k.system {
	case domain.SystemStaffomatic:
		limit, window := 500, 10*time.Second
		if r.staffomaticLimit > 0 && r.staffomaticWindow > 0 {
			limit, window = r.staffomaticLimit, r.staffomaticWindow
		}
		e.staffomatic = staffomatic.NewRateLimiter(limit, window).WithClock(r.now).WithMaxPause(MaxPause)
	default:
		e.personio = personio.NewPacer(r.personioLimits, r.now)
		e.personioTokens = personio.NewTokenStore()
	}
	r.byID[k] = r.lru.PushFront(e)
	for r.lru.Len() > r.size {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.byID, old.Value.(*regEntry).key)
	}
	return e
}
