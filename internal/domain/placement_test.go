package domain

import (
	"slices"
	"testing"
)

// TestPlace: office → location by mapping, else by a unique name; department → department
// of that location by mapping (only one in the same location), else by a unique name;
// team → department by mapping only.
func TestPlace(t *testing.T) {
	ws := Workspaces{
		Locations: []Workspace{{ID: "L1", Name: "Berlin"}, {ID: "L2", Name: " hamburg "}, {ID: "L3", Name: "Köln"}, {ID: "L4", Name: "köln"}},
		Departments: []Workspace{
			{ID: "D1", Name: "Küche", LocationID: "L1"}, {ID: "D2", Name: "Bar", LocationID: "L1"}, {ID: "D3", Name: "Bar", LocationID: "L1"},
			{ID: "D4", Name: "Küche", LocationID: "L2"}, {ID: "D5", Name: "Team Nord", LocationID: "L2"},
		},
		LocationLinks: map[string]string{"o9": "L1", "o-gone": "L99"},
		DepartmentLinks: map[string]string{
			UnitKey("o9", UnitDepartment, "d7"): "D2", UnitKey("o2", UnitTeam, "t1"): "D5",
			UnitKey("o2", UnitDepartment, "d8"): "D1", // a department of another location: ignored
		},
	}
	p := NewPlacer(ws)
	cases := []struct {
		name string
		e    Employee
		loc  string
		deps []string
	}{
		{"no office", Employee{Department: "Küche", DepartmentID: "d1"}, "", nil},
		{"office by unique name, case and space-insensitive", Employee{Office: "HAMBURG", OfficeID: "o2"}, "L2", nil},
		{"office by mapping beats the name", Employee{Office: "Hamburg", OfficeID: "o9"}, "L1", nil},
		{"mapping to a deleted location: the name decides", Employee{Office: "Berlin", OfficeID: "o-gone"}, "L1", nil},
		{"office name on two locations: no placement", Employee{Office: "Köln", OfficeID: "o3"}, "", nil},
		{"office without location", Employee{Office: "München", OfficeID: "o4", Department: "Küche", DepartmentID: "d1"}, "", nil},
		{"department by unique name in the location", Employee{Office: "Berlin", OfficeID: "o1", Department: "küche", DepartmentID: "d1"}, "L1", []string{"D1"}},
		{"department name twice in the location: none", Employee{Office: "Berlin", OfficeID: "o1", Department: "Bar", DepartmentID: "d2"}, "L1", nil},
		{"department by mapping", Employee{Office: "Berlin", OfficeID: "o9", Department: "Bar", DepartmentID: "d7"}, "L1", []string{"D2"}},
		{"department mapping into another location: the name decides", Employee{Office: "Hamburg", OfficeID: "o2", Department: "Küche", DepartmentID: "d8"}, "L2", []string{"D4"}},
		{"team by mapping", Employee{Office: "Hamburg", OfficeID: "o2", Team: "Nord", TeamID: "t1"}, "L2", []string{"D5"}},
		{"team never by name", Employee{Office: "Hamburg", OfficeID: "o2", Team: "Team Nord", TeamID: "t2"}, "L2", nil},
		{"department and team", Employee{Office: "Hamburg", OfficeID: "o2", Department: "Küche", DepartmentID: "d1", Team: "Nord", TeamID: "t1"}, "L2", []string{"D4", "D5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := p.Place(c.e)
			if got.LocationID != c.loc || !slices.Equal(got.DepartmentIDs, c.deps) {
				t.Fatalf("Place = %+v, want location %q departments %v", got, c.loc, c.deps)
			}
		})
	}
	if got := (*Placer)(nil).Place(Employee{OfficeID: "o1", Office: "Berlin"}); got.LocationID != "" {
		t.Fatalf("nil placer placed %+v", got)
	}
}

// TestCategoryFor: identical name (surrounding spaces aside), never a guess.
func TestCategoryFor(t *testing.T) {
	cats := []string{"Bezahlter Urlaub", "Krank ", "urlaub", "Schule", "Schule"}
	id := func(s string) string { return s }
	cases := []struct {
		typ  string
		want string
		ok   bool
	}{
		{"Bezahlter Urlaub", "Bezahlter Urlaub", true},
		{" Krank", "Krank ", true},
		{"Urlaub", "", false}, // case differs: another category
		{"bezahlter urlaub", "", false},
		{"Schule", "", false}, // two categories of that name
		{"", "", false},
		{"Elternzeit", "", false},
	}
	for _, c := range cases {
		got, ok := CategoryFor(c.typ, cats, id)
		if got != c.want || ok != c.ok {
			t.Errorf("CategoryFor(%q) = %q, %v; want %q, %v", c.typ, got, ok, c.want, c.ok)
		}
	}
}
