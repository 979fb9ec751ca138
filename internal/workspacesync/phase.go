package workspacesync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Input  Input
	depLoc map[string]string // department id → location id
	w      workspaceWriter
	now    time.Time
}

// Planned is a run's plan with the state it was computed from.
type Planned struct {
	Plan  Plan
	state *Loaded
}

// Actions describes the plan for a dry run's protocol: each action with the workspace's
// name, the people concerned, and what will happen.
func (p Planned) Actions() []domain.PlannedAction {
	out := make([]domain.PlannedAction, 0, len(p.Plan.Actions))
	for _, a := range p.Plan.Actions {
		out = append(out, a.Planned())
	}
	return out
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
	l := &Loaded{depLoc: map[string]string{}, w: clientWriter{sc}, now: now()}
	l.Input.Reported = map[string]string{}
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
	// Employees without an office id, department id or team id have none of that unit:
	// Person leaves the id empty then, which is what Compute keys on.
	l.Input.Employees = sel.Select(personio.People(list.Employees))

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
			if m.Reported != "" {
				l.Input.Reported[ReportKey(k.rk, m.SourceID)] = m.Reported
			}
			if m.TargetID() != "" && k.kind != "" {
				l.Input.Links = append(l.Input.Links, Link{Kind: k.kind, SourceID: m.SourceID, TargetID: m.TargetID()})
			}
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
func (p *Phase) Plan(l *Loaded) (Planned, error) {
	return Planned{Plan: Compute(l.Input), state: l}, nil
}

// Apply implements phase.Phase.
func (p *Phase) Apply(ctx context.Context, run *phase.Run, pl Planned) error {
	return apply(ctx, run, run.Log, p.deps.Store, run.Tenant.ID, pl.state, pl.Plan)
}

// apply performs the plan in order (locations, departments, memberships): a location or
// department created by this run is recorded in its mapping right away, so a rerun never
// creates it twice (and finds it by name even if the mapping write failed), and the
// departments and memberships planned inside it refer to it. It makes exactly the writes
// the plan lists; a report is written to the protocol and remembered in its mapping.
func apply(ctx context.Context, rec phase.Recorder, log *slog.Logger, st *store.Store, tid string, l *Loaded, plan Plan) error {
	rec.Count(domain.OutcomeUnchanged, plan.Unchanged)
	rec.Count(domain.OutcomeSkipped, plan.Repeated)
	createdLoc := map[string]string{} // office id → created location id
	created := map[string]string{}    // source id → created department id
	var failed int
	// record tells the action with outcome o: the reason in the tense of o, then detail
	// (a failure's error).
	record := func(a Action, target string, o domain.Outcome, detail string) error {
		e := a.Planned().Entry(o)
		e.TargetID, e.Reason = target, a.Wording().Reason(o, a.Reason)+detail
		if err := rec.Record(context.WithoutCancel(ctx), e); err != nil {
			return fmt.Errorf("write protocol of %s %s: %w", a.Kind, a.SourceID, err)
		}
		return nil
	}
	report := func(a Action) error {
		kind := a.Record()
		m := domain.Mapping{Tenant: tid, Kind: kind, SourceID: a.SourceID, Reported: a.Report, State: domain.StateReported, LastError: a.Reason, UpdatedAt: l.now}
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
		return record(a, a.TargetID, domain.OutcomeReported, "")
	}
	link := func(ctx context.Context, kind domain.RecordKind, source, target string) error {
		if err := st.PutMapping(ctx, domain.Mapping{Tenant: tid, Kind: kind, SourceID: source, TargetIDs: []string{target},
			State: domain.StateTransferred, UpdatedAt: l.now}); err != nil {
			return fmt.Errorf("store %s mapping %s → %s: %w", kind, source, target, err)
		}
		return nil
	}
	fail := func(a Action, err error) error {
		failed++
		log.WarnContext(ctx, "workspace action failed", "action", a.Kind, "source_id", a.SourceID, "error", err)
		return record(a, a.TargetID, domain.OutcomeFailed, "; failed: "+err.Error())
	}
	// create makes a workspace and records its mapping at once (phase.CreateThenMap), so
	// a created workspace is never left unmapped by a stopped run.
	create := func(a Action, make func(ctx context.Context) (string, error)) (string, error) {
		id, err := phase.CreateThenMap(ctx, make, func(mctx context.Context, id string) error {
			return link(mctx, a.Record(), a.SourceID, id)
		})
		switch {
		case errors.Is(err, phase.ErrNotMapped):
			return id, fail(a, fmt.Errorf("%s %s created, mapping not stored (the next run matches it by name): %w", a.Record(), id, err))
		case err != nil:
			return "", fail(a, err)
		}
		return id, record(a, id, domain.OutcomeCreated, "")
	}
	for _, a := range plan.Actions {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply workspaces: %w", err)
		}
		var err error
		switch a.Kind {
		case ActLinkLocation, ActLinkDepartment:
			if e := link(ctx, a.Record(), a.SourceID, a.TargetID); e != nil {
				err = fail(a, e)
			} else {
				err = record(a, a.TargetID, domain.OutcomeUpdated, "")
			}
		case ActCreateLocation:
			var id string
			id, err = create(a, func(ctx context.Context) (string, error) { return l.w.CreateLocation(ctx, strings.TrimSpace(a.Name)) })
			if id != "" {
				createdLoc[a.SourceID] = id
			}
		case ActCreateDepartment:
			locID := a.LocationID
			if a.LocationSource != "" {
				if locID = createdLoc[a.LocationSource]; locID == "" {
					err = fail(a, fmt.Errorf("the location of office %s could not be created", a.LocationSource))
					break
				}
			}
			var id string
			id, err = create(a, func(ctx context.Context) (string, error) {
				return l.w.CreateDepartment(ctx, locID, strings.TrimSpace(a.Name))
			})
			if id != "" {
				created[a.SourceID] = id
				l.depLoc[id] = locID
			}
		case ActAddMembers:
			dep := a.TargetID
			if dep == "" {
				dep = created[a.SourceID]
			}
			if dep == "" {
				err = fail(a, errors.New("its department could not be created"))
				break
			}
			if aerr := l.w.AddDepartmentUsers(ctx, l.depLoc[dep], dep, a.UserIDs); aerr != nil {
				err = fail(a, aerr)
				break
			}
			err = record(a, dep, domain.OutcomeUpdated, "")
		case ActMissing, ActConflict, ActUnplaced, ActNotInLocation:
			err = report(a)
		default:
			err = fmt.Errorf("unknown action %q", a.Kind)
		}
		if err != nil {
			return err
		}
	}
	if failed > 0 {
		log.WarnContext(ctx, "workspaces: some actions failed", "failed", failed)
	}
	return nil
}

