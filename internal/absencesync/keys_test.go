package absencesync

import (
	"slices"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
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
