package personio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// AbsenceType is a v2 absence type (GET /v2/absence-types). ID is the UUID v2 absence
// periods name their type by (v1 time-off types send it as id_v2). Unit is "day" or
// "hour" in lower case, as v1 sends it, or "" when Personio did not say (the notes
// document only id and name; the unit and category fields are read when present).
type AbsenceType struct {
	ID       string
	Name     string
	Unit     string
	Category string
}

// AbsenceTypes lists every v2 absence type across all cursor pages.
func (c *Client) AbsenceTypes(ctx context.Context) ([]AbsenceType, error) {
	return c.absenceTypes(ctx, 0)
}

// absenceTypes reads with page size limit (0: Personio's default).
func (c *Client) absenceTypes(ctx context.Context, limit int) ([]AbsenceType, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var res []AbsenceType
	_, err := c.listV2(ctx, "/v2/absence-types", q, FamilyAbsenceTypes, func(raw json.RawMessage) error {
		var w struct {
			ID       string  `json:"id"`
			Name     string  `json:"name"`
			Unit     *string `json:"unit"`
			Category *string `json:"category"`
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("personio: decode absence type: %w", err)
		}
		if w.ID == "" {
			return fmt.Errorf("personio: an absence type without id (name %q)", w.Name)
		}
		res = append(res, AbsenceType{ID: w.ID, Name: w.Name, Unit: strings.ToLower(deref(w.Unit)), Category: deref(w.Category)})
		return nil
	})
	return res, err
}
