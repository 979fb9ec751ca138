package staffomatic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

var (
	rawAccount     = setRaw(func(v *Account) *json.RawMessage { return &v.Raw })
	rawLocation    = setRaw(func(v *Location) *json.RawMessage { return &v.Raw })
	rawDepartment  = setRaw(func(v *Department) *json.RawMessage { return &v.Raw })
	rawUser        = setRaw(func(v *User) *json.RawMessage { return &v.Raw })
	rawAbsenceType = setRaw(func(v *AbsenceType) *json.RawMessage { return &v.Raw })
	rawAbsence     = setRaw(func(v *Absence) *json.RawMessage { return &v.Raw })
	rawWorkTimer   = setRaw(func(v *WorkTimer) *json.RawMessage { return &v.Raw })
	rawBreakTimer  = setRaw(func(v *BreakTimer) *json.RawMessage { return &v.Raw })
	rawEvent       = setRaw(func(v *Event) *json.RawMessage { return &v.Raw })
)

func idPath(prefix string, id int64) string { return prefix + "/" + strconv.FormatInt(id, 10) }

func addIDs(q url.Values, key string, ids []int64) {
	for _, id := range ids {
		q.Add(key, strconv.FormatInt(id, 10))
	}
}

// addWindow adds from/until in the account time zone. Zero times are left out.
func (c *Client) addWindow(ctx context.Context, q url.Values, from, until time.Time) error {
	for _, p := range []struct {
		k string
		t time.Time
	}{{"from", from}, {"until", until}} {
		if p.t.IsZero() {
			continue
		}
		s, err := c.formatTime(ctx, p.t)
		if err != nil {
			return err
		}
		q.Set(p.k, s)
	}
	return nil
}

// ---- account, locations -------------------------------------------------------------

// Account reads the account (time zone, feature flags). It also serves as the
// connectivity and credentials check, and caches the time zone for later calls.
func (c *Client) Account(ctx context.Context) (Account, error) {
	a, err := getOne(ctx, c, http.MethodGet, "/account", nil, rawAccount)
	if err != nil {
		return a, err
	}
	c.setZone(ctx, a.TimeZone)
	return a, nil
}

// CurrentUser reads the user the credentials belong to (GET /user [client]); set-up uses
// it to check that the integration's user is an admin.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	return getOne(ctx, c, http.MethodGet, "/user", nil, rawUser)
}

// ListLocations reads every location.
func (c *Client) ListLocations(ctx context.Context) ([]Location, error) {
	return listAll(ctx, c, "/locations", nil, rawLocation)
}

// NewLocation is a location create (POST /locations [doc]). Only Name is required; nil
// and empty fields are not sent and get the server's defaults. The fields are the ones of
// the documented create body. The docs example misspells first_day_of_week
// ("first_day_of_wee") and sends the numbers as strings; we send the field name the GET
// answer uses, and numbers. MinTime and MaxTime are hours of the day (0–24).
type NewLocation struct {
	Name                string
	FirstDayOfWeek      *int // 0 = Sunday, 1 = Monday
	SlotMinutes         *int
	MinTime             *int
	MaxTime             *int
	DefaultView         string // e.g. "list_week"
	DefaultEventMinutes *int
	AllowSelfAssign     *bool
	SwapShifts          *bool
	ApplicationsVisible *bool
	AssignmentsVisible  *bool
	NotesVisible        *bool
	MannersAddress      string // "first_name" or "last_name"
	UsersSortBy         string // e.g. "alphabetical", "working_hours"
}

func (l NewLocation) body() map[string]any {
	b := map[string]any{"name": strings.TrimSpace(l.Name)}
	for k, v := range map[string]*int{"first_day_of_week": l.FirstDayOfWeek, "slot_minutes": l.SlotMinutes, "min_time": l.MinTime,
		"max_time": l.MaxTime, "default_event_minutes": l.DefaultEventMinutes} {
		if v != nil {
			b[k] = *v
		}
	}
	for k, v := range map[string]*bool{"allow_self_assign": l.AllowSelfAssign, "swap_shifts": l.SwapShifts,
		"applications_visible": l.ApplicationsVisible, "assignments_visible": l.AssignmentsVisible, "notes_visible": l.NotesVisible} {
		if v != nil {
			b[k] = *v
		}
	}
	for k, v := range map[string]string{"default_view": l.DefaultView, "manners_address": l.MannersAddress, "users_sort_by": l.UsersSortBy} {
		if v != "" {
			b[k] = v
		}
	}
	return b
}

