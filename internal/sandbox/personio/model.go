package personiosim

import (
	"time"
)

// Date returns midnight UTC of the given calendar day. The simulator stores
// calendar dates (hire date, last working day, …) this way and renders them
// with the Europe/Berlin offset of that day, as Personio does.
func Date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// Local returns a wall-clock time without zone. v2 absence and attendance
// periods carry local times without offset; the simulator keeps them as UTC
// values whose clock reading is the local wall clock.
func Local(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
}

// Credential is an API credential of the simulated company. Personio binds the
// set of readable employee attributes and the v2 scopes to the credential, so
// the simulator does too.
type Credential struct {
	ClientID     string
	ClientSecret string
	// Attributes is the whitelist of employee attribute keys (e.g. "email",
	// "dynamic_1001") this credential may read. nil means every attribute;
	// "id" is always readable.
	Attributes []string
	// Scopes are the v2 scopes (e.g. "personio:absences:read"). nil means all.
	Scopes []string
	// WithoutIDv2 makes this an older credential: its v1 time-off types come
	// without id_v2 (added 2024, notes §3.1), so a client must bridge v1 type
	// ids to v2 absence types by name.
	WithoutIDv2 bool
}

// OrgUnit is an office, department, team or subcompany.
type OrgUnit struct {
	ID   int64
	Name string
}

// CustomAttribute defines a company-specific employee attribute
// (`dynamic_<n>` in v1 responses).
type CustomAttribute struct {
	Key         string // assigned: "dynamic_<n>"
	Label       string // e.g. "shift_planning"
	Type        string // v1 attribute type: standard, date, integer, decimal, list, …
	UniversalID string // "" renders as null
}

// TimeOffType is an absence type. ID is the v1 integer id, IDv2 the UUID used
// by v2 absence periods (v1 returns it as id_v2).
type TimeOffType struct {
	ID               int64
	IDv2             string
	Name             string
	Category         string // e.g. paid_vacation, sick_leave
	Unit             string // "day" or "hour"
	ApprovalRequired bool
}

// WorkSchedule is an employee's work schedule: the working time of each weekday, indexed
// by time.Weekday (Sunday first).
type WorkSchedule struct {
	ID    int64
	Name  string
	Hours [7]time.Duration
}

// Employee is a person of the simulated company (v1 employee, v2 person).
// Zero time values render as null; zero org-unit ids render as null.
type Employee struct {
	ID             int64
	FirstName      string
	LastName       string
	PreferredName  string
	Email          string
	Gender         string // male, female, diverse
	Position       string
	Status         string // active, onboarding, leave, inactive (default active)
	EmploymentType string // internal, external (default internal)
	SupervisorID   int64

	OfficeID     int64
	DepartmentID int64
	TeamID       int64
	SubcompanyID int64

	HireDate           time.Time
	ContractEndDate    time.Time
	TerminationDate    time.Time
	LastWorkingDay     time.Time
	ProbationPeriodEnd time.Time

	WeeklyHours        float64
	VacationDayBalance float64
	// WorkSchedule, when set, is rendered as the v1 work_schedule attribute (notes §2.1:
	// a WorkSchedule with the working time of each weekday, "08:00" … "00:00").
	WorkSchedule *WorkSchedule
	// Entitlements maps a time-off type id (v1) to the yearly entitlement in
	// the type's unit.
	Entitlements map[int64]float64
	// Custom maps custom attribute keys (dynamic_<n>) to their values.
	Custom map[string]any

	CreatedAt  time.Time
	ModifiedAt time.Time

	// attrModified tracks when each rendered attribute last changed, for
	// updated_since combined with attributes[].
	attrModified map[string]time.Time
}

// Approval states of v2 periods as returned by the simulator.
const (
	StatusApproved  = "APPROVED"
	StatusPending   = "PENDING"
	StatusRejected  = "REJECTED"
	StatusConfirmed = "CONFIRMED"
)

// AbsencePeriod is a v2 absence period. Start/End are local wall-clock times
// (see Local); End nil means open-ended.
type AbsencePeriod struct {
	ID            string
	PersonID      int64
	TypeID        string // v2 absence type id (TimeOffType.IDv2)
	Start         time.Time
	StartHalf     string // "", FIRST_HALF, SECOND_HALF
	End           *time.Time
	EndHalf       string
	TimezoneID    string
	Comment       string
	Status        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SkipApproval  bool // how it was created (inspection only)
	CreatedViaAPI bool
}

// AttendancePeriod is a v2 attendance period (WORK or BREAK) in local time.
type AttendancePeriod struct {
	ID              string
	PersonID        int64
	Type            string // WORK or BREAK
	Start           time.Time
	End             *time.Time
	Comment         string
	ProjectID       string
	Status          string // PENDING, CONFIRMED, REJECTED
	IsAutoGenerated bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Project is a v2 project that attendance periods may reference.
type Project struct {
	ID     string
	Name   string
	Active bool
}

// Webhook is a registered v2 webhook.
type Webhook struct {
	ID            string
	URL           string
	Description   string
	Status        string // ENABLED, DISABLED
	AuthType      string // NONE, TOKEN, CUSTOM
	Token         string
	CustomHeaders map[string]string
	EnabledEvents []string
	CreatedAt     time.Time
}

// Delivery records one webhook POST attempt made by the simulator.
type Delivery struct {
	WebhookID string
	EventName string
	Body      []byte
	Status    int   // HTTP status of the receiver, 0 on transport error
	Err       error // transport error, if any
}
