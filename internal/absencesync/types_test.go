package absencesync

import (
	"reflect"
	"testing"

	"github.com/staffsync/staffsync/internal/personio"
)

// TestTypesAndBridge: the types the loader hands the planner come from /v2/absence-types;
// a unit the v2 type does not carry is the v1 type's (by id_v2, else by name), day when
// neither says. The settings' v1 ids reach the same v2 UUIDs whether the credential sends
// id_v2 (current) or not (older credentials: by name), and a renamed v1 type is still
// found by its id_v2.
func TestTypesAndBridge(t *testing.T) {
	v2 := []personio.AbsenceType{
		{ID: "u-vac", Name: "Bezahlter Urlaub", Unit: "day"},
		{ID: "u-sick", Name: "Krankheit"},
		{ID: "u-ho", Name: "Homeoffice"},
		{ID: "u-x", Name: "Sonstiges"},
	}
	withIDv2 := []TimeOffType{{ID: 1, IDv2: "u-vac", Name: "Bezahlter Urlaub", Unit: UnitDay}, {ID: 2, IDv2: "u-sick", Name: "Krankheit", Unit: UnitDay},
		{ID: 3, IDv2: "u-ho", Name: "Home office (renamed in v1)", Unit: UnitHour}}
	older := []TimeOffType{{ID: 1, Name: "Bezahlter Urlaub", Unit: UnitDay}, {ID: 2, Name: "Krankheit", Unit: UnitDay}, {ID: 3, Name: "Homeoffice", Unit: UnitHour}}
	for _, tt := range []struct {
		name         string
		v1           []TimeOffType
		vacation     []int64
		paid         []int64
		wantUnits    map[string]Unit
		wantVacation map[string]bool
		wantPaid     map[string]bool
		wantProblems int
	}{
		{"id_v2 present", withIDv2, []int64{1}, []int64{1, 2, 3},
			map[string]Unit{"u-vac": UnitDay, "u-sick": UnitDay, "u-ho": UnitHour, "u-x": UnitDay},
			map[string]bool{"u-vac": true}, map[string]bool{"u-vac": true, "u-sick": true, "u-ho": true}, 0},
		{"id_v2 absent (older credential): by name", older, []int64{1}, []int64{1, 2, 3},
			map[string]Unit{"u-vac": UnitDay, "u-sick": UnitDay, "u-ho": UnitHour, "u-x": UnitDay},
			map[string]bool{"u-vac": true}, map[string]bool{"u-vac": true, "u-sick": true, "u-ho": true}, 0},
		{"id_v2 absent and a v1 id naming no v2 type", append(older[:2:2], TimeOffType{ID: 9, Name: "Gibt es nur in v1"}), []int64{9}, []int64{2},
			map[string]Unit{"u-vac": UnitDay, "u-sick": UnitDay, "u-ho": UnitDay, "u-x": UnitDay},
			map[string]bool{}, map[string]bool{"u-sick": true}, 1},
		{"no v1 types at all", nil, nil, []int64{1},
			map[string]Unit{"u-vac": UnitDay, "u-sick": UnitDay, "u-ho": UnitDay, "u-x": UnitDay},
			map[string]bool{}, map[string]bool{}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			types := absenceTypes(v2, tt.v1)
			units := map[string]Unit{}
			for _, ty := range types {
				units[ty.ID] = ty.Unit
			}
			if !reflect.DeepEqual(units, tt.wantUnits) {
				t.Errorf("units %v, want %v", units, tt.wantUnits)
			}
			vac, p1 := BridgeTypeIDs(SettingVacation, tt.vacation, tt.v1, types)
			paid, p2 := BridgeTypeIDs(SettingPaid, tt.paid, tt.v1, types)
			if !reflect.DeepEqual(vac, tt.wantVacation) || !reflect.DeepEqual(paid, tt.wantPaid) {
				t.Errorf("vacation %v paid %v, want %v %v", vac, paid, tt.wantVacation, tt.wantPaid)
			}
			if n := len(p1) + len(p2); n != tt.wantProblems {
				t.Errorf("problems %+v %+v, want %d", p1, p2, tt.wantProblems)
			}
		})
	}
}
