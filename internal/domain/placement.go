package domain

// Org unit kinds of Personio whose employees the workspace sync places in Staffomatic
// departments.
const (
	UnitDepartment = "department"
	UnitTeam       = "team"
)

// UnitKey is the source id of the workspace mapping of a Personio department or team
// within an office: Personio departments are company-wide, Staffomatic departments belong
// to one location, so one Personio department becomes one Staffomatic department per
// office. The workspace sync writes these mappings, the user sync reads them.
func UnitKey(officeID, unitKind, unitID string) string {
	return officeID + "/" + unitKind + "/" + unitID
}

// Workspace is a Staffomatic location or department as placement sees it.
type Workspace struct {
	ID   string
	Name string
	// LocationID is a department's location ("" for a location).
	LocationID string
}

// Workspaces is the Staffomatic side of placement: the account's locations and
// departments and the workspace sync's mappings.
type Workspaces struct {
	Locations   []Workspace
	Departments []Workspace
	// LocationLinks maps Personio office ids to location ids.
	LocationLinks map[string]string
	// DepartmentLinks maps UnitKey source ids to department ids.
	DepartmentLinks map[string]string
}

// Placement is where an employee belongs in Staffomatic.
type Placement struct {
	LocationID    string
	DepartmentIDs []string
}

// Placer decides placements (office → location, department and team → departments of
// that location). It is pure: built once per run from what was loaded, asked per employee.
type Placer struct {
	locExists map[string]bool
	locByName map[string][]string
	depLoc    map[string]string
	depByName map[string][]string
	locLink   map[string]string
	depLink   map[string]string
}

// NewPlacer indexes w. Mappings whose target no longer exists are ignored, so a deleted
// workspace is found again by name.
func NewPlacer(w Workspaces) *Placer {
	p := &Placer{locExists: map[string]bool{}, locByName: map[string][]string{}, depLoc: map[string]string{},
		depByName: map[string][]string{}, locLink: map[string]string{}, depLink: map[string]string{}}
	for _, l := range w.Locations {
		p.locExists[l.ID] = true
		n := NormalizeEmail(l.Name)
		p.locByName[n] = append(p.locByName[n], l.ID)
	}
	for _, d := range w.Departments {
		p.depLoc[d.ID] = d.LocationID
		k := d.LocationID + "|" + NormalizeEmail(d.Name)
		p.depByName[k] = append(p.depByName[k], d.ID)
	}
	for office, lid := range w.LocationLinks {
		if p.locExists[lid] {
			p.locLink[office] = lid
		}
	}
	for key, did := range w.DepartmentLinks {
		if p.depLoc[did] != "" {
			p.depLink[key] = did
		}
	}
	return p
}

// Place returns the employee's placement: the location of the office, through the
// workspace mapping or else a unique case-insensitive name (so even the first user sync,
// before any workspace sync, creates users in their place), and within that location the
// department of the employee's department (mapping, else unique name) and of the team
// (mapping only: teams become departments only when the workspace sync turned them into
// ones). An employee without office, or whose office has no unique location, has no
// placement; the workspace sync reports those.
func (p *Placer) Place(e Employee) Placement {
	if p == nil || e.OfficeID == "" {
		return Placement{}
	}
	lid := p.locLink[e.OfficeID]
	if lid == "" {
		if ids := p.locByName[NormalizeEmail(e.Office)]; len(ids) == 1 {
			lid = ids[0]
		}
	}
	if lid == "" {
		return Placement{}
	}
	out := Placement{LocationID: lid}
	for _, u := range []struct{ kind, id, name string }{{UnitDepartment, e.DepartmentID, e.Department}, {UnitTeam, e.TeamID, e.Team}} {
		if u.id == "" {
			continue
		}
		if d := p.depLink[UnitKey(e.OfficeID, u.kind, u.id)]; d != "" && p.depLoc[d] == lid {
			out.DepartmentIDs = append(out.DepartmentIDs, d)
			continue
		}
		if u.kind == UnitTeam {
			continue
		}
		if ids := p.depByName[lid+"|"+NormalizeEmail(u.name)]; len(ids) == 1 {
			out.DepartmentIDs = append(out.DepartmentIDs, ids[0])
		}
	}
	return out
}