// CreateLocation creates a location (POST /locations [doc]); like every create it is
// retried only on 429. The new location has no members: users join it through one of its
// departments (AddDepartmentUsers) or when they are created in it (CreateUser). The
// documented location update changes only the name, so there is no call that adds an
// existing user to a location directly.
func (c *Client) CreateLocation(ctx context.Context, l NewLocation) (Location, error) {
	if strings.TrimSpace(l.Name) == "" {
		return Location{}, errors.New("staffomatic: a location needs a name")
	}
	return getOne(ctx, c, http.MethodPost, "/locations", l.body(), rawLocation)
}

// ---- users ------------------------------------------------------------------------

// User states accepted by ListUsers.
const (
	UserStateAll        = "all"
	UserStateActive     = "active"
	UserStatePending    = "pending"
	UserStateLocked     = "locked"
	UserStateUnassigned = "unassigned"
)

// UserFilter narrows ListUsers. The zero value lists every user of the account in every
// state (the sync must see locked users too, or it would create duplicates).
type UserFilter struct {
	State         string // default UserStateAll
	LocationID    int64  // 0: all locations
	DepartmentIDs []int64
}

// ListUsers reads users page by page.
func (c *Client) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	path, q := f.query()
	return listAll(ctx, c, path, q, rawUser)
}

// UsersAhead is how many pages of users EachUser asks for at once.
const UsersAhead = 4

// EachUser reads the users page by page, UsersAhead pages at once, and calls fn for each
// in order, without its raw JSON: a sync of 10,000 users keeps what it reduces each to
// (User.Person), not 10,000 records. An error of fn ends the listing and is returned.
func (c *Client) EachUser(ctx context.Context, f UserFilter, fn func(User) error) error {
	path, q := f.query()
	return eachRecord(ctx, c, path, q, UsersAhead, func(u User, _ json.RawMessage) error { return fn(u) })
}

func (f UserFilter) query() (string, url.Values) {
	q := url.Values{}
	state := f.State
	if state == "" {
		state = UserStateAll
	}
	q.Set("state", state)
	addIDs(q, "department_ids[]", f.DepartmentIDs)
	path := "/users"
	if f.LocationID != 0 {
		path = idPath("/locations", f.LocationID) + "/users"
	}
	return path, q
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, id int64) (User, error) {
	return getOne(ctx, c, http.MethodGet, idPath("/users", id), nil, rawUser)
}

// NewUser is the body of a user create. Email may be empty (users can exist without
// one [doc]); CustomID carries the Personio employee id.
type NewUser struct {
	FirstName        string
	LastName         string
	Email            string
	CustomID         string
	Role             string // "staff" when empty (the server's default)
	Locale           string
	DepartmentIDs    []int64
	MaxVacationDays  *float64
	MaxHoursPerMonth *float64
	// Invite sends the invitation e-mail with the create (do: send_invitation [doc]).
	Invite bool
}

// CreateUser creates a user in a location (POST /locations/{lid}/users [doc]); with
// locationID 0 it uses the flat POST /users of the Ruby client.
func (c *Client) CreateUser(ctx context.Context, locationID int64, u NewUser) (User, error) {
	if u.Invite && u.Email == "" {
		return User{}, errors.New("staffomatic: an invitation needs an e-mail address")
	}
	body := map[string]any{}
	setStr := func(k, v string) {
		if v != "" {
			body[k] = v
		}
	}
	setStr("first_name", u.FirstName)
	setStr("last_name", u.LastName)
	setStr("email", u.Email)
	setStr("custom_id", u.CustomID)
	setStr("role", u.Role)
	setStr("locale", u.Locale)
	if u.DepartmentIDs != nil {
		body["department_ids"] = u.DepartmentIDs
	}
	if u.MaxVacationDays != nil {
		body["max_vacation_days"] = *u.MaxVacationDays
	}
	if u.MaxHoursPerMonth != nil {
		body["max_hours_per_month"] = *u.MaxHoursPerMonth
	}
	if u.Invite {
		body["do"] = "send_invitation"
	}
	path := "/users"
	if locationID != 0 {
		path = idPath("/locations", locationID) + "/users"
	}
	return getOne(ctx, c, http.MethodPost, path, body, rawUser)
}

