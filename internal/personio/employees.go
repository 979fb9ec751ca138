package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // updated_since is company-local time; Lambda images lack tzdata
)

// RequiredAttribute is an employee attribute the set-up needs readable
// (DESIGN §1.2). Key is Personio's attribute key, Name what the admin sees.
type RequiredAttribute struct {
	Key  string
	Name string
}

// RequiredAttributes lists the attributes the credential must expose, in
// the order of DESIGN §1.2.
var RequiredAttributes = []RequiredAttribute{
	{"department", "department"},
	{"hire_date", "hire date"},
	{"email", "email"},
	{"subcompany", "company (subcompany)"},
	{"last_working_day", "last working day"},
	{"last_name", "last name"},
	{"office", "office"},
	{"status", "status"},
	{"team", "team"},
	{"vacation_day_balance", "vacation days"},
	{"first_name", "first name"},
	{"weekly_working_hours", "weekly hours"},
	{"absence_entitlement", "absence entitlement"},
}

// AllowedAttribute is one entry of /v1/company/employees/attributes: an
// attribute the credential may read.
type AllowedAttribute struct {
	Key         string   `json:"key"`
	Label       string   `json:"label"`
	Type        string   `json:"type"`
	UniversalID string   `json:"universal_id"`
	Options     []string `json:"options"`
}

// AttributeReport says which attributes a credential exposes and which
// required ones are missing.
type AttributeReport struct {
	Allowed []AllowedAttribute
	Missing []RequiredAttribute
}

// OK reports whether no required attribute is missing.
func (r AttributeReport) OK() bool { return len(r.Missing) == 0 }

func missingOf(has func(key string) bool) []RequiredAttribute {
	var out []RequiredAttribute
	for _, ra := range RequiredAttributes {
		if !has(ra.Key) {
			out = append(out, ra)
		}
	}
	return out
}

