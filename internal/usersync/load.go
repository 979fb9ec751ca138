package usersync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// targetedByID is the largest targeted run that reads its employees one by one; a larger
// one reads the employee list once, which is cheaper than hundreds of single reads.
const targetedByID = 20

// job is everything one run of the users phase works with.
type job struct {
	rec phase.Recorder
	// cursor is the phase's cursor before the run ("" before the first successful run).
	cursor      string
	Tenant      domain.Tenant
	Request     domain.SyncRequest
	Personio    *personio.Client
	Staffomatic *staffomatic.Client
	// writer makes the user writes (the Staffomatic client; a recorder in tests).
	writer userWriter
	Store  *store.Store
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
	// links are the stored user mappings by Personio id.
	links map[string]domain.Link
	// inScope counts the employees the run compared.
	inScope int
	job     *job
}

// Plan computes the run's plan.
func (l *Loaded) Plan() Plan { return Compute(l.Input) }

// load reads the selected Personio employees in scope of the run, every Staffomatic user,
// the user mappings and the workspace placement.
func load(ctx context.Context, r *job) (*Loaded, error) {
	l := &Loaded{Mode: r.Request.Mode, links: map[string]domain.Link{}, job: r}
	l.Input.Reported = map[string]string{}
	sel, err := r.Store.GetSelection(ctx, r.Tenant.ID)
	if err != nil {
		return nil, fmt.Errorf("load selection: %w", err)
	}
	// Four pages at once, as for Staffomatic's users: the pacer keeps them in the limits.
	opts := personio.EmployeesOptions{Ahead: 4}
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

	// Personio and Staffomatic are read at once: neither read depends on the other, each
	// is paced by its own vendor's limits, and one after the other a no-op run took the
	// sum of both instead of the longer one. The first failure stops the other read.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error // the first failure, not the other read's cancellation that follows it
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := loadEmployees(rctx, r, l, sel, opts); err != nil {
			fail(err)
		}
	}()
	// A full run compares every employee, so it places them too and reads all mappings:
	// the workspaces and the mappings are read beside the vendors' pages. Other runs read
	// them only when an employee is in scope, and only its mappings.
	withWorkspaces := l.Mode == domain.ModeFull
	var all []domain.Mapping
	if withWorkspaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if all, err = r.Store.LoadMappings(rctx, r.Tenant.ID, domain.KindUser); err != nil {
				fail(fmt.Errorf("load user mappings: %w", err))
			}
		}()
	}
	var w domain.Workspaces
	err = loadStaffomatic(rctx, r, l)
	if err == nil && withWorkspaces {
		w, err = loadWorkspaces(rctx, r)
	}
	if err != nil {
		fail(err)
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	l.inScope = len(l.Input.Employees)
	if err := loadLinks(ctx, r, l, all); err != nil {
		return nil, err
	}
	if len(l.Input.Employees) > 0 {
		if !withWorkspaces {
			if w, err = loadWorkspaces(ctx, r); err != nil {
				return nil, err
			}
		}
		l.Input.Place = domain.NewPlacer(w).Place
	}
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

// loadEmployees reads the Personio employees of the run page by page and keeps of each
// selected one its reduced form without its attributes (the selection rules have read
// them, the plan does not): 10,000 employees' raw attributes once held the users
// function's heap above 400 MiB. A targeted run reports the employees it names that are
// not selected.
func loadEmployees(ctx context.Context, r *job, l *Loaded, sel domain.Selection, opts personio.EmployeesOptions) error {
	keep := func(e personio.Employee) error {
		p := e.Person()
		switch {
		case sel.Includes(p):
			p.Attributes = nil
			l.Input.Employees = append(l.Input.Employees, p)
		case l.Mode == domain.ModeTargeted:
			l.Input.Skips = append(l.Input.Skips, Step{Kind: ActSkip, PersonioID: p.PersonioID, person: p.Name(),
				Reason: "the employee is not selected for the sync; its Staffomatic user (if any) stays untouched"})
		}
		return nil
	}
	var missing []personio.RequiredAttribute
	var err error
	if l.Mode == domain.ModeTargeted {
		missing, err = loadTargets(ctx, r, l, keep)
	} else {
		missing, _, err = r.Personio.EachEmployee(ctx, opts, keep)
	}
	if err != nil {
		return fmt.Errorf("load Personio employees: %w", err)
	}
	for _, m := range missing {
		l.Input.MissingAttributes = append(l.Input.MissingAttributes, m.Name)
	}
	return nil
}

// loadStaffomatic reads the account's time zone (today's date), the user staffsync signs
// in as, and every user, reduced to what the plan compares.
func loadStaffomatic(ctx context.Context, r *job, l *Loaded) error {
	loc, err := r.Staffomatic.TimeZone(ctx)
	if err != nil {
		return fmt.Errorf("load Staffomatic time zone: %w", err)
	}
	l.Input.Today = Today(r.Now, loc)
	me, err := r.Staffomatic.CurrentUser(ctx)
	if err != nil {
		return fmt.Errorf("load the Staffomatic user staffsync signs in as: %w", err)
	}
	l.Input.SelfUserID = strconv.FormatInt(me.ID, 10)
	err = r.Staffomatic.EachUser(ctx, staffomatic.UserFilter{}, func(u staffomatic.User) error {
		l.Input.Users = append(l.Input.Users, u.Person())
		return nil
	})
	if err != nil {
		return fmt.Errorf("load Staffomatic users: %w", err)
	}
	return nil
}

// partialSince returns updated_since for a partial run, or the zero time and the reason
// when the run must be full: before the first successful run, and when the selection or
// the settings changed since the cursor, because updated_since sees only Personio edits.
func partialSince(ctx context.Context, r *job, sel domain.Selection) (time.Time, string, error) {
	cur := r.cursor
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
// Personio employee ids), passes each to keep, and returns the attribute report.
func loadTargets(ctx context.Context, r *job, l *Loaded, keep func(personio.Employee) error) ([]personio.RequiredAttribute, error) {
	want := map[int64]bool{}
	var order []int64
	for _, t := range r.Request.Targets {
		if t.Kind != domain.KindUser {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSpace(t.ID), 10, 64)
		if err != nil || id <= 0 {
			l.Input.Skips = append(l.Input.Skips, Step{Kind: ActSkip, PersonioID: t.ID, Reason: "target " + strconv.Quote(t.ID) + " is not a Personio employee id"})
			continue
		}
		if !want[id] {
			want[id] = true
			order = append(order, id)
		}
	}
	if len(order) > targetedByID {
		found := map[int64]bool{}
		missing, _, err := r.Personio.EachEmployee(ctx, personio.EmployeesOptions{}, func(e personio.Employee) error {
			if !want[e.ID] {
				return nil
			}
			found[e.ID] = true
			return keep(e)
		})
		if err != nil {
			return nil, err
		}
		for _, id := range order {
			if !found[id] {
				l.Input.Skips = append(l.Input.Skips, notInPersonio(id))
			}
		}
		return missing, nil
	}
	rep, err := r.Personio.AllowedAttributes(ctx)
	var missing []personio.RequiredAttribute
	if err == nil {
		missing = rep.Missing
	} else if !personio.IsNotFound(err) {
		return nil, err
	}
	for _, id := range order {
		e, err := r.Personio.Employee(ctx, id)
		switch {
		case err == nil:
			if err := keep(e); err != nil {
				return nil, err
			}
		case personio.IsNotFound(err):
			l.Input.Skips = append(l.Input.Skips, notInPersonio(id))
		default:
			return nil, err
		}
	}
	return missing, nil
}

func notInPersonio(id int64) Step {
	return Step{Kind: ActSkip, PersonioID: strconv.FormatInt(id, 10),
		Reason: "no Personio employee with this id; a Staffomatic user is never deleted by the sync"}
}

// loadLinks reads the user mappings. A full run has read all of them beside the vendors'
// pages (one paginated query, all); a partial or targeted run reads those of its
// employees with BatchGetItem and, for every
// Staffomatic user one of them could match, the reverse mapping, so that a user already
// mapped to an employee outside the run is still seen as taken.
func loadLinks(ctx context.Context, r *job, l *Loaded, all []domain.Mapping) error {
	var ms []domain.Mapping
	if l.Mode == domain.ModeFull {
		ms = all // read beside the vendors' pages
	} else {
		ids := make([]string, 0, len(l.Input.Employees))
		ids = append(ids, skipIDs(l.Input.Skips)...)
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
			if n := domain.NormalizeEmail(e.Email); n != "" {
				emails[n] = true
			}
		}
		for _, u := range l.Input.Users {
			if !taken[u.ID] && (ids2[strings.TrimSpace(u.CustomID)] || emails[domain.NormalizeEmail(u.Email)]) {
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
		if m.Reported != "" {
			l.Input.Reported[m.SourceID] = m.Reported
		}
		if m.TargetID() == "" {
			continue // a remembered conflict or skip: no user, only what was last reported
		}
		link := domain.Link{PersonioID: m.SourceID, UserID: m.TargetID(), Invited: m.Invited, LockedBySync: m.LockedBySync, Reported: m.Reported}
		l.links[link.PersonioID] = link
		l.Input.Links = append(l.Input.Links, link)
	}
	return nil
}

func skipIDs(skips []Step) []string {
	var out []string
	for _, s := range skips {
		if s.PersonioID != "" {
			out = append(out, s.PersonioID)
		}
	}
	return out
}

// loadWorkspaces reads what placement needs: Staffomatic's locations and departments and
// the workspace sync's mappings. Placement itself is domain.Placer's.
func loadWorkspaces(ctx context.Context, r *job) (domain.Workspaces, error) {
	w := domain.Workspaces{LocationLinks: map[string]string{}, DepartmentLinks: map[string]string{}}
	locs, err := r.Staffomatic.ListLocations(ctx)
	if err != nil {
		return w, fmt.Errorf("load Staffomatic locations: %w", err)
	}
	deps, err := r.Staffomatic.ListDepartments(ctx, 0)
	if err != nil {
		return w, fmt.Errorf("load Staffomatic departments: %w", err)
	}
	for _, l := range locs {
		w.Locations = append(w.Locations, domain.Workspace{ID: strconv.FormatInt(l.ID, 10), Name: l.Name})
	}
	for _, d := range deps {
		w.Departments = append(w.Departments, domain.Workspace{ID: strconv.FormatInt(d.ID, 10), Name: d.Name, LocationID: strconv.FormatInt(d.LocationID, 10)})
	}
	for _, k := range []struct {
		kind  domain.RecordKind
		links map[string]string
	}{{domain.KindLocation, w.LocationLinks}, {domain.KindDepartment, w.DepartmentLinks}} {
		ms, err := r.Store.LoadMappings(ctx, r.Tenant.ID, k.kind)
		if err != nil {
			return w, fmt.Errorf("load %s mappings: %w", k.kind, err)
		}
		for _, m := range ms {
			if t := m.TargetID(); t != "" {
				k.links[m.SourceID] = t
			}
		}
	}
	return w, nil
}
