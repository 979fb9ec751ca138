package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrPaginationLoop is returned when a v2 `next` link points to a page that
// was already read (reported for /v2/persons), or when v1 employee pages
// repeat records already read (an ignored offset). The list is then incomplete,
// and a reconciling sync must not act on it, so this is an error rather
// than a silent stop.
var ErrPaginationLoop = errors.New("personio: pagination next link repeats a page")

// listV2 follows v2 cursor pagination (`_meta.links.next.href`, absolute or
// relative, same origin only) and hands every `_data` item to each.
func (c *Client) listV2(ctx context.Context, path string, q url.Values, fam Family, each func(json.RawMessage) error) (pages int, err error) {
	next := path
	if len(q) > 0 {
		next += "?" + q.Encode()
	}
	seen := map[string]bool{}
	for next != "" {
		u, err := c.resolve(next)
		if err != nil {
			return pages, err
		}
		key := u.Path + "?" + u.RawQuery
		if seen[key] {
			return pages, fmt.Errorf("%w: %s", ErrPaginationLoop, u.Path)
		}
		seen[key] = true
		var page struct {
			Data []json.RawMessage `json:"_data"`
			Meta struct {
				Links map[string]struct {
					Href string `json:"href"`
				} `json:"links"`
			} `json:"_meta"`
		}
		if err := c.do(ctx, call{method: http.MethodGet, path: u.String(), gen: 2, family: fam}, &page); err != nil {
			return pages, err
		}
		pages++
		for _, d := range page.Data {
			if err := each(d); err != nil {
				return pages, err
			}
		}
		next = page.Meta.Links["next"].Href
	}
	return pages, nil
}

func setList(q url.Values, key string, ids []string) {
	if len(ids) > 0 {
		q.Set(key, strings.Join(ids, ","))
	}
}

func setLocal(q url.Values, key string, t LocalDateTime) {
	if !t.IsZero() {
		q.Set(key, t.String())
	}
}

func setUTC(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, t.UTC().Format(localLayout))
	}
}

type idRef struct {
	ID string `json:"id"`
}

// Half-day markers of v2 absence periods.
const (
	FirstHalf  = "FIRST_HALF"
	SecondHalf = "SECOND_HALF"
)

// Approval states of v2 periods.
const (
	ApprovalApproved  = "APPROVED"
	ApprovalPending   = "PENDING"
	ApprovalRejected  = "REJECTED"
	ApprovalConfirmed = "CONFIRMED" // attendance periods
)

