package staffomaticsim

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AccountSpec describes a new account.
type AccountSpec struct {
	Subdomain string
	Name      string
	TimeZone  string // IANA name, default Europe/Berlin
	Locale    string // default de
	// ID is the account id (default: assigned).
	ID int64
	// TimeTracking and Webhooks are the plan's feature flags (TimeTracking defaults on).
	NoTimeTracking bool
	Webhooks       bool
}

type account struct {
	spec      AccountSpec
	id        int64
	loc       *time.Location
	createdAt time.Time
	updatedAt time.Time
	ownerID   int64

	nextID map[string]int64

	locations    map[int64]*Location
	users        map[int64]*User
	departments  map[int64]*Department
	absenceTypes map[int64]*AbsenceType
	absences     map[int64]*Absence
	workTimers   map[int64]*WorkTimer
	breakTimers  map[int64]*BreakTimer
	workReports  map[int64]*WorkReport
	events       map[int64]*Event
	tokens       map[string]int64
	invitations  []Invitation
	// signIn remembers which user a Basic-auth e-mail (lower-cased) signed in as, so a
	// request does not scan every user; an entry is used only while that user still
	// has the e-mail (e-mails are unique in an account).
	signIn map[string]int64

	hookURL    string
	hookSecret []byte

	// memo caches derived views (see memo.go); reports indexes work reports by user and week.
	memo    *memo
	reports map[reportKey]int64
}

type reportKey struct {
	user int64
	week int64 // Unix seconds of the week's Monday 00:00
}

// idBase spreads ids of different kinds apart, as in a real account.
var idBase = map[string]int64{
	"location": 24000, "user": 286000, "department": 39000, "absence_type": 14500,
	"absence": 565000, "work_timer": 9100, "break_timer": 4000, "work_report": 3700, "event": 21000,
}

func (a *account) newID(kind string, want int64) int64 {
	next := a.nextID[kind]
	if next == 0 {
		next = idBase[kind]
	}
	if want != 0 {
		if want >= next {
			a.nextID[kind] = want + 1
		}
		return want
	}
	a.nextID[kind] = next + 1
	return next
}

// Account is the handle of one simulated account: its seeding and inspection API.
// Seeding writes the past: it records no call, event or webhook hint.
type Account struct {
	s   *Server
	sub string
}

