package timesync

import (
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// ZoneTTL is how long a targeted run takes the account's time zone from the process's
// cache instead of asking Staffomatic (one call of its few per hint): a zone changed in
// the account applies to hints after at most this long, and every full or partial run
// (every 10 minutes) reads it afresh and refreshes the cache.
const ZoneTTL = 10 * time.Minute

// maxZones bounds the cache: the tenant whose zone was read longest ago is forgotten
// first (a few dozen bytes each; a forgotten tenant's next hint asks Staffomatic again).
const maxZones = 1000

// zones caches the Staffomatic account time zone per tenant and account (base URL and
// subdomain: a tenant connected to another account does not get the old one's zone).
type zones struct {
	mu  sync.Mutex
	max int
	m   map[string]zone
}

type zone struct {
	loc  *time.Location
	read time.Time
}

func newZones(max int) *zones { return &zones{max: max, m: map[string]zone{}} }

func zoneKey(t domain.Tenant) string {
	return t.ID + "\x00" + t.Staffomatic.BaseURL + "\x00" + t.Staffomatic.Subdomain
}

// get returns the tenant's zone if it was read less than ZoneTTL before now.
func (z *zones) get(t domain.Tenant, now time.Time) *time.Location {
	z.mu.Lock()
	defer z.mu.Unlock()
	e, ok := z.m[zoneKey(t)]
	if !ok || now.Sub(e.read) >= ZoneTTL || now.Before(e.read) {
		return nil
	}
	return e.loc
}

// put remembers the tenant's zone as read at now, forgetting the oldest read entry when
// the cache is full.
func (z *zones) put(t domain.Tenant, loc *time.Location, now time.Time) {
	if loc == nil {
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	k := zoneKey(t)
	if _, ok := z.m[k]; !ok && len(z.m) >= z.max {
		oldest, first := "", true
		for key, e := range z.m {
			if first || e.read.Before(z.m[oldest].read) {
				oldest, first = key, false
			}
		}
		delete(z.m, oldest)
	}
	z.m[k] = zone{loc: loc, read: now}
}
