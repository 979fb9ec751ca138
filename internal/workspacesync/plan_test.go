package workspacesync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

func e(pid, office, dept string) domain.Employee {
	return domain.Employee{PersonioID: pid, OfficeID: "o-" + office, Office: office, DepartmentID: "d-" + dept, Department: dept}
}

type step struct {
	kind   ActionKind
	source string
	target string
	users  string
	reason string
	// locSource is the office whose location this plan creates (ActCreateDepartment).
	locSource string
}

func check(t *testing.T, p Plan, want []step) {
	t.Helper()
	if len(p.Actions) != len(want) {
		t.Fatalf("got %d actions, want %d:\n%s", len(p.Actions), len(want), dump(p))
	}
	for i, w := range want {
		a := p.Actions[i]
		if a.Kind != w.kind || a.SourceID != w.source || a.TargetID != w.target || strings.Join(a.UserIDs, ",") != w.users ||
			!strings.Contains(a.Reason, w.reason) || a.LocationSource != w.locSource {
			t.Errorf("action %d = %+v, want %+v\n%s", i, a, w, dump(p))
		}
	}
}

func dump(p Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		b.WriteString("  " + string(a.Kind) + " " + a.SourceID + "→" + a.TargetID + " [" + strings.Join(a.UserIDs, ",") + "] " + a.Reason + "\n")
	}
	return b.String()
}

