package staffomatic

import (
	"strconv"

	"github.com/staffsync/staffsync/internal/domain"
)

// Person reduces the user to the domain's view of it, as the API's preview and the user
// sync match it.
func (u User) Person() domain.User {
	out := domain.User{
		ID: strconv.FormatInt(u.ID, 10), CustomID: u.CustomID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Locked: u.Locked(), InvitationState: u.InvitationState, VacationDays: u.MaxVacationDays,
	}
	for _, d := range u.DepartmentIDs {
		out.DepartmentIDs = append(out.DepartmentIDs, strconv.FormatInt(d, 10))
	}
	if u.MaxHoursPerMonth != nil {
		w := *u.MaxHoursPerMonth / domain.HoursPerMonthFactor
		out.WeeklyHours = &w
	}
	return out
}
