package personio

import (
	"strconv"

	"github.com/staffsync/staffsync/internal/domain"
)

// Person reduces the employee to the domain's view of it. Every consumer (the API's
// preview and checks, each sync phase) converts through here, so all of them see the
// same fields, attribute values and org units.
func (e Employee) Person() domain.Employee {
	out := domain.Employee{
		PersonioID: strconv.FormatInt(e.ID, 10), FirstName: e.FirstName, LastName: e.LastName, Email: e.Email, Status: e.Status,
		HireDate: e.HireDate.String(), LastWorkingDay: e.LastWorkingDay.String(), WeeklyHours: e.WeeklyHours,
	}
	out.Office, out.OfficeID = unit(e.Office)
	out.Department, out.DepartmentID = unit(e.Department)
	out.Team, out.TeamID = unit(e.Team)
	if len(e.AbsenceEntitlements) > 0 {
		out.Entitlements = map[string]float64{}
		for _, en := range e.AbsenceEntitlements {
			out.Entitlements[strconv.FormatInt(en.TimeOffTypeID, 10)] += en.Entitlement
		}
	}
	if len(e.Attributes) > 0 {
		out.Attributes = make([]domain.Attribute, 0, len(e.Attributes))
		for k, a := range e.Attributes {
			key := a.Key
			if key == "" {
				key = k
			}
			out.Attributes = append(out.Attributes, domain.Attribute{Key: key, UniversalID: a.UniversalID, Label: a.Label, Value: a.String()})
		}
		domain.SortAttributes(out.Attributes)
	}
	return out
}

// People converts a list of employees.
func People(emps []Employee) []domain.Employee {
	out := make([]domain.Employee, len(emps))
	for i, e := range emps {
		out[i] = e.Person()
	}
	return out
}

func unit(u *OrgUnit) (name, id string) {
	if u == nil {
		return "", ""
	}
	if u.ID != 0 {
		id = strconv.FormatInt(u.ID, 10)
	}
	return u.Name, id
}