func TestCompute(t *testing.T) {
	berlin := Location{ID: "L1", Name: "Berlin", UserIDs: []string{"u1"}}
	kitchen := Department{ID: "D1", Name: "Kitchen", LocationID: "L1", UserIDs: []string{"u1"}}
	users := map[string]string{"1": "u1", "2": "u2"}
	cases := []struct {
		name string
		in   Input
		want []step
	}{
		{
			name: "names match case-insensitively: linked, missing members added",
			in: Input{Employees: []domain.Employee{e("1", " BERLIN", "kitchen "), e("2", " BERLIN", "kitchen ")},
				Locations: []Location{berlin}, Departments: []Department{kitchen}, UserOf: users},
			want: []step{
				{kind: ActLinkLocation, source: "o- BERLIN", target: "L1", reason: "name matches"},
				{kind: ActLinkDepartment, source: "o- BERLIN/department/d-kitchen ", target: "D1"},
				{kind: ActAddMembers, source: "o- BERLIN/department/d-kitchen ", target: "D1", users: "u2"},
			},
		},
		{
			name: "member of the department but not of the location, nothing to add: reported",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen"), e("2", "Berlin", "Kitchen")}, Locations: []Location{berlin},
				Departments: []Department{{ID: "D1", Name: "Kitchen", LocationID: "L1", UserIDs: []string{"u1", "u2"}}},
				Links:       []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: []step{{kind: ActNotInLocation, source: "o-Berlin", target: "L1", users: "u2", reason: "users u2 belong to office Berlin but are not members of its location"}},
		},
		{
			name: "department missing, creation off: the department and the location membership are reported",
			in: Input{Employees: []domain.Employee{e("2", "Berlin", "Bar")}, Locations: []Location{berlin},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users},
			want: []step{
				{kind: ActMissing, source: "o-Berlin/department/d-Bar", reason: "no department of that name"},
				{kind: ActNotInLocation, source: "o-Berlin", target: "L1", users: "u2"},
			},
		},
		{
			name: "reports written before and unchanged are not planned again",
			in: Input{Employees: []domain.Employee{e("2", "Berlin", "Bar")}, Locations: []Location{berlin},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users, Reported: map[string]string{
					ReportKey(domain.KindDepartment, "o-Berlin/department/d-Bar"): domain.ReportFingerprint(string(ActMissing), nil,
						"Personio department Bar has no department of that name in its location; create it in Staffomatic or switch on create_missing_workspaces"),
					ReportKey(domain.KindMembership, "o-Berlin"): "report:0000000000000000", // another report: this one is new
				}},
			want: []step{{kind: ActNotInLocation, source: "o-Berlin", target: "L1", users: "u2"}},
		},
		{
			name: "linked and complete: nothing to do",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{berlin}, Departments: []Department{kitchen},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: nil,
		},
		{
			name: "renamed in Staffomatic: found by mapping",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")},
				Locations:   []Location{{ID: "L1", Name: "BER Mitte", UserIDs: []string{"u1"}}},
				Departments: []Department{{ID: "D1", Name: "Küche", LocationID: "L1", UserIDs: []string{"u1"}}},
				Links:       []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: nil,
		},
		{
			name: "name match comes before the mapping: relinked to the same-named location",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")},
				Locations:   []Location{berlin, {ID: "L2", Name: "Old Berlin", UserIDs: []string{"u1"}}},
				Departments: []Department{kitchen},
				Links:       []Link{{KindLocation, "o-Berlin", "L2"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: []step{{kind: ActLinkLocation, source: "o-Berlin", target: "L1", reason: "name matches"}},
		},
		{
			name: "mapping to a deleted location, creation off: reported missing",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{{ID: "L2", Name: "Hamburg"}},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users},
			want: []step{{kind: ActMissing, source: "o-Berlin", reason: "create_missing_workspaces"}},
		},
		{
			name: "missing department, creation on: created in the existing location, members added",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Bar"), e("2", "Berlin", "Bar")}, Locations: []Location{berlin},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActCreateDepartment, source: "o-Berlin/department/d-Bar"},
				{kind: ActAddMembers, source: "o-Berlin/department/d-Bar", users: "u1,u2"},
			},
		},
		{
			name: "department without an office: its mapped employees are reported per department and team, unmapped ones left to the user sync",
			in: Input{Employees: []domain.Employee{
				{PersonioID: "2", DepartmentID: "d-Bar", Department: "Bar", TeamID: "t-A", Team: "Team A"},
				{PersonioID: "1", DepartmentID: "d-Bar", Department: "Bar"},
				{PersonioID: "9", DepartmentID: "d-Bar", Department: "Bar"},
				e("1", "Berlin", "Kitchen"),
			}, Locations: []Location{berlin}, Departments: []Department{kitchen}, UserOf: users, IncludeTeams: true,
				Links: []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}},
			want: []step{
				{kind: ActUnplaced, source: "/department/d-Bar", reason: "2 employees of Personio department Bar have no office, so they join no Staffomatic department: set their office in Personio (employees 1, 2)"},
				{kind: ActUnplaced, source: "/team/t-A", reason: "1 employees of Personio team Team A have no office"},
			},
		},
		{
			name: "team without an office and teams off: nothing to report",
			in:   Input{Employees: []domain.Employee{{PersonioID: "1", TeamID: "t-A", Team: "Team A"}}, UserOf: users},
			want: nil,
		},
		{
			name: "missing and creation off: reported, nothing written",
			in:   Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}, UserOf: users},
			want: []step{{kind: ActMissing, source: "o-Hamburg", reason: "create_missing_workspaces"}},
		},
		{
			name: "missing department in an existing location, creation off",
			in:   Input{Employees: []domain.Employee{e("1", "Berlin", "Bar")}, Locations: []Location{berlin}, Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users},
			want: []step{{kind: ActMissing, source: "o-Berlin/department/d-Bar", reason: "no department of that name"}},
		},
		{
			name: "missing and creation on: location, department and members",
			in:   Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar"), e("3", "Hamburg", "Bar")}, UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActCreateLocation, source: "o-Hamburg", reason: "create_missing_workspaces is on"},
				{kind: ActCreateDepartment, source: "o-Hamburg/department/d-Bar", locSource: "o-Hamburg"},
				{kind: ActAddMembers, source: "o-Hamburg/department/d-Bar", users: "u1"},
			},
		},
		{
			name: "missing office with two departments and a team, creation on: every department planned inside the new location",
			in: Input{Employees: []domain.Employee{
				{PersonioID: "1", OfficeID: "o-Kiel", Office: "Kiel", DepartmentID: "d-Bar", Department: "Bar", TeamID: "t-A", Team: "Team A"},
				{PersonioID: "2", OfficeID: "o-Kiel", Office: "Kiel", DepartmentID: "d-Küche", Department: "Küche"},
			}, Locations: []Location{berlin}, Departments: []Department{kitchen}, UserOf: users, CreateMissing: true, IncludeTeams: true},
			want: []step{
				{kind: ActCreateLocation, source: "o-Kiel"},
				{kind: ActCreateDepartment, source: "o-Kiel/department/d-Bar", locSource: "o-Kiel"},
				{kind: ActCreateDepartment, source: "o-Kiel/department/d-Küche", locSource: "o-Kiel"},
				{kind: ActCreateDepartment, source: "o-Kiel/team/t-A", locSource: "o-Kiel"},
				{kind: ActAddMembers, source: "o-Kiel/department/d-Bar", users: "u1"},
				{kind: ActAddMembers, source: "o-Kiel/department/d-Küche", users: "u2"},
				{kind: ActAddMembers, source: "o-Kiel/team/t-A", users: "u1"},
			},
		},
		{
			name: "mapping to a deleted location, creation on: created again",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{{ID: "L2", Name: "Hamburg"}},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActCreateLocation, source: "o-Berlin"},
				{kind: ActCreateDepartment, source: "o-Berlin/department/d-Kitchen", locSource: "o-Berlin"},
				{kind: ActAddMembers, source: "o-Berlin/department/d-Kitchen", users: "u1"},
			},
		},
		{
			name: "rerun after a crash right after the location create: the location is not created again, its departments are",
			in: Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}, Locations: []Location{berlin, {ID: "L7", Name: "Hamburg"}},
				Departments: []Department{kitchen}, Links: []Link{{KindLocation, "o-Hamburg", "L7"}}, UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActCreateDepartment, source: "o-Hamburg/department/d-Bar"},
				{kind: ActAddMembers, source: "o-Hamburg/department/d-Bar", users: "u1"},
			},
		},
		{
			name: "crash before the mapping was stored: the created location is matched by name and linked",
			in: Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}, Locations: []Location{{ID: "L7", Name: "Hamburg"}},
				UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActLinkLocation, source: "o-Hamburg", target: "L7", reason: "name matches"},
				{kind: ActCreateDepartment, source: "o-Hamburg/department/d-Bar"},
				{kind: ActAddMembers, source: "o-Hamburg/department/d-Bar", users: "u1"},
			},
		},
		{
			name: "missing office of unmapped employees, creation on: workspaces created, no memberships",
			in:   Input{Employees: []domain.Employee{e("8", "Kiel", "Bar"), e("9", "Kiel", "Bar")}, UserOf: users, CreateMissing: true},
			want: []step{
				{kind: ActCreateLocation, source: "o-Kiel"},
				{kind: ActCreateDepartment, source: "o-Kiel/department/d-Bar", locSource: "o-Kiel"},
			},
		},
		{
			name: "two locations with one name: conflict",
			in:   Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{berlin, {ID: "L2", Name: "BERLIN"}}, UserOf: users, CreateMissing: true},
			want: []step{{kind: ActConflict, source: "o-Berlin", reason: "2 Staffomatic locations"}},
		},
		{
			name: "two locations with one name, the office mapped to one of them: the mapping decides",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen"), e("2", "Berlin", "Kitchen")},
				Locations: []Location{berlin, {ID: "L2", Name: "BERLIN"}}, Departments: []Department{kitchen},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: []step{
				{kind: ActAddMembers, source: "o-Berlin/department/d-Kitchen", target: "D1", users: "u2"},
			},
		},
		{
			name: "two departments with one name in the location, the unit mapped to one of them: the mapping decides",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen"), e("2", "Berlin", "Kitchen")},
				Locations: []Location{berlin}, Departments: []Department{kitchen, {ID: "D2", Name: "kitchen", LocationID: "L1"}},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: []step{
				{kind: ActAddMembers, source: "o-Berlin/department/d-Kitchen", target: "D1", users: "u2"},
			},
		},
		{
			name: "two departments with one name in the location, unmapped: conflict",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")},
				Locations: []Location{berlin}, Departments: []Department{kitchen, {ID: "D2", Name: "kitchen", LocationID: "L1"}},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users, CreateMissing: true},
			want: []step{{kind: ActConflict, source: "o-Berlin/department/d-Kitchen", reason: "2 departments in location L1"}},
		},
		{
			name: "a department of the same name in another location does not count",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{berlin, {ID: "L2", Name: "Hamburg"}},
				Departments: []Department{{ID: "D9", Name: "Kitchen", LocationID: "L2"}}, Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users},
			want: []step{{kind: ActMissing, source: "o-Berlin/department/d-Kitchen"}},
		},
		{
			name: "teams become departments when configured",
			in: Input{Employees: []domain.Employee{{PersonioID: "1", OfficeID: "o-Berlin", Office: "Berlin", TeamID: "t-A", Team: "Team A"}},
				Locations: []Location{berlin}, Departments: []Department{{ID: "D5", Name: "team a", LocationID: "L1"}},
				Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users, IncludeTeams: true},
			want: []step{
				{kind: ActLinkDepartment, source: "o-Berlin/team/t-A", target: "D5"},
				{kind: ActAddMembers, source: "o-Berlin/team/t-A", target: "D5", users: "u1"},
			},
		},
		{
			name: "teams ignored when not configured",
			in: Input{Employees: []domain.Employee{{PersonioID: "1", OfficeID: "o-Berlin", Office: "Berlin", TeamID: "t-A", Team: "Team A"}},
				Locations: []Location{berlin}, Links: []Link{{KindLocation, "o-Berlin", "L1"}}, UserOf: users},
			want: nil,
		},
		{
			name: "members the sync did not add are never removed; unmapped employees are skipped",
			in: Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen"), e("9", "Berlin", "Kitchen")},
				Locations:   []Location{{ID: "L1", Name: "Berlin", UserIDs: []string{"u1", "admin"}}},
				Departments: []Department{{ID: "D1", Name: "Kitchen", LocationID: "L1", UserIDs: []string{"u1", "other"}}},
				Links:       []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: users},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, truthful(t, c.in), c.want) })
	}
}