// UserUpdate is a partial user update: nil fields are not sent. DepartmentIDs replaces
// the memberships when non-nil (an empty slice removes all).
type UserUpdate struct {
	FirstName        *string
	LastName         *string
	Email            *string
	CustomID         *string
	Role             *string
	Locale           *string
	DepartmentIDs    *[]int64
	MaxVacationDays  *float64
	MaxHoursPerMonth *float64
}

func (u UserUpdate) body() map[string]any {
	b := map[string]any{}
	for k, v := range map[string]*string{"first_name": u.FirstName, "last_name": u.LastName, "email": u.Email,
		"custom_id": u.CustomID, "role": u.Role, "locale": u.Locale} {
		if v != nil {
			b[k] = *v
		}
	}
	if u.DepartmentIDs != nil {
		ids := *u.DepartmentIDs
		if ids == nil {
			ids = []int64{}
		}
		b["department_ids"] = ids
	}
	if u.MaxVacationDays != nil {
		b["max_vacation_days"] = *u.MaxVacationDays
	}
	if u.MaxHoursPerMonth != nil {
		b["max_hours_per_month"] = *u.MaxHoursPerMonth
	}
	return b
}

// UpdateUser changes user fields (PUT /users/{id}).
func (c *Client) UpdateUser(ctx context.Context, id int64, u UserUpdate) (User, error) {
	b := u.body()
	if len(b) == 0 {
		return User{}, errors.New("staffomatic: empty user update")
	}
	return getOne(ctx, c, http.MethodPut, idPath("/users", id), b, rawUser)
}

func (c *Client) userAction(ctx context.Context, id int64, do string) (User, error) {
	return getOne(ctx, c, http.MethodPut, idPath("/users", id), map[string]any{"do": do}, rawUser)
}

// LockUser locks a user (do: lock): they can no longer sign in but still count for billing.
func (c *Client) LockUser(ctx context.Context, id int64) (User, error) {
	return c.userAction(ctx, id, "lock")
}

// UnlockUser unlocks a locked user (do: unlock).
func (c *Client) UnlockUser(ctx context.Context, id int64) (User, error) {
	return c.userAction(ctx, id, "unlock")
}

// SendInvitation invites an existing user by e-mail. The docs show do: send_invitation
// only on create; sending it in an update is our inference, to be confirmed against a
// real account.
func (c *Client) SendInvitation(ctx context.Context, id int64) (User, error) {
	return c.userAction(ctx, id, "send_invitation")
}

// ---- departments ---------------------------------------------------------------------

// ListDepartments reads the departments of one location, or of all (locationID 0).
func (c *Client) ListDepartments(ctx context.Context, locationID int64) ([]Department, error) {
	path := "/departments"
	if locationID != 0 {
		path = idPath("/locations", locationID) + "/departments"
	}
	return listAll(ctx, c, path, nil, rawDepartment)
}

// NewDepartment is a department create. Departments exist per location [help].
type NewDepartment struct {
	Name     string
	Color    string // hex without '#', e.g. "c4a5c8"; server default when empty
	Position *int
}

// CreateDepartment creates a department in a location.
func (c *Client) CreateDepartment(ctx context.Context, locationID int64, d NewDepartment) (Department, error) {
	if locationID == 0 || d.Name == "" {
		return Department{}, errors.New("staffomatic: a department needs a location and a name")
	}
	b := map[string]any{"name": d.Name}
	if d.Color != "" {
		b["color"] = d.Color
	}
	if d.Position != nil {
		b["position"] = *d.Position
	}
	return getOne(ctx, c, http.MethodPost, idPath("/locations", locationID)+"/departments", b, rawDepartment)
}

func (c *Client) departmentUsers(ctx context.Context, locationID, departmentID int64, op string, userIDs []int64) (Department, error) {
	if userIDs == nil {
		userIDs = []int64{}
	}
	path := idPath(idPath("/locations", locationID)+"/departments", departmentID) + "/" + op
	return getOne(ctx, c, http.MethodPut, path, map[string]any{"user_ids": userIDs}, rawDepartment)
}