// AbsencePeriod is a v2 absence period. Start and End are local times in
// TimezoneID; End nil means open-ended (e.g. long sick leave).
type AbsencePeriod struct {
	ID            string
	PersonID      string // v1 employee id as text
	AbsenceTypeID string // v2 id = TimeOffType.IDv2
	Start         LocalDateTime
	StartHalf     string // "", FirstHalf, SecondHalf
	End           *LocalDateTime
	EndHalf       string
	TimezoneID    string
	Comment       string
	Status        string // approval status
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type wireDateTime struct {
	DateTime LocalDateTime `json:"date_time"`
	Type     *string       `json:"type,omitempty"`
}

type wireAbsence struct {
	ID          string        `json:"id"`
	Person      idRef         `json:"person"`
	AbsenceType idRef         `json:"absence_type"`
	StartsFrom  wireDateTime  `json:"starts_from"`
	EndsAt      *wireDateTime `json:"ends_at"`
	TimezoneID  string        `json:"timezone_id"`
	Comment     string        `json:"comment"`
	Approval    struct {
		Status string `json:"status"`
	} `json:"approval"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (w wireAbsence) period() AbsencePeriod {
	p := AbsencePeriod{ID: w.ID, PersonID: w.Person.ID, AbsenceTypeID: w.AbsenceType.ID,
		Start: w.StartsFrom.DateTime, StartHalf: deref(w.StartsFrom.Type), TimezoneID: w.TimezoneID,
		Comment: w.Comment, Status: w.Approval.Status, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.EndsAt != nil {
		e := w.EndsAt.DateTime
		p.End = &e
		p.EndHalf = deref(w.EndsAt.Type)
	}
	return p
}

// AbsencePeriodsOptions filters AbsencePeriods; all filters are AND-ed.
type AbsencePeriodsOptions struct {
	IDs            []string
	PersonIDs      []string
	AbsenceTypeIDs []string
	// OverlapFrom/OverlapTo select periods overlapping [From, To] (open ends
	// included); either may be zero.
	OverlapFrom LocalDateTime
	OverlapTo   LocalDateTime
	UpdatedFrom time.Time
	UpdatedTo   time.Time
	PageSize    int // default and maximum 100
}

// AbsencePeriods lists v2 absence periods across all pages.
func (c *Client) AbsencePeriods(ctx context.Context, o AbsencePeriodsOptions) ([]AbsencePeriod, error) {
	q := url.Values{}
	if o.PageSize > 0 && o.PageSize < 100 {
		q.Set("limit", strconv.Itoa(o.PageSize))
	}
	setList(q, "id", o.IDs)
	setList(q, "person.id", o.PersonIDs)
	setList(q, "absence_type.id", o.AbsenceTypeIDs)
	setLocal(q, "ends_at.date_time.gte", o.OverlapFrom)
	setLocal(q, "starts_from.date_time.lte", o.OverlapTo)
	setUTC(q, "updated_at.gte", o.UpdatedFrom)
	setUTC(q, "updated_at.lte", o.UpdatedTo)
	var res []AbsencePeriod
	_, err := c.listV2(ctx, "/v2/absence-periods", q, FamilyAbsencePeriods, func(raw json.RawMessage) error {
		var w wireAbsence
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("personio: decode absence period: %w", err)
		}
		res = append(res, w.period())
		return nil
	})
	return res, err
}

// AbsencePeriod fetches one v2 absence period.
func (c *Client) AbsencePeriod(ctx context.Context, id string) (AbsencePeriod, error) {
	var w wireAbsence
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v2/absence-periods/" + url.PathEscape(id), gen: 2, family: FamilyAbsencePeriods}, &w); err != nil {
		return AbsencePeriod{}, err
	}
	return w.period(), nil
}

// AbsencePeriodInput is the writable part of an absence period.
type AbsencePeriodInput struct {
	PersonID      string
	AbsenceTypeID string
	Start         LocalDateTime
	StartHalf     string
	End           *LocalDateTime // nil: open-ended
	EndHalf       string
	Comment       string
}

func (in AbsencePeriodInput) body(withPerson bool) map[string]any {
	ref := func(t LocalDateTime, half string) map[string]any {
		m := map[string]any{"date_time": t}
		if half != "" {
			m["type"] = half
		}
		return m
	}
	b := map[string]any{
		"absence_type": idRef{in.AbsenceTypeID},
		"starts_from":  ref(in.Start, in.StartHalf),
		"ends_at":      nil,
		"comment":      in.Comment,
	}
	if in.End != nil {
		b["ends_at"] = ref(*in.End, in.EndHalf)
	}
	if withPerson {
		b["person"] = idRef{in.PersonID}
	}
	return b
}

func approvalQuery(skip bool) url.Values {
	// Always explicit: v2 defaults to false (PENDING), v1 defaulted to true.
	return url.Values{"skip_approval": {strconv.FormatBool(skip)}}
}

// CreateAbsencePeriod creates a v2 absence period and returns its id.
// skipApproval is explicit because v2 defaults to "needs approval".
// Overlaps fail with 409 (IsConflict).
func (c *Client) CreateAbsencePeriod(ctx context.Context, in AbsencePeriodInput, skipApproval bool) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v2/absence-periods", query: approvalQuery(skipApproval),
		body: in.body(true), gen: 2, family: FamilyAbsencePeriods}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("personio: created absence period without id")
	}
	return out.ID, nil
}

// UpdateAbsencePeriod sets type, time range and comment of a period (the
// person cannot change).
func (c *Client) UpdateAbsencePeriod(ctx context.Context, id string, in AbsencePeriodInput, skipApproval bool) error {
	return c.do(ctx, call{method: http.MethodPatch, path: "/v2/absence-periods/" + url.PathEscape(id), query: approvalQuery(skipApproval),
		body: in.body(false), gen: 2, family: FamilyAbsencePeriods}, nil)
}

// DeleteAbsencePeriod deletes a v2 absence period.
func (c *Client) DeleteAbsencePeriod(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v2/absence-periods/" + url.PathEscape(id), gen: 2, family: FamilyAbsencePeriods}, nil)
}

// Attendance period types.
const (
	AttendanceWork  = "WORK"
	AttendanceBreak = "BREAK"
)

// AttendancePeriod is a v2 attendance period in local time without offset.
// AttributionDate is the working day it counts for (periods may cross midnight).
type AttendancePeriod struct {
	ID              string
	PersonID        string
	Type            string // AttendanceWork or AttendanceBreak
	Start           LocalDateTime
	End             *LocalDateTime // nil: still open
	AttributionDate Date
	Comment         string
	ProjectID       string
	Status          string // PENDING, CONFIRMED, REJECTED
	IsAutoGenerated bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

type wireAttendance struct {
	ID     string `json:"id"`
	Person idRef  `json:"person"`
	Type   string `json:"type"`
	Start  struct {
		DateTime LocalDateTime `json:"date_time"`
	} `json:"start"`
	End *struct {
		DateTime LocalDateTime `json:"date_time"`
	} `json:"end"`
	AttributionDate string `json:"attribution_date"`
	Comment         string `json:"comment"`
	Project         *idRef `json:"project"`
	Approval        struct {
		Status string `json:"status"`
	} `json:"approval"`
	IsAutoGenerated bool      `json:"is_auto_generated"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func (w wireAttendance) period() AttendancePeriod {
	p := AttendancePeriod{ID: w.ID, PersonID: w.Person.ID, Type: w.Type, Start: w.Start.DateTime,
		Comment: w.Comment, Status: w.Approval.Status, IsAutoGenerated: w.IsAutoGenerated,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.End != nil {
		e := w.End.DateTime
		p.End = &e
	}
	if w.Project != nil {
		p.ProjectID = w.Project.ID
	}
	p.AttributionDate, _ = ParseDate(w.AttributionDate)
	if p.AttributionDate.IsZero() {
		p.AttributionDate = p.Start.Date
	}
	return p
}

// AttendancePeriodsOptions filters AttendancePeriods; all filters are AND-ed.
type AttendancePeriodsOptions struct {
	IDs         []string
	PersonIDs   []string
	ProjectIDs  []string
	Status      string
	StartFrom   LocalDateTime // start.date_time.gte
	StartTo     LocalDateTime // start.date_time.lte
	DayFrom     Date          // attribution_date.gte
	DayTo       Date          // attribution_date.lte
	UpdatedFrom time.Time
	UpdatedTo   time.Time
	PageSize    int // default and maximum 100
}

// AttendancePeriods lists v2 attendance periods across all pages.
func (c *Client) AttendancePeriods(ctx context.Context, o AttendancePeriodsOptions) ([]AttendancePeriod, error) {
	q := url.Values{}
	if o.PageSize > 0 && o.PageSize < 100 {
		q.Set("limit", strconv.Itoa(o.PageSize))
	}
	setList(q, "id", o.IDs)
	setList(q, "person.id", o.PersonIDs)
	setList(q, "project.id", o.ProjectIDs)
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	setLocal(q, "start.date_time.gte", o.StartFrom)
	setLocal(q, "start.date_time.lte", o.StartTo)
	if !o.DayFrom.IsZero() {
		q.Set("attribution_date.gte", o.DayFrom.String())
	}
	if !o.DayTo.IsZero() {
		q.Set("attribution_date.lte", o.DayTo.String())
	}
	setUTC(q, "updated_at.gte", o.UpdatedFrom)
	setUTC(q, "updated_at.lte", o.UpdatedTo)
	var res []AttendancePeriod
	_, err := c.listV2(ctx, "/v2/attendance-periods", q, FamilyAttendancePeriods, func(raw json.RawMessage) error {
		var w wireAttendance
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("personio: decode attendance period: %w", err)
		}
		res = append(res, w.period())
		return nil
	})
	return res, err
}

// AttendancePeriod fetches one v2 attendance period.
func (c *Client) AttendancePeriod(ctx context.Context, id string) (AttendancePeriod, error) {
	var w wireAttendance
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v2/attendance-periods/" + url.PathEscape(id), gen: 2, family: FamilyAttendancePeriods}, &w); err != nil {
		return AttendancePeriod{}, err
	}
	return w.period(), nil
}

// AttendancePeriodInput is the writable part of an attendance period.
type AttendancePeriodInput struct {
	PersonID  string
	Type      string // AttendanceWork or AttendanceBreak
	Start     LocalDateTime
	End       *LocalDateTime
	Comment   string
	ProjectID string // not allowed on BREAK periods
}

func (in AttendancePeriodInput) body(withPerson bool) map[string]any {
	b := map[string]any{
		"type":    in.Type,
		"start":   map[string]any{"date_time": in.Start},
		"end":     nil,
		"comment": in.Comment,
		"project": nil,
	}
	if in.End != nil {
		b["end"] = map[string]any{"date_time": *in.End}
	}
	if in.ProjectID != "" {
		b["project"] = idRef{in.ProjectID}
	}
	if withPerson {
		b["person"] = idRef{in.PersonID}
	}
	return b
}

// CreateAttendancePeriod creates one WORK or BREAK period and returns its id.
func (c *Client) CreateAttendancePeriod(ctx context.Context, in AttendancePeriodInput, skipApproval bool) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v2/attendance-periods", query: approvalQuery(skipApproval),
		body: in.body(true), gen: 2, family: FamilyAttendancePeriods}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("personio: created attendance period without id")
	}
	return out.ID, nil
}

