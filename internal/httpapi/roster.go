package httpapi

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
)

// roster is what one full read of both vendors gives set-up step 3: every Personio
// employee (sorted by id) with the attributes the credential lacks, and every Staffomatic
// user. It is read-only once built: cached rosters are shared by concurrent requests.
type roster struct {
	employees []domain.Employee
	missing   []personio.RequiredAttribute
	users     []domain.User
}

// size is the roster's weight in the cache's budget: its records.
func (r roster) size() int { return len(r.employees) + len(r.users) }

// Step 3 lists employees in pages (the console reads 10 pages of 500 at 5,000 employees),
// and each page needs the whole matching, which needs a full read of both vendors. The
// first page reads them and keeps the roster here; the pages that follow it (a request
// with a cursor) reuse it for rosterTTL, so listing a company costs one read of each
// vendor instead of one per page, and every page comes from the same read. A first page
// (and the checks) always read afresh, so what an admin changed in Personio shows on the
// next listing. Mappings and the selection are read from the store for every page.
const (
	rosterTTL = time.Minute
	// rosterMaxRecords bounds the records (employees plus users) kept for all tenants of
	// a process together, a few tens of MB: a company of 5,000 employees and 5,000 users
	// fits; a larger one is not cached and each of its pages reads the vendors, as before.
	rosterMaxRecords = 15000
)

// rosterCache keeps at most one roster per tenant, under the version of the credentials it
// was read with (credentialVersion): a roster read before a credentials change or a
// hand-over is never served after it, and no tenant ever reads another's. The least
// recently used rosters go first when the record budget is spent.
type rosterCache struct {
	mu         sync.Mutex
	ttl        time.Duration
	maxRecords int
	records    int
	order      *list.List // of *rosterEntry, most recently used first
	byTenant   map[string]*list.Element
}

type rosterEntry struct {
	tenant, version string
	at              time.Time
	roster          roster
}

func newRosterCache(ttl time.Duration, maxRecords int) *rosterCache {
	return &rosterCache{ttl: ttl, maxRecords: maxRecords, order: list.New(), byTenant: map[string]*list.Element{}}
}

// get returns tenant's roster read with credentials version at most ttl before now.
func (c *rosterCache) get(tenant, version string, now time.Time) (roster, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byTenant[tenant]
	if !ok {
		return roster{}, false
	}
	e := el.Value.(*rosterEntry)
	if e.version != version || now.Sub(e.at) > c.ttl || now.Before(e.at) {
		c.remove(el)
		return roster{}, false
	}
	c.order.MoveToFront(el)
	return e.roster, true
}

// put keeps r as tenant's roster, replacing the one it had, and drops the least recently
// used rosters until the budget holds. A roster larger than the whole budget is not kept.
func (c *rosterCache) put(tenant, version string, now time.Time, r roster) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byTenant[tenant]; ok {
		c.remove(el)
	}
	if r.size() > c.maxRecords {
		return
	}
	c.byTenant[tenant] = c.order.PushFront(&rosterEntry{tenant: tenant, version: version, at: now, roster: r})
	c.records += r.size()
	for c.records > c.maxRecords {
		c.remove(c.order.Back())
	}
}

func (c *rosterCache) remove(el *list.Element) {
	e := el.Value.(*rosterEntry)
	c.order.Remove(el)
	delete(c.byTenant, e.tenant)
	c.records -= e.roster.size()
}

// len is how many tenants' rosters are kept.
func (c *rosterCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// credentialVersion identifies what a roster was read with: the sealed credentials (sealed
// afresh, with a new nonce, by every credentials change and hand-over) and the vendors'
// connection data.
func credentialVersion(t domain.Tenant) string {
	h := sha256.New()
	for _, s := range []string{t.Sealed.Scheme, string(t.Sealed.Blob), t.Personio.ClientID, t.Personio.BaseURL, t.Personio.PartnerID,
		t.Personio.AppID, t.Staffomatic.BaseURL, t.Staffomatic.Subdomain, t.Staffomatic.AdminEmail} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}
