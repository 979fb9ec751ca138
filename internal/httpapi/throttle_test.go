package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestBuckets: a bucket gives Burst at once, refills one every Every up to Burst, says how
// long until the next token, and the set of buckets never holds more than its cap (the
// least recently used tenant is forgotten first).
func TestBuckets(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	b := newBuckets(Limit{Burst: 2, Every: 10 * time.Second}, DefaultSyncNowLimit, 3, "requests")
	steps := []struct {
		tenant string
		at     time.Duration
		ok     bool
		wait   time.Duration
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, false, 10 * time.Second},
		{"a", 4 * time.Second, false, 6 * time.Second},
		{"a", 10 * time.Second, true, 0},
		{"b", 10 * time.Second, true, 0}, // another tenant has its own bucket
		{"a", 10 * time.Second, false, 10 * time.Second},
		{"a", time.Hour, true, 0}, // refilled to the burst, not beyond
		{"a", time.Hour, true, 0},
		{"a", time.Hour, false, 10 * time.Second},
	}
	for i, s := range steps {
		ok, wait := b.take(s.tenant, t0.Add(s.at))
		if ok != s.ok || wait != s.wait {
			t.Errorf("step %d (%s at %s): %v %s, want %v %s", i, s.tenant, s.at, ok, wait, s.ok, s.wait)
		}
	}
	for i := range 10 {
		b.take(fmt.Sprint("t", i), t0)
	}
	if n := b.len(); n != 3 {
		t.Fatalf("%d buckets kept, cap 3", n)
	}
	// "a" was forgotten (least recently used) and starts with a full bucket again.
	if ok, _ := b.take("a", t0.Add(time.Hour)); !ok {
		t.Error("a forgotten tenant is still throttled")
	}
	if def := newBuckets(Limit{}, DefaultWebhooksLimit, 0, "x"); def.limit != DefaultWebhooksLimit || def.max != DefaultThrottledTenants {
		t.Errorf("zero limits: %+v %d", def.limit, def.max)
	}
}

// TestThrottlePerTenant: a flood of Sync Now requests or webhook deliveries of one tenant
// is answered 429 with Retry-After and a message saying the limit, and the other tenant's
// requests of the same kind go through meanwhile.
func TestThrottlePerTenant(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) {
		o.Now = func() time.Time { return now }
		o.Throttle = Throttle{SyncNow: Limit{Burst: 3, Every: time.Minute}, Webhooks: Limit{Burst: 4, Every: 30 * time.Second}}
	})
	flood, other := e.createDemo(t), e.createDemo(t)
	// Each request of a tenant asks for the next phase: a second run of a phase still
	// queued would be a 409 (run_in_progress), not what this test is about.
	asked := map[string]int{}
	syncNow := func(c TenantCreated) resp {
		ph := domain.Phases[asked[c.TenantID]%len(domain.Phases)]
		asked[c.TenantID]++
		return e.do(t, "POST", "/v1/tenants/"+c.TenantID+"/sync/"+string(ph), c.AdminToken, `{"dry_run":true}`)
	}
	delivery := 0
	webhook := func(c TenantCreated) resp {
		delivery++
		body := fmt.Sprintf(`{"event_name":"person.updated","occurred_at":"2026-12-07T01:00:%02dZ","payload":{"id":"1016"}}`, delivery)
		return e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", body, "Authorization", c.WebhookSecrets.PersonioToken)
	}
	for _, kind := range []struct {
		name    string
		send    func(TenantCreated) resp
		burst   int
		ok      int
		message string
		retry   int
	}{
		{"sync now", syncNow, 3, http.StatusAccepted, "too many Sync Now requests for tenant " + flood.TenantID + ": 3 at once, then one every 1m0s", 60},
		{"webhooks", webhook, 4, http.StatusAccepted, "too many webhook deliveries for tenant " + flood.TenantID + ": 4 at once, then one every 30s", 30},
	} {
		t.Run(kind.name, func(t *testing.T) {
			for i := range kind.burst {
				if r := kind.send(flood); r.Code != kind.ok {
					t.Fatalf("request %d within the burst: %d %s", i+1, r.Code, r.Body)
				}
			}
			for range 5 {
				r := kind.send(flood)
				var b struct{ Error Error }
				r.json(t, &b)
				if r.Code != http.StatusTooManyRequests || b.Error.Code != "rate_limited" || !strings.Contains(b.Error.Message, kind.message) {
					t.Fatalf("flood: %d %s", r.Code, r.Body)
				}
				if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s != kind.retry {
					t.Fatalf("Retry-After %q, want %d", r.Header.Get("Retry-After"), kind.retry)
				}
			}
			for i := range kind.burst {
				if r := kind.send(other); r.Code != kind.ok {
					t.Fatalf("the other tenant's request %d during the flood: %d %s", i+1, r.Code, r.Body)
				}
			}
		})
	}
}
