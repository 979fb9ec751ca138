package httpapi

import (
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestNewTenantID: every generated id is valid, readable and carries a full random
// suffix — many draws, because a suffix that is sometimes short once crashed creation.
func TestNewTenantID(t *testing.T) {
	cases := []struct{ name, prefix string }{
		{"Demo Gastro GmbH", "demo-gastro-gmbh-"},
		{"Bäckerei Müller & Söhne", "baeckerei-mueller-soehne-"},
		{"Straße 7", "strasse-7-"},
		{"!!!", "tenant-"},
		{"日本", "tenant-"},
		{strings.Repeat("a", 80), strings.Repeat("a", 40) + "-"},
		{strings.Repeat("ab ", 30), ""},
	}
	for _, c := range cases {
		seen := map[string]bool{}
		for range 2000 {
			id := newTenantID(c.name)
			if err := domain.ValidateTenantID(id); err != nil {
				t.Fatalf("%q: %v", c.name, err)
			}
			if !strings.HasPrefix(id, c.prefix) || len(id)-strings.LastIndex(id, "-") != 7 || len(id) > 47 {
				t.Fatalf("%q: id %q, want prefix %q and a 6-character suffix", c.name, id, c.prefix)
			}
			seen[id] = true
		}
		if len(seen) < 1990 {
			t.Errorf("%q: only %d distinct ids in 2000", c.name, len(seen))
		}
	}
}
