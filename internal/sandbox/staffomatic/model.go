package staffomaticsim

import (
	"bytes"
	"encoding/json"
	"time"
)

// The records the simulator stores. They are the simulator's own types (not the
// client's), so that client tests exercise real JSON in both directions.

// Location is a Staffomatic location (Standort). Its members are the users whose
// LocationIDs contain it; user_ids in the JSON is derived from them.
type Location struct {
	ID             int64
	Name           string
	FirstDayOfWeek int
	// Settings are the documented writable display fields; the zero value stands for
	// DefaultLocationSettings.
	Settings  LocationSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LocationSettings are the writable fields of a location besides the name and the first
// day of the week, as listed in the documented create body and GET example [doc]. The
// simulator stores and renders them; it does not act on them.
type LocationSettings struct {
	SlotMinutes         int
	MinTime             int // hour of day 0–24
	MaxTime             int // hour of day 0–24
	DefaultView         string
	DefaultEventMinutes int
	ShowEventHeader     bool
	ApplicationsVisible bool
	AssignmentsVisible  bool
	AllowSelfAssign     bool
	SwapShifts          bool
	MannersAddress      string
	UsersSortBy         string
	NotesVisible        bool
}

// DefaultLocationSettings are what a location gets when a field is not sent; the values
// are the ones the simulator always rendered (documented example values where the docs
// show one) [inf].
func DefaultLocationSettings() LocationSettings {
	return LocationSettings{SlotMinutes: 30, MinTime: 0, MaxTime: 24, DefaultView: "list_week", DefaultEventMinutes: 240,
		ShowEventHeader: true, SwapShifts: true, MannersAddress: "last_name", UsersSortBy: "alphabetical", NotesVisible: true}
}

// settings returns the location's settings, the defaults when none were set.
func (l *Location) settings() LocationSettings {
	if l.Settings == (LocationSettings{}) {
		return DefaultLocationSettings()
	}
	return l.Settings
}

// User is a Staffomatic user. Password is used for HTTP Basic authentication.
type User struct {
	ID               int64
	Email            string
	Password         string
	FirstName        string
	LastName         string
	Role             string // admin, manager, staff
	Locale           string
	CustomID         string
	LocationIDs      []int64
	DepartmentIDs    []int64
	LockedAt         *time.Time
	InvitedByID      *int64
	InvitationState  string // "", pending, accepted
	MaxVacationDays  *float64
	MaxHoursPerMonth *float64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Department (Arbeitsbereich) belongs to one location; members are the users whose
// DepartmentIDs contain it.
type Department struct {
	ID         int64
	LocationID int64
	Name       string
	Color      string
	Position   *int
	CreatorID  *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// AbsenceType (Abwesenheits-Kategorie) belongs to one location.
type AbsenceType struct {
	ID              int64
	LocationID      int64
	Name            string
	Color           string
	Visibility      string
	UserSelectable  bool
	IncludeWeekends bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Absence states.
const (
	StateNew      = "new"
	StateApproved = "approved"
	StateDeclined = "declined"
)

// Absence is an absence request. LocationID is nil when created on the flat path.
type Absence struct {
	ID               int64
	ApplicantID      int64
	HandlerID        *int64
	AbsenceTypeID    int64
	LocationID       *int64
	State            string
	StartsAt         time.Time
	EndsAt           time.Time
	AllDay           bool
	IncludeWeekends  bool
	Paid             bool
	Vacation         bool
	Commentable      bool
	Attachable       bool
	Justification    string
	AdjustedDuration *int64 // nil: computed from the days
	ProcessedAt      *time.Time
	LastUpdatedByID  *int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Work timer states.
const (
	TimerRunning  = "running"
	TimerStopped  = "stopped"
	TimerVerified = "verified"
)

// WorkTimer is a time-tracking entry. LumpBreak is a break that has no break timer (a
// lump-sum terminal break or one taken over from the shift [help]); it counts into
// break_duration like stamped breaks.
type WorkTimer struct {
	ID           int64
	UserID       int64
	LocationID   *int64
	State        string
	StartsAt     time.Time
	EndsAt       *time.Time
	LumpBreak    time.Duration
	WorkReportID int64
	DeviceType   string
	CreatedByID  *int64
	UpdatedByID  *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// BreakTimer is a stamped break inside a work timer; EndsAt is nil while it runs.
type BreakTimer struct {
	ID          int64
	WorkTimerID int64
	UserID      int64
	StartsAt    time.Time
	EndsAt      *time.Time
	DeviceType  string
	CreatedByID *int64
	UpdatedByID *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WorkReport is the weekly roll-up of a user's timers (Monday 00:00 to Sunday 23:59:59).
type WorkReport struct {
	ID        int64
	UserID    int64
	StartsAt  time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Event is one entry of the change feed.
type Event struct {
	ID            int64
	Type          string // e.g. user_created_event
	EventableType string // e.g. User
	EventableID   int64
	CreatorID     *int64
	LocationID    *int64
	Description   string
	CreatedAt     time.Time
	readBy        map[int64]bool
}

// Invitation records a do: send_invitation, since the simulator sends no e-mail.
type Invitation struct {
	UserID    int64
	Email     string
	InvitedBy int64
	At        time.Time
}

// obj is a JSON object that keeps its key order, so responses read like the recordings.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

func ids(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}
