package timesync

import (
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

func TestZones(t *testing.T) {
	t0 := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	berlin, tokyo := berlin(t), time.FixedZone("Tokyo", 9*3600)
	a := domain.Tenant{ID: "a", Staffomatic: domain.Staffomatic{Subdomain: "acme"}}
	moved := a
	moved.Staffomatic.Subdomain = "acme-new" // connected to another account
	b := domain.Tenant{ID: "b", Staffomatic: domain.Staffomatic{Subdomain: "acme"}}
	z := newZones(2)
	z.put(a, berlin, t0)
	cases := []struct {
		name   string
		tenant domain.Tenant
		at     time.Time
		want   *time.Location
	}{
		{"just read", a, t0, berlin},
		{"within the TTL", a, t0.Add(ZoneTTL - time.Second), berlin},
		{"at the TTL", a, t0.Add(ZoneTTL), nil},
		{"a clock before the read", a, t0.Add(-time.Second), nil},
		{"another account of the tenant", moved, t0, nil},
		{"another tenant of the same subdomain", b, t0, nil},
	}
	for _, c := range cases {
		if got := z.get(c.tenant, c.at); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// A refresh replaces the zone and its time; nil is not stored.
	z.put(a, tokyo, t0.Add(time.Minute))
	z.put(b, nil, t0)
	if got := z.get(a, t0.Add(ZoneTTL)); got != tokyo || z.get(b, t0) != nil {
		t.Errorf("after the refresh: %v, b %v", got, z.get(b, t0))
	}
	// Full: the entry read longest ago goes.
	z.put(b, berlin, t0.Add(2*time.Minute))
	z.put(moved, tokyo, t0.Add(3*time.Minute))
	if len(z.m) != 2 || z.get(a, t0.Add(3*time.Minute)) != nil || z.get(b, t0.Add(3*time.Minute)) != berlin || z.get(moved, t0.Add(3*time.Minute)) != tokyo {
		t.Errorf("after eviction: %d entries %v", len(z.m), z.m)
	}
}
