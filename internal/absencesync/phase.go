package absencesync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// PartialOverlap is how far before its cursor a partial run looks for changed periods.
const PartialOverlap = time.Hour

// MarkerPrefix starts the marker staffsync writes into every absence it creates (the
// Staffomatic justification, the Personio comment): MarkerPrefix + source key + "#" +
// the index of the target among the source's targets. After a run cut short between a
// create and its mapping write, the next run adopts what it finds by this marker instead
// of creating it again; a marked record is never read back as a source.
const MarkerPrefix = "staffsync:absence:"

// Marker is the marker of the i-th target of source key.
func Marker(key string, i int) string { return MarkerPrefix + key + "#" + strconv.Itoa(i) }

// ParseMarker finds a marker in a justification or comment and returns its source key.
func ParseMarker(text string) (key string, ok bool) {
	i := strings.Index(text, MarkerPrefix)
	if i < 0 {
		return "", false
	}
	rest := text[i+len(MarkerPrefix):]
	if j := strings.IndexAny(rest, " \n\t"); j >= 0 {
		rest = rest[:j]
	}
	k, _, ok := strings.Cut(rest, "#")
	return k, ok && k != ""
}

// Deps are what the absences phase needs besides the harness.
type Deps struct {
	Store   *store.Store
	Vendors *vendors.Builder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Concurrency bounds the absences applied at once (default 4).
	Concurrency int
}

// Phase is the absences phase (in the direction of domain.Sources.Absences).
type Phase struct{ deps Deps }

// NewPhase returns the absences phase. Run it with phase.New(absencesync.NewPhase(deps), …).
func NewPhase(deps Deps) *Phase { return &Phase{deps: deps} }

var _ phase.Phase[*Loaded, Planned] = (*Phase)(nil)

// Name implements phase.Phase.
func (p *Phase) Name() domain.Phase { return domain.PhaseAbsences }

// personioWriter is what apply needs of Personio (*personio.Client).
type personioWriter interface {
	CreateAbsencePeriod(ctx context.Context, in personio.AbsencePeriodInput, skipApproval bool) (string, error)
	DeleteAbsencePeriod(ctx context.Context, id string) error
}

// staffomaticWriter is what apply needs of Staffomatic (*staffomatic.Client).
type staffomaticWriter interface {
	CreateAbsence(ctx context.Context, a staffomatic.NewAbsence) (staffomatic.Absence, error)
	ApproveAbsence(ctx context.Context, id int64, destroyApplications bool) (staffomatic.Absence, error)
	DeleteAbsence(ctx context.Context, id int64) error
}

var (
	_ personioWriter    = (*personio.Client)(nil)
	_ staffomaticWriter = (*staffomatic.Client)(nil)
)

// Loaded is what a run read.
type Loaded struct {
	Input Input
	pw    personioWriter
	sw    staffomaticWriter
	st    *store.Store
	tid   string
	now   time.Time
	mode  domain.Mode
	log   *slog.Logger // the run's (tenant, phase, run id)
	// mappings by source key, as loaded (after adoption).
	mappings    map[string]domain.Mapping
	concurrency int
}

// Planned is a run's plan with the state it was computed from.
type Planned struct {
	Plan  Plan
	state *Loaded
}

// Actions describes the plan for a dry run's protocol.
func (p Planned) Actions() []domain.PlannedAction {
	out := make([]domain.PlannedAction, 0, len(p.Plan.Actions))
	for _, a := range p.Plan.Actions {
		out = append(out, a.Planned())
	}
	return out
}

// Plan implements phase.Phase.
func (p *Phase) Plan(l *Loaded) (Planned, error) {
	return Planned{Plan: Compute(l.Input), state: l}, nil
}

// Apply implements phase.Phase.
func (p *Phase) Apply(ctx context.Context, run *phase.Run, pl Planned) error {
	return applyPlan(ctx, run, pl.state, pl.Plan)
}

// Window returns the range a run reads, in loc: with Personio leading the current and
// the next year (absences are booked ahead; Dec 31 of the next year is a fixed end, so an
// open-ended period's copy stays stable), with Staffomatic leading the current year
// (DESIGN §1.3). The end is the last day (inclusive).
func Window(lead domain.System, now time.Time, loc *time.Location) (from, lastDay time.Time) {
	y := now.In(loc).Year()
	from = time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
	if lead == domain.SystemStaffomatic {
		return from, time.Date(y, time.December, 31, 0, 0, 0, 0, loc)
	}
	return from, time.Date(y+1, time.December, 31, 0, 0, 0, 0, loc)
}

