package staffomatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The record types keep Staffomatic's JSON names. Timestamps arrive as RFC 3339 with the
// offset of the account time zone [rec]; durations are seconds; ids are int64. Raw keeps
// the record's JSON as received so that the sync log can show exactly what was read.

// Account is GET /account: the time zone every timestamp is expressed in, and the plan's
// feature flags (sent as "0"/"1" strings in 2017 [rec]).
type Account struct {
	ID               int64     `json:"id"`
	Name             string    `json:"name"`
	Subdomain        string    `json:"subdomain"`
	TimeZone         string    `json:"time_zone"`
	Locale           string    `json:"locale"`
	URL              string    `json:"url"`
	FirstDayOfWeek   int       `json:"first_day_of_week"`
	AccountOwnerID   int64     `json:"account_owner_id"`
	ActiveUsersCount int       `json:"active_users_count"`
	LocationsCount   int       `json:"locations_count"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// TimeTracking and Webhooks are the plan flags; absent flags read as false.
	TimeTracking bool            `json:"-"`
	Webhooks     bool            `json:"-"`
	Raw          json.RawMessage `json:"-"`
}

// UnmarshalJSON accepts the feature flags as "1"/"0", numbers or booleans.
func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	var s struct {
		plain
		TimeTracking flexString `json:"time_tracking"`
		Webhooks     flexString `json:"webhooks"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = Account(s.plain)
	a.TimeTracking = s.TimeTracking.bool()
	a.Webhooks = s.Webhooks.bool()
	return nil
}

// Location returns the account's time zone as a *time.Location.
func (a Account) Location() (*time.Location, error) {
	if a.TimeZone == "" {
		return nil, fmt.Errorf("staffomatic: account %q has no time zone", a.Subdomain)
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("staffomatic: account time zone %q: %w", a.TimeZone, err)
	}
	return loc, nil
}

// Location (Standort) is the top level: users belong to locations through UserIDs
// (a user has no location field), departments and absence types to exactly one location.
type Location struct {
	ID               int64     `json:"id"`
	Name             string    `json:"name"`
	UserIDs          []int64   `json:"user_ids"`
	FirstDayOfWeek   int       `json:"first_day_of_week"`
	ActiveUsersCount int       `json:"active_users_count"`
	DepartmentCount  int       `json:"department_count"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// The display settings of the documented GET answer (the writable fields of
	// NewLocation). Numbers are accepted as strings, as the docs' create example sends them.
	SlotMinutes         int             `json:"-"`
	MinTime             int             `json:"-"`
	MaxTime             int             `json:"-"`
	DefaultView         string          `json:"default_view"`
	DefaultEventMinutes int             `json:"-"`
	AllowSelfAssign     bool            `json:"allow_self_assign"`
	SwapShifts          bool            `json:"swap_shifts"`
	ApplicationsVisible bool            `json:"applications_visible"`
	AssignmentsVisible  bool            `json:"assignments_visible"`
	NotesVisible        bool            `json:"notes_visible"`
	MannersAddress      string          `json:"manners_address"`
	UsersSortBy         string          `json:"users_sort_by"`
	Raw                 json.RawMessage `json:"-"`
}

// UnmarshalJSON accepts the numeric settings as numbers or strings.
func (l *Location) UnmarshalJSON(b []byte) error {
	type plain Location
	var s struct {
		plain
		SlotMinutes         flexString `json:"slot_minutes"`
		MinTime             flexString `json:"min_time"`
		MaxTime             flexString `json:"max_time"`
		DefaultEventMinutes flexString `json:"default_event_minutes"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = Location(s.plain)
	for _, f := range []struct {
		src flexString
		dst *int
	}{{s.SlotMinutes, &l.SlotMinutes}, {s.MinTime, &l.MinTime}, {s.MaxTime, &l.MaxTime}, {s.DefaultEventMinutes, &l.DefaultEventMinutes}} {
		// A display setting the sync never uses must not make the location unreadable:
		// a value that is not a number stays 0.
		if n, err := strconv.ParseFloat(string(f.src), 64); err == nil {
			*f.dst = int(n)
		}
	}
	return nil
}

