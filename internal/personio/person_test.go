package personio_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
)

// TestSelectPeople: the selection applied to Personio employees as the adapter converts
// them (Employee.Person), which the API's preview and every phase do alike:
// an explicit switch wins over every rule, a new employee is "no" unless a status, office,
// department or attribute rule (by key, universal id or label) picks it.
func TestSelectPeople(t *testing.T) {
	attr := func(key, label, uid, value string) map[string]personio.Attribute {
		return map[string]personio.Attribute{key: {Key: key, Label: label, UniversalID: uid, Value: json.RawMessage(value)}}
	}
	emps := []personio.Employee{
		{ID: 1, Status: "active", Office: &personio.OrgUnit{ID: 10, Name: "Berlin"}, Department: &personio.OrgUnit{ID: 20, Name: "Küche"}},
		{ID: 2, Status: "onboarding", Office: &personio.OrgUnit{ID: 11, Name: "Hamburg"}},
		{ID: 3, Status: "inactive", Office: &personio.OrgUnit{ID: 10, Name: "Berlin"}},
		{ID: 4, Status: "active", Attributes: attr("dynamic_99", "Shift planning", "", `true`)},
		{ID: 5, Status: "leave", Attributes: attr("dynamic_98", "Schichtplanung", "shift_planning", `"ja"`)},
		{ID: 6, Status: "active"},
	}
	cases := []struct {
		name string
		sel  domain.Selection
		want []int64
	}{
		{"nothing switched, no rules: nobody", domain.Selection{}, nil},
		{"explicit yes only", domain.Selection{Employees: map[string]bool{"2": true, "6": true}}, []int64{2, 6}},
		{"status filter", domain.Selection{Rules: []domain.AutoInclude{{Field: domain.RuleStatus, Values: []string{" Active ", "onboarding"}}}},
			[]int64{1, 2, 4, 6}},
		{"explicit no beats a rule", domain.Selection{Employees: map[string]bool{"1": false},
			Rules: []domain.AutoInclude{{Field: domain.RuleStatus, Values: []string{"active"}}}}, []int64{4, 6}},
		{"explicit yes beats a status that no rule picks", domain.Selection{Employees: map[string]bool{"3": true},
			Rules: []domain.AutoInclude{{Field: domain.RuleStatus, Values: []string{"onboarding"}}}}, []int64{2, 3}},
		{"office rule by name", domain.Selection{Rules: []domain.AutoInclude{{Field: domain.RuleOffice, Values: []string{"berlin"}}}}, []int64{1, 3}},
		{"department rule by name", domain.Selection{Rules: []domain.AutoInclude{{Field: domain.RuleDepartment, Values: []string{"KÜCHE"}}}}, []int64{1}},
		{"attribute rule by label", domain.Selection{Rules: []domain.AutoInclude{{Field: domain.RuleAttribute, Attribute: "shift planning", Values: []string{"true"}}}},
			[]int64{4}},
		{"attribute rule by universal id", domain.Selection{Rules: []domain.AutoInclude{{Field: domain.RuleAttribute, Attribute: "shift_planning", Values: []string{"ja"}}}},
			[]int64{5}},
		{"rules combine with or when match is any", domain.Selection{Match: domain.MatchAnyRule, Rules: []domain.AutoInclude{
			{Field: domain.RuleOffice, Values: []string{"Hamburg"}}, {Field: domain.RuleAttribute, Attribute: "dynamic_99", Values: []string{"true"}}}},
			[]int64{2, 4}},
		{"rules combine with and by default", domain.Selection{Rules: []domain.AutoInclude{
			{Field: domain.RuleStatus, Values: []string{"active"}}, {Field: domain.RuleOffice, Values: []string{"Berlin"}}}},
			[]int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ids []int64
			for _, e := range c.sel.Select(personio.People(emps)) {
				id, _ := strconv.ParseInt(e.PersonioID, 10, 64)
				ids = append(ids, id)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, c.want) {
				t.Fatalf("selected %v, want %v", ids, c.want)
			}
		})
	}
}

// TestPerson: the conversion keeps org unit ids and names, dates, entitlements per type
// and every attribute with its key, label and universal id, in key order.
func TestPerson(t *testing.T) {
	h := 37.5
	e := personio.Employee{ID: 7, FirstName: "Ada", LastName: "L", Email: "ada@x.de", Status: "active",
		Office: &personio.OrgUnit{ID: 10, Name: "Berlin"}, Team: &personio.OrgUnit{ID: 30, Name: "Bar"},
		HireDate: personio.Date{Year: 2026, Month: 3, Day: 1}, WeeklyHours: &h,
		AbsenceEntitlements: []personio.Entitlement{{TimeOffTypeID: 5, Entitlement: 20}, {TimeOffTypeID: 5, Entitlement: 2.5}},
		Attributes: map[string]personio.Attribute{
			"status":     {Key: "status", Label: "Status", Value: json.RawMessage(`"active"`)},
			"dynamic_12": {Key: "dynamic_12", Label: "Schichtplanung", UniversalID: "shift_planning", Value: json.RawMessage(`true`)},
		}}
	p := e.Person()
	if p.PersonioID != "7" || p.OfficeID != "10" || p.Office != "Berlin" || p.DepartmentID != "" || p.TeamID != "30" || p.Team != "Bar" ||
		p.HireDate != "2026-03-01" || p.LastWorkingDay != "" || p.WeeklyHours == nil || *p.WeeklyHours != 37.5 || p.Entitlements["5"] != 22.5 {
		t.Fatalf("person %+v", p)
	}
	want := []domain.Attribute{{Key: "dynamic_12", UniversalID: "shift_planning", Label: "Schichtplanung", Value: "true"}, {Key: "status", Label: "Status", Value: "active"}}
	if !slices.Equal(p.Attributes, want) {
		t.Fatalf("attributes %+v, want %+v", p.Attributes, want)
	}
	if a, ok := p.Attribute("SHIFT_PLANNING"); !ok || a.Value != "true" {
		t.Fatalf("by universal id: %+v %v", a, ok)
	}
}
