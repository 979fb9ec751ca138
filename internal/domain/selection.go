package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Selection says which Personio employees are synced (DESIGN §1.2 step 3): an explicit
// yes/no per Personio id, and auto-include rules for employees nobody has switched yet.
// An explicit choice always wins over a rule, so an admin can exclude one person a rule
// would pick.
type Selection struct {
	Tenant    string          `json:"tenant_id"`
	Employees map[string]bool `json:"employees,omitempty"`
	Rules     []AutoInclude   `json:"auto_include,omitempty"`
	// Match says how the rules combine: MatchAllRules (the default; an employee is picked
	// when every rule matches) or MatchAnyRule (when one does).
	Match     string    `json:"match,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is the optimistic-lock counter of the selection item.
	Version int64 `json:"version"`
}

// How the auto-include rules combine (Selection.Match).
const (
	MatchAllRules = "all"
	MatchAnyRule  = "any"
)

// PersonioStatuses are the statuses a Personio employee can have, the values a status
// rule may name.
var PersonioStatuses = []string{"active", "onboarding", "leave", "inactive"}

// AutoIncludeField names what an auto-include rule looks at.
type AutoIncludeField string

const (
	RuleStatus     AutoIncludeField = "status"
	RuleOffice     AutoIncludeField = "office"
	RuleDepartment AutoIncludeField = "department"
	// RuleAttribute matches a named Personio attribute such as shift_planning.
	RuleAttribute AutoIncludeField = "attribute"
)

// AutoInclude selects employees whose field equals one of Values (case-insensitive,
// trimmed). For RuleAttribute, Attribute names the Personio attribute.
type AutoInclude struct {
	Field     AutoIncludeField `json:"field"`
	Attribute string           `json:"attribute,omitempty"`
	Values    []string         `json:"values"`
}

// Validate checks one rule.
func (r AutoInclude) Validate() error {
	switch r.Field {
	case RuleStatus, RuleOffice, RuleDepartment:
		if r.Attribute != "" {
			return fmt.Errorf("auto_include.attribute: only allowed with field attribute, not %s", r.Field)
		}
	case RuleAttribute:
		if strings.TrimSpace(r.Attribute) == "" {
			return errors.New("auto_include.attribute: required with field attribute: name the Personio attribute, e.g. shift_planning")
		}
	default:
		return fmt.Errorf("auto_include.field: %q: use one of status, office, department, attribute", r.Field)
	}
	if len(r.Values) == 0 {
		return fmt.Errorf("auto_include.values: a %s rule needs at least one value", r.Field)
	}
	if r.Field == RuleStatus {
		for _, v := range r.Values {
			if !slices.Contains(PersonioStatuses, strings.ToLower(strings.TrimSpace(v))) {
				return fmt.Errorf("auto_include.statuses: %q is no Personio status: use %s", v, strings.Join(PersonioStatuses, ", "))
			}
		}
	}
	return nil
}

// Matches reports whether the rule selects the employee. An attribute rule finds the
// attribute by key, universal id or label (Employee.Attribute), as admins name them.
func (r AutoInclude) Matches(e Employee) bool {
	var v string
	switch r.Field {
	case RuleStatus:
		v = e.Status
	case RuleOffice:
		v = e.Office
	case RuleDepartment:
		v = e.Department
	case RuleAttribute:
		a, _ := e.Attribute(r.Attribute)
		v = a.Value
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	for _, want := range r.Values {
		if strings.EqualFold(strings.TrimSpace(want), v) {
			return true
		}
	}
	return false
}

// Validate checks every rule and the employee ids.
func (s Selection) Validate() error {
	var errs []error
	if s.Match != "" && s.Match != MatchAllRules && s.Match != MatchAnyRule {
		errs = append(errs, fmt.Errorf("auto_include.match: %q: use all (every rule must match) or any (one rule suffices)", s.Match))
	}
	for i, r := range s.Rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %d: %w", i+1, err))
		}
	}
	for id := range s.Employees {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, errors.New("employees: empty Personio id: remove it"))
		}
	}
	return errors.Join(errs...)
}