// TestWritesCount: a new location, its department and the department's members are three
// writes; the user joins the location through the department (there is no location
// membership call to count).
func TestWritesCount(t *testing.T) {
	p := truthful(t, Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}, UserOf: map[string]string{"1": "u1"}, CreateMissing: true})
	if p.Writes() != 3 {
		t.Fatalf("writes %d\n%s", p.Writes(), dump(p))
	}
	if p := truthful(t, Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}}); p.Writes() != 0 {
		t.Fatalf("report-only plan writes: %s", dump(p))
	}
}

// bigInput is a company of n mapped employees in one office and five departments, all
// already members: the no-op plan of a large tenant.
func bigInput(n int) Input {
	in := Input{UserOf: map[string]string{}, Locations: []Location{{ID: "L1", Name: "Berlin"}}, Links: []Link{{KindLocation, "o-Berlin", "L1"}}}
	for d := 0; d < 5; d++ {
		in.Departments = append(in.Departments, Department{ID: fmt.Sprint("D", d), Name: fmt.Sprint("Dep", d), LocationID: "L1"})
	}
	for i := 0; i < n; i++ {
		pid, uid := fmt.Sprint(i), fmt.Sprint("u", i)
		in.Employees = append(in.Employees, e(pid, "Berlin", fmt.Sprint("Dep", i%5)))
		in.UserOf[pid] = uid
		in.Locations[0].UserIDs = append(in.Locations[0].UserIDs, uid)
		in.Departments[i%5].UserIDs = append(in.Departments[i%5].UserIDs, uid)
	}
	return in
}

