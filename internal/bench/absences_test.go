package bench_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/bench"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
)

const (
	absenceEmployees = 1000
	absencesEach     = 10
	// Scales: with Personio leading every absence is a Staffomatic create and its
	// approval (20,000 calls at 50/s: 400 s documented); with Staffomatic leading one
	// Personio create each (10,000 at ≈10/s: 1,000 s documented).
	kAbsencesPersonio    = 20
	kAbsencesStaffomatic = 50
	// absConcurrency: the phase's default (4) fits the documented limits at a real
	// latency; the scaled ones at 20 ms need more absences in flight (each is a create,
	// an approval and its mapping writes, one after the other).
	absConcurrency = 32
)

// absenceTypes are the generated company's day types, which both systems name alike.
var absenceTypes = []string{"Bezahlter Urlaub", "Krankheit", "Unbezahlter Urlaub"}

// absenceDays returns the j-th absence of the i-th employee: ten a year, apart from one
// another, one to three days long, all in the current year.
func absenceDays(i, j int) (first, last time.Time) {
	first = time.Date(defaultNow.Year(), time.January, 5, 0, 0, 0, 0, berlin).AddDate(0, 0, j*35+i%7)
	return first, first.AddDate(0, 0, j%3)
}

// benchAbsences: absences-first (1,000 employees × 10 approved absences in the leading
// system, the first run of the absences phase); lead says which system leads.
func benchAbsences(b *testing.B, lead domain.System) {
	w := usersWorld(b, absenceEmployees+absenceEmployees/8)
	ctx := context.Background()
	maps, err := w.env.Store.LoadMappings(ctx, synctest.TenantID, domain.KindUser)
	if err != nil {
		b.Fatal(err)
	}
	acc := w.env.S.Account(demo.StaffomaticSubdomain)
	loc := acc.Locations()[0]
	cats := map[string]int64{}
	for _, c := range acc.AbsenceTypes() {
		cats[c.Name] = c.ID
	}
	for _, n := range absenceTypes {
		if _, ok := cats[n]; !ok {
			c, err := acc.AddAbsenceType(staffomaticsim.AbsenceType{LocationID: loc.ID, Name: n})
			if err != nil {
				b.Fatal(err)
			}
			cats[n] = c.ID
		}
	}
	types := map[string]string{}
	for _, t := range w.env.P.TimeOffTypes() {
		types[t.Name] = t.IDv2
	}
	people := 0
	for _, m := range maps {
		uid, err := strconv.ParseInt(m.TargetID(), 10, 64)
		pid, perr := strconv.ParseInt(m.SourceID, 10, 64)
		if err != nil || perr != nil || people == absenceEmployees {
			continue
		}
		for j := range absencesEach {
			first, last := absenceDays(people, j)
			name := absenceTypes[j%len(absenceTypes)]
			if lead == domain.SystemPersonio {
				w.env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: pid, TypeID: types[name], Start: first, End: &last,
					Status: personiosim.StatusApproved})
			} else if _, err := acc.AddAbsence(staffomaticsim.Absence{ApplicantID: uid, AbsenceTypeID: cats[name], LocationID: &loc.ID,
				State: staffomaticsim.StateApproved, StartsAt: first, EndsAt: last, AllDay: true}); err != nil {
				b.Fatal(err)
			}
		}
		people++
	}
	if people < absenceEmployees {
		b.Fatalf("%d employees with a user, want %d", people, absenceEmployees)
	}
	if lead == domain.SystemStaffomatic {
		tn := w.env.Tenant(b)
		tn.Sources.Absences = lead
		if err := w.env.Store.SaveTenant(ctx, &tn); err != nil {
			b.Fatal(err)
		}
	}
	records := absenceEmployees * absencesEach
	employees := len(w.env.P.Employees())
	k, name := kAbsencesPersonio, "absences-first"
	if lead == domain.SystemStaffomatic {
		k, name = kAbsencesStaffomatic, "absences-staffomatic-first"
	}
	vb, budgets := w.measured(float64(k))
	h := phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: w.env.Store, Vendors: vb,
		Now: w.env.Clock, Concurrency: absConcurrency}), w.deps())
	r := bench.Result{Scenario: name, Records: records}
	r.Wall, r.PeakHeap = measure(b, func() error { return run(b, h, w.env.Request(domain.PhaseAbsences, domain.ModeFull, false)) })
	// Reads: Personio's v1 token, attribute list and employee pages (the selection), its
	// time-off types, a v2 token and the absence periods of the window (100 a page); the
	// Staffomatic account, its locations (placement), absence types and absences (50 a
	// page). Writes: with Personio leading a create and an approval per absence (no create
	// is documented to take a state), else one Personio create each (skip_approval).
	reads := []bench.Need{{Budget: bAuthV1, Calls: 1}, {Budget: bEmployees, Calls: 1 + (employees+99)/100},
		{Budget: bTimeOffs, Calls: 1}, {Budget: bAuthV2, Calls: 1}, {Budget: bStaffomatic, Calls: 3}}
	var writes bench.Need
	if lead == domain.SystemPersonio {
		reads = append(reads, bench.Need{Budget: bAbsences, Calls: records/100 + 1}, bench.Need{Budget: bStaffomatic, Calls: 1})
		writes = bench.Need{Budget: bStaffomatic, Calls: 2 * records}
	} else {
		reads = append(reads, bench.Need{Budget: bAbsences, Calls: 1}, bench.Need{Budget: bStaffomatic, Calls: pages(records, 50)})
		writes = bench.Need{Budget: bAbsences, Calls: records}
	}
	w.result(b, r, bench.Floor{Budgets: budgets, Latency: Latency, Stages: [][]bench.Need{reads, {writes}}})
}
