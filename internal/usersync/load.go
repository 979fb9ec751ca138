package usersync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// PartialOverlap is subtracted from the cursor of a partial run: Personio's updated_since
// is compared with its own clock and sent in company-local time, so an hour of overlap
// absorbs clock skew and daylight-saving ambiguity. Re-reading an unchanged employee costs
// nothing (the plan for it is empty), missing a change would cost a wrong user.
const PartialOverlap = time.Hour

// HoursPerMonthFactor converts Personio's weekly hours into Staffomatic's
// max_hours_per_month, the only writable working-time field a user has: 52 weeks / 12
// months.
const HoursPerMonthFactor = 52.0 / 12.0

// targetedByID is the largest targeted run that reads its employees one by one; a larger
// one reads the employee list once, which is cheaper than hundreds of single reads.
const targetedByID = 20

// job is everything one run of the users phase works with.
type job struct {
	run         *phase.Run
	Tenant      domain.Tenant
	Request     domain.SyncRequest
	Personio    *personio.Client
	Staffomatic *staffomatic.Client
	Store       *store.Store
	// Now is the run's start; the cursor of the next partial run.
	Now time.Time
	Log *slog.Logger
	// Concurrency bounds the employees applied at once.
	Concurrency int
}

func (r *job) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// Loaded is the state a run read: the planner's input and what apply needs besides.
type Loaded struct {
	Input Input
	// Mode is the mode actually run: a partial run without a cursor, or after the
	// selection or settings changed, becomes full.
	Mode domain.Mode
	// ModeReason says why the mode differs from the request.
	ModeReason string
	// Skips are targeted employees that cannot be handled (not in Personio, not selected).
	Skips []Action
	// reported holds, per Personio id, the hash of the conflict or skip last written to
	// the protocol, so an unchanged one is not reported again at every run.
	reported map[string]string
	links    map[string]Link
	// inScope counts the employees the run compared.
	inScope int
	job     *job
}

// Plan computes the run's plan: the planner's actions and the loader's skips.
func (l *Loaded) Plan() Plan {
	p := Compute(l.Input)
	if len(p.Actions) == 1 && p.Actions[0].Kind == ActFail {
		return p
	}
	p.Actions = append(p.Actions, l.Skips...)
	return p
}

// load reads the selected Personio employees in scope of the run, every Staffomatic user,
// the user mappings and the workspace placement.
func load(ctx context.Context, r *job) (*Loaded, error) {
	l := &Loaded{Mode: r.Request.Mode, reported: map[string]string{}, links: map[string]Link{}, job: r}
	sel, err := r.Store.GetSelection(ctx, r.Tenant.ID)
	if err != nil {
		return nil, fmt.Errorf("load selection: %w", err)
	}
	opts := personio.EmployeesOptions{}
	if l.Mode == domain.ModePartial {
		since, why, err := partialSince(ctx, r, sel)
		if err != nil {
			return nil, err
		}
		if since.IsZero() {
			l.Mode, l.ModeReason = domain.ModeFull, why
		} else {
			opts.UpdatedSince = since
		}
	}

	var emps []personio.Employee
	var missing []personio.RequiredAttribute
	if l.Mode == domain.ModeTargeted {
		emps, missing, err = loadTargets(ctx, r, l)
	} else {
		var list *personio.EmployeeList
		list, err = r.Personio.Employees(ctx, opts)
		if list != nil {
			emps, missing = list.Employees, list.Missing
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load Personio employees: %w", err)
	}
	for _, m := range missing {
		l.Input.MissingAttributes = append(l.Input.MissingAttributes, m.Name)
	}

	selected := SelectEmployees(emps, sel)
	if l.Mode == domain.ModeTargeted {
		for _, e := range emps {
			if !selected[e.ID] {
				l.Skips = append(l.Skips, Action{Kind: ActSkip, PersonioID: strconv.FormatInt(e.ID, 10),
					Reason: "the employee is not selected for the sync; its Staffomatic user (if any) stays untouched"})
			}
		}
	}
	byID := map[string]personio.Employee{}
	for _, e := range emps {
		if selected[e.ID] {
			pe := toEmployee(e)
			byID[pe.PersonioID] = e
			l.Input.Employees = append(l.Input.Employees, pe)
		}
	}
	l.inScope = len(l.Input.Employees)

	loc, err := r.Staffomatic.TimeZone(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic time zone: %w", err)
	}
	l.Input.Today = Today(r.Now, loc)
	me, err := r.Staffomatic.CurrentUser(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the Staffomatic user staffsync signs in as: %w", err)
	}
	l.Input.SelfUserID = strconv.FormatInt(me.ID, 10)
	users, err := r.Staffomatic.ListUsers(ctx, staffomatic.UserFilter{})
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic users: %w", err)
	}
	for _, u := range users {
		l.Input.Users = append(l.Input.Users, toUser(u))
	}
	if err := loadLinks(ctx, r, l); err != nil {
		return nil, err
	}
	place, err := loadPlacement(ctx, r, byID)
	if err != nil {
		return nil, err
	}
	l.Input.Place = place
	l.Input.Settings = Settings{
		EnablePersonioHireDate:       r.Tenant.Settings.EnablePersonioHireDate,
		EnablePersonioLastWorkingDay: r.Tenant.Settings.EnablePersonioLastWorkingDay,
		InviteStaffomaticUsers:       r.Tenant.Settings.InviteStaffomaticUsers,
	}
	for _, id := range r.Tenant.Settings.FallbackPersonioTimeOffTypeIDsForEntitlements {
		l.Input.Settings.EntitlementTypeIDs = append(l.Input.Settings.EntitlementTypeIDs, strconv.FormatInt(id, 10))
	}
	return l, nil
}

