// Package workspacesync is the workspaces phase: Personio offices become Staffomatic
// locations, Personio departments (and teams, if configured) become Staffomatic departments
// ("Arbeitsbereiche") inside the location of the employee's office, and mapped users are
// added to them. Compute (plan.go) is the pure planner; the Phase (phase.go) loads its
// input, applies its plan and records mappings and protocol for the harness of
// internal/phase.
package workspacesync

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
)

// Location is a Staffomatic location.
type Location struct {
	ID      string
	Name    string
	UserIDs []string
}

// Department is a Staffomatic department, which belongs to one location.
type Department struct {
	ID         string
	Name       string
	LocationID string
	UserIDs    []string
}

// Link is a stored workspace mapping: a Personio office (SourceID = office id) to a
// location, or a Personio department/team within an office (SourceID from domain.UnitKey) to a
// department.
type Link struct {
	Kind     string // KindLocation or KindDepartment
	SourceID string
	TargetID string
}

// Mapping kinds.
const (
	KindLocation   = "location"
	KindDepartment = "department"
)

// Input is everything Compute needs.
type Input struct {
	Employees   []domain.Employee
	Locations   []Location
	Departments []Department
	Links       []Link
	// UserOf maps Personio employee ids to their Staffomatic user ids (user mappings).
	UserOf map[string]string
	// CreateMissing is the create_missing_workspaces setting.
	CreateMissing bool
	// IncludeTeams also turns Personio teams into Staffomatic departments.
	IncludeTeams bool
	// Reported holds the fingerprint of the report last written per record kind and source
	// id ("location|<office>", ReportKey): an unchanged report is not planned again.
	Reported map[string]string
}

// ReportKey is the key of Input.Reported.
func ReportKey(kind domain.RecordKind, sourceID string) string { return string(kind) + "|" + sourceID }

// ActionKind names what an action does.
type ActionKind string

const (
	ActLinkLocation     ActionKind = "link_location"
	ActCreateLocation   ActionKind = "create_location"
	ActLinkDepartment   ActionKind = "link_department"
	ActCreateDepartment ActionKind = "create_department"
	ActAddMembers       ActionKind = "add_department_members"
	// ActNotInLocation reports users of an office who are not members of its location and
	// join no department there in this run: Staffomatic's API adds a user to a location
	// only through a department of it (or at the user's creation), so the admin must.
	ActNotInLocation ActionKind = "not_in_location"
	// ActMissing reports a workspace that does not exist and may not be created.
	ActMissing ActionKind = "missing"
	// ActConflict reports an ambiguous name.
	ActConflict ActionKind = "conflict"
	// ActUnplaced reports the users of a Personio department or team whose employees
	// have no office: without an office there is no location to hold the department.
	ActUnplaced ActionKind = "unplaced"
)

// Writes reports whether the action writes to Staffomatic.
func (k ActionKind) Writes() bool {
	switch k {
	case ActCreateLocation, ActCreateDepartment, ActAddMembers:
		return true
	}
	return false
}

// Reports reports whether the action only tells the admin (protocol and mapping).
func (k ActionKind) Reports() bool {
	switch k {
	case ActMissing, ActConflict, ActUnplaced, ActNotInLocation:
		return true
	}
	return false
}

// Action is one planned step. For a department inside a location that this plan creates,
// LocationID is empty and LocationSource names the office; the applier resolves it.
type Action struct {
	Kind           ActionKind `json:"kind"`
	SourceID       string     `json:"source_id,omitempty"`
	TargetID       string     `json:"target_id,omitempty"`
	Name           string     `json:"name,omitempty"`
	LocationID     string     `json:"location_id,omitempty"`
	LocationSource string     `json:"location_source,omitempty"`
	UserIDs        []string   `json:"user_ids,omitempty"`
	// Person names the people of a membership or report action (domain.Names: the
	// first few and how many more), from the selected employees.
	Person string `json:"person,omitempty"`
	// Report is the fingerprint a report is remembered by (domain.ReportFingerprint).
	Report string `json:"report,omitempty"`
	Reason string `json:"reason"`
	// people are the Personio ids of an unplaced unit's employees (named in Person).
	people []string
}

// Record is the kind of record the action is about: a location for an office, a
// department for a department or team (source ids from domain.UnitKey), a membership for
// the member actions.
func (a Action) Record() domain.RecordKind {
	switch a.Kind {
	case ActLinkLocation, ActCreateLocation:
		return domain.KindLocation
	case ActAddMembers, ActNotInLocation:
		return domain.KindMembership
	}
	if strings.Contains(a.SourceID, "/") {
		return domain.KindDepartment
	}
	return domain.KindLocation
}

