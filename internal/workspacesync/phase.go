package workspacesync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Deps are what the workspaces phase needs besides the harness.
type Deps struct {
	Store *store.Store
	// Vendors builds the run's clients (the process's one builder).
	Vendors *vendors.Builder
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Phase is the workspaces phase (Personio offices, departments and teams → Staffomatic
// locations and departments, memberships added) for the harness.
type Phase struct{ deps Deps }

// NewPhase returns the workspaces phase. Run it with phase.New(workspacesync.NewPhase(deps), …).
func NewPhase(deps Deps) *Phase { return &Phase{deps: deps} }

var _ phase.Phase[*Loaded, Planned] = (*Phase)(nil)

// Loaded is what a run read.
type Loaded struct {
	Input Input
	// reported holds the hash of what was last reported per workspace source id, so an
	// unchanged "missing" or "conflict" is not written to the protocol at every run.
	reported map[string]string
	depLoc   map[string]string // department id → location id
	run      *phase.Run
	s        *staffomatic.Client
	now      time.Time
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
		reason := a.Reason
		if len(a.UserIDs) > 0 {
			reason += " (users " + strings.Join(a.UserIDs, ", ") + ")"
		}
		out = append(out, domain.PlannedAction{Kind: kindOf(a), Action: string(a.Kind), SourceID: a.SourceID, TargetID: a.TargetID, Reason: reason})
	}
	return out
}

func kindOf(a Action) domain.RecordKind {
	switch a.Kind {
	case ActLinkLocation, ActCreateLocation:
		return domain.KindLocation
	case ActAddMembers, ActAddLocationMember:
		return domain.KindMembership
	}
	if strings.Contains(a.SourceID, "/") {
		return domain.KindDepartment
	}
	return domain.KindLocation
}

// Name implements phase.Phase.
func (p *Phase) Name() domain.Phase { return domain.PhaseWorkspaces }

// Load reads the selected Personio employees, Staffomatic locations and departments, the
// workspace mappings and the user mappings (who is whom in Staffomatic).
func (p *Phase) Load(ctx context.Context, run *phase.Run) (*Loaded, error) {
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("open credentials: %w", err)
	}
	pc, sc, err := p.deps.Vendors.Connect(ctx, run.Tenant, creds, run.CountAPICall)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if p.deps.Now != nil {
		now = p.deps.Now
	}
	st, tid := p.deps.Store, run.Tenant.ID
	l := &Loaded{reported: map[string]string{}, depLoc: map[string]string{}, run: run, s: sc, now: now()}
	l.Input.CreateMissing = run.Tenant.Settings.CreateMissingWorkspaces
	l.Input.IncludeTeams = run.Tenant.Settings.IncludePersonioTeams

	sel, err := st.GetSelection(ctx, tid)
	if err != nil {
		return nil, fmt.Errorf("load selection: %w", err)
	}
	list, err := pc.Employees(ctx, personio.EmployeesOptions{})
	if err != nil {
		return nil, fmt.Errorf("load Personio employees: %w", err)
	}
	var missing []string
	for _, m := range list.Missing {
		if m.Key == "office" || m.Key == "department" || (l.Input.IncludeTeams && m.Key == "team") {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the Personio credential does not expose %s; allow them in Personio (readable attributes of the API credential)", strings.Join(missing, ", "))
	}
	selected := usersync.SelectEmployees(list.Employees, sel)
	for _, e := range list.Employees {
		if !selected[e.ID] {
			continue
		}
		we := Employee{PersonioID: strconv.FormatInt(e.ID, 10)}
		if e.Office != nil && e.Office.ID != 0 {
			we.OfficeID, we.OfficeName = strconv.FormatInt(e.Office.ID, 10), e.Office.Name
		}
		if e.Department != nil && e.Department.ID != 0 {
			we.DepartmentID, we.DepartmentName = strconv.FormatInt(e.Department.ID, 10), e.Department.Name
		}
		if e.Team != nil && e.Team.ID != 0 {
			we.TeamID, we.TeamName = strconv.FormatInt(e.Team.ID, 10), e.Team.Name
		}
		l.Input.Employees = append(l.Input.Employees, we)
	}

	locs, err := sc.ListLocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic locations: %w", err)
	}
	for _, x := range locs {
		l.Input.Locations = append(l.Input.Locations, Location{ID: itoa(x.ID), Name: x.Name, UserIDs: itoas(x.UserIDs)})
	}
	deps, err := sc.ListDepartments(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic departments: %w", err)
	}
	for _, d := range deps {
		l.Input.Departments = append(l.Input.Departments, Department{ID: itoa(d.ID), Name: d.Name, LocationID: itoa(d.LocationID), UserIDs: itoas(d.UserIDs)})
		l.depLoc[itoa(d.ID)] = itoa(d.LocationID)
	}
	for _, k := range []struct {
		rk   domain.RecordKind
		kind string
	}{{domain.KindLocation, KindLocation}, {domain.KindDepartment, KindDepartment}, {domain.KindMembership, ""}} {
		ms, err := st.LoadMappings(ctx, tid, k.rk)
		if err != nil {
			return nil, fmt.Errorf("load %s mappings: %w", k.rk, err)
		}
		for _, m := range ms {
			if m.TargetID() == "" || k.kind == "" {
				l.reported[string(k.rk)+"|"+m.SourceID] = m.Hash
				continue
			}
			if strings.HasPrefix(m.Hash, "report:") {
				// A linked workspace whose report (missing, conflict) was written.
				l.reported[string(k.rk)+"|"+m.SourceID] = m.Hash
			}
			l.Input.Links = append(l.Input.Links, Link{Kind: k.kind, SourceID: m.SourceID, TargetID: m.TargetID()})
		}
	}
	users, err := st.LoadMappings(ctx, tid, domain.KindUser)
	if err != nil {
		return nil, fmt.Errorf("load user mappings: %w", err)
	}
	// A mapping can outlive its user (an admin deleted it in Staffomatic); Staffomatic
	// refuses an add_users call naming an unknown user as a whole, so such a user would
	// keep every other member out of the department. The user sync handles (and reports)
	// the employee; here only existing users are placed.
	existing, err := sc.ListUsers(ctx, staffomatic.UserFilter{})
	if err != nil {
		return nil, fmt.Errorf("load Staffomatic users: %w", err)
	}
	exists := make(map[string]bool, len(existing))
	for _, u := range existing {
		exists[itoa(u.ID)] = true
	}
	l.Input.UserOf = map[string]string{}
	stale := 0
	for _, m := range users {
		if t := m.TargetID(); t != "" {
			if !exists[t] {
				stale++
				continue
			}
			l.Input.UserOf[m.SourceID] = t
		}
	}
	run.Log.InfoContext(ctx, "workspaces: loaded", "employees", len(l.Input.Employees), "locations", len(locs), "departments", len(deps),
		"mapped_users_not_in_staffomatic", stale)
	return l, nil
}