// AddAccount creates an account. It fails when the subdomain exists or the zone is unknown.
func (s *Server) AddAccount(spec AccountSpec) (*Account, error) {
	if spec.Subdomain == "" || strings.ContainsAny(spec.Subdomain, "/?#") {
		return nil, errors.New("staffomaticsim: a subdomain is required")
	}
	if spec.TimeZone == "" {
		spec.TimeZone = "Europe/Berlin"
	}
	if spec.Locale == "" {
		spec.Locale = "de"
	}
	if spec.Name == "" {
		spec.Name = spec.Subdomain
	}
	loc, err := time.LoadLocation(spec.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("staffomaticsim: time zone: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.accounts[spec.Subdomain]; dup {
		return nil, fmt.Errorf("staffomaticsim: account %q exists", spec.Subdomain)
	}
	id := spec.ID
	if id == 0 {
		id = 21453 + int64(len(s.accounts))
	}
	now := s.cfg.Now()
	s.accounts[spec.Subdomain] = &account{
		spec: spec, id: id, loc: loc, createdAt: now, updatedAt: now,
		nextID:    map[string]int64{},
		locations: map[int64]*Location{}, users: map[int64]*User{}, departments: map[int64]*Department{},
		absenceTypes: map[int64]*AbsenceType{}, absences: map[int64]*Absence{}, workTimers: map[int64]*WorkTimer{},
		breakTimers: map[int64]*BreakTimer{}, workReports: map[int64]*WorkReport{}, events: map[int64]*Event{},
		tokens: map[string]int64{},
	}
	return &Account{s: s, sub: spec.Subdomain}, nil
}

func (h *Account) lock() (*account, func()) {
	h.s.mu.Lock()
	a := h.s.accounts[h.sub]
	a.invalidate() // seeding changes records behind the API's back
	return a, h.s.mu.Unlock
}

// Subdomain returns the account's subdomain.
func (h *Account) Subdomain() string { return h.sub }

// TimeZone returns the account's time zone.
func (h *Account) TimeZone() *time.Location {
	a, unlock := h.lock()
	defer unlock()
	return a.loc
}

// SetWebhook makes the simulator POST signed hints (see staffomatic.Sign) to url when
// users, absences or timers change through the API. An empty url turns hints off.
func (h *Account) SetWebhook(url string, secret []byte) {
	a, unlock := h.lock()
	defer unlock()
	a.hookURL, a.hookSecret = url, append([]byte(nil), secret...)
}

// IssueToken returns a bearer token acting as the user (like an OAuth access token).
func (h *Account) IssueToken(userID int64) (string, error) {
	a, unlock := h.lock()
	defer unlock()
	if a.users[userID] == nil {
		return "", fmt.Errorf("staffomaticsim: no user %d", userID)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	a.tokens[tok] = userID
	return tok, nil
}

// authenticate resolves the request's credentials to an unlocked user, or nil.
func (a *account) authenticate(r *http.Request) *User {
	if email, pw, ok := r.BasicAuth(); ok {
		ok := func(u *User) bool { return u.Password != "" && u.Password == pw && u.LockedAt == nil }
		key := strings.ToLower(email)
		if u := a.users[a.signIn[key]]; u != nil && strings.EqualFold(u.Email, email) {
			if ok(u) {
				return u
			}
			return nil
		}
		for _, u := range a.users {
			if strings.EqualFold(u.Email, email) && ok(u) {
				if a.signIn == nil {
					a.signIn = map[string]int64{}
				}
				a.signIn[key] = u.ID
				return u
			}
		}
		return nil
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if u := a.users[a.tokens[strings.TrimSpace(tok)]]; u != nil && u.LockedAt == nil {
			return u
		}
	}
	return nil
}

func (h *Account) now() time.Time { return h.s.cfg.Now() }

// AddLocation seeds a location.
func (h *Account) AddLocation(l Location) Location {
	a, unlock := h.lock()
	defer unlock()
	l.ID = a.newID("location", l.ID)
	if l.FirstDayOfWeek == 0 {
		l.FirstDayOfWeek = 1
	}
	l.Settings = l.settings()
	stamp(&l.CreatedAt, &l.UpdatedAt, h.now())
	a.locations[l.ID] = &l
	return l
}

func stamp(created, updated *time.Time, now time.Time) {
	if created.IsZero() {
		*created = now
	}
	if updated.IsZero() {
		*updated = *created
	}
}

// AddUser seeds a user. The first admin added becomes the account owner.
func (h *Account) AddUser(u User) (User, error) {
	a, unlock := h.lock()
	defer unlock()
	for _, l := range u.LocationIDs {
		if a.locations[l] == nil {
			return User{}, fmt.Errorf("staffomaticsim: no location %d", l)
		}
	}
	for _, d := range u.DepartmentIDs {
		if a.departments[d] == nil {
			return User{}, fmt.Errorf("staffomaticsim: no department %d", d)
		}
	}
	if u.Email != "" && a.userByEmail(u.Email) != nil {
		return User{}, fmt.Errorf("staffomaticsim: e-mail %q taken", u.Email)
	}
	if u.Role == "" {
		u.Role = "staff"
	}
	if u.Locale == "" {
		u.Locale = a.spec.Locale
	}
	u.ID = a.newID("user", u.ID)
	stamp(&u.CreatedAt, &u.UpdatedAt, h.now())
	u.LocationIDs = slices.Clone(u.LocationIDs)
	u.DepartmentIDs = slices.Clone(u.DepartmentIDs)
	a.users[u.ID] = &u
	if u.Role == "admin" && a.ownerID == 0 {
		a.ownerID = u.ID
	}
	return cloneUser(&u), nil
}

func (a *account) userByEmail(email string) *User {
	for _, u := range a.users {
		if strings.EqualFold(strings.TrimSpace(u.Email), strings.TrimSpace(email)) {
			return u
		}
	}
	return nil
}

// AddDepartment seeds a department.
func (h *Account) AddDepartment(d Department) (Department, error) {
	a, unlock := h.lock()
	defer unlock()
	if a.locations[d.LocationID] == nil {
		return Department{}, fmt.Errorf("staffomaticsim: no location %d", d.LocationID)
	}
	if d.Color == "" {
		d.Color = "c4a5c8"
	}
	d.ID = a.newID("department", d.ID)
	stamp(&d.CreatedAt, &d.UpdatedAt, h.now())
	a.departments[d.ID] = &d
	return d, nil
}

// AddAbsenceType seeds an absence type. IncludeWeekends is taken as given.
func (h *Account) AddAbsenceType(t AbsenceType) (AbsenceType, error) {
	a, unlock := h.lock()
	defer unlock()
	if a.locations[t.LocationID] == nil {
		return AbsenceType{}, fmt.Errorf("staffomaticsim: no location %d", t.LocationID)
	}
	if t.Color == "" {
		t.Color = "749ec1"
	}
	if t.Visibility == "" {
		t.Visibility = "schedulers"
	}
	t.ID = a.newID("absence_type", t.ID)
	stamp(&t.CreatedAt, &t.UpdatedAt, h.now())
	a.absenceTypes[t.ID] = &t
	return t, nil
}

// AddAbsence seeds an absence (state "new" when empty). All-day times are normalised
// like the API does.
func (h *Account) AddAbsence(x Absence) (Absence, error) {
	a, unlock := h.lock()
	defer unlock()
	if a.users[x.ApplicantID] == nil {
		return Absence{}, fmt.Errorf("staffomaticsim: no user %d", x.ApplicantID)
	}
	if a.absenceTypes[x.AbsenceTypeID] == nil {
		return Absence{}, fmt.Errorf("staffomaticsim: no absence type %d", x.AbsenceTypeID)
	}
	if x.State == "" {
		x.State = StateNew
	}
	if x.AllDay {
		x.StartsAt, x.EndsAt = a.allDay(x.StartsAt, x.EndsAt)
	}
	if x.EndsAt.Before(x.StartsAt) {
		return Absence{}, errors.New("staffomaticsim: absence ends before it starts")
	}
	x.ID = a.newID("absence", x.ID)
	stamp(&x.CreatedAt, &x.UpdatedAt, h.now())
	if x.State != StateNew && x.ProcessedAt == nil {
		x.ProcessedAt = ptr(x.UpdatedAt)
	}
	a.absences[x.ID] = &x
	return x, nil
}

// AddWorkTimer seeds a work timer. State defaults to stopped when EndsAt is set, else
// running. A WorkReportID is honoured for the timer's week when no report exists yet.
func (h *Account) AddWorkTimer(t WorkTimer) (WorkTimer, error) {
	a, unlock := h.lock()
	defer unlock()
	if a.users[t.UserID] == nil {
		return WorkTimer{}, fmt.Errorf("staffomaticsim: no user %d", t.UserID)
	}
	if t.State == "" {
		t.State = TimerRunning
		if t.EndsAt != nil {
			t.State = TimerStopped
		}
	}
	if (t.State == TimerRunning) != (t.EndsAt == nil) {
		return WorkTimer{}, errors.New("staffomaticsim: a running timer has no end, a stopped or verified one has")
	}
	if t.EndsAt != nil && t.EndsAt.Before(t.StartsAt) {
		return WorkTimer{}, errors.New("staffomaticsim: timer ends before it starts")
	}
	t.ID = a.newID("work_timer", t.ID)
	stamp(&t.CreatedAt, &t.UpdatedAt, h.now())
	t.WorkReportID = a.reportFor(t.UserID, t.StartsAt, t.WorkReportID, t.CreatedAt)
	a.workTimers[t.ID] = &t
	return t, nil
}

// AddBreakTimer seeds a break inside a work timer.
func (h *Account) AddBreakTimer(b BreakTimer) (BreakTimer, error) {
	a, unlock := h.lock()
	defer unlock()
	wt := a.workTimers[b.WorkTimerID]
	if wt == nil {
		return BreakTimer{}, fmt.Errorf("staffomaticsim: no work timer %d", b.WorkTimerID)
	}
	b.UserID = wt.UserID
	if b.EndsAt != nil && b.EndsAt.Before(b.StartsAt) {
		return BreakTimer{}, errors.New("staffomaticsim: break ends before it starts")
	}
	b.ID = a.newID("break_timer", b.ID)
	stamp(&b.CreatedAt, &b.UpdatedAt, h.now())
	a.breakTimers[b.ID] = &b
	return b, nil
}

// allDay normalises an all-day range to 00:00:00 on the first and 23:59:59 on the last
// day in the account zone, as recorded in 2017.
func (a *account) allDay(start, end time.Time) (time.Time, time.Time) {
	s, e := start.In(a.loc), end.In(a.loc)
	return time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, a.loc),
		time.Date(e.Year(), e.Month(), e.Day(), 23, 59, 59, 0, a.loc)
}

// weekStart is Monday 00:00 of t's week in the account zone.
func (a *account) weekStart(t time.Time) time.Time {
	t = t.In(a.loc)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, a.loc)
	off := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -off)
}