// AllowedAttributes lists the attributes the credential may read, with the
// report of required ones it does not expose. Personio silently omits
// non-whitelisted attributes from employee responses; this endpoint is the
// only way to tell "not whitelisted" from "empty".
func (c *Client) AllowedAttributes(ctx context.Context) (*AttributeReport, error) {
	var out struct {
		Data []struct {
			AllowedAttribute
			UniversalID *string `json:"universal_id"`
			Options     []any   `json:"options"`
		} `json:"data"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/company/employees/attributes", gen: 1, family: FamilyEmployees}, &out); err != nil {
		return nil, err
	}
	rep := &AttributeReport{}
	keys := map[string]bool{}
	for _, d := range out.Data {
		a := d.AllowedAttribute
		if d.UniversalID != nil {
			a.UniversalID = *d.UniversalID
		}
		for _, o := range d.Options {
			a.Options = append(a.Options, fmt.Sprint(o))
		}
		rep.Allowed = append(rep.Allowed, a)
		keys[a.Key] = true
	}
	rep.Missing = missingOf(func(k string) bool { return keys[k] })
	return rep, nil
}

// Verify checks the credential for set-up: it authenticates against v1 and
// v2 and returns which required attributes the credential does not expose.
// An *Error with IsAuth true means the id/secret are wrong.
func (c *Client) Verify(ctx context.Context) (*AttributeReport, error) {
	// The credential itself is checked, not a token an earlier client fetched with it.
	c.renew(1)
	c.renew(2)
	rep, err := c.AllowedAttributes(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.token(ctx, 2); err != nil {
		return nil, err
	}
	return rep, nil
}

// OrgUnit is an office, department, team or subcompany reference.
type OrgUnit struct {
	ID   int64
	Name string
}

// Entitlement is an employee's yearly absence entitlement for one time-off type.
type Entitlement struct {
	TimeOffTypeID int64
	Name          string
	Category      string
	Entitlement   float64
}

// Attribute is one raw v1 employee attribute ({label,value,type,universal_id}).
type Attribute struct {
	Key         string
	Label       string
	Type        string // standard, date, integer, decimal, list, link, tags, multiline
	UniversalID string
	Value       json.RawMessage
}

// IsNull reports whether the value is null or absent.
func (a Attribute) IsNull() bool {
	v := strings.TrimSpace(string(a.Value))
	return v == "" || v == "null"
}

// String returns a string or number value as text ("" for null or objects).
func (a Attribute) String() string {
	var s string
	if json.Unmarshal(a.Value, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(a.Value, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(a.Value, &b) == nil {
		return strconv.FormatBool(b)
	}
	return ""
}

// Float parses a number or numeric string ("40", "37.5"). "NaN", "Inf" and numbers out
// of float64's range are no values: they would fail every write that carries them (JSON
// has no such numbers).
func (a Attribute) Float() (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(a.String(), ",", ".")), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Bool interprets yes/no style values as customers model flags like
// shift_planning: true/yes/ja/1/x are true, false/no/nein/0/"" are false.
func (a Attribute) Bool() (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(a.String())) {
	case "true", "yes", "ja", "1", "x", "wahr", "on":
		return true, true
	case "false", "no", "nein", "0", "", "falsch", "off":
		return false, true
	}
	return false, false
}

// Date parses a date value ("2021-01-01" or with time and offset).
func (a Attribute) Date() (Date, bool) {
	d, err := ParseDate(a.String())
	return d, err == nil
}

// Employee is a v1 employee with the attributes the syncs use decoded.
// Attributes the credential does not expose stay zero; Has tells them apart.
type Employee struct {
	ID             int64
	FirstName      string
	LastName       string
	PreferredName  string
	Email          string
	Gender         string
	Position       string
	Status         string // active, onboarding, leave, inactive
	EmploymentType string // internal, external
	SupervisorID   int64

	Office     *OrgUnit
	Department *OrgUnit
	Team       *OrgUnit
	Subcompany *OrgUnit

	HireDate        Date
	ContractEndDate Date
	TerminationDate Date
	LastWorkingDay  Date

	WeeklyHours *float64
	// VacationDayBalance is only set when Personio still sends the attribute
	// (removed from responses 2024-04-08); use AbsenceBalance otherwise.
	VacationDayBalance  *float64
	AbsenceEntitlements []Entitlement

	CreatedAt      time.Time
	LastModifiedAt time.Time

	// Attributes holds every attribute as received, by key (including
	// custom dynamic_<n> ones).
	Attributes map[string]Attribute
}

// Has reports whether the response carried the attribute key.
func (e Employee) Has(key string) bool { _, ok := e.Attributes[key]; return ok }

// Attribute finds an attribute by key ("dynamic_123"), universal id or
// label (case-insensitive), so settings can name customer attributes the
// way admins see them ("shift_planning").
func (e Employee) Attribute(name string) (Attribute, bool) {
	if a, ok := e.Attributes[name]; ok {
		return a, true
	}
	for _, a := range e.Attributes {
		if a.UniversalID != "" && strings.EqualFold(a.UniversalID, name) {
			return a, true
		}
	}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Label, name) {
			return a, true
		}
	}
	return Attribute{}, false
}

type rawEmployee struct {
	Type       string                     `json:"type"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

type rawAttr struct {
	Label       string          `json:"label"`
	Value       json.RawMessage `json:"value"`
	Type        string          `json:"type"`
	UniversalID *string         `json:"universal_id"`
}

type rawRef struct {
	Type       string `json:"type"`
	Attributes struct {
		ID   json.Number `json:"id"`
		Name string      `json:"name"`
	} `json:"attributes"`
}

func decodeEmployee(r rawEmployee) (Employee, error) {
	e := Employee{Attributes: make(map[string]Attribute, len(r.Attributes))}
	for k, raw := range r.Attributes {
		var ra rawAttr
		if err := json.Unmarshal(raw, &ra); err != nil {
			return e, fmt.Errorf("personio: employee attribute %s: %w", k, err)
		}
		a := Attribute{Key: k, Label: ra.Label, Type: ra.Type, Value: ra.Value}
		if ra.UniversalID != nil {
			a.UniversalID = *ra.UniversalID
		}
		e.Attributes[k] = a
	}
	str := func(k string) string { return e.Attributes[k].String() }
	date := func(k string) Date { d, _ := e.Attributes[k].Date(); return d }
	ts := func(k string) time.Time {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700"} {
			if t, err := time.Parse(layout, str(k)); err == nil {
				return t
			}
		}
		return time.Time{}
	}
	unit := func(k string) *OrgUnit {
		a, ok := e.Attributes[k]
		if !ok || a.IsNull() {
			return nil
		}
		var ref rawRef
		if json.Unmarshal(a.Value, &ref) != nil {
			return nil
		}
		id, _ := ref.Attributes.ID.Int64()
		return &OrgUnit{ID: id, Name: ref.Attributes.Name}
	}
	id, err := strconv.ParseInt(str("id"), 10, 64)
	if err != nil {
		return e, fmt.Errorf("personio: employee without numeric id")
	}
	e.ID = id
	e.FirstName, e.LastName, e.PreferredName = str("first_name"), str("last_name"), str("preferred_name")
	e.Email, e.Gender, e.Position = strings.TrimSpace(str("email")), str("gender"), str("position")
	e.Status, e.EmploymentType = str("status"), str("employment_type")
	e.Office, e.Department, e.Team, e.Subcompany = unit("office"), unit("department"), unit("team"), unit("subcompany")
	e.HireDate, e.ContractEndDate = date("hire_date"), date("contract_end_date")
	e.TerminationDate, e.LastWorkingDay = date("termination_date"), date("last_working_day")
	e.CreatedAt, e.LastModifiedAt = ts("created_at"), ts("last_modified_at")
	if f, ok := e.Attributes["weekly_working_hours"].Float(); ok {
		e.WeeklyHours = &f
	}
	if f, ok := e.Attributes["vacation_day_balance"].Float(); ok && e.Has("vacation_day_balance") {
		e.VacationDayBalance = &f
	}
	if a, ok := e.Attributes["supervisor"]; ok && !a.IsNull() {
		var sup struct {
			Attributes struct {
				ID rawAttr `json:"id"`
			} `json:"attributes"`
		}
		if json.Unmarshal(a.Value, &sup) == nil {
			e.SupervisorID, _ = strconv.ParseInt(Attribute{Value: sup.Attributes.ID.Value}.String(), 10, 64)
		}
	}
	if a, ok := e.Attributes["absence_entitlement"]; ok && !a.IsNull() {
		var ents []struct {
			Attributes struct {
				ID          json.Number `json:"id"`
				Name        string      `json:"name"`
				Category    string      `json:"category"`
				Entitlement json.Number `json:"entitlement"`
			} `json:"attributes"`
		}
		if err := json.Unmarshal(a.Value, &ents); err != nil {
			return e, fmt.Errorf("personio: employee %d absence_entitlement: %w", e.ID, err)
		}
		for _, x := range ents {
			id, _ := x.Attributes.ID.Int64()
			v, err := x.Attributes.Entitlement.Float64()
			if x.Attributes.Entitlement != "" && (err != nil || math.IsNaN(v) || math.IsInf(v, 0)) {
				// Like malformed JSON here: no write could carry it, and a guessed value
				// would overwrite the user's entitlement.
				return e, fmt.Errorf("personio: employee %d absence_entitlement of type %d: %q is not a usable number", e.ID, id, x.Attributes.Entitlement)
			}
			e.AbsenceEntitlements = append(e.AbsenceEntitlements, Entitlement{TimeOffTypeID: id,
				Name: x.Attributes.Name, Category: x.Attributes.Category, Entitlement: v})
		}
	}
	return e, nil
}

// EmployeesOptions filters Employees. The zero value lists everyone.
type EmployeesOptions struct {
	// UpdatedSince lists only employees changed after this instant (sent as
	// company-local time, see Config.Location).
	UpdatedSince time.Time
	// Email finds one employee (ignored by Personio with UpdatedSince).
	Email string
	// Attributes projects the response to these keys (with UpdatedSince:
	// employees with any of them changed). Empty: all whitelisted attributes.
	Attributes []string
	// PageSize is the page limit (default and maximum 100).
	PageSize int
	// Ahead is how many pages are asked for at once once the first page has told the
	// total (default 1: one after the other). The pacer still paces them; a large list
	// then costs about pages/Ahead latencies instead of one per page.
	Ahead int
}

// EmployeeList is the result of Employees.
type EmployeeList struct {
	Employees []Employee
	// Missing are the required attributes the credential does not expose.
	Missing []RequiredAttribute
	Pages   int
}

var companyLocation = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// Employees returns all employees matching opts, following the record-offset
// pagination of /v1/company/employees to the last page, together with the
// required attributes the credential does not expose. It fails as a whole
// if any page fails: a sync must not mistake a partial list for the company.
func (c *Client) Employees(ctx context.Context, opts EmployeesOptions) (*EmployeeList, error) {
	list := &EmployeeList{}
	missing, pages, err := c.EachEmployee(ctx, opts, func(e Employee) error {
		list.Employees = append(list.Employees, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	list.Missing, list.Pages = missing, pages
	return list, nil
}

// EachEmployee calls fn for every employee matching opts, page by page as
// Employees reads them, and returns the required attributes the credential
// does not expose and the pages read. Only one page is held at a time, so a
// caller that keeps a reduced form of each employee (Employee.Person without
// the attributes it does not need) holds that and no raw attribute JSON. An
// error of fn or of any page ends the listing and is returned: what fn saw
// until then is not the company.
func (c *Client) EachEmployee(ctx context.Context, opts EmployeesOptions, fn func(Employee) error) ([]RequiredAttribute, int, error) {
	limit := opts.PageSize
	if limit <= 0 || limit > 100 {
		limit = 100 // max enforced by Personio since 2025-01-31
	}
	rep, err := c.AllowedAttributes(ctx)
	var perr *Error
	switch {
	case err == nil:
	case errors.As(err, &perr) && perr.StatusCode == http.StatusNotFound:
		rep = nil // endpoint unavailable: infer from the keys received below
	default:
		return nil, 0, err
	}
	base := url.Values{"limit": {strconv.Itoa(limit)}}
	if !opts.UpdatedSince.IsZero() {
		base.Set("updated_since", opts.UpdatedSince.In(c.location()).Format(localLayout))
	} else if opts.Email != "" {
		base.Set("email", opts.Email)
	}
	for _, a := range opts.Attributes {
		base.Add("attributes[]", a)
	}
	type page struct {
		Metadata *struct {
			TotalElements int `json:"total_elements"`
			TotalPages    int `json:"total_pages"`
		} `json:"metadata"`
		Data []rawEmployee `json:"data"`
		err  error
	}
	// Once the first page has told the total, opts.Ahead pages are asked for at once. No
	// page past the total is asked for; without a total the pages are read one by one.
	ahead := max(1, opts.Ahead)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetch := func(offset int) <-chan page {
		ch := make(chan page, 1)
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("offset", strconv.Itoa(offset))
		go func() {
			var p page
			p.err = c.do(ctx, call{method: http.MethodGet, path: "/v1/company/employees", query: q, gen: 1, family: FamilyEmployees}, &p)
			ch <- p
		}()
		return ch
	}
	type pending struct {
		offset int
		ch     <-chan page
	}
	var inflight []pending
	next, total := 0, -1
	pages := 0
	seen := map[int64]bool{}
	keys := map[string]bool{}
	for {
		for len(inflight) == 0 || (total >= 0 && len(inflight) < ahead && next < total) {
			inflight = append(inflight, pending{next, fetch(next)})
			next += limit
		}
		offset := inflight[0].offset
		pg := <-inflight[0].ch
		inflight = inflight[1:]
		if pg.err != nil {
			return nil, pages, fmt.Errorf("personio: employees page at offset %d: %w", offset, pg.err)
		}
		pages++
		if pg.Metadata != nil {
			total = pg.Metadata.TotalElements
		}
		fresh := 0
		for i, r := range pg.Data {
			e, err := decodeEmployee(r)
			if err != nil {
				return nil, pages, err
			}
			pg.Data[i] = rawEmployee{} // the raw attributes go as soon as they are decoded
			if rep == nil {
				for k := range e.Attributes {
					keys[k] = true
				}
			}
			// Records can shift between pages while HR edits; keep the first.
			if !seen[e.ID] {
				seen[e.ID] = true
				fresh++
				if err := fn(e); err != nil {
					return nil, pages, err
				}
			}
		}
		// Loop guard: a full page of records already read means the server
		// ignores the offset and would answer the same page forever. Unless it
		// sent more than the limit (everything at once), the list is
		// incomplete and must not be taken for the company.
		if len(pg.Data) >= limit && fresh == 0 {
			if len(pg.Data) > limit {
				break
			}
			return nil, pages, fmt.Errorf("%w: /v1/company/employees offset %d repeated earlier records", ErrPaginationLoop, offset)
		}
		if len(pg.Data) == 0 || len(pg.Data) < limit || (pg.Metadata != nil && offset+limit >= pg.Metadata.TotalElements) {
			break
		}
		if len(inflight) == 0 && next <= offset {
			next = offset + limit
		}
	}
	if rep != nil {
		return rep.Missing, pages, nil
	}
	return missingOf(func(k string) bool { return keys[k] }), pages, nil
}

func (c *Client) location() *time.Location {
	if c.cfg.Location != nil {
		return c.cfg.Location
	}
	return companyLocation
}

// Employee fetches one employee by v1 id. Personio answers unknown ids with
// 404 and a German message, surfaced verbatim in *Error.Message.
func (c *Client) Employee(ctx context.Context, id int64) (Employee, error) {
	var out struct {
		Data rawEmployee `json:"data"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/company/employees/" + strconv.FormatInt(id, 10), gen: 1, family: FamilyEmployees}, &out); err != nil {
		return Employee{}, err
	}
	return decodeEmployee(out.Data)
}

// Balance is an employee's absence balance for one time-off type.
type Balance struct {
	TimeOffTypeID    int64
	Name             string
	Category         string
	Balance          float64 // taken so far deducted
	AvailableBalance float64 // upcoming absences deducted too
}

// AbsenceBalance returns the balances per time-off type of one employee
// (the replacement of the removed vacation_day_balance attribute).
func (c *Client) AbsenceBalance(ctx context.Context, employeeID int64) ([]Balance, error) {
	var out struct {
		Data []struct {
			ID               int64   `json:"id"`
			Name             string  `json:"name"`
			Category         string  `json:"category"`
			Balance          float64 `json:"balance"`
			AvailableBalance float64 `json:"available_balance"`
		} `json:"data"`
	}
	p := "/v1/company/employees/" + strconv.FormatInt(employeeID, 10) + "/absences/balance"
	if err := c.do(ctx, call{method: http.MethodGet, path: p, gen: 1, family: FamilyEmployees}, &out); err != nil {
		return nil, err
	}
	res := make([]Balance, 0, len(out.Data))
	for _, d := range out.Data {
		res = append(res, Balance{d.ID, d.Name, d.Category, d.Balance, d.AvailableBalance})
	}
	return res, nil
}

// TimeOffType is a Personio absence type. IDv2 is the UUID v2 absence
// periods use for the same type.
type TimeOffType struct {
	ID               int64
	IDv2             string
	Name             string
	Category         string
	Unit             string // day or hour
	ApprovalRequired bool
}

// TimeOffTypes lists all absence types. The offset of this endpoint is
// ambiguously documented, so pages are requested by record offset and the
// loop stops as soon as a page brings nothing new.
func (c *Client) TimeOffTypes(ctx context.Context) ([]TimeOffType, error) {
	return c.timeOffTypes(ctx, 200)
}

func (c *Client) timeOffTypes(ctx context.Context, limit int) ([]TimeOffType, error) {
	var res []TimeOffType
	seen := map[int64]bool{}
	for offset := 0; ; offset += limit {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		var page struct {
			Data []struct {
				Attributes struct {
					ID               int64   `json:"id"`
					IDv2             string  `json:"id_v2"`
					Name             string  `json:"name"`
					Category         *string `json:"category"`
					Unit             string  `json:"unit"`
					ApprovalRequired bool    `json:"approval_required"`
				} `json:"attributes"`
			} `json:"data"`
		}
		if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/company/time-off-types", query: q, gen: 1, family: FamilyTimeOffTypes}, &page); err != nil {
			return nil, err
		}
		fresh := 0
		for _, d := range page.Data {
			a := d.Attributes
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			fresh++
			t := TimeOffType{ID: a.ID, IDv2: a.IDv2, Name: a.Name, Unit: a.Unit, ApprovalRequired: a.ApprovalRequired}
			if a.Category != nil {
				t.Category = *a.Category
			}
			res = append(res, t)
		}
		if len(page.Data) < limit || fresh == 0 {
			return res, nil
		}
	}
}
