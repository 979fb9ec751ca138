package staffomatic

import (
	"fmt"
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

// ParseIDs reads Staffomatic ids as the domain carries them (decimal strings), naming
// the first that is none. No ids give nil, so an optional list stays unsent.
func ParseIDs(ss []string) ([]int64, error) {
	var out []int64
	for _, s := range ss {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Staffomatic id %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}