// CreateResult is the outcome of one item of a batch.
type CreateResult struct {
	ID  string
	Err error
}

// CreateAttendancePeriods creates several periods (a work timer's WORK period
// and its BREAKs) one by one and reports each outcome: a rejected BREAK must
// not hide the ids of periods that were created, or a retry would duplicate
// them. The returned error is only the context's, once it ends.
func (c *Client) CreateAttendancePeriods(ctx context.Context, in []AttendancePeriodInput, skipApproval bool) ([]CreateResult, error) {
	res := make([]CreateResult, len(in))
	for i, p := range in {
		if err := ctx.Err(); err != nil {
			for j := i; j < len(in); j++ {
				res[j].Err = err
			}
			return res, err
		}
		res[i].ID, res[i].Err = c.CreateAttendancePeriod(ctx, p, skipApproval)
	}
	return res, nil
}

// UpdateAttendancePeriod sets type, times, comment and project of a period.
func (c *Client) UpdateAttendancePeriod(ctx context.Context, id string, in AttendancePeriodInput, skipApproval bool) error {
	return c.do(ctx, call{method: http.MethodPatch, path: "/v2/attendance-periods/" + url.PathEscape(id), query: approvalQuery(skipApproval),
		body: in.body(false), gen: 2, family: FamilyAttendancePeriods}, nil)
}

// DeleteAttendancePeriod deletes a v2 attendance period.
func (c *Client) DeleteAttendancePeriod(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v2/attendance-periods/" + url.PathEscape(id), gen: 2, family: FamilyAttendancePeriods}, nil)
}