// reportFor finds or creates the weekly work report of a user.
func (a *account) reportFor(userID int64, t time.Time, want int64, now time.Time) int64 {
	ws := a.weekStart(t)
	if a.reports == nil {
		a.reports = map[reportKey]int64{}
		for _, r := range a.workReports {
			a.reports[reportKey{r.UserID, r.StartsAt.Unix()}] = r.ID
		}
	}
	key := reportKey{userID, ws.Unix()}
	if id, ok := a.reports[key]; ok {
		return id
	}
	if want != 0 && a.workReports[want] != nil {
		want = 0
	}
	id := a.newID("work_report", want)
	a.workReports[id] = &WorkReport{ID: id, UserID: userID, StartsAt: ws, CreatedAt: now, UpdatedAt: now}
	a.reports[key] = id
	a.invalidate()
	return id
}

// ---- inspection ----------------------------------------------------------------------

func sortedValues[T any](m map[int64]*T, id func(*T) int64, clone func(*T) T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, clone(v))
	}
	slices.SortFunc(out, func(x, y T) int { return cmp.Compare(id(&x), id(&y)) })
	return out
}

func cloneUser(u *User) User {
	c := *u
	c.LocationIDs = slices.Clone(u.LocationIDs)
	c.DepartmentIDs = slices.Clone(u.DepartmentIDs)
	return c
}