// Plan implements phase.Phase.
func (p *Phase) Plan(_ *phase.Run, l *Loaded) (Planned, error) {
	return Planned{Plan: Compute(l.Input), state: l}, nil
}

// Apply performs the plan in order (locations, departments, memberships): a location or
// department created by this run is recorded in its mapping right away, so a rerun never
// creates it twice (and finds it by name even if the mapping write failed), and the
// departments and memberships planned inside it refer to it. Staffomatic's API adds a
// user to a location only through a department of that location (or at the user's
// creation, which the user sync does in the right location): the documented location
// update changes only the name. Location memberships not reached through a department
// are therefore reported for the admin. Reports that did not change since the last run
// are not repeated.
func (p *Phase) Apply(ctx context.Context, run *phase.Run, pl Planned) error {
	l := pl.state
	st, tid := p.deps.Store, run.Tenant.ID
	createdLoc := map[string]string{}      // office id → created location id
	created := map[string]string{}         // source id → created department id
	joined := map[string]map[string]bool{} // location id → users added to a department there
	var failed int
	record := func(a Action, kind domain.RecordKind, target string, o domain.Outcome, reason string) error {
		if err := run.Record(context.WithoutCancel(ctx), domain.ProtocolEntry{Kind: kind, SourceID: a.SourceID, TargetID: target,
			Action: string(a.Kind), Outcome: o, Reason: reason}); err != nil {
			return fmt.Errorf("write protocol of %s %s: %w", a.Kind, a.SourceID, err)
		}
		return nil
	}
	report := func(a Action, kind domain.RecordKind, reason string) error {
		sum := sha256.Sum256([]byte(string(a.Kind) + "|" + strings.Join(a.UserIDs, ",") + "|" + reason))
		h := "report:" + hex.EncodeToString(sum[:8])
		key := string(kind) + "|" + a.SourceID
		if l.reported[key] == h {
			return nil
		}
		m := domain.Mapping{Tenant: tid, Kind: kind, SourceID: a.SourceID, Hash: h, State: domain.StateFailed, LastError: reason, UpdatedAt: l.now}
		if kind != domain.KindMembership {
			// A linked workspace keeps its link; the report is remembered beside it.
			for _, lk := range l.Input.Links {
				if string(kind) == lk.Kind && lk.SourceID == a.SourceID {
					m.TargetIDs, m.State = []string{lk.TargetID}, domain.StateTransferred
					break
				}
			}
		}
		if err := st.PutMapping(ctx, m); err != nil {
			return fmt.Errorf("store report of %s: %w", a.SourceID, err)
		}
		return record(a, kind, "", domain.OutcomeSkipped, reason)
	}
	link := func(ctx context.Context, kind domain.RecordKind, source, target string) error {
		if err := st.PutMapping(ctx, domain.Mapping{Tenant: tid, Kind: kind, SourceID: source, TargetIDs: []string{target},
			State: domain.StateTransferred, UpdatedAt: l.now}); err != nil {
			return fmt.Errorf("store %s mapping %s → %s: %w", kind, source, target, err)
		}
		return nil
	}
	fail := func(a Action, kind domain.RecordKind, err error) error {
		failed++
		run.Log.WarnContext(ctx, "workspace action failed", "action", a.Kind, "source_id", a.SourceID, "error", err)
		return record(a, kind, a.TargetID, domain.OutcomeFailed, a.Reason+"; failed: "+err.Error())
	}
	var locMembers []Action
	for _, a := range pl.Plan.Actions {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply workspaces: %w", err)
		}
		var err error
		switch a.Kind {
		case ActLinkLocation, ActLinkDepartment:
			kind := domain.KindLocation
			if a.Kind == ActLinkDepartment {
				kind = domain.KindDepartment
			}
			if e := link(ctx, kind, a.SourceID, a.TargetID); e != nil {
				err = fail(a, kind, e)
			} else {
				err = record(a, kind, a.TargetID, domain.OutcomeUpdated, a.Reason)
			}
		case ActCreateLocation:
			loc, cerr := l.s.CreateLocation(ctx, staffomatic.NewLocation{Name: strings.TrimSpace(a.Name)})
			if cerr != nil {
				err = fail(a, domain.KindLocation, cerr)
				break
			}
			createdLoc[a.SourceID] = itoa(loc.ID)
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			lerr := link(mctx, domain.KindLocation, a.SourceID, itoa(loc.ID))
			cancel()
			if lerr != nil {
				err = fail(a, domain.KindLocation, fmt.Errorf("location %d created, mapping not stored (the next run matches it by name): %w", loc.ID, lerr))
				break
			}
			err = record(a, domain.KindLocation, itoa(loc.ID), domain.OutcomeCreated, a.Reason)
		case ActCreateDepartment:
			locID := a.LocationID
			if a.LocationSource != "" {
				if locID = createdLoc[a.LocationSource]; locID == "" {
					err = fail(a, domain.KindDepartment, fmt.Errorf("the location of office %s could not be created", a.LocationSource))
					break
				}
			}
			lid, perr := strconv.ParseInt(locID, 10, 64)
			if perr != nil {
				err = fail(a, domain.KindDepartment, perr)
				break
			}
			d, cerr := l.s.CreateDepartment(ctx, lid, staffomatic.NewDepartment{Name: strings.TrimSpace(a.Name)})
			if cerr != nil {
				err = fail(a, domain.KindDepartment, cerr)
				break
			}
			created[a.SourceID] = itoa(d.ID)
			l.depLoc[itoa(d.ID)] = locID
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			lerr := link(mctx, domain.KindDepartment, a.SourceID, itoa(d.ID))
			cancel()
			if lerr != nil {
				err = fail(a, domain.KindDepartment, fmt.Errorf("department %d created, mapping not stored (the next run matches it by name): %w", d.ID, lerr))
				break
			}
			err = record(a, domain.KindDepartment, itoa(d.ID), domain.OutcomeCreated, a.Reason)
		case ActAddMembers:
			dep := a.TargetID
			if dep == "" {
				dep = created[a.SourceID]
			}
			if dep == "" {
				break // its department could not be created; reported above
			}
			lid, did := l.depLoc[dep], dep
			li, _ := strconv.ParseInt(lid, 10, 64)
			di, _ := strconv.ParseInt(did, 10, 64)
			ids, perr := atois(a.UserIDs)
			if perr != nil {
				err = fail(a, domain.KindMembership, perr)
				break
			}
			if _, aerr := l.s.AddDepartmentUsers(ctx, li, di, ids); aerr != nil {
				err = fail(a, domain.KindMembership, aerr)
				break
			}
			if joined[lid] == nil {
				joined[lid] = map[string]bool{}
			}
			for _, u := range a.UserIDs {
				joined[lid][u] = true
			}
			err = record(a, domain.KindMembership, dep, domain.OutcomeUpdated, a.Reason+": added "+strings.Join(a.UserIDs, ", "))
		case ActAddLocationMember:
			locMembers = append(locMembers, a) // after the departments: their members join the location
		case ActMissing, ActConflict, ActUnplaced:
			kind := domain.KindLocation
			if strings.Contains(a.SourceID, "/") {
				kind = domain.KindDepartment
			}
			err = report(a, kind, a.Reason)
		default:
			err = fmt.Errorf("unknown action %q", a.Kind)
		}
		if err != nil {
			return err
		}
	}
	for _, a := range locMembers {
		loc := a.TargetID
		if loc == "" {
			loc = createdLoc[a.SourceID]
		}
		if loc == "" {
			continue // the location does not exist: its creation failed or it is reported
		}
		var rest []string
		for _, u := range a.UserIDs {
			if !joined[loc][u] {
				rest = append(rest, u)
			}
		}
		if len(rest) == 0 {
			continue // joined through a department membership
		}
		b := a
		b.TargetID = loc
		b.UserIDs = rest
		if err := report(b, domain.KindMembership, "users "+strings.Join(rest, ", ")+" belong to office "+a.Name+
			" but are not members of its location, and have no department there; Staffomatic's API adds a user to a location only with a department: add them in Staffomatic"); err != nil {
			return err
		}
	}
	if failed > 0 {
		run.Log.WarnContext(ctx, "workspaces: some actions failed", "failed", failed)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func itoas(ns []int64) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = itoa(n)
	}
	return out
}

func atois(ss []string) ([]int64, error) {
	out := make([]int64, 0, len(ss))
	for _, s := range ss {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Staffomatic id %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}