// partialSince returns updated_since for a partial run, or the zero time and the reason
// when the run must be full: before the first successful run, and when the selection or
// the settings changed since the cursor, because updated_since sees only Personio edits.
func partialSince(ctx context.Context, r *job, sel domain.Selection) (time.Time, string, error) {
	cur := r.run.Cursor
	if cur == "" {
		return time.Time{}, "no earlier successful run: full sync instead of partial", nil
	}
	at, err := time.Parse(time.RFC3339Nano, cur)
	if err != nil {
		return time.Time{}, "the stored cursor " + strconv.Quote(cur) + " is unreadable: full sync instead of partial", nil
	}
	if sel.UpdatedAt.After(at) {
		return time.Time{}, "the employee selection changed since the last run: full sync instead of partial", nil
	}
	if r.Tenant.UpdatedAt.After(at) {
		return time.Time{}, "the tenant settings changed since the last run: full sync instead of partial", nil
	}
	return at.Add(-PartialOverlap), "", nil
}

// loadTargets reads the employees a targeted run names (targets of kind user carry
// Personio employee ids), and the attribute report.
func loadTargets(ctx context.Context, r *job, l *Loaded) ([]personio.Employee, []personio.RequiredAttribute, error) {
	want := map[int64]bool{}
	var order []int64
	for _, t := range r.Request.Targets {
		if t.Kind != domain.KindUser {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(t.ID), 10, 64)
		if err != nil || id <= 0 {
			l.Skips = append(l.Skips, Action{Kind: ActSkip, PersonioID: t.ID, Reason: "target " + strconv.Quote(t.ID) + " is not a Personio employee id"})
			continue
		}
		if !want[id] {
			want[id] = true
			order = append(order, id)
		}
	}
	if len(order) > targetedByID {
		list, err := r.Personio.Employees(ctx, personio.EmployeesOptions{})
		if err != nil {
			return nil, nil, err
		}
		var out []personio.Employee
		found := map[int64]bool{}
		for _, e := range list.Employees {
			if want[e.ID] {
				out = append(out, e)
				found[e.ID] = true
			}
		}
		for _, id := range order {
			if !found[id] {
				l.Skips = append(l.Skips, notInPersonio(id))
			}
		}
		return out, list.Missing, nil
	}
	rep, err := r.Personio.AllowedAttributes(ctx)
	var missing []personio.RequiredAttribute
	if err == nil {
		missing = rep.Missing
	} else if !personio.IsNotFound(err) {
		return nil, nil, err
	}
	var out []personio.Employee
	for _, id := range order {
		e, err := r.Personio.Employee(ctx, id)
		switch {
		case err == nil:
			out = append(out, e)
		case personio.IsNotFound(err):
			l.Skips = append(l.Skips, notInPersonio(id))
		default:
			return nil, nil, err
		}
	}
	return out, missing, nil
}

func notInPersonio(id int64) Action {
	return Action{Kind: ActSkip, PersonioID: strconv.FormatInt(id, 10),
		Reason: "no Personio employee with this id; a Staffomatic user is never deleted by the sync"}
}

// SelectEmployees applies the tenant's selection (explicit yes/no, else the auto-include
// rules) and returns the selected ids. The workspace sync uses it too, so both phases
// agree on who is synced.
func SelectEmployees(emps []personio.Employee, sel domain.Selection) map[int64]bool {
	out := map[int64]bool{}
	for _, e := range emps {
		if sel.Selected(strconv.FormatInt(e.ID, 10), Facts(e, sel)) {
			out[e.ID] = true
		}
	}
	return out
}