// Load reads the selected employees with their users and locations, the types and
// categories, both systems' absences of the run's scope, and the absence mappings.
//
// Modes: a full run (the nightly reconcile, and a partial run without a usable cursor)
// reads everything of the window on both sides (Input.Full), the employee list and both
// systems' absences at once (each vendor paces itself). A partial run reads the sources
// changed since its cursor minus PartialOverlap (Personio: the periods' updated_at;
// Staffomatic has no such filter on absences, so the absence events of its change feed
// name them, and only when more than MaxNamed changed the window's absences are read),
// the targets of the employees concerned, and those employees one by one (the whole v1
// list when more than MaxNamed). A targeted run reads the named sources (Personio period
// UUIDs or Staffomatic absence ids, kind absence); one the leading system no longer has
// is a deletion.
func (p *Phase) Load(ctx context.Context, run *phase.Run) (*Loaded, error) {
	now := time.Now
	if p.deps.Now != nil {
		now = p.deps.Now
	}
	l := &Loaded{st: p.deps.Store, tid: run.Tenant.ID, now: now().UTC(), concurrency: p.deps.Concurrency, mode: run.Request.Mode, log: run.Log}
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("open credentials: %w", err)
	}
	pc, sc, err := p.deps.Vendors.Connect(ctx, run.Tenant, creds, run.CountAPICall)
	if err != nil {
		return nil, err
	}
	l.pw, l.sw = pc, sc
	loc, err := sc.TimeZone(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic time zone: %w", err)
	}
	lead := run.Tenant.Sources.Absences
	if lead != domain.SystemStaffomatic {
		lead = domain.SystemPersonio
	}
	from, lastDay := Window(lead, l.now, loc)
	until := lastDay.AddDate(0, 0, 1) // exclusive
	in := Input{Leading: lead, Settings: run.Tenant.Settings, Now: l.now, Location: loc, WindowEnd: lastDay, Reported: map[string]string{}}

	sel, err := p.deps.Store.GetSelection(ctx, l.tid)
	if err != nil {
		return nil, fmt.Errorf("load selection: %w", err)
	}
	var since time.Time
	if l.mode == domain.ModePartial {
		var why string
		if since, why = partialSince(run.Cursor, run.Tenant, sel); why != "" {
			l.mode = domain.ModeFull
			run.SetMode(domain.ModeFull, why)
		}
	}
	if l.mode != domain.ModePartial && l.mode != domain.ModeTargeted {
		l.mode = domain.ModeFull
	}
	in.Full = l.mode == domain.ModeFull
	if in.Full {
		in.PruneBefore = from
	}
	users, err := l.st.LoadMappings(ctx, l.tid, domain.KindUser)
	if err != nil {
		return nil, fmt.Errorf("load user mappings: %w", err)
	}
	userOf, personOf := map[string]string{}, map[string]string{} // Personio id ↔ Staffomatic user id
	for _, m := range users {
		if t := m.TargetID(); t != "" && m.State != domain.StateDeleted {
			userOf[m.SourceID] = t
			personOf[t] = m.SourceID
		}
	}
	locs, err := sc.ListLocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic locations: %w", err)
	}
	slices.SortFunc(locs, func(a, b staffomatic.Location) int { return int(a.ID - b.ID) })
	locOf := map[string]string{} // user id → its first location
	for _, lc := range locs {
		for _, u := range lc.UserIDs {
			id := strconv.FormatInt(u, 10)
			if _, ok := locOf[id]; !ok {
				locOf[id] = strconv.FormatInt(lc.ID, 10)
			}
		}
	}

	// Types: the v2 absence types (what periods name) and the v1 time-off types (what the
	// settings name; BridgeTypeIDs joins them).
	abTypes, err := pc.AbsenceTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Personio absence types: %w", err)
	}
	tots, err := pc.TimeOffTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Personio time-off types: %w", err)
	}
	for _, t := range tots {
		in.TimeOffTypes = append(in.TimeOffTypes, TimeOffType{ID: t.ID, IDv2: t.IDv2, Name: t.Name, Unit: unitOf(t.Unit)})
	}
	in.Types = absenceTypes(abTypes, in.TimeOffTypes)
	cats, err := sc.ListAbsenceTypes(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic absence types: %w", err)
	}
	for _, c := range cats {
		in.Categories = append(in.Categories, Category{ID: strconv.FormatInt(c.ID, 10), Name: c.Name, LocationID: strconv.FormatInt(c.LocationID, 10)})
	}

	r := &reader{pc: pc, sc: sc, lead: lead, loc: loc,
		pWindow: personio.AbsencePeriodsOptions{OverlapFrom: personio.NewLocalDateTime(from), OverlapTo: personio.NewLocalDateTime(until)},
		sWindow: staffomatic.AbsenceFilter{From: from, Until: until}}
	var employees []personio.Employee
	switch l.mode {
	case domain.ModeFull:
		// The three long reads at once: each vendor's client paces its own endpoints, so
		// the run takes as long as the slowest of them instead of their sum.
		var list *personio.EmployeeList
		readEmployees := func() (err error) {
			if list, err = pc.Employees(ctx, personio.EmployeesOptions{}); err != nil {
				err = fmt.Errorf("load Personio employees: %w", err)
			}
			return err
		}
		if lead == domain.SystemPersonio {
			err = parallel(readEmployees,
				func() error { return r.readPeriods(ctx, r.pWindow) },
				func() error { return r.readAbsences(ctx, r.sWindow) })
		} else {
			// The periods after the absences: their window must reach the parts of an
			// absence across New Year that lie outside the current year.
			err = parallel(readEmployees, func() error {
				if err := r.readAbsences(ctx, r.sWindow); err != nil {
					return err
				}
				return r.readPeriods(ctx, r.widen(r.pWindow))
			})
		}
		if err != nil {
			return nil, err
		}
		employees = list.Employees
	default:
		if err := r.sources(ctx, l.mode, since, run.Request.Targets); err != nil {
			return nil, err
		}
		if err := r.targets(ctx, userOf, personOf); err != nil {
			return nil, err
		}
		in.TargetsRead = true
		if employees, err = r.employees(ctx, personOf); err != nil {
			return nil, err
		}
	}

	// Mappings: all of them in a full run (its deletions are found among them); in a
	// partial or targeted run those of the records read (loadMappings).
	maps, narrowed, err := loadMappings(ctx, l.st, l.tid, lead, l.mode == domain.ModeFull,
		mappingKeys(lead, r.periods, r.absences, r.deleted, r.gone))
	if err != nil {
		return nil, err
	}
	for _, k := range r.gone {
		if slices.ContainsFunc(maps, func(m domain.Mapping) bool { return m.SourceID == k }) {
			r.deleted = append(r.deleted, k)
		}
	}
	in.Deleted = r.deleted

	// People: the selected employees with a Staffomatic user, placed in its location, with
	// the half days of their work schedule (DefaultHalfDays without one).
	for i, e := range personio.People(employees) {
		uid := userOf[e.PersonioID]
		if !sel.Includes(e) || uid == "" {
			continue
		}
		pp := Person{PersonioID: e.PersonioID, UserID: uid, Name: e.Name(), LocationID: locOf[uid]}
		if ws, ok := employees[i].WorkSchedule(); ok {
			pp.HalfDays = HalfDaysFrom(ws.Hours)
		}
		in.People = append(in.People, pp)
	}

	// Adoption: a source whose last attempt was cut short (pending) or failed may have
	// targets its mapping does not name; they are found by marker and added, so the
	// planner deletes or keeps them instead of a second copy being created.
	periods, absences := r.periods, r.absences
	marked := map[string][]string{} // source key → marked target ids read
	for _, ap := range periods {
		if k, ok := ParseMarker(ap.Comment); ok {
			marked[k] = append(marked[k], ap.ID)
		}
	}
	for _, x := range absences {
		if k, ok := ParseMarker(x.Justification); ok {
			marked[k] = append(marked[k], strconv.FormatInt(x.ID, 10))
		}
	}
	l.mappings = map[string]domain.Mapping{}
	for _, m := range maps {
		if m.State == domain.StatePending || m.State == domain.StateFailed {
			for _, id := range marked[m.SourceID] {
				if !slices.Contains(m.TargetIDs, id) {
					m.TargetIDs = append(m.TargetIDs, id)
				}
			}
		}
		l.mappings[m.SourceID] = m
		in.Mappings = append(in.Mappings, m)
		if m.Reported != "" {
			in.Reported[m.SourceID] = m.Reported
		}
	}
	targetOf := map[string]bool{}
	for _, m := range in.Mappings {
		for _, t := range m.TargetIDs {
			targetOf[t] = true
		}
	}

	// Convert, once per record; a marked record staffsync wrote that no mapping names (an
	// orphan of a switch) is never read back as a source.
	seenP := map[string]bool{}
	for _, ap := range periods {
		if seenP[ap.ID] {
			continue
		}
		seenP[ap.ID] = true
		if _, ok := ParseMarker(ap.Comment); ok && lead == domain.SystemPersonio && !targetOf[ap.ID] {
			continue
		}
		in.Periods = append(in.Periods, toPeriod(ap))
	}
	seenA := map[int64]bool{}
	for _, x := range absences {
		if seenA[x.ID] {
			continue
		}
		seenA[x.ID] = true
		if _, ok := ParseMarker(x.Justification); ok && lead == domain.SystemStaffomatic && !targetOf[strconv.FormatInt(x.ID, 10)] {
			continue
		}
		in.Absences = append(in.Absences, toAbsence(x, loc))
	}
	l.Input = in
	run.Log.InfoContext(ctx, "absences: loaded", "mode", l.mode, "leading", lead, "periods", len(in.Periods), "absences", len(in.Absences),
		"people", len(in.People), "mappings", len(in.Mappings), "mappings_narrowed", narrowed, "employees_read", len(employees))
	return l, nil
}