func plain[T any](v *T) T { return *v }

// Users returns every stored user, by id.
func (h *Account) Users() []User {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.users, func(u *User) int64 { return u.ID }, cloneUser)
}

// User returns one stored user.
func (h *Account) User(id int64) (User, bool) {
	a, unlock := h.lock()
	defer unlock()
	u := a.users[id]
	if u == nil {
		return User{}, false
	}
	return cloneUser(u), true
}

// Locations returns every stored location, by id.
func (h *Account) Locations() []Location {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.locations, func(v *Location) int64 { return v.ID }, plain)
}

// Departments returns every stored department, by id.
func (h *Account) Departments() []Department {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.departments, func(v *Department) int64 { return v.ID }, plain)
}

// AbsenceTypes returns every stored absence type, by id.
func (h *Account) AbsenceTypes() []AbsenceType {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.absenceTypes, func(v *AbsenceType) int64 { return v.ID }, plain)
}

// Absences returns every stored absence, by id.
func (h *Account) Absences() []Absence {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.absences, func(v *Absence) int64 { return v.ID }, plain)
}

// WorkTimers returns every stored work timer, by id.
func (h *Account) WorkTimers() []WorkTimer {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.workTimers, func(v *WorkTimer) int64 { return v.ID }, plain)
}

// BreakTimers returns every stored break timer, by id.
func (h *Account) BreakTimers() []BreakTimer {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.breakTimers, func(v *BreakTimer) int64 { return v.ID }, plain)
}

// Events returns every recorded event, by id.
func (h *Account) Events() []Event {
	a, unlock := h.lock()
	defer unlock()
	return sortedValues(a.events, func(v *Event) int64 { return v.ID }, func(e *Event) Event { c := *e; c.readBy = nil; return c })
}

// Invitations returns the invitations sent through the API, oldest first.
func (h *Account) Invitations() []Invitation {
	a, unlock := h.lock()
	defer unlock()
	return slices.Clone(a.invitations)
}

// Durations returns a work timer's gross, break and net seconds as the API reports them.
func (h *Account) Durations(workTimerID int64) (gross, brk, net int64, ok bool) {
	a, unlock := h.lock()
	defer unlock()
	t := a.workTimers[workTimerID]
	if t == nil {
		return 0, 0, 0, false
	}
	gross, brk, net = a.durations(t)
	return gross, brk, net, true
}