// Facts is what the selection's rules see of an employee; attribute rules look the named
// attribute up by key, universal id or label, the way admins name them.
func Facts(e personio.Employee, sel domain.Selection) domain.EmployeeFacts {
	f := domain.EmployeeFacts{Status: e.Status, Office: unitName(e.Office), Department: unitName(e.Department)}
	for _, r := range sel.Rules {
		if r.Field != domain.RuleAttribute {
			continue
		}
		if a, ok := e.Attribute(r.Attribute); ok {
			if f.Attributes == nil {
				f.Attributes = map[string]string{}
			}
			f.Attributes[r.Attribute] = a.String()
		}
	}
	return f
}

func unitName(u *personio.OrgUnit) string {
	if u == nil {
		return ""
	}
	return u.Name
}

func unitID(u *personio.OrgUnit) string {
	if u == nil || u.ID == 0 {
		return ""
	}
	return strconv.FormatInt(u.ID, 10)
}

func toEmployee(e personio.Employee) Employee {
	out := Employee{
		PersonioID: strconv.FormatInt(e.ID, 10), FirstName: e.FirstName, LastName: e.LastName, Email: e.Email,
		Status: e.Status, Office: unitName(e.Office), Department: unitName(e.Department), Team: unitName(e.Team),
		HireDate: e.HireDate.String(), LastWorkingDay: e.LastWorkingDay.String(), WeeklyHours: e.WeeklyHours,
	}
	if len(e.AbsenceEntitlements) > 0 {
		out.Entitlements = map[string]float64{}
		for _, en := range e.AbsenceEntitlements {
			out.Entitlements[strconv.FormatInt(en.TimeOffTypeID, 10)] += en.Entitlement
		}
	}
	return out
}

func toUser(u staffomatic.User) User {
	out := User{
		ID: strconv.FormatInt(u.ID, 10), CustomID: u.CustomID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Locked: u.Locked(), InvitationState: u.InvitationState, VacationDays: u.MaxVacationDays,
	}
	for _, d := range u.DepartmentIDs {
		out.DepartmentIDs = append(out.DepartmentIDs, strconv.FormatInt(d, 10))
	}
	if u.MaxHoursPerMonth != nil {
		w := *u.MaxHoursPerMonth / HoursPerMonthFactor
		out.WeeklyHours = &w
	}
	return out
}

// monthlyHours converts weekly hours to max_hours_per_month, rounded to hundredths so the
// value an admin sees is readable; converting back stays within the planner's tolerance.
func monthlyHours(weekly float64) float64 {
	return math.Round(weekly*HoursPerMonthFactor*100) / 100
}

// loadLinks reads the user mappings. A full run reads all of them (one paginated query);
// a partial or targeted run reads those of its employees with BatchGetItem and, for every
// Staffomatic user one of them could match, the reverse mapping, so that a user already
// mapped to an employee outside the run is still seen as taken.
func loadLinks(ctx context.Context, r *job, l *Loaded) error {
	var ms []domain.Mapping
	if l.Mode == domain.ModeFull {
		all, err := r.Store.LoadMappings(ctx, r.Tenant.ID, domain.KindUser)
		if err != nil {
			return fmt.Errorf("load user mappings: %w", err)
		}
		ms = all
	} else {
		ids := make([]string, 0, len(l.Input.Employees))
		ids = append(ids, skipIDs(l.Skips)...)
		for _, e := range l.Input.Employees {
			ids = append(ids, e.PersonioID)
		}
		got, err := r.Store.GetMappings(ctx, r.Tenant.ID, domain.KindUser, ids)
		if err != nil {
			return fmt.Errorf("load user mappings: %w", err)
		}
		taken := map[string]bool{}
		for _, m := range got {
			ms = append(ms, m)
			taken[m.TargetID()] = true
		}
		candidates := map[string]bool{}
		ids2 := map[string]bool{}
		emails := map[string]bool{}
		for _, e := range l.Input.Employees {
			ids2[e.PersonioID] = true
			if n := NormalizeEmail(e.Email); n != "" {
				emails[n] = true
			}
		}
		for _, u := range l.Input.Users {
			if !taken[u.ID] && (ids2[strings.TrimSpace(u.CustomID)] || emails[NormalizeEmail(u.Email)]) {
				candidates[u.ID] = true
			}
		}
		for uid := range candidates {
			m, err := r.Store.FindByTarget(ctx, r.Tenant.ID, domain.KindUser, uid)
			switch {
			case err == nil:
				ms = append(ms, m)
			case errors.Is(err, store.ErrNotFound):
			default:
				return fmt.Errorf("load user mapping of Staffomatic user %s: %w", uid, err)
			}
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].SourceID < ms[j].SourceID })
	for _, m := range ms {
		if m.TargetID() == "" {
			// A remembered conflict or skip: no user, only what was last reported.
			l.reported[m.SourceID] = m.Hash
			continue
		}
		link := decodeLink(m)
		if link.Reported != "" {
			l.reported[link.PersonioID] = link.Reported
		}
		l.links[link.PersonioID] = link
		l.Input.Links = append(l.Input.Links, link)
	}
	return nil
}

