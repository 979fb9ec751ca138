package personiosim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// GenerateOptions sizes a generated company.
type GenerateOptions struct {
	Employees int
	Seed      uint64
	// Year anchors hire dates, absences and attendances (default: year of the
	// simulator clock).
	Year int
	// AbsencesPerEmployee and AttendanceDays add periods per employee
	// (default 0: master data only).
	AbsencesPerEmployee int
	AttendanceDays      int
}

// Generated describes what Generate created, so tests can refer to it.
type Generated struct {
	Offices       []OrgUnit
	Departments   []OrgUnit
	Teams         []OrgUnit
	Subcompanies  []OrgUnit
	TimeOffTypes  []TimeOffType // Bezahlter Urlaub, Krankheit, Unbezahlter Urlaub, Homeoffice (hour)
	ShiftPlanning CustomAttribute
	Employees     []Employee
}

var (
	firstNames = []string{"Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Jonas", "Julia",
		"Karl", "Lena", "Leon", "Marie", "Max", "Mia", "Noah", "Paul", "Sophie", "Tim", "Lukas", "Laura",
		"Elias", "Lea", "Finn", "Zoe", "Özlem", "Jürgen", "Ayşe", "Björn"}
	lastNames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
		"Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
		"Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Yılmaz", "Kaya"}
	positions = []string{"Servicekraft", "Koch", "Schichtleitung", "Lagerist", "Kassierer", "Pflegekraft",
		"Fahrer", "Barista", "Filialleitung", "Aushilfe"}
)

