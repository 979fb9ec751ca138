package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
)

// TestMappingsByPrefixAndDelete: a prefix query reads only the mappings of its tenant and
// kind whose source id begins with it, over several pages' worth; DeleteMappings removes
// exactly the ids named (more than one batch, a repeated id and one never stored included).
func TestMappingsByPrefixAndDelete(t *testing.T) {
	db, srv := awstest.MiniDyn(t)
	s, _ := newStore(t, backend{db: db, mini: srv})
	ctx := context.Background()
	var ms []domain.Mapping
	for _, id := range []string{"personio/a", "personio/b", "staffomatic/1", "switch|personio", "category|1|x"} {
		ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindAbsence, SourceID: id, State: domain.StateDeleted})
	}
	for i := range 60 {
		ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindAbsence, SourceID: "personio/h" + string(rune('A'+i/26)) + string(rune('a'+i%26)), State: domain.StateDeleted})
	}
	ms = append(ms, domain.Mapping{Tenant: "other", Kind: domain.KindAbsence, SourceID: "personio/a", State: domain.StateDeleted},
		domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: "personio/u", State: domain.StateDeleted})
	if err := s.PutMappings(ctx, ms); err != nil {
		t.Fatal(err)
	}
	ids := func(ms []domain.Mapping) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.SourceID)
		}
		return out
	}
	for _, tc := range []struct {
		prefix string
		want   int
	}{{"personio/", 62}, {"staffomatic/", 1}, {"switch|", 1}, {"category|", 1}, {"setting|", 0}, {"personio/h", 60}} {
		got, err := s.LoadMappingsWithPrefix(ctx, "acme", domain.KindAbsence, tc.prefix)
		if err != nil || len(got) != tc.want {
			t.Fatalf("prefix %q: %d mappings %q, %v; want %d", tc.prefix, len(got), ids(got), err, tc.want)
		}
	}
	if _, err := s.LoadMappingsWithPrefix(ctx, "acme", domain.KindAbsence, ""); err == nil {
		t.Error("an empty prefix was accepted")
	}
	del := []string{"personio/a", "personio/a", "personio/never"}
	hs, _ := s.LoadMappingsWithPrefix(ctx, "acme", domain.KindAbsence, "personio/h")
	del = append(del, ids(hs)...)
	if err := s.DeleteMappings(ctx, "acme", domain.KindAbsence, del); err != nil {
		t.Fatal(err)
	}
	left, err := s.LoadMappings(ctx, "acme", domain.KindAbsence)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(left), []string{"category|1|x", "personio/b", "staffomatic/1", "switch|personio"}; !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
	if other, err := s.GetMapping(ctx, "other", domain.KindAbsence, "personio/a"); err != nil || other.SourceID != "personio/a" {
		t.Errorf("another tenant's mapping: %+v, %v", other, err)
	}
	if u, err := s.LoadMappings(ctx, "acme", domain.KindUser); err != nil || len(u) != 1 {
		t.Errorf("the user mappings: %d, %v", len(u), err)
	}
}