func skipIDs(skips []Action) []string {
	var out []string
	for _, s := range skips {
		if s.PersonioID != "" {
			out = append(out, s.PersonioID)
		}
	}
	return out
}

// loadPlacement resolves where employees belong in Staffomatic: the location of the
// office and the department of the employee's department (and team) in that location,
// first through the workspace sync's mappings, else by a unique case-insensitive name, so
// that even the first sync (before the workspace sync ran) creates users in their place.
func loadPlacement(ctx context.Context, r *job, byID map[string]personio.Employee) (func(Employee) Placement, error) {
	if len(byID) == 0 {
		return nil, nil
	}
	locs, err := r.Staffomatic.ListLocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic locations: %w", err)
	}
	deps, err := r.Staffomatic.ListDepartments(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic departments: %w", err)
	}
	locMaps, err := r.Store.LoadMappings(ctx, r.Tenant.ID, domain.KindLocation)
	if err != nil {
		return nil, fmt.Errorf("load location mappings: %w", err)
	}
	depMaps, err := r.Store.LoadMappings(ctx, r.Tenant.ID, domain.KindDepartment)
	if err != nil {
		return nil, fmt.Errorf("load department mappings: %w", err)
	}
	locExists := map[string]bool{}
	locByName := map[string][]string{}
	for _, l := range locs {
		id := strconv.FormatInt(l.ID, 10)
		locExists[id] = true
		n := NormalizeEmail(l.Name)
		locByName[n] = append(locByName[n], id)
	}
	depLoc := map[string]string{}
	depByName := map[string][]string{}
	for _, d := range deps {
		id, lid := strconv.FormatInt(d.ID, 10), strconv.FormatInt(d.LocationID, 10)
		depLoc[id] = lid
		k := lid + "|" + NormalizeEmail(d.Name)
		depByName[k] = append(depByName[k], id)
	}
	locLink := map[string]string{}
	for _, m := range locMaps {
		if t := m.TargetID(); t != "" && locExists[t] {
			locLink[m.SourceID] = t
		}
	}
	depLink := map[string]string{}
	for _, m := range depMaps {
		if t := m.TargetID(); t != "" && depLoc[t] != "" {
			depLink[m.SourceID] = t
		}
	}
	return func(e Employee) Placement {
		pe, ok := byID[e.PersonioID]
		if !ok {
			return Placement{}
		}
		office := unitID(pe.Office)
		if office == "" {
			return Placement{}
		}
		lid := locLink[office]
		if lid == "" {
			if ids := locByName[NormalizeEmail(unitName(pe.Office))]; len(ids) == 1 {
				lid = ids[0]
			}
		}
		if lid == "" {
			return Placement{}
		}
		p := Placement{LocationID: lid}
		for _, u := range []struct {
			kind string
			unit *personio.OrgUnit
		}{{"department", pe.Department}, {"team", pe.Team}} {
			uid := unitID(u.unit)
			if uid == "" {
				continue
			}
			if d := depLink[WorkspaceKey(office, u.kind, uid)]; d != "" && depLoc[d] == lid {
				p.DepartmentIDs = append(p.DepartmentIDs, d)
				continue
			}
			if u.kind == "team" {
				continue // teams become departments only through the workspace sync's mapping
			}
			if ids := depByName[lid+"|"+NormalizeEmail(u.unit.Name)]; len(ids) == 1 {
				p.DepartmentIDs = append(p.DepartmentIDs, ids[0])
			}
		}
		return p
	}, nil
}

// WorkspaceKey is the source id of the workspace mapping of a Personio department or team
// within an office. It equals workspacesync.UnitKey (a test there holds them together);
// it is repeated here because the workspace sync imports this package for the selection.
func WorkspaceKey(officeID, unitKind, unitID string) string {
	return officeID + "/" + unitKind + "/" + unitID
}
