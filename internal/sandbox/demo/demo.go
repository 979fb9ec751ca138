// Package demo seeds the deterministic demo company that `make run` shows: a Personio
// company ("Demo Gastro GmbH", 25 employees in 2 offices and 4 departments, time-off
// types and absences) and the Staffomatic account it is synchronised with (2 locations,
// same-named absence categories except one, a category without a Personio type, 3
// pre-existing users with their own absences and a week of work timers). Everything is derived from the given `now`, so that the same `now` always
// gives the same records, and dates stay relevant whenever the demo is started.
package demo

import (
	"fmt"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// Credentials of the demo. They open only the local simulators.
const (
	PersonioClientID     = "demo-personio-client"
	PersonioClientSecret = "demo-personio-secret"
	StaffomaticSubdomain = "demo-gastro"
	StaffomaticEmail     = "ada.adler@demo-gastro.example"
	StaffomaticPassword  = "demo-staffomatic-password"
	// SecondAdminEmail and SecondAdminPassword sign in the account's second admin, the
	// proprietor, who is no Personio employee (the demo's unmatched user): the README hands
	// the integration over to her.
	SecondAdminEmail    = "greta.gastgeber@demo-gastro.example"
	SecondAdminPassword = "demo-second-admin-password"
)

// MatchKind is how a pre-existing Staffomatic user relates to a Personio employee.
type MatchKind string

const (
	MatchCustomID  MatchKind = "custom_id" // the user's custom_id is the Personio id
	MatchEmail     MatchKind = "email"     // same e-mail, no custom_id yet
	MatchUnmatched MatchKind = "unmatched" // no Personio employee corresponds
)

// ExistingUser is one of the Staffomatic users that exist before the first sync.
type ExistingUser struct {
	StaffomaticUserID  int64
	Email              string
	PersonioEmployeeID int64 // 0 when unmatched
	Match              MatchKind
}

// Info is what a tenant needs to use the demo, and what the demo contains.
type Info struct {
	Now time.Time

	PersonioClientID     string
	PersonioClientSecret string

	StaffomaticSubdomain string
	StaffomaticEmail     string
	StaffomaticPassword  string
	// StaffomaticAdminID is the integration owner (an admin, and itself a Personio
	// employee matched by e-mail).
	StaffomaticAdminID int64

	Employees    int
	Offices      []string
	Departments  []string
	TimeOffTypes []string
	// VacationTypeIDs and PaidTypeIDs are the v1 ids of the time-off types the demo tenant's
	// settings name for vacation-day deduction (Bezahlter Urlaub) and paid absences
	// (Bezahlter Urlaub, Krankheit), as an admin following the guide would set them.
	VacationTypeIDs []int64
	PaidTypeIDs     []int64
	AbsencePeriods  int
	ExistingUsers   []ExistingUser
	WorkTimers      int
	BreakTimers     int
	Locations       []string
	AbsenceTypes    []string // names, per location
	MissingCategory string   // the Personio type without a Staffomatic category
	// StaffomaticAbsences are the absences entered in Staffomatic (what moves when the
	// admin lets Staffomatic lead): a vacation week, a half day, a sick day, one across
	// New Year and one of MissingType, the category without a Personio type.
	StaffomaticAbsences int
	MissingType         string
	// HalfDayAbsenceID and YearBoundaryAbsenceID are the Personio v2 ids of the two
	// special absences.
	HalfDayAbsenceID      string
	YearBoundaryAbsenceID string
}

var (
	offices     = []string{"Berlin", "Hamburg"}
	departments = []string{"Service", "Küche", "Lager", "Verwaltung"}
	people      = []struct{ first, last, gender, position string }{
		{"Ada", "Adler", "female", "Betriebsleitung"}, {"Bruno", "Brandt", "male", "Koch"}, {"Carla", "Conrad", "female", "Servicekraft"},
		{"Deniz", "Demir", "diverse", "Lagerist"}, {"Emil", "Engel", "male", "Servicekraft"}, {"Frieda", "Fuchs", "female", "Köchin"},
		{"Georg", "Günther", "male", "Buchhaltung"}, {"Hanna", "Horn", "female", "Servicekraft"}, {"Ilias", "Iwanow", "male", "Lagerist"},
		{"Jana", "Jung", "female", "Schichtleitung"}, {"Kemal", "Kaya", "male", "Koch"}, {"Luisa", "Lorenz", "female", "Servicekraft"},
		{"Mats", "Möller", "male", "Barista"}, {"Nora", "Neumann", "female", "Personal"}, {"Oskar", "Ott", "male", "Lagerist"},
		{"Paula", "Peters", "female", "Servicekraft"}, {"Quirin", "Quandt", "male", "Koch"}, {"Rosa", "Roth", "female", "Schichtleitung"},
		{"Sven", "Sommer", "male", "Servicekraft"}, {"Tanja", "Thiel", "female", "Lageristin"}, {"Umut", "Uçar", "male", "Koch"},
		{"Vera", "Vogt", "female", "Servicekraft"}, {"Willi", "Winter", "male", "Fahrer"}, {"Xenia", "Xu", "female", "Barista"},
		{"Yannik", "Yilmaz", "male", "Aushilfe"},
	}
)

func email(first, last string) string {
	return fmt.Sprintf("%s.%s@demo-gastro.example", fold(first), fold(last))
}

func fold(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case 'ä', 'Ä':
			out = append(out, 'a', 'e')
		case 'ö', 'Ö':
			out = append(out, 'o', 'e')
		case 'ü', 'Ü':
			out = append(out, 'u', 'e')
		case 'ß':
			out = append(out, 's', 's')
		case 'ç', 'Ç':
			out = append(out, 'c')
		default:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			out = append(out, r)
		}
	}
	return string(out)
}