// AddDepartmentUsers adds members to a department (PUT …/departments/{id}/add_users).
func (c *Client) AddDepartmentUsers(ctx context.Context, locationID, departmentID int64, userIDs []int64) (Department, error) {
	return c.departmentUsers(ctx, locationID, departmentID, "add_users", userIDs)
}

// RemoveDepartmentUsers removes members from a department (PUT …/remove_users).
func (c *Client) RemoveDepartmentUsers(ctx context.Context, locationID, departmentID int64, userIDs []int64) (Department, error) {
	return c.departmentUsers(ctx, locationID, departmentID, "remove_users", userIDs)
}

// ---- absence types and absences ---------------------------------------------------------

// ListAbsenceTypes reads the absence types of one location, or of all (locationID 0).
func (c *Client) ListAbsenceTypes(ctx context.Context, locationID int64) ([]AbsenceType, error) {
	path := "/absence_types"
	if locationID != 0 {
		path = idPath("/locations", locationID) + "/absence_types"
	}
	return listAll(ctx, c, path, nil, rawAbsenceType)
}

// AbsenceFilter narrows ListAbsences; zero fields do not filter. From/Until select
// absences overlapping the window.
type AbsenceFilter struct {
	From, Until    time.Time
	UserIDs        []int64
	States         []AbsenceState
	AbsenceTypeIDs []int64
	LocationID     int64
}

// ListAbsences reads absences page by page.
func (c *Client) ListAbsences(ctx context.Context, f AbsenceFilter) ([]Absence, error) {
	q := url.Values{}
	if err := c.addWindow(ctx, q, f.From, f.Until); err != nil {
		return nil, err
	}
	addIDs(q, "user_ids[]", f.UserIDs)
	addIDs(q, "absence_type_id[]", f.AbsenceTypeIDs)
	for _, s := range f.States {
		q.Add("state[]", string(s))
	}
	path := "/absences"
	if f.LocationID != 0 {
		path = idPath("/locations", f.LocationID) + "/absences"
	}
	return listAll(ctx, c, path, q, rawAbsence)
}

// GetAbsence reads one absence.
func (c *Client) GetAbsence(ctx context.Context, id int64) (Absence, error) {
	return getOne(ctx, c, http.MethodGet, idPath("/absences", id), nil, rawAbsence)
}

// NewAbsence is an absence create. For an all-day absence send the first day's start
// and the last day's end (23:59:59); the server normalises all-day times anyway. A half
// day is AllDay=false with explicit times. AdjustedDuration (seconds) is stored as sent.
type NewAbsence struct {
	LocationID       int64 // 0: flat POST /absences (the absence then has no location_id)
	ApplicantID      int64
	AbsenceTypeID    int64
	StartsAt, EndsAt time.Time
	AllDay           bool
	IncludeWeekends  bool
	Paid             bool
	Vacation         bool
	Justification    string
	AdjustedDuration *int64
}

// CreateAbsence creates an absence in state "new"; approve it with ApproveAbsence.
func (c *Client) CreateAbsence(ctx context.Context, a NewAbsence) (Absence, error) {
	if a.ApplicantID == 0 || a.AbsenceTypeID == 0 {
		return Absence{}, errors.New("staffomatic: an absence needs an applicant and an absence type")
	}
	starts, err := c.formatTime(ctx, a.StartsAt)
	if err != nil {
		return Absence{}, err
	}
	ends, err := c.formatTime(ctx, a.EndsAt)
	if err != nil {
		return Absence{}, err
	}
	b := map[string]any{
		"starts_at": starts, "ends_at": ends,
		"applicant_id": a.ApplicantID, "absence_type_id": a.AbsenceTypeID,
		"all_day": a.AllDay, "include_weekends": a.IncludeWeekends,
		"paid": a.Paid, "vacation": a.Vacation,
	}
	if a.Justification != "" {
		b["justification"] = a.Justification
	}
	if a.AdjustedDuration != nil {
		b["adjusted_duration"] = *a.AdjustedDuration
	}
	path := "/absences"
	if a.LocationID != 0 {
		path = idPath("/locations", a.LocationID) + "/absences"
	}
	return getOne(ctx, c, http.MethodPost, path, b, rawAbsence)
}

