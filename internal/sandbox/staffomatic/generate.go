package staffomaticsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// GenSpec describes a large account for benchmarks and load tests. The same spec (Seed
// included) always produces the same records with the same ids.
type GenSpec struct {
	Seed                   uint64
	Users                  int
	Locations              int      // default 1
	DepartmentsPerLocation int      // default 3
	AbsenceTypes           []string // per location; default Urlaub, Krankheit
	// TimersPerDay work timers per user and day over Days days ending with the day of
	// End (in the account zone). Timers are stopped or verified; about half have a
	// stamped break, the rest a lump-sum break.
	TimersPerDay int
	Days         int
	End          time.Time
	// AbsencesPerUser absences per user, spread over the Days before End and after it.
	AbsencesPerUser int
	// AdminEmail and AdminPassword create the admin the integration signs in with.
	AdminEmail    string
	AdminPassword string
}

// GenResult summarises what Generate created.
type GenResult struct {
	Admin        User
	Locations    []Location
	Departments  []Department
	AbsenceTypes []AbsenceType
	Users        int
	WorkTimers   int
	BreakTimers  int
	Absences     int
}

var (
	genFirst = []string{"Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hannes", "Ida", "Jonas",
		"Katrin", "Lukas", "Mia", "Noah", "Olga", "Paul", "Queenie", "Rafael", "Sophie", "Tim", "Ulla", "Viktor", "Wiebke", "Yusuf", "Zoe"}
	genLast = []string{"Albers", "Becker", "Çelik", "Dietrich", "Engel", "Fischer", "Graf", "Hoffmann", "Iwanow", "Jäger",
		"Krüger", "Lang", "Müller", "Nowak", "Otto", "Peters", "Quast", "Richter", "Schmidt", "Thiel", "Urban", "Vogel", "Weber", "Yilmaz", "Zimmermann"}
	genDepts = []string{"Service", "Küche", "Lager", "Kasse", "Verwaltung", "Reinigung"}
)