// Seed fills both simulators with the demo company. p and s should be empty; the
// simulators' own clocks stamp created/updated times, `now` places every business date.
func Seed(p *personiosim.Server, s *staffomaticsim.Server, now time.Time) (Info, error) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	now = now.In(berlin)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, berlin)
	info := Info{
		Now: now, PersonioClientID: PersonioClientID, PersonioClientSecret: PersonioClientSecret,
		StaffomaticSubdomain: StaffomaticSubdomain, StaffomaticEmail: StaffomaticEmail, StaffomaticPassword: StaffomaticPassword,
		Offices: offices, Departments: departments, MissingCategory: "Fortbildung",
	}

	// ---- Personio -----------------------------------------------------------------
	p.AddCredential(personiosim.Credential{ClientID: PersonioClientID, ClientSecret: PersonioClientSecret})
	p.AddSubcompany("Demo Gastro GmbH")
	var officeIDs, deptIDs []int64
	for _, o := range offices {
		officeIDs = append(officeIDs, p.AddOffice(o))
	}
	for _, d := range departments {
		deptIDs = append(deptIDs, p.AddDepartment(d))
	}
	teamIDs := []int64{p.AddTeam("Frühschicht"), p.AddTeam("Spätschicht")}
	shift := p.AddCustomAttribute(personiosim.CustomAttribute{Label: "shift_planning", Type: "standard"})
	types := map[string]personiosim.TimeOffType{}
	for _, t := range []personiosim.TimeOffType{
		{Name: "Bezahlter Urlaub", Category: "paid_vacation", ApprovalRequired: true},
		{Name: "Krankheit", Category: "sick_leave"},
		{Name: "Unbezahlter Urlaub", Category: "unpaid_vacation", ApprovalRequired: true},
		{Name: "Fortbildung", Category: "other", ApprovalRequired: true},
	} {
		t = p.AddTimeOffType(t)
		types[t.Name] = t
		info.TimeOffTypes = append(info.TimeOffTypes, t.Name)
	}
	vacation := types["Bezahlter Urlaub"]
	info.VacationTypeIDs = []int64{vacation.ID}
	info.PaidTypeIDs = []int64{vacation.ID, types["Krankheit"].ID}

	var emps []personiosim.Employee
	for i, pp := range people {
		e := personiosim.Employee{
			FirstName: pp.first, LastName: pp.last, Gender: pp.gender, Position: pp.position,
			Email:        email(pp.first, pp.last),
			OfficeID:     officeIDs[i%2],
			DepartmentID: deptIDs[i%len(deptIDs)],
			TeamID:       teamIDs[(i/2)%2],
			WeeklyHours:  []float64{40, 30, 20, 38.5}[i%4],
			HireDate:     personiosim.Date(today.Year()-1-i%5, time.Month(1+i%12), 1),
			Entitlements: map[int64]float64{vacation.ID: float64(26 + i%5)},
			Custom:       map[string]any{shift.Key: map[bool]string{true: "ja", false: "nein"}[i%6 != 5]},
		}
		switch i {
		case 22: // starts next month: onboarding, to show the hire-date setting
			e.Status = "onboarding"
			e.HireDate = personiosim.Date(today.Year(), today.Month()+1, 1)
		case 23: // left last month: to show locking after the last working day
			e.Status = "inactive"
			last := today.AddDate(0, 0, -today.Day())
			e.LastWorkingDay = personiosim.Date(last.Year(), last.Month(), last.Day())
			e.TerminationDate = e.LastWorkingDay
		case 24: // no e-mail: a conflict the set-up reports instead of guessing
			e.Email = ""
		case 7: // part-time, 6 hours Monday to Friday: her half day covers half of that
			h := 6 * time.Hour
			e.WeeklyHours = 30
			e.WorkSchedule = &personiosim.WorkSchedule{ID: 31, Name: "Teilzeit 30 Stunden", Hours: [7]time.Duration{0, h, h, h, h, h, 0}}
		}
		emps = append(emps, p.AddEmployee(e))
	}
	info.Employees = len(emps)

	day := func(t time.Time) time.Time { return personiosim.Local(t.Year(), t.Month(), t.Day(), 0, 0) }
	endp := func(t time.Time) *time.Time { v := day(t); return &v }
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	// The year boundary: the coming one in the second half of the year, else the last one.
	boundaryYear := today.Year()
	if today.Month() <= time.June {
		boundaryYear--
	}
	newYear := time.Date(boundaryYear+1, 1, 1, 0, 0, 0, 0, berlin)
	absences := []personiosim.AbsencePeriod{
		{PersonID: emps[2].ID, TypeID: vacation.IDv2, Start: day(monday.AddDate(0, 0, 14)), End: endp(monday.AddDate(0, 0, 18)), Comment: "Sommerurlaub"},
		{PersonID: emps[4].ID, TypeID: vacation.IDv2, Start: day(monday.AddDate(0, 0, 7)), End: endp(monday.AddDate(0, 0, 8))},
		{PersonID: emps[5].ID, TypeID: types["Krankheit"].IDv2, Start: day(monday), End: endp(monday.AddDate(0, 0, 1))},
		{PersonID: emps[7].ID, TypeID: vacation.IDv2, Start: day(monday.AddDate(0, 0, 23)), End: endp(monday.AddDate(0, 0, 23)),
			StartHalf: "SECOND_HALF", Comment: "Halber Tag"},
		{PersonID: emps[9].ID, TypeID: vacation.IDv2, Start: day(newYear.AddDate(0, 0, -3)), End: endp(newYear.AddDate(0, 0, 2)), Comment: "Über Neujahr"},
		{PersonID: emps[11].ID, TypeID: vacation.IDv2, Start: day(monday.AddDate(0, 0, 28)), End: endp(monday.AddDate(0, 0, 32)), Status: personiosim.StatusPending},
		{PersonID: emps[13].ID, TypeID: types["Unbezahlter Urlaub"].IDv2, Start: day(monday.AddDate(0, 0, 21)), End: endp(monday.AddDate(0, 0, 21))},
		{PersonID: emps[15].ID, TypeID: types["Fortbildung"].IDv2, Start: day(monday.AddDate(0, 0, 9)), End: endp(monday.AddDate(0, 0, 10)), Comment: "Hygieneschulung"},
	}
	for i, a := range absences {
		a = p.AddAbsencePeriod(a)
		switch i {
		case 3:
			info.HalfDayAbsenceID = a.ID
		case 4:
			info.YearBoundaryAbsenceID = a.ID
		}
	}
	info.AbsencePeriods = len(absences)

	// ---- Staffomatic -----------------------------------------------------------------
	acc, err := s.AddAccount(staffomaticsim.AccountSpec{Subdomain: StaffomaticSubdomain, Name: "Demo Gastro GmbH", TimeZone: "Europe/Berlin"})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	var locs []staffomaticsim.Location
	for _, o := range offices {
		locs = append(locs, acc.AddLocation(staffomaticsim.Location{Name: o}))
		info.Locations = append(info.Locations, o)
	}
	for _, l := range locs {
		for _, n := range []string{"Bezahlter Urlaub", "Krankheit", "Unbezahlter Urlaub"} {
			if _, err := acc.AddAbsenceType(staffomaticsim.AbsenceType{LocationID: l.ID, Name: n, UserSelectable: true,
				IncludeWeekends: false, Visibility: "staff"}); err != nil {
				return Info{}, fmt.Errorf("demo: %w", err)
			}
		}
	}
	info.AbsenceTypes = []string{"Bezahlter Urlaub", "Krankheit", "Unbezahlter Urlaub"}
	service, err := acc.AddDepartment(staffomaticsim.Department{LocationID: locs[0].ID, Name: "Service"})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}

	// The owner and integration login: Personio's Ada Adler, matched by e-mail (stored
	// in another letter case, which matching must ignore; sign-in ignores it too).
	admin, err := acc.AddUser(staffomaticsim.User{Email: "Ada.Adler@Demo-Gastro.example", Password: StaffomaticPassword,
		FirstName: "Ada", LastName: "Adler", Role: "admin", InvitationState: "accepted", LocationIDs: []int64{locs[0].ID, locs[1].ID}})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	byCustom, err := acc.AddUser(staffomaticsim.User{FirstName: "Carla", LastName: "Conrad", CustomID: fmt.Sprint(emps[2].ID),
		Email: "carla.privat@example.net", InvitationState: "accepted", LocationIDs: []int64{locs[0].ID}, DepartmentIDs: []int64{service.ID}})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	// The second admin: the proprietor, who plans shifts but is not employed through Personio,
	// so no employee matches her. She can sign in, so an integration can be handed over.
	unmatched, err := acc.AddUser(staffomaticsim.User{FirstName: "Greta", LastName: "Gastgeber", Email: SecondAdminEmail, Password: SecondAdminPassword,
		Role: "admin", InvitationState: "accepted", LocationIDs: []int64{locs[1].ID}})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	info.StaffomaticAdminID = admin.ID

	// Absences entered in Staffomatic, all approved: they move to Personio when the admin
	// lets Staffomatic lead. Dates keep clear of the Personio absences of the same people.
	cats := map[string]int64{}
	for _, at := range acc.AbsenceTypes() {
		if at.LocationID == locs[0].ID {
			cats[at.Name] = at.ID
		}
	}
	training, err := acc.AddAbsenceType(staffomaticsim.AbsenceType{LocationID: locs[0].ID, Name: "Schulung", UserSelectable: true, Visibility: "staff"})
	if err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	info.MissingType = training.Name
	at := func(d time.Time, h int) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, berlin) }
	endOf := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, berlin) }
	// With Staffomatic leading only the current year moves (DESIGN §1.3), so these stay in
	// today's year: the weeks six to eight ahead, or, when those reach into the next year
	// (a demo seeded from mid-November), the same weekdays eight weeks back; the sick day
	// this week, or today when this week's Thursday is already in another year.
	later := monday.AddDate(0, 0, 42)
	if later.AddDate(0, 0, 8).Year() != today.Year() {
		later = monday.AddDate(0, 0, -56)
	}
	sick := monday.AddDate(0, 0, 3)
	if sick.Year() != today.Year() {
		sick = today
	}
	for _, x := range []staffomaticsim.Absence{
		{ApplicantID: byCustom.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], StartsAt: at(later, 0), EndsAt: endOf(later.AddDate(0, 0, 4)), AllDay: true, Vacation: true, Paid: true},
		{ApplicantID: admin.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], StartsAt: at(later.AddDate(0, 0, 2), 12), EndsAt: at(later.AddDate(0, 0, 2), 16), Vacation: true, Paid: true},
		{ApplicantID: byCustom.ID, AbsenceTypeID: cats["Krankheit"], StartsAt: at(sick, 0), EndsAt: endOf(sick), AllDay: true, Paid: true},
		{ApplicantID: admin.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], StartsAt: at(newYear.AddDate(0, 0, -2), 0), EndsAt: endOf(newYear.AddDate(0, 0, 1)), AllDay: true, Vacation: true, Paid: true},
		{ApplicantID: admin.ID, AbsenceTypeID: training.ID, StartsAt: at(later.AddDate(0, 0, 8), 0), EndsAt: endOf(later.AddDate(0, 0, 8)), AllDay: true},
	} {
		x.State, x.LocationID = staffomaticsim.StateApproved, &locs[0].ID
		if _, err := acc.AddAbsence(x); err != nil {
			return Info{}, fmt.Errorf("demo: %w", err)
		}
		info.StaffomaticAbsences++
	}
	info.ExistingUsers = []ExistingUser{
		{StaffomaticUserID: admin.ID, Email: admin.Email, PersonioEmployeeID: emps[0].ID, Match: MatchEmail},
		{StaffomaticUserID: byCustom.ID, Email: byCustom.Email, PersonioEmployeeID: emps[2].ID, Match: MatchCustomID},
		{StaffomaticUserID: unmatched.ID, Email: unmatched.Email, Match: MatchUnmatched},
	}

	// A week of work: the last seven days before today, weekdays only, for all three.
	// The latest working day is not verified yet.
	latest := 1
	for wd := today.AddDate(0, 0, -latest).Weekday(); wd == time.Saturday || wd == time.Sunday; wd = today.AddDate(0, 0, -latest).Weekday() {
		latest++
	}
	for d := 7; d >= 1; d-- {
		date := today.AddDate(0, 0, -d)
		if date.Weekday() == time.Saturday || date.Weekday() == time.Sunday {
			continue
		}
		for k, u := range []staffomaticsim.User{admin, byCustom, unmatched} {
			start := date.Add(time.Duration(7+k) * time.Hour).Add(time.Duration(d*5%15) * time.Minute)
			end := start.Add(8*time.Hour + 30*time.Minute)
			state := staffomaticsim.TimerVerified
			if d == latest {
				state = staffomaticsim.TimerStopped
			}
			lid := locs[0].ID
			if u.ID == unmatched.ID {
				lid = locs[1].ID
			}
			wt := staffomaticsim.WorkTimer{UserID: u.ID, LocationID: &lid, State: state, StartsAt: start, EndsAt: &end,
				DeviceType: "terminal", CreatedByID: &u.ID, UpdatedByID: &admin.ID, CreatedAt: end, UpdatedAt: end}
			stamped := (d+k)%2 == 0
			if !stamped {
				wt.LumpBreak = 30 * time.Minute
			}
			wt, err := acc.AddWorkTimer(wt)
			if err != nil {
				return Info{}, fmt.Errorf("demo: %w", err)
			}
			info.WorkTimers++
			if stamped {
				bs := start.Add(4 * time.Hour)
				be := bs.Add(30 * time.Minute)
				if _, err := acc.AddBreakTimer(staffomaticsim.BreakTimer{WorkTimerID: wt.ID, StartsAt: bs, EndsAt: &be, DeviceType: "terminal",
					CreatedAt: end, UpdatedAt: end}); err != nil {
					return Info{}, fmt.Errorf("demo: %w", err)
				}
				info.BreakTimers++
			}
		}
	}
	// A night shift crossing midnight (verified, with a lump-sum break) and a shift
	// running now, which the time sync must not send until it is stopped.
	night := today.AddDate(0, 0, -latest-1)
	for wd := night.Weekday(); wd == time.Saturday || wd == time.Sunday; wd = night.Weekday() {
		night = night.AddDate(0, 0, -1)
	}
	nStart := night.Add(22 * time.Hour)
	nEnd := nStart.Add(8 * time.Hour)
	nLoc := locs[0].ID
	if _, err := acc.AddWorkTimer(staffomaticsim.WorkTimer{UserID: byCustom.ID, LocationID: &nLoc, State: staffomaticsim.TimerVerified,
		StartsAt: nStart, EndsAt: &nEnd, LumpBreak: 45 * time.Minute, DeviceType: "terminal", CreatedByID: &byCustom.ID, UpdatedByID: &admin.ID,
		CreatedAt: nEnd, UpdatedAt: nEnd}); err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	rStart := now.Add(-2 * time.Hour).Truncate(time.Minute)
	if _, err := acc.AddWorkTimer(staffomaticsim.WorkTimer{UserID: admin.ID, LocationID: &nLoc, State: staffomaticsim.TimerRunning,
		StartsAt: rStart, DeviceType: "terminal", CreatedByID: &admin.ID, CreatedAt: rStart, UpdatedAt: rStart}); err != nil {
		return Info{}, fmt.Errorf("demo: %w", err)
	}
	info.WorkTimers += 2
	return info, nil
}