// Department (Arbeitsbereich) belongs to one location; UserIDs are its members.
type Department struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	Color      string          `json:"color"`
	LocationID int64           `json:"location_id"`
	Position   *int            `json:"position"`
	CreatorID  *int64          `json:"creator_id"`
	UserIDs    []int64         `json:"user_ids"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Raw        json.RawMessage `json:"-"`
}

// User (Mitarbeiter). CustomID is where we keep the Personio employee id. Staffomatic has
// no location, hire-date or weekly-hours field on users: location membership is
// Location.UserIDs; the quota fields are MaxVacationDays and MaxHoursPerMonth (documented,
// writable) and the newer Max*Duration fields (seen only in a 2021 third-party schema,
// unit undocumented, read-only for us).
type User struct {
	ID                    int64      `json:"id"`
	Email                 string     `json:"email"`
	FirstName             string     `json:"first_name"`
	LastName              string     `json:"last_name"`
	Role                  string     `json:"role"`
	Locale                string     `json:"locale"`
	DepartmentIDs         []int64    `json:"department_ids"`
	LockedAt              *time.Time `json:"locked_at"`
	InvitedByID           *int64     `json:"invited_by_id"`
	InvitationState       string     `json:"invitation_state"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	CustomID              string     `json:"-"`
	MaxVacationDays       *float64   `json:"-"`
	MaxHoursPerMonth      *float64   `json:"-"`
	ApprovedAbsencesHours *float64   `json:"-"`
	MaxVacationDuration   *float64   `json:"-"`
	MaxDurationPerMonth   *float64   `json:"-"`
	MaxDurationPerWeek    *float64   `json:"-"`

	Raw json.RawMessage `json:"-"`
}

// Locked reports whether the user is locked (locked_at set).
func (u User) Locked() bool { return u.LockedAt != nil }

// UnmarshalJSON tolerates custom_id and the quota fields arriving as numbers or strings
// (a third-party schema types custom_id as a number; the docs send numbers as strings).
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	var s struct {
		plain
		CustomID              flexString `json:"custom_id"`
		MaxVacationDays       flexString `json:"max_vacation_days"`
		MaxHoursPerMonth      flexString `json:"max_hours_per_month"`
		ApprovedAbsencesHours flexString `json:"approved_absences_hours"`
		MaxVacationDuration   flexString `json:"max_vacation_duration"`
		MaxDurationPerMonth   flexString `json:"max_duration_per_month"`
		MaxDurationPerWeek    flexString `json:"max_duration_per_week"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*u = User(s.plain)
	u.CustomID = string(s.CustomID)
	u.MaxVacationDays = s.MaxVacationDays.float()
	u.MaxHoursPerMonth = s.MaxHoursPerMonth.float()
	u.ApprovedAbsencesHours = s.ApprovedAbsencesHours.float()
	u.MaxVacationDuration = s.MaxVacationDuration.float()
	u.MaxDurationPerMonth = s.MaxDurationPerMonth.float()
	u.MaxDurationPerWeek = s.MaxDurationPerWeek.float()
	return nil
}

// AbsenceType (Abwesenheits-Kategorie) belongs to one location; absences are matched to
// Personio time-off types by identical Name.
type AbsenceType struct {
	ID              int64           `json:"id"`
	Name            string          `json:"name"`
	Color           string          `json:"color"`
	Visibility      string          `json:"visibility"`
	UserSelectable  bool            `json:"user_selectable"`
	IncludeWeekends bool            `json:"include_weekends"`
	LocationID      int64           `json:"location_id"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	Raw             json.RawMessage `json:"-"`
}

// AbsenceState is the life cycle of an absence: new → approved | declined, immutable after.
type AbsenceState string

const (
	AbsenceNew      AbsenceState = "new"
	AbsenceApproved AbsenceState = "approved"
	AbsenceDeclined AbsenceState = "declined"
)

