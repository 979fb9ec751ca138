package usersync

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// userWriter is what apply needs of Staffomatic: the user writes, in the plan's terms
// (string ids, Fields). Each method is one API call, so the calls apply makes are the
// calls the plan counts (Plan.Writes), which a test holds together for every planner case.
type userWriter interface {
	// CreateUser creates the user with f (and the invitation when invite) and returns its id.
	CreateUser(ctx context.Context, f Fields, invite bool) (string, error)
	// UpdateUser sends the fields of f that are set, and only them.
	UpdateUser(ctx context.Context, id string, f Fields) error
	LockUser(ctx context.Context, id string) error
	UnlockUser(ctx context.Context, id string) error
	SendInvitation(ctx context.Context, id string) error
}

// clientWriter makes the writes with the Staffomatic client.
type clientWriter struct{ c *staffomatic.Client }

var _ userWriter = clientWriter{}

func (w clientWriter) CreateUser(ctx context.Context, f Fields, invite bool) (string, error) {
	nu := staffomatic.NewUser{FirstName: f.FirstName, LastName: f.LastName, Email: f.Email, CustomID: f.CustomID,
		MaxVacationDays: f.VacationDays, Invite: invite}
	if f.WeeklyHours != nil {
		h := monthlyHours(*f.WeeklyHours)
		nu.MaxHoursPerMonth = &h
	}
	ids, err := staffomatic.ParseIDs(f.DepartmentIDs)
	if err != nil {
		return "", err
	}
	nu.DepartmentIDs = ids
	var lid int64
	if f.LocationID != "" {
		if lid, err = strconv.ParseInt(f.LocationID, 10, 64); err != nil {
			return "", fmt.Errorf("location id %q: %w", f.LocationID, err)
		}
	}
	u, err := w.c.CreateUser(ctx, lid, nu)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(u.ID, 10), nil
}

func (w clientWriter) UpdateUser(ctx context.Context, id string, f Fields) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	up, err := userUpdate(f)
	if err != nil {
		return err
	}
	_, err = w.c.UpdateUser(ctx, n, up)
	return err
}

func (w clientWriter) LockUser(ctx context.Context, id string) error {
	return w.do(ctx, id, w.c.LockUser)
}

func (w clientWriter) UnlockUser(ctx context.Context, id string) error {
	return w.do(ctx, id, w.c.UnlockUser)
}

func (w clientWriter) SendInvitation(ctx context.Context, id string) error {
	return w.do(ctx, id, w.c.SendInvitation)
}

func (w clientWriter) do(ctx context.Context, id string, call func(context.Context, int64) (staffomatic.User, error)) error {
	n, err := userID(id)
	if err != nil {
		return err
	}
	_, err = call(ctx, n)
	return err
}

func userID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("user id %q: %w", id, err)
	}
	return n, nil
}

// monthlyHours converts weekly hours to max_hours_per_month, rounded to hundredths so the
// value an admin sees is readable; converting back stays within the planner's tolerance.
func monthlyHours(weekly float64) float64 {
	return math.Round(weekly*domain.HoursPerMonthFactor*100) / 100
}

// userUpdate turns the changed fields into a partial update: only they are sent.
func userUpdate(f Fields) (staffomatic.UserUpdate, error) {
	var up staffomatic.UserUpdate
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	up.FirstName, up.LastName, up.Email, up.CustomID = str(f.FirstName), str(f.LastName), str(f.Email), str(f.CustomID)
	if f.DepartmentIDs != nil {
		ids, err := staffomatic.ParseIDs(f.DepartmentIDs)
		if err != nil {
			return up, err
		}
		up.DepartmentIDs = &ids
	}
	if f.WeeklyHours != nil {
		h := monthlyHours(*f.WeeklyHours)
		up.MaxHoursPerMonth = &h
	}
	up.MaxVacationDays = f.VacationDays
	return up, nil
}
