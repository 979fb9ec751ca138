package absencesync

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
)

// TestMappingKeys: a partial or targeted run reads the mappings of the leading system's
// records it read, of the sources the markers of any record read name in the leading
// direction (adoption), and of the deleted sources; never those of the other direction
// by key (they are read whole) nor of a target record without a marker.
func TestMappingKeys(t *testing.T) {
	periods := []personio.AbsencePeriod{
		{ID: "p1"},
		{ID: "p2", Comment: "holiday " + Marker(SourceKey(domain.SystemStaffomatic, "7"), 0)},
		{ID: "p3", Comment: Marker(SourceKey(domain.SystemStaffomatic, "8"), 1)},
	}
	absences := []staffomatic.Absence{
		{ID: 7},
		{ID: 9, Justification: Marker(SourceKey(domain.SystemPersonio, "p1"), 0)},
		{ID: 10, Justification: Marker(SourceKey(domain.SystemPersonio, "p0"), 0)},
	}
	for _, tc := range []struct {
		name     string
		lead     domain.System
		periods  []personio.AbsencePeriod
		absences []staffomatic.Absence
		deleted  [][]string
		want     []string
	}{
		{"nothing read", domain.SystemPersonio, nil, nil, nil, nil},
		{"Personio leading", domain.SystemPersonio, periods, absences, [][]string{{"personio/gone"}, {"personio/p1"}},
			[]string{"personio/gone", "personio/p0", "personio/p1", "personio/p2", "personio/p3"}},
		{"Staffomatic leading", domain.SystemStaffomatic, periods, absences, [][]string{{"staffomatic/11"}},
			[]string{"staffomatic/10", "staffomatic/11", "staffomatic/7", "staffomatic/8", "staffomatic/9"}},
		{"only targets read", domain.SystemStaffomatic, periods, nil, nil, []string{"staffomatic/7", "staffomatic/8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mappingKeys(tc.lead, tc.periods, tc.absences, tc.deleted...)
			if !slices.Equal(got, tc.want) {
				t.Errorf("keys %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLoadMappingsNarrowsUpToTheBound: against minidyn, a narrowed load returns the
// mappings of its keys, every mapping of the other direction and every report key, and
// nothing else of the leading direction; all mappings in a full run and beyond
// MaxMappingKeys keys.
func TestLoadMappingsNarrowsUpToTheBound(t *testing.T) {
	ctx := context.Background()
	st := synctest.Store(t)
	var ms []domain.Mapping
	for _, id := range []string{"personio/a", "personio/b", "personio/c", "staffomatic/1", "staffomatic/2", "switch|personio", "category|l1|t", "setting|vacation|3", "type|9"} {
		ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindAbsence, SourceID: id, State: domain.StateTransferred})
	}
	ms = append(ms, domain.Mapping{Tenant: "other", Kind: domain.KindAbsence, SourceID: "personio/a", State: domain.StateTransferred})
	if err := st.PutMappings(ctx, ms); err != nil {
		t.Fatal(err)
	}
	many := make([]string, MaxMappingKeys+1)
	for i := range many {
		many[i] = SourceKey(domain.SystemPersonio, strconv.Itoa(i))
	}
	for _, tc := range []struct {
		name         string
		lead         domain.System
		all          bool
		keys         []string
		wantNarrowed bool
		want         []string
	}{
		{"Personio leading, two keys", domain.SystemPersonio, false, []string{"personio/a", "personio/zz"}, true,
			[]string{"category|l1|t", "personio/a", "setting|vacation|3", "staffomatic/1", "staffomatic/2", "switch|personio", "type|9"}},
		{"Staffomatic leading, no key", domain.SystemStaffomatic, false, nil, true,
			[]string{"category|l1|t", "personio/a", "personio/b", "personio/c", "setting|vacation|3", "switch|personio", "type|9"}},
		{"full run", domain.SystemPersonio, true, []string{"personio/a"}, false,
			[]string{"category|l1|t", "personio/a", "personio/b", "personio/c", "setting|vacation|3", "staffomatic/1", "staffomatic/2", "switch|personio", "type|9"}},
		{"beyond the bound", domain.SystemPersonio, false, many, false,
			[]string{"category|l1|t", "personio/a", "personio/b", "personio/c", "setting|vacation|3", "staffomatic/1", "staffomatic/2", "switch|personio", "type|9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, narrowed, err := loadMappings(ctx, st, "acme", tc.lead, tc.all, tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(got))
			for i, m := range got {
				ids[i] = m.SourceID
			}
			slices.Sort(ids)
			if narrowed != tc.wantNarrowed || !slices.Equal(ids, tc.want) {
				t.Errorf("narrowed %t, mappings %q; want %t, %q", narrowed, ids, tc.wantNarrowed, tc.want)
			}
		})
	}
}