// TestLargeNoOpPlan: 5,000 employees who are all members already plan only the links.
func TestLargeNoOpPlan(t *testing.T) {
	p := Compute(bigInput(5000))
	if p.Writes() != 0 || len(p.Actions) != 5 {
		t.Fatalf("plan of a complete company: %d actions, %d writes", len(p.Actions), p.Writes())
	}
}

// BenchmarkCompute5000 plans 5,000 employees in one location (linear in the members).
func BenchmarkCompute5000(b *testing.B) {
	in := bigInput(5000)
	for b.Loop() {
		Compute(in)
	}
}

// TestUnchangedAndRepeated: the plan accounts for every workspace it compared: without an
// action it is unchanged, with a report an earlier run wrote unchanged it is repeated.
func TestUnchangedAndRepeated(t *testing.T) {
	berlin := Location{ID: "L1", Name: "Berlin", UserIDs: []string{"u1"}}
	kitchen := Department{ID: "D1", Name: "Kitchen", LocationID: "L1", UserIDs: []string{"u1"}}
	complete := Input{Employees: []domain.Employee{e("1", "Berlin", "Kitchen")}, Locations: []Location{berlin}, Departments: []Department{kitchen},
		Links: []Link{{KindLocation, "o-Berlin", "L1"}, {KindDepartment, domain.UnitKey("o-Berlin", "department", "d-Kitchen"), "D1"}}, UserOf: map[string]string{"1": "u1"}}
	if p := truthful(t, complete); len(p.Actions) != 0 || p.Unchanged != 2 || p.Repeated != 0 {
		t.Fatalf("complete: %d actions, unchanged %d, repeated %d", len(p.Actions), p.Unchanged, p.Repeated)
	}
	missing := Input{Employees: []domain.Employee{e("1", "Hamburg", "Bar")}}
	first := truthful(t, missing)
	if len(first.Actions) != 1 || first.Unchanged != 0 {
		t.Fatalf("first: %+v", first)
	}
	missing.Reported = map[string]string{ReportKey(domain.KindLocation, "o-Hamburg"): first.Actions[0].Report}
	if p := truthful(t, missing); len(p.Actions) != 0 || p.Unchanged != 0 || p.Repeated != 1 {
		t.Fatalf("again: %d actions, unchanged %d, repeated %d", len(p.Actions), p.Unchanged, p.Repeated)
	}
}