// Generate adds a realistic company with n employees, deterministic by
// seed: offices, departments, teams, subcompanies, the usual German absence
// types, a `shift_planning` custom attribute, employees with a mix of
// statuses, hire dates, last working days, weekly hours and entitlements,
// and optionally absence and attendance periods. It may be called on a
// simulator that already holds data; ids continue from there.
func (s *Server) Generate(o GenerateOptions) Generated {
	r := rand.New(rand.NewPCG(o.Seed, o.Seed*31+7))
	year := o.Year
	if year == 0 {
		year = s.cfg.Now().Year()
	}
	var g Generated
	for _, n := range []string{"Berlin", "München", "Hamburg", "Köln"} {
		g.Offices = append(g.Offices, OrgUnit{ID: s.AddOffice(n), Name: n})
	}
	for _, n := range []string{"Service", "Küche", "Logistik", "Verwaltung"} {
		g.Departments = append(g.Departments, OrgUnit{ID: s.AddDepartment(n), Name: n})
	}
	for _, n := range []string{"Frühschicht", "Spätschicht", "Nachtschicht"} {
		g.Teams = append(g.Teams, OrgUnit{ID: s.AddTeam(n), Name: n})
	}
	for _, n := range []string{"Gastro Nord GmbH", "Gastro Süd GmbH"} {
		g.Subcompanies = append(g.Subcompanies, OrgUnit{ID: s.AddSubcompany(n), Name: n})
	}
	g.TimeOffTypes = []TimeOffType{
		s.AddTimeOffType(TimeOffType{Name: "Bezahlter Urlaub", Category: "paid_vacation", Unit: "day", ApprovalRequired: true}),
		s.AddTimeOffType(TimeOffType{Name: "Krankheit", Category: "sick_leave", Unit: "day"}),
		s.AddTimeOffType(TimeOffType{Name: "Unbezahlter Urlaub", Category: "unpaid_vacation", Unit: "day", ApprovalRequired: true}),
		s.AddTimeOffType(TimeOffType{Name: "Homeoffice", Category: "offsite_work", Unit: "hour"}),
	}
	g.ShiftPlanning = s.AddCustomAttribute(CustomAttribute{Label: "shift_planning", Type: "standard", UniversalID: "shift_planning"})

	seen := map[string]int{}
	for i := range o.Employees {
		fn := firstNames[r.IntN(len(firstNames))]
		ln := lastNames[r.IntN(len(lastNames))]
		local := asciiFold(strings.ToLower(fn + "." + ln))
		seen[local]++
		if seen[local] > 1 {
			local = fmt.Sprintf("%s%d", local, seen[local])
		}
		hire := Date(year-r.IntN(8), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		status := "active"
		var lwd time.Time
		switch p := r.IntN(100); {
		case p < 5:
			status = "onboarding"
			hire = Date(year, 12, 1+r.IntN(28))
		case p < 9:
			status = "leave"
		case p < 15:
			status = "inactive"
			lwd = Date(year-1, time.Month(1+r.IntN(12)), 1+r.IntN(28))
		case p < 20:
			lwd = Date(year, time.Month(6+r.IntN(7)), 1+r.IntN(28)) // leaving this year
		}
		hours := []float64{40, 40, 38.5, 32, 30, 20, 12}[r.IntN(7)]
		vac := []float64{30, 28, 26, 24}[r.IntN(4)]
		e := Employee{
			FirstName: fn, LastName: ln, Email: local + "@gastro-demo.example",
			Gender:       []string{"female", "male", "diverse"}[r.IntN(3)],
			Position:     positions[r.IntN(len(positions))],
			Status:       status,
			OfficeID:     g.Offices[r.IntN(len(g.Offices))].ID,
			DepartmentID: g.Departments[r.IntN(len(g.Departments))].ID,
			TeamID:       g.Teams[r.IntN(len(g.Teams))].ID,
			SubcompanyID: g.Subcompanies[r.IntN(len(g.Subcompanies))].ID,
			HireDate:     hire, LastWorkingDay: lwd, TerminationDate: lwd,
			WeeklyHours: hours, VacationDayBalance: vac - float64(r.IntN(10)),
			Entitlements: map[int64]float64{g.TimeOffTypes[0].ID: vac},
			Custom:       map[string]any{g.ShiftPlanning.Key: []string{"true", "false"}[boolIdx(r.IntN(10) < 8)]},
			CreatedAt:    hire.Add(-14 * 24 * time.Hour),
			ModifiedAt:   hire.Add(-7 * 24 * time.Hour),
		}
		if i > 0 && r.IntN(4) == 0 {
			e.SupervisorID = g.Employees[r.IntN(len(g.Employees))].ID
		}
		e = s.AddEmployee(e)
		g.Employees = append(g.Employees, e)

		for k := range o.AbsencesPerEmployee {
			start := Date(year, time.Month(1+(k*3+r.IntN(3))%12), 1+r.IntN(20))
			end := start.AddDate(0, 0, r.IntN(5))
			t := g.TimeOffTypes[r.IntN(3)]
			s.AddAbsencePeriod(AbsencePeriod{PersonID: e.ID, TypeID: t.IDv2, Start: start, End: &end,
				Comment: "", CreatedAt: start.AddDate(0, 0, -20), UpdatedAt: start.AddDate(0, 0, -20)})
		}
		for d := range o.AttendanceDays {
			day := Date(year, 3, 2).AddDate(0, 0, d)
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				continue
			}
			startH := 6 + r.IntN(8)
			st := Local(day.Year(), day.Month(), day.Day(), startH, 0)
			en := st.Add(time.Duration(hours/5*60) * time.Minute)
			s.AddAttendancePeriod(AttendancePeriod{PersonID: e.ID, Type: "WORK", Start: st, End: &en})
			if hours/5 > 6 {
				bs := st.Add(4 * time.Hour)
				be := bs.Add(30 * time.Minute)
				s.AddAttendancePeriod(AttendancePeriod{PersonID: e.ID, Type: "BREAK", Start: bs, End: &be})
			}
		}
	}
	return g
}

func boolIdx(b bool) int {
	if b {
		return 0
	}
	return 1
}

func asciiFold(s string) string {
	return strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "ş", "s", "ı", "i").Replace(s)
}