// ApproveAbsence approves a new absence (do: approve). With destroyApplications the
// user's shift assignments inside the absence are removed (handle_applications: destroy).
// Approved absences are immutable: to change one, delete it and create it again.
func (c *Client) ApproveAbsence(ctx context.Context, id int64, destroyApplications bool) (Absence, error) {
	b := map[string]any{"do": "approve"}
	if destroyApplications {
		b["handle_applications"] = "destroy"
	}
	return getOne(ctx, c, http.MethodPut, idPath("/absences", id), b, rawAbsence)
}

// DeclineAbsence declines a new absence (do: decline).
func (c *Client) DeclineAbsence(ctx context.Context, id int64) (Absence, error) {
	return getOne(ctx, c, http.MethodPut, idPath("/absences", id), map[string]any{"do": "decline"}, rawAbsence)
}

// DeleteAbsence deletes an absence in any state (204). Cancelling means deleting.
func (c *Client) DeleteAbsence(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/absences", id), nil, nil, nil)
}

// ---- time tracking ------------------------------------------------------------------

// TimerFilter narrows work and break timer lists; zero fields do not filter.
type TimerFilter struct {
	From, Until time.Time
	UserIDs     []int64
	LocationID  int64 // work timers only
}

// ListWorkTimers reads work timers page by page.
func (c *Client) ListWorkTimers(ctx context.Context, f TimerFilter) ([]WorkTimer, error) {
	q := url.Values{}
	if err := c.addWindow(ctx, q, f.From, f.Until); err != nil {
		return nil, err
	}
	addIDs(q, "user_ids[]", f.UserIDs)
	path := "/work_timers"
	if f.LocationID != 0 {
		path = idPath("/locations", f.LocationID) + "/work_timers"
	}
	return listAll(ctx, c, path, q, rawWorkTimer)
}

// GetWorkTimer reads one work timer.
func (c *Client) GetWorkTimer(ctx context.Context, id int64) (WorkTimer, error) {
	return getOne(ctx, c, http.MethodGet, idPath("/work_timers", id), nil, rawWorkTimer)
}

// ListBreakTimers reads break timers page by page (LocationID is ignored).
func (c *Client) ListBreakTimers(ctx context.Context, f TimerFilter) ([]BreakTimer, error) {
	q := url.Values{}
	if err := c.addWindow(ctx, q, f.From, f.Until); err != nil {
		return nil, err
	}
	addIDs(q, "user_ids[]", f.UserIDs)
	return listAll(ctx, c, "/break_timers", q, rawBreakTimer)
}

// ListWorkTimerBreaks reads the break timers of one work timer.
func (c *Client) ListWorkTimerBreaks(ctx context.Context, workTimerID int64) ([]BreakTimer, error) {
	// A timer's breaks fit one page: it and the empty page that ends the list are asked
	// for at once (the same two calls, one latency instead of two).
	return listAhead(ctx, c, idPath("/work_timers", workTimerID)+"/break_timers", nil, 2, rawBreakTimer)
}

// ---- events -------------------------------------------------------------------------

// EventFilter narrows ListEvents. From is the watermark: events created at or after it.
type EventFilter struct {
	From, Until time.Time
	UserID      int64
	LocationID  int64
	Types       []string // event_type[]: location, schedule, shift, application, absence, …
}

// ListEvents reads the change feed with delivery_state=all, so that reading does not
// consume events for other readers of the same API user (what marks an event read is
// undocumented); progress is kept with the From watermark instead.
func (c *Client) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	q := url.Values{}
	q.Set("delivery_state", "all")
	if err := c.addWindow(ctx, q, f.From, f.Until); err != nil {
		return nil, err
	}
	if f.UserID != 0 {
		q.Set("user_id", strconv.FormatInt(f.UserID, 10))
	}
	for _, t := range f.Types {
		q.Add("event_type[]", t)
	}
	path := "/events"
	if f.LocationID != 0 {
		path = idPath("/locations", f.LocationID) + "/events"
	}
	return listAll(ctx, c, path, q, rawEvent)
}
