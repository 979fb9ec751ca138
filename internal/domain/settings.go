package domain

import (
	"errors"
	"fmt"
)

// Settings are the switches of DESIGN §1.2 step 4, named as the admin sees them, plus the
// behaviours staffsync adds (propagate_deletions, create_missing_workspaces,
// include_personio_teams).
type Settings struct {
	// EnableBackgroundSync: scheduled syncs run only when on.
	EnableBackgroundSync bool `json:"enable_background_sync"`
	// EnablePersonioHireDate: a user gets access (unlocked, invited) only from the hire date on.
	EnablePersonioHireDate bool `json:"enable_personio_hire_date"`
	// EnablePersonioLastWorkingDay: after the last working day the user is locked.
	EnablePersonioLastWorkingDay bool `json:"enable_personio_last_working_day"`
	// OnlyApprovedStaffomaticAbsences: with Staffomatic leading, only processed requests move.
	OnlyApprovedStaffomaticAbsences bool `json:"only_approved_staffomatic_absences"`
	// OnlyVerifiedStaffomaticWorkTimers: only timers in state verified are transferred.
	OnlyVerifiedStaffomaticWorkTimers bool `json:"only_verified_staffomatic_work_timers"`
	// InviteStaffomaticUsers: the first sync sends invitations to the selected users.
	InviteStaffomaticUsers bool `json:"invite_staffomatic_users"`
	// FallbackPersonioTimeOffTypeIDsForEntitlements: whose entitlements are summed into the
	// user's vacation entitlement in Staffomatic.
	FallbackPersonioTimeOffTypeIDsForEntitlements []int64 `json:"fallback_personio_time_off_type_ids_for_entitlements,omitempty"`
	// PersonioTimeOffTypeIDsForVacationDaysDeduction: absences of these types deduct vacation days.
	PersonioTimeOffTypeIDsForVacationDaysDeduction []int64 `json:"personio_time_off_type_ids_for_vacation_days_deduction,omitempty"`
	// PersonioTimeOffTypeIDsForPaidVacations: absences of these types are marked paid.
	// (The id lists are omitted when empty: minidyn stores an empty list as a boolean.)
	PersonioTimeOffTypeIDsForPaidVacations []int64 `json:"personio_time_off_type_ids_for_paid_vacations,omitempty"`
	// PropagateDeletions: a timer deleted in Staffomatic is deleted in Personio too (the
	// vendor never does this, so it is off by default).
	PropagateDeletions bool `json:"propagate_deletions"`
	// CreateMissingWorkspaces: a Personio office/department without a Staffomatic location
	// or department is created instead of only reported.
	CreateMissingWorkspaces bool `json:"create_missing_workspaces"`
	// IncludePersonioTeams: Personio teams become Staffomatic departments too, beside
	// Personio departments (DESIGN §1.1: "department/team → Staffomatic department").
	IncludePersonioTeams bool `json:"include_personio_teams"`
}

// DefaultSettings are a new tenant's settings. Background sync starts off so nothing runs
// before the admin has selected employees; access follows hire date and last working day
// as the vendor recommends; only verified timers and approved absences move, because
// unverified ones are still being corrected by the planners.
func DefaultSettings() Settings {
	return Settings{
		EnableBackgroundSync:              false,
		EnablePersonioHireDate:            true,
		EnablePersonioLastWorkingDay:      true,
		OnlyApprovedStaffomaticAbsences:   true,
		OnlyVerifiedStaffomaticWorkTimers: true,
		InviteStaffomaticUsers:            false,
		PropagateDeletions:                false,
		CreateMissingWorkspaces:           true,
		IncludePersonioTeams:              false,
	}
}

// MaxTimeOffTypeIDs bounds each time-off type id list: a company has a few dozen types.
const MaxTimeOffTypeIDs = 200

// Validate checks the time-off type id lists: at most MaxTimeOffTypeIDs, positive and
// without duplicates. Each list names its first problem only: a body of 85,000 bad ids
// answered with 85,000 sentences (13 MB from 256 KB, past Lambda's 6 MB answer).
func (s Settings) Validate() error {
	var errs []error
	check := func(name string, ids []int64) {
		if len(ids) > MaxTimeOffTypeIDs {
			errs = append(errs, fmt.Errorf("settings.%s: %d ids: at most %d (the ids of /v1/company/time-off-types)", name, len(ids), MaxTimeOffTypeIDs))
			return
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			if id <= 0 {
				errs = append(errs, fmt.Errorf("settings.%s: %d is not a Personio time-off type id (use the positive ids of /v1/company/time-off-types)", name, id))
				return
			} else if seen[id] {
				errs = append(errs, fmt.Errorf("settings.%s: %d is listed twice: remove the duplicate", name, id))
				return
			}
			seen[id] = true
		}
	}
	check("fallback_personio_time_off_type_ids_for_entitlements", s.FallbackPersonioTimeOffTypeIDsForEntitlements)
	check("personio_time_off_type_ids_for_vacation_days_deduction", s.PersonioTimeOffTypeIDsForVacationDaysDeduction)
	check("personio_time_off_type_ids_for_paid_vacations", s.PersonioTimeOffTypeIDsForPaidVacations)
	return errors.Join(errs...)
}