// TestNamesAndWording: every planned action carries the workspace's name, the actions
// about people the names of the people (the first five and how many more), and a
// dry-run reason saying what will happen.
func TestNamesAndWording(t *testing.T) {
	named := func(pid, first, last, office, dept string) domain.Employee {
		x := e(pid, office, dept)
		x.FirstName, x.LastName = first, last
		return x
	}
	staff := []domain.Employee{named("1", "Anna", "Berg", "Berlin", "Kitchen"), named("2", "Ben", "Cole", "Berlin", "Kitchen")}
	users := map[string]string{"1": "u1", "2": "u2"}
	var many []domain.Employee
	manyUsers := map[string]string{}
	for i := 1; i <= 7; i++ {
		pid := fmt.Sprint(i)
		many = append(many, domain.Employee{PersonioID: pid, FirstName: "P", LastName: pid, DepartmentID: "d-Bar", Department: "Bar"})
		manyUsers[pid] = "u" + pid
	}
	cases := []struct {
		name   string
		in     Input
		want   []domain.PlannedAction // kind, action, workspace, person; reason is a prefix
		writes int
	}{
		{name: "new office: location, department, members",
			in: Input{Employees: staff, UserOf: users, CreateMissing: true},
			want: []domain.PlannedAction{
				{Kind: domain.KindLocation, Action: "create_location", Workspace: "Berlin", Reason: "will create location: office Berlin has no Staffomatic location"},
				{Kind: domain.KindDepartment, Action: "create_department", Workspace: "Kitchen", Reason: "will create department: Personio department Kitchen has no department"},
				{Kind: domain.KindMembership, Action: "add_department_members", Workspace: "Kitchen", Person: "Anna Berg, Ben Cole",
					Reason: "will add users u1, u2 to the department: employees of department Kitchen are not yet members"},
			}, writes: 3},
		{name: "existing workspaces by name: linked",
			in: Input{Employees: staff[:1], UserOf: users, Locations: []Location{{ID: "L1", Name: "berlin", UserIDs: []string{"u1"}}},
				Departments: []Department{{ID: "D1", Name: "Kitchen", LocationID: "L1", UserIDs: []string{"u1"}}}},
			want: []domain.PlannedAction{
				{Kind: domain.KindLocation, Action: "link_location", Workspace: "Berlin", Reason: "will link location L1: location name matches office Berlin"},
				{Kind: domain.KindDepartment, Action: "link_department", Workspace: "Kitchen", Reason: "will link department D1: department name matches"},
			}},
		{name: "missing, creation off: reported",
			in: Input{Employees: staff, UserOf: users},
			want: []domain.PlannedAction{
				{Kind: domain.KindLocation, Action: "missing", Workspace: "Berlin", Reason: "will report a missing location: office Berlin has no Staffomatic location"},
			}},
		{name: "seven people without an office: five named and how many more",
			in: Input{Employees: many, UserOf: manyUsers},
			want: []domain.PlannedAction{
				{Kind: domain.KindDepartment, Action: "unplaced", Workspace: "Bar", Person: "P 1, P 2, P 3, P 4, P 5 and 2 more",
					Reason: "will report employees without an office: 7 employees of Personio department Bar have no office"},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := truthful(t, c.in)
			got := (Planned{Plan: p}).Actions()
			if len(got) != len(c.want) || p.Writes() != c.writes {
				t.Fatalf("planned %+v (%d writes), want %d actions (%d writes)", got, p.Writes(), len(c.want), c.writes)
			}
			for i, w := range c.want {
				g := got[i]
				if g.Kind != w.Kind || g.Action != w.Action || g.Workspace != w.Workspace || g.Person != w.Person || !strings.HasPrefix(g.Reason, w.Reason) {
					t.Errorf("action %d = %+v\nwant      %+v", i, g, w)
				}
			}
		})
	}
}