// Absence. All-day absences are stored 00:00:00 on the first day to 23:59:59 on the last
// day (inclusive end) [rec]. There is no half-day field: a half day is all_day=false with
// explicit times. LocationID is nil when the absence was created on the flat path [rec].
type Absence struct {
	ID               int64           `json:"id"`
	ApplicantID      int64           `json:"applicant_id"`
	HandlerID        *int64          `json:"handler_id"`
	AbsenceTypeID    int64           `json:"absence_type_id"`
	LocationID       *int64          `json:"location_id"`
	State            AbsenceState    `json:"state"`
	StartsAt         time.Time       `json:"starts_at"`
	EndsAt           time.Time       `json:"ends_at"`
	AllDay           bool            `json:"all_day"`
	IncludeWeekends  bool            `json:"include_weekends"`
	Paid             bool            `json:"paid"`
	Vacation         bool            `json:"vacation"`
	Justification    string          `json:"justification"`
	AdjustedDuration *int64          `json:"adjusted_duration"`
	ProcessedAt      *time.Time      `json:"processed_at"`
	LastUpdatedByID  *int64          `json:"last_updated_by_id"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Raw              json.RawMessage `json:"-"`
}

// TimerState is the life cycle of a work timer: running → stopped → verified.
// "verified" is the admin's approval; there is no other confirmation flag.
type TimerState string

const (
	TimerRunning  TimerState = "running"
	TimerStopped  TimerState = "stopped"
	TimerVerified TimerState = "verified"
)

// WorkTimer is one time-tracking entry. Duration is gross seconds; BreakDuration and
// NetDuration are the truth for breaks (lump-sum and shift breaks have no break timer).
type WorkTimer struct {
	ID            int64           `json:"id"`
	UserID        int64           `json:"user_id"`
	LocationID    *int64          `json:"location_id"`
	State         TimerState      `json:"state"`
	StartsAt      time.Time       `json:"starts_at"`
	EndsAt        *time.Time      `json:"ends_at"`
	Duration      int64           `json:"duration"`
	BreakDuration int64           `json:"break_duration"`
	NetDuration   int64           `json:"net_duration"`
	WorkReportID  *int64          `json:"work_report_id"`
	ApplicationID *int64          `json:"application_id"`
	DeviceType    string          `json:"device_type"`
	CreatedByID   *int64          `json:"created_by_id"`
	UpdatedByID   *int64          `json:"updated_by_id"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	Raw           json.RawMessage `json:"-"`
}

// BreakTimer is a stamped break inside a work timer; EndsAt is nil while it runs.
type BreakTimer struct {
	ID          int64           `json:"id"`
	WorkTimerID int64           `json:"work_timer_id"`
	UserID      int64           `json:"user_id"`
	StartsAt    time.Time       `json:"starts_at"`
	EndsAt      *time.Time      `json:"ends_at"`
	Duration    int64           `json:"duration"`
	DeviceType  string          `json:"device_type"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Raw         json.RawMessage `json:"-"`
}

// Event is one entry of the change feed (e.g. Type "user_created_event", EventableType
// "User"). We read it as a hint of what to re-read, never as the data itself.
type Event struct {
	ID            int64           `json:"id"`
	Type          string          `json:"type"`
	EventableType string          `json:"eventable_type"`
	EventableID   int64           `json:"eventable_id"`
	CreatorID     *int64          `json:"creator_id"`
	LocationID    *int64          `json:"location_id"`
	Description   string          `json:"description"`
	Changes       json.RawMessage `json:"changes"`
	CreatedAt     time.Time       `json:"created_at"`
	Raw           json.RawMessage `json:"-"`
}

// flexString decodes a JSON string, number or boolean into its text; null gives "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case bytes.Equal(b, []byte("true")), bytes.Equal(b, []byte("false")):
		*f = flexString(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("expected a string or number, got %s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

func (f flexString) bool() bool {
	switch strings.ToLower(strings.TrimSpace(string(f))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (f flexString) float() *float64 {
	s := strings.TrimSpace(string(f))
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return &v
}

func setRaw[T any](field func(*T) *json.RawMessage) func(*T, json.RawMessage) {
	return func(v *T, raw json.RawMessage) { *field(v) = append(json.RawMessage(nil), raw...) }
}