// Wording is the action's phrase in both tenses, for its protocol reason: "will create
// location" in a dry run, "created location" after it.
func (a Action) Wording() domain.Wording {
	what := "location"
	if a.Record() == domain.KindDepartment {
		what = "department"
	}
	switch a.Kind {
	case ActLinkLocation, ActLinkDepartment:
		return domain.Wording{Do: "link " + what + " " + a.TargetID, Done: "linked " + what + " " + a.TargetID}
	case ActCreateLocation, ActCreateDepartment:
		return domain.Wording{Do: "create " + what, Done: "created " + what}
	case ActAddMembers:
		// The line names ten users and counts the rest (the write adds them all): one
		// line about a department of thousands stays short (domain.IDs).
		users := "users " + domain.IDs(a.UserIDs)
		return domain.Wording{Do: "add " + users + " to the department", Done: "added " + users + " to the department"}
	case ActNotInLocation:
		return domain.Wording{Do: "report users outside the location", Done: "reported users outside the location"}
	case ActMissing:
		return domain.Wording{Do: "report a missing " + what, Done: "reported a missing " + what}
	case ActConflict:
		return domain.Wording{Do: "report a conflict", Done: "reported a conflict"}
	case ActUnplaced:
		return domain.Wording{Do: "report employees without an office", Done: "reported employees without an office"}
	}
	return domain.Wording{Do: string(a.Kind), Done: string(a.Kind)}
}

// Planned is the action as a dry run stores it, with the Staffomatic write calls apply
// makes for it (Calls).
func (a Action) Planned() domain.PlannedAction {
	return domain.PlannedAction{Kind: a.Record(), Action: string(a.Kind), SourceID: a.SourceID, TargetID: a.TargetID,
		Reason: a.Wording().Reason(domain.OutcomePlanned, a.Reason), Workspace: strings.TrimSpace(a.Name), Person: a.Person,
		Writes: a.Calls()}
}

// Calls is the number of Staffomatic write calls apply makes for the action: one for a
// create, and one for a membership action however many users it adds (add_users takes
// them all at once); none for a link or a report.
func (a Action) Calls() int {
	if a.Kind.Writes() {
		return 1
	}
	return 0
}

// Plan is the ordered list of actions of one run.
type Plan struct {
	Actions []Action `json:"actions"`
	// Unchanged counts the workspaces (offices, departments and teams within an office)
	// compared that need no action; Repeated those whose report an earlier run wrote
	// unchanged (not planned again). They make the run summary's unchanged and skipped.
	Unchanged int `json:"unchanged,omitempty"`
	Repeated  int `json:"repeated,omitempty"`
	// compared are the source ids of the offices and units compute looked at.
	compared []string
}

