package usersync

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
)

// TestSelectEmployees: the load applies the tenant's selection to the Personio employees:
// an explicit switch wins over every rule, a new employee is "no" unless a status, office,
// department or attribute rule (by key, universal id or label) picks it.
func TestSelectEmployees(t *testing.T) {
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
		{"rules combine with or", domain.Selection{Rules: []domain.AutoInclude{
			{Field: domain.RuleOffice, Values: []string{"Hamburg"}}, {Field: domain.RuleAttribute, Attribute: "dynamic_99", Values: []string{"true"}}}},
			[]int64{2, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SelectEmployees(emps, c.sel)
			var ids []int64
			for id, on := range got {
				if on {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, c.want) {
				t.Fatalf("selected %v, want %v", ids, c.want)
			}
		})
	}
}