// partialSince returns where a partial run starts reading (the cursor less
// PartialOverlap), or why it must be full instead: before the first successful run, and
// when the tenant (its sources, such as the leading system, or its settings) or the
// employee selection changed since the cursor. A partial run sees only absences that
// changed, so after a switch of the leading system the new leading system's absences
// would wait for the nightly full run (a first set-up in that direction transfers them
// all), a newly selected employee's absences likewise, and a changed type-id setting
// would not reach the copies of unchanged absences.
func partialSince(cursor string, t domain.Tenant, sel domain.Selection) (time.Time, string) {
	at, err := time.Parse(time.RFC3339Nano, cursor)
	switch {
	case cursor == "" || err != nil:
		return time.Time{}, "no usable cursor of an earlier run: full run over the whole window instead of partial"
	case t.UpdatedAt.After(at):
		return time.Time{}, "the tenant's sources or settings changed since the last run: full run over the whole window instead of partial"
	case sel.UpdatedAt.After(at):
		return time.Time{}, "the employee selection changed since the last run: full run over the whole window instead of partial"
	}
	return at.Add(-PartialOverlap), ""
}

// unitOf reads a Personio unit ("day", "hour", any case); "" when Personio did not say.
func unitOf(u string) Unit {
	switch strings.ToLower(strings.TrimSpace(u)) {
	case "hour":
		return UnitHour
	case "day":
		return UnitDay
	}
	return ""
}