// workspaceWriter is what apply needs of Staffomatic, in the plan's terms (string ids):
// one method per API call, so the calls apply makes are the plan's writes.
type workspaceWriter interface {
	CreateLocation(ctx context.Context, name string) (string, error)
	CreateDepartment(ctx context.Context, locationID, name string) (string, error)
	AddDepartmentUsers(ctx context.Context, locationID, departmentID string, userIDs []string) error
}

// clientWriter makes the writes with the Staffomatic client.
type clientWriter struct{ c *staffomatic.Client }

var _ workspaceWriter = clientWriter{}

func (w clientWriter) CreateLocation(ctx context.Context, name string) (string, error) {
	loc, err := w.c.CreateLocation(ctx, staffomatic.NewLocation{Name: name})
	if err != nil {
		return "", err
	}
	return itoa(loc.ID), nil
}

func (w clientWriter) CreateDepartment(ctx context.Context, locationID, name string) (string, error) {
	lid, err := strconv.ParseInt(locationID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("location id %q: %w", locationID, err)
	}
	d, err := w.c.CreateDepartment(ctx, lid, staffomatic.NewDepartment{Name: name})
	if err != nil {
		return "", err
	}
	return itoa(d.ID), nil
}

func (w clientWriter) AddDepartmentUsers(ctx context.Context, locationID, departmentID string, userIDs []string) error {
	ids, err := staffomatic.ParseIDs(append([]string{locationID, departmentID}, userIDs...))
	if err != nil {
		return err
	}
	_, err = w.c.AddDepartmentUsers(ctx, ids[0], ids[1], ids[2:])
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func itoas(ns []int64) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = itoa(n)
	}
	return out
}