// Writes counts the actions that write to Staffomatic.
func (p Plan) Writes() int {
	n := 0
	for _, a := range p.Actions {
		n += a.Calls()
	}
	return n
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

type unit struct {
	key, officeID, name, kind string
}

// Compute plans the run (compute), less the reports already written unchanged, so a run
// without changes writes nothing but its summary.
func Compute(in Input) Plan {
	p := compute(in)
	name(p.Actions, in)
	repeated := map[string]bool{}
	kept := p.Actions[:0]
	for _, a := range p.Actions {
		if a.Kind.Reports() {
			ids := a.UserIDs
			if len(a.people) > domain.MaxIDs {
				// The reason lists only the first employees: the fingerprint covers all,
				// so a change among the others is reported too.
				ids = a.people
			}
			a.Report = domain.ReportFingerprint(string(a.Kind), ids, a.Reason)
			if in.Reported[ReportKey(a.Record(), a.SourceID)] == a.Report {
				p.Repeated++
				repeated[a.SourceID] = true
				continue
			}
		}
		kept = append(kept, a)
	}
	p.Actions = kept
	acted := map[string]bool{}
	for _, a := range p.Actions {
		acted[a.SourceID] = true
	}
	for _, k := range p.compared {
		if !acted[k] && !repeated[k] { // a repeated report's workspace is counted as skipped
			p.Unchanged++
		}
	}
	return p
}

// compute plans the run: offices first (a department needs its location), then
// departments, then memberships. A workspace is matched by name (case-insensitive), then
// by mapping; a name shared by several workspaces is resolved by the mapping when it names
// one of them, else it is a conflict. Memberships are only added, never removed: the ones the
// sync did not add belong to the admin.
func compute(in Input) Plan {
	var plan Plan
	add := func(a Action) { plan.Actions = append(plan.Actions, a) }

	links := map[string]string{}
	for _, l := range in.Links {
		links[l.Kind+"|"+l.SourceID] = l.TargetID
	}
	locByID := map[string]*Location{}
	locByName := map[string][]string{}
	for i := range in.Locations {
		l := &in.Locations[i]
		locByID[l.ID] = l
		locByName[norm(l.Name)] = append(locByName[norm(l.Name)], l.ID)
	}
	depByID := map[string]*Department{}
	depByName := map[string][]string{} // location id | name
	for i := range in.Departments {
		d := &in.Departments[i]
		depByID[d.ID] = d
		k := d.LocationID + "|" + norm(d.Name)
		depByName[k] = append(depByName[k], d.ID)
	}

	// Distinct offices and units, in a stable order. Mapped employees of a unit who have
	// no office are collected per unit and reported, never dropped silently.
	offices := map[string]string{}
	units := map[string]unit{}
	unplaced := map[string]unit{}
	unplacedIDs := map[string][]string{}
	for _, e := range in.Employees {
		if e.OfficeID == "" {
			if in.UserOf[e.PersonioID] == "" {
				continue // not a user yet: the user sync reports why
			}
			for _, u := range []unit{{kind: "department", key: e.DepartmentID, name: e.Department}, {kind: "team", key: e.TeamID, name: e.Team}} {
				if u.key == "" || (u.kind == "team" && !in.IncludeTeams) {
					continue
				}
				k := domain.UnitKey("", u.kind, u.key)
				unplaced[k] = unit{key: k, name: u.name, kind: u.kind}
				unplacedIDs[k] = append(unplacedIDs[k], e.PersonioID)
			}
			continue
		}
		offices[e.OfficeID] = e.Office
		if e.DepartmentID != "" {
			k := domain.UnitKey(e.OfficeID, "department", e.DepartmentID)
			units[k] = unit{key: k, officeID: e.OfficeID, name: e.Department, kind: "department"}
		}
		if in.IncludeTeams && e.TeamID != "" {
			k := domain.UnitKey(e.OfficeID, "team", e.TeamID)
			units[k] = unit{key: k, officeID: e.OfficeID, name: e.Team, kind: "team"}
		}
	}

	// Offices → locations. locOf holds the resolved location id, or "" for one this plan
	// creates (created[office] set), or is absent when the location is missing.
	locOf := map[string]string{}
	created := map[string]bool{}
	for _, oid := range sortedKeys(offices) {
		name := offices[oid]
		linked := links[KindLocation+"|"+oid]
		switch ids := locByName[norm(name)]; {
		case len(ids) > 1 && slices.Contains(ids, linked):
			// The name is ambiguous, the mapping is not: it names one of them.
			locOf[oid] = linked
		case len(ids) > 1:
			add(Action{Kind: ActConflict, SourceID: oid, Name: name, UserIDs: nil,
				Reason: fmt.Sprintf("%d Staffomatic locations are named %q; rename all but one", len(ids), name)})
			continue
		case len(ids) == 1:
			locOf[oid] = ids[0]
			if linked != ids[0] {
				add(Action{Kind: ActLinkLocation, SourceID: oid, TargetID: ids[0], Name: name, Reason: "location name matches office " + name})
			}
		case linked != "" && locByID[linked] != nil:
			locOf[oid] = linked
		case in.CreateMissing:
			locOf[oid], created[oid] = "", true
			add(Action{Kind: ActCreateLocation, SourceID: oid, Name: name, Reason: "office " + name + " has no Staffomatic location; create_missing_workspaces is on"})
		default:
			add(Action{Kind: ActMissing, SourceID: oid, Name: name,
				Reason: "office " + name + " has no Staffomatic location of that name; create it in Staffomatic or switch on create_missing_workspaces"})
		}
	}

	for _, k := range sortedKeys(unplaced) {
		u := unplaced[k]
		ids := sortedUnique(unplacedIDs[k])
		add(Action{Kind: ActUnplaced, SourceID: k, Name: u.name, people: ids,
			Reason: fmt.Sprintf("%d employees of Personio %s %s have no office, so they join no Staffomatic department: set their office in Personio (employees %s)",
				len(ids), u.kind, u.name, domain.IDs(ids))})
	}

	// Units → departments in their office's location.
	depOf := map[string]string{}
	for _, k := range sortedKeys(units) {
		u := units[k]
		loc, ok := locOf[u.officeID]
		if !ok {
			continue // the office's location is missing or ambiguous, already reported
		}
		plan.compared = append(plan.compared, k)
		linked := links[KindDepartment+"|"+k]
		ids := []string(nil)
		if !created[u.officeID] {
			ids = depByName[loc+"|"+norm(u.name)]
		}
		switch {
		case len(ids) > 1 && slices.Contains(ids, linked):
			depOf[k] = linked
		case len(ids) > 1:
			add(Action{Kind: ActConflict, SourceID: k, Name: u.name, LocationID: loc,
				Reason: fmt.Sprintf("%d departments in location %s are named %q; rename all but one", len(ids), loc, u.name)})
		case len(ids) == 1:
			depOf[k] = ids[0]
			if linked != ids[0] {
				add(Action{Kind: ActLinkDepartment, SourceID: k, TargetID: ids[0], Name: u.name, LocationID: loc, Reason: "department name matches Personio " + u.kind + " " + u.name})
			}
		case linked != "" && depByID[linked] != nil && depByID[linked].LocationID == loc:
			depOf[k] = linked
		case in.CreateMissing:
			a := Action{Kind: ActCreateDepartment, SourceID: k, Name: u.name, LocationID: loc,
				Reason: "Personio " + u.kind + " " + u.name + " has no department in its location; create_missing_workspaces is on"}
			if created[u.officeID] {
				a.LocationSource = u.officeID
			}
			add(a)
			depOf[k] = ""
		default:
			add(Action{Kind: ActMissing, SourceID: k, Name: u.name, LocationID: loc,
				Reason: "Personio " + u.kind + " " + u.name + " has no department of that name in its location; create it in Staffomatic or switch on create_missing_workspaces"})
		}
	}

	// Memberships, batched per workspace: one write adds all missing users. Member lists
	// become sets once per workspace, so thousands of employees in one location stay linear.
	members := map[string]map[string]bool{}
	isMember := func(key string, ids []string, uid string) bool {
		set, ok := members[key]
		if !ok {
			set = make(map[string]bool, len(ids))
			for _, id := range ids {
				set[id] = true
			}
			members[key] = set
		}
		return set[uid]
	}
	locAdd := map[string][]string{}
	depAdd := map[string][]string{}
	for _, e := range in.Employees {
		uid := in.UserOf[e.PersonioID]
		if uid == "" {
			continue
		}
		if loc, ok := locOf[e.OfficeID]; ok && (loc == "" || !isMember("L|"+loc, locByID[loc].UserIDs, uid)) {
			locAdd[e.OfficeID] = append(locAdd[e.OfficeID], uid)
		}
		keys := []string{domain.UnitKey(e.OfficeID, "department", e.DepartmentID)}
		if in.IncludeTeams && e.TeamID != "" {
			keys = append(keys, domain.UnitKey(e.OfficeID, "team", e.TeamID))
		}
		for _, k := range keys {
			dep, ok := depOf[k]
			if !ok || (dep != "" && isMember("D|"+dep, depByID[dep].UserIDs, uid)) {
				continue
			}
			depAdd[k] = append(depAdd[k], uid)
		}
	}
	// A user added to a department of the office's location joins the location with it;
	// the others are reported.
	joins := map[string]map[string]bool{} // office id → users joining one of its departments
	for _, k := range sortedKeys(depAdd) {
		add(Action{Kind: ActAddMembers, SourceID: k, TargetID: depOf[k], Name: units[k].name, UserIDs: sortedUnique(depAdd[k]),
			Reason: "employees of " + units[k].kind + " " + units[k].name + " are not yet members of its department"})
		oid := units[k].officeID
		if joins[oid] == nil {
			joins[oid] = map[string]bool{}
		}
		for _, u := range depAdd[k] {
			joins[oid][u] = true
		}
	}
	for _, oid := range sortedKeys(locAdd) {
		rest := slices.DeleteFunc(sortedUnique(locAdd[oid]), func(u string) bool { return joins[oid][u] })
		if len(rest) == 0 {
			continue
		}
		add(Action{Kind: ActNotInLocation, SourceID: oid, TargetID: locOf[oid], Name: offices[oid], UserIDs: rest,
			Reason: "users " + domain.IDs(rest) + " belong to office " + offices[oid] +
				" but are not members of its location, and have no department there; Staffomatic's API adds a user to a location only with a department: add them in Staffomatic"})
	}
	plan.compared = append(plan.compared, sortedKeys(offices)...)
	return plan
}

// name sets the Person of the actions about people: the users of a membership action,
// the employees of an unplaced unit (whose Personio ids its reason lists).
func name(acts []Action, in Input) {
	byPID := make(map[string]string, len(in.Employees))
	byUser := make(map[string]string, len(in.UserOf))
	for _, e := range in.Employees {
		byPID[e.PersonioID] = e.Name()
		if u := in.UserOf[e.PersonioID]; u != "" {
			byUser[u] = e.Name()
		}
	}
	for i := range acts {
		a := &acts[i]
		var names []string
		switch a.Kind {
		case ActAddMembers, ActNotInLocation:
			for _, u := range a.UserIDs {
				names = append(names, byUser[u])
			}
		case ActUnplaced:
			for _, pid := range a.people {
				names = append(names, byPID[pid])
			}
		}
		a.Person = domain.Names(names)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedUnique(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}
