// Package absencesync is the pure core of the absences phase (DESIGN §1.3): the planner
// that turns Personio absence periods and Staffomatic absences, in the direction the
// admin chose (domain.Sources.Absences), into typed actions with reasons. It does no I/O:
// the loader converts vendor records into the small types of this package (so the
// planner never depends on internal/personio or internal/staffomatic), Compute plans, and
// the applier performs each action and records its mapping and protocol entry.
//
// The three pure parts are: type bridging (the settings' v1 time-off type ids to the v2
// UUIDs absence periods carry, BridgeTypeIDs), shape conversion in both directions
// (ToStaffomatic, ToPersonio; see their comments for the readings chosen) and the
// planner (Compute).
package absencesync

import (
	"fmt"
	"slices"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
)

// Unit is a Personio absence type's fixed unit.
type Unit string

const (
	// UnitDay types carry whole days (and half days): periods start and end at 00:00.
	UnitDay Unit = "day"
	// UnitHour types carry times of day.
	UnitHour Unit = "hour"
)

// AbsenceType is a Personio v2 absence type (GET /v2/absence-types): v2 absence periods
// name their type by this UUID.
type AbsenceType struct {
	ID   string // UUID
	Name string
	Unit Unit
}

// TimeOffType is a Personio v1 time-off type (GET /v1/company/time-off-types). The admin's
// settings name types by its integer ID; IDv2 (added 2024) is the UUID of the same type in
// v2 and is empty on older credentials.
type TimeOffType struct {
	ID   int64
	IDv2 string
	Name string
	// Unit is the v1 type's unit; it stands in for a v2 type that does not say.
	Unit Unit
}

// BridgeProblem is a settings id that names no v2 absence type. It is reported, never
// guessed: an id that maps to nothing would silently stop marking absences paid or vacation.
type BridgeProblem struct {
	// Setting is the settings key the id stands in.
	Setting string
	ID      int64
	Reason  string
}

// Setting keys of the two type-id lists, as the admin sees them.
const (
	SettingVacation = "personio_time_off_type_ids_for_vacation_days_deduction"
	SettingPaid     = "personio_time_off_type_ids_for_paid_vacations"
)

// BridgeTypeIDs maps the v1 integer type ids of one settings list (named setting) to v2
// absence type UUIDs. Absence periods carry only v2 ids, the settings only v1 ids; the v1
// type's id_v2 bridges them where Personio sends it, and otherwise the v2 type of
// identical name does (compared like domain.CategoryFor: trimmed, case-sensitive, and only
// when exactly one v2 type carries it). An id that is no v1 type, or whose type has no v2
// counterpart either way, is returned as a problem and maps to nothing.
func BridgeTypeIDs(setting string, ids []int64, v1 []TimeOffType, v2 []AbsenceType) (map[string]bool, []BridgeProblem) {
	out := map[string]bool{}
	var problems []BridgeProblem
	byV1 := make(map[int64]TimeOffType, len(v1))
	for _, t := range v1 {
		byV1[t.ID] = t
	}
	byV2 := make(map[string]AbsenceType, len(v2))
	for _, t := range v2 {
		byV2[t.ID] = t
	}
	for _, id := range ids {
		t, ok := byV1[id]
		if !ok {
			problems = append(problems, BridgeProblem{setting, id, fmt.Sprintf(
				"settings.%s names %d, which is no Personio time-off type; remove it or use an id of /v1/company/time-off-types", setting, id)})
			continue
		}
		if t.IDv2 != "" {
			if _, ok := byV2[t.IDv2]; ok {
				out[t.IDv2] = true
				continue
			}
		}
		if a, ok := domain.CategoryFor(t.Name, v2, func(a AbsenceType) string { return a.Name }); ok {
			out[a.ID] = true
			continue
		}
		how := "has no id_v2 and no v2 absence type of the same name"
		if t.IDv2 != "" {
			how = "has id_v2 " + t.IDv2 + ", which is no v2 absence type, and no v2 absence type of the same name"
		}
		problems = append(problems, BridgeProblem{setting, id, fmt.Sprintf(
			"settings.%s names %d (%q), which %s; absences of that type are not marked accordingly", setting, id, strings.TrimSpace(t.Name), how)})
	}
	slices.SortFunc(problems, func(a, b BridgeProblem) int { return int(a.ID - b.ID) })
	return out, problems
}
