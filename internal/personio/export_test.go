package personio

import "context"

// TimeOffTypesPaged exposes the page size of TimeOffTypes so tests can
// cross several pages without seeding hundreds of types.
func (c *Client) TimeOffTypesPaged(ctx context.Context, limit int) ([]TimeOffType, error) {
	return c.timeOffTypes(ctx, limit)
}

// AbsenceTypesPaged exposes the page size of AbsenceTypes.
func (c *Client) AbsenceTypesPaged(ctx context.Context, limit int) ([]AbsenceType, error) {
	return c.absenceTypes(ctx, limit)
}
