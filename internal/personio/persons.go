package personio

import (
	"encoding/json"
	"fmt"
	"time"
)

// The v2 person and employment types below decode Personio's v2 shapes,
// which webhook-driven syncs meet (person.* and employment.* events name
// v2 ids). The employee sync itself reads v1, which returns all required
// attributes in one paginated call instead of one employment call per person.

// Person is a v2 person. ID equals the v1 employee id as text.
type Person struct {
	ID               string            `json:"id"`
	Email            string            `json:"email"`
	FirstName        string            `json:"first_name"`
	LastName         string            `json:"last_name"`
	PreferredName    string            `json:"preferred_name"`
	Gender           string            `json:"gender"`
	Status           string            `json:"status"` // ACTIVE, INACTIVE
	CustomAttributes []CustomAttribute `json:"custom_attributes"`
	Employments      []idRef           `json:"employments"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// CustomAttribute is a v2 custom attribute. Type is documented in upper case
// but examples send lower case; compare case-insensitively.
type CustomAttribute struct {
	ID       string          `json:"id"` // dynamic_<n>
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value"`
	GlobalID string          `json:"global_id"`
	Label    string          `json:"label"`
}

// Employment is a v2 employment (the contract side of a person).
type Employment struct {
	ID                         string                 `json:"id"`
	Status                     string                 `json:"status"` // ACTIVE, INACTIVE, ONBOARDING, LEAVE
	Type                       string                 `json:"type"`
	WeeklyWorkingHours         *float64               `json:"weekly_working_hours"`
	FullTimeWeeklyWorkingHours *float64               `json:"full_time_weekly_working_hours"`
	EmploymentStartDate        *Date                  `json:"employment_start_date"`
	EmploymentEndDate          *Date                  `json:"employment_end_date"`
	ProbationEndDate           *Date                  `json:"probation_end_date"`
	ContractEndDate            *Date                  `json:"contract_end_date"`
	Position                   struct{ Title string } `json:"position"`
	Supervisor                 *idRef                 `json:"supervisor"`
	Office                     *idRef                 `json:"office"`
	SubCompany                 *idRef                 `json:"sub_company"`
	LegalEntity                *idRef                 `json:"legal_entity"`
	OrgUnits                   []OrgUnitRef           `json:"org_units"`
	Person                     idRef                  `json:"person"`
	Termination                *Termination           `json:"termination"`
	CreatedAt                  time.Time              `json:"created_at"`
	UpdatedAt                  time.Time              `json:"updated_at"`
}

// OrgUnitRef references a department or team by id.
type OrgUnitRef struct {
	Type string `json:"type"` // department, team
	ID   string `json:"id"`
}

// Termination of an employment. The schema says last_working_day, the
// spec example last_working_date; both are read.
type Termination struct {
	TerminationDate *Date  `json:"termination_date"`
	LastWorkingDay  *Date  `json:"last_working_day"`
	TerminatedAt    *Date  `json:"terminated_at"`
	Type            string `json:"type"`
	Reason          string `json:"reason"`
}

// UnmarshalJSON accepts both spellings of the last working day.
func (t *Termination) UnmarshalJSON(b []byte) error {
	type plain Termination
	var v struct {
		plain
		LastWorkingDate *Date `json:"last_working_date"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("personio: termination: %w", err)
	}
	*t = Termination(v.plain)
	if t.LastWorkingDay == nil {
		t.LastWorkingDay = v.LastWorkingDate
	}
	return nil
}

// UnmarshalJSON reads "2006-01-02" (and date-times, keeping the day).
func (d *Date) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("personio: date: %w", err)
	}
	if s == nil || *s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(*s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes "2006-01-02" or null.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// Page is one page of a v2 list: `_data` items and `_meta.links`.
type Page[T any] struct {
	Data []T `json:"_data"`
	Meta struct {
		Links map[string]struct {
			Href string `json:"href"`
		} `json:"links"`
	} `json:"_meta"`
}

// Next returns the next page link ("" on the last page).
func (p Page[T]) Next() string { return p.Meta.Links["next"].Href }
