package httpapi

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limit is a token bucket: Burst requests at once, then one every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Throttle holds the per-tenant limits of the API process. API Gateway's stage and route
// limits bound the whole API; these keep one tenant's flood of Sync Now requests or
// webhook deliveries from using them up for the others.
type Throttle struct {
	// SyncNow limits POST /v1/tenants/{id}/sync/{phase} per tenant (default 10 at once,
	// then one every 6 s).
	SyncNow Limit
	// Webhooks limits the deliveries of both vendors per tenant, counted once
	// authenticated (default 20 at once, then 2 a second), so that nobody without the
	// tenant's webhook credentials can spend its allowance.
	Webhooks Limit
	// Tenants bounds how many tenants' buckets are kept (default 10,000): the least recently
	// used is forgotten first, and a forgotten tenant starts again with a full bucket.
	Tenants int
}

// Default limits; see Throttle.
var (
	DefaultSyncNowLimit  = Limit{Burst: 10, Every: 6 * time.Second}
	DefaultWebhooksLimit = Limit{Burst: 20, Every: 500 * time.Millisecond}
)

// DefaultThrottledTenants bounds the buckets kept per limit: 10,000 tenants of about
// 100 bytes each.
const DefaultThrottledTenants = 10000

// buckets is a size-capped LRU of per-tenant token buckets. One mutex guards it: a take
// is a map lookup and a little arithmetic, far below the cost of the request it guards.
type buckets struct {
	mu    sync.Mutex
	limit Limit
	max   int
	what  string // the requests limited, for the message
	order *list.List
	byKey map[string]*list.Element
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time
}

func newBuckets(l, def Limit, max int, what string) *buckets {
	if l.Burst <= 0 || l.Every <= 0 {
		l = def
	}
	if max <= 0 {
		max = DefaultThrottledTenants
	}
	return &buckets{limit: l, max: max, what: what, order: list.New(), byKey: map[string]*list.Element{}}
}

// take spends one token of tenant's bucket at now. Without one it returns how long until
// the next token.
func (b *buckets) take(tenant string, now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, found := b.byKey[tenant]
	if !found {
		if b.order.Len() >= b.max {
			oldest := b.order.Back()
			b.order.Remove(oldest)
			delete(b.byKey, oldest.Value.(*bucket).key)
		}
		el = b.order.PushFront(&bucket{key: tenant, tokens: float64(b.limit.Burst), at: now})
		b.byKey[tenant] = el
	} else {
		b.order.MoveToFront(el)
	}
	bk := el.Value.(*bucket)
	if elapsed := now.Sub(bk.at); elapsed > 0 {
		bk.tokens = math.Min(float64(b.limit.Burst), bk.tokens+float64(elapsed)/float64(b.limit.Every))
	}
	bk.at = now
	if bk.tokens >= 1 {
		bk.tokens--
		return true, 0
	}
	return false, time.Duration((1 - bk.tokens) * float64(b.limit.Every))
}

// len is how many tenants' buckets are kept.
func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.order.Len()
}

// allow spends a token of tenant's bucket or answers 429 with Retry-After (whole seconds,
// at least 1) and a message saying what the limit is.
func (b *buckets) allow(w http.ResponseWriter, tenant string, now time.Time) error {
	ok, wait := b.take(tenant, now)
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: fmt.Sprintf("too many %s for tenant %s: %d at once, then one every %s; try again in %d s (other tenants are not affected)",
			b.what, tenant, b.limit.Burst, b.limit.Every, secs)}
}