// absenceTypes converts the v2 absence types. The notes document only their id and name;
// a unit the v2 type does not carry is taken from its v1 time-off type (by id_v2, else by
// the same name), and is day when neither says.
func absenceTypes(v2 []personio.AbsenceType, v1 []TimeOffType) []AbsenceType {
	out := make([]AbsenceType, 0, len(v2))
	for _, t := range v2 {
		a := AbsenceType{ID: t.ID, Name: t.Name, Unit: unitOf(t.Unit)}
		if a.Unit == "" {
			a.Unit = UnitDay
			if i := slices.IndexFunc(v1, func(o TimeOffType) bool { return o.IDv2 == t.ID }); i >= 0 && v1[i].Unit != "" {
				a.Unit = v1[i].Unit
			} else if o, ok := domain.CategoryFor(t.Name, v1, func(o TimeOffType) string { return o.Name }); ok && o.Unit != "" {
				a.Unit = o.Unit
			}
		}
		out = append(out, a)
	}
	return out
}

func toPeriod(ap personio.AbsencePeriod) Period {
	p := Period{ID: ap.ID, PersonID: ap.PersonID, TypeID: ap.AbsenceTypeID, Start: ap.Start.In(time.UTC), StartHalf: Half(ap.StartHalf),
		EndHalf: Half(ap.EndHalf), Status: Approval(ap.Status)}
	if ap.End != nil {
		e := ap.End.In(time.UTC)
		p.End = &e
	}
	return p
}

func toAbsence(x staffomatic.Absence, loc *time.Location) Absence {
	return Absence{ID: strconv.FormatInt(x.ID, 10), UserID: strconv.FormatInt(x.ApplicantID, 10), CategoryID: strconv.FormatInt(x.AbsenceTypeID, 10),
		State: State(x.State), Start: x.StartsAt.In(loc), End: x.EndsAt.In(loc), AllDay: x.AllDay, Paid: x.Paid, Vacation: x.Vacation}
}