// Generate seeds a large, deterministic account into h.
func (h *Account) Generate(spec GenSpec) (GenResult, error) {
	if spec.Locations <= 0 {
		spec.Locations = 1
	}
	if spec.DepartmentsPerLocation <= 0 {
		spec.DepartmentsPerLocation = 3
	}
	if len(spec.AbsenceTypes) == 0 {
		spec.AbsenceTypes = []string{"Urlaub", "Krankheit"}
	}
	if spec.End.IsZero() {
		spec.End = h.now()
	}
	if spec.AdminEmail == "" {
		spec.AdminEmail = "admin@" + h.sub + ".example.com"
	}
	if spec.AdminPassword == "" {
		spec.AdminPassword = "secret-" + h.sub
	}
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x5eed))
	loc := h.TimeZone()
	var res GenResult

	for i := 0; i < spec.Locations; i++ {
		l := h.AddLocation(Location{Name: fmt.Sprintf("Filiale %d", i+1)})
		res.Locations = append(res.Locations, l)
		for j := 0; j < spec.DepartmentsPerLocation; j++ {
			d, err := h.AddDepartment(Department{LocationID: l.ID, Name: genDepts[j%len(genDepts)], Position: ptr(j + 1)})
			if err != nil {
				return res, err
			}
			res.Departments = append(res.Departments, d)
		}
		for _, name := range spec.AbsenceTypes {
			t, err := h.AddAbsenceType(AbsenceType{LocationID: l.ID, Name: name, IncludeWeekends: false, UserSelectable: true})
			if err != nil {
				return res, err
			}
			res.AbsenceTypes = append(res.AbsenceTypes, t)
		}
	}
	admin, err := h.AddUser(User{Email: spec.AdminEmail, Password: spec.AdminPassword, FirstName: "Admin", LastName: "Generated",
		Role: "admin", InvitationState: "accepted", LocationIDs: locationIDs(res.Locations)})
	if err != nil {
		return res, err
	}
	res.Admin = admin

	endDay := spec.End.In(loc)
	endDay = time.Date(endDay.Year(), endDay.Month(), endDay.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < spec.Users; i++ {
		li := i % spec.Locations
		l := res.Locations[li]
		dept := res.Departments[li*spec.DepartmentsPerLocation+rng.IntN(spec.DepartmentsPerLocation)]
		first, last := genFirst[rng.IntN(len(genFirst))], genLast[rng.IntN(len(genLast))]
		u := User{
			FirstName: first, LastName: last,
			Email:         fmt.Sprintf("%s.%s.%d@%s.example.com", asciiLower(first), asciiLower(last), i+1, h.sub),
			LocationIDs:   []int64{l.ID},
			DepartmentIDs: []int64{dept.ID}, InvitationState: "accepted",
			MaxVacationDays: ptr(float64(24 + rng.IntN(7))), MaxHoursPerMonth: ptr(float64(80 + 8*rng.IntN(11))),
		}
		if rng.IntN(20) == 0 {
			u.LockedAt = ptr(endDay.AddDate(0, 0, -rng.IntN(90)-1))
		}
		u, err := h.AddUser(u)
		if err != nil {
			return res, err
		}
		res.Users++

		for d := spec.Days - 1; d >= 0 && spec.TimersPerDay > 0; d-- {
			day := endDay.AddDate(0, 0, -d)
			slot := 9 * time.Hour / time.Duration(spec.TimersPerDay)
			for k := 0; k < spec.TimersPerDay; k++ {
				start := day.Add(7*time.Hour + time.Duration(k)*slot + time.Duration(rng.IntN(30))*time.Minute)
				end := start.Add(slot - time.Duration(15+rng.IntN(30))*time.Minute)
				state := TimerVerified
				if rng.IntN(10) < 3 {
					state = TimerStopped
				}
				wt := WorkTimer{UserID: u.ID, LocationID: ptr(l.ID), State: state, StartsAt: start, EndsAt: ptr(end),
					DeviceType: "terminal", CreatedByID: ptr(u.ID), UpdatedByID: ptr(u.ID), CreatedAt: end, UpdatedAt: end}
				stamped := rng.IntN(2) == 0 && end.Sub(start) > 2*time.Hour
				if !stamped && end.Sub(start) > 6*time.Hour {
					wt.LumpBreak = 30 * time.Minute
				}
				wt, err := h.AddWorkTimer(wt)
				if err != nil {
					return res, err
				}
				res.WorkTimers++
				if stamped {
					bs := start.Add(end.Sub(start) / 2)
					if _, err := h.AddBreakTimer(BreakTimer{WorkTimerID: wt.ID, StartsAt: bs, EndsAt: ptr(bs.Add(30 * time.Minute)),
						DeviceType: "terminal", CreatedAt: end, UpdatedAt: end}); err != nil {
						return res, err
					}
					res.BreakTimers++
				}
			}
		}

		span := max(spec.Days, 30)
		for k := 0; k < spec.AbsencesPerUser; k++ {
			first := endDay.AddDate(0, 0, rng.IntN(2*span)-span)
			last := first.AddDate(0, 0, rng.IntN(5))
			t := res.AbsenceTypes[li*len(spec.AbsenceTypes)+rng.IntN(len(spec.AbsenceTypes))]
			state := []string{StateApproved, StateApproved, StateApproved, StateNew, StateDeclined}[rng.IntN(5)]
			if _, err := h.AddAbsence(Absence{ApplicantID: u.ID, AbsenceTypeID: t.ID, LocationID: ptr(l.ID), State: state,
				StartsAt: first, EndsAt: last, AllDay: true, Vacation: t.Name == spec.AbsenceTypes[0], Paid: true,
				Commentable: true, Attachable: true, HandlerID: ptr(admin.ID), LastUpdatedByID: ptr(admin.ID),
				CreatedAt: first.AddDate(0, 0, -14)}); err != nil {
				return res, err
			}
			res.Absences++
		}
	}
	return res, nil
}

func locationIDs(ls []Location) []int64 {
	out := make([]int64, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

// asciiLower folds names into e-mail local parts (ä → ae, ç → c, …).
func asciiLower(s string) string {
	return strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "Ä", "ae", "Ö", "oe", "Ü", "ue", "ç", "c", "Ç", "c").
		Replace(strings.ToLower(s))
}
