package httpapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// EmployeeView is one Personio employee in set-up step 3.
type EmployeeView struct {
	PersonioID        string `json:"personio_id"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	Email             string `json:"email"`
	PersonioStatus    string `json:"personio_status"`
	Selected          bool   `json:"selected"`
	Match             string `json:"match"`
	StaffomaticUserID string `json:"staffomatic_user_id"`
	// MatchReason explains a conflict (or how the match was found).
	MatchReason string `json:"match_reason,omitempty"`
}

// matchView is the match as the API shows it: custom_id, email, none or conflict (the
// values clients rely on). A user linked by an earlier sync carries the employee's
// Personio id in custom_id, which that sync set, so it is shown as a custom_id match.
func matchView(m domain.Matching) (match, reason string) {
	switch m.Match {
	case "":
		return string(domain.MatchNone), m.Reason
	case domain.MatchMapping:
		return string(domain.MatchCustomID), "linked by an earlier sync, which set the user's custom_id"
	}
	return string(m.Match), m.Reason
}

// matching is the state both step 3 and the checks are computed from.
type matching struct {
	// employees are sorted by Personio id (numerically).
	employees []domain.Employee
	missing   []personio.RequiredAttribute
	users     []domain.User
	matches   map[string]domain.Matching
	selection domain.Selection
}

// readRoster reads every Personio employee and Staffomatic user of t's accounts.
func (a *API) readRoster(ctx context.Context, t domain.Tenant, p PersonioAccount, s StaffomaticAccount) (roster, error) {
	var ro roster
	ctx, cancel := context.WithTimeout(ctx, vendorTimeout)
	defer cancel()
	list, err := p.Employees(ctx, personio.EmployeesOptions{})
	if err != nil {
		return ro, a.vendorErr(err, domain.SystemPersonio, "", t.Personio.BaseURL)
	}
	ro.employees, ro.missing = personio.People(list.Employees), list.Missing
	slices.SortFunc(ro.employees, func(x, y domain.Employee) int { return cmp.Compare(numericID(x.PersonioID), numericID(y.PersonioID)) })
	users, err := s.ListUsers(ctx, staffomatic.UserFilter{})
	if err != nil {
		return ro, a.vendorErr(err, domain.SystemStaffomatic, "", t.Staffomatic.BaseURL)
	}
	ro.users = make([]domain.User, len(users))
	for i, u := range users {
		ro.users[i] = u.Person()
	}
	return ro, nil
}

// freshRoster reads t's roster from the vendors and keeps it for the pages that follow.
func (a *API) freshRoster(ctx context.Context, t domain.Tenant, p PersonioAccount, s StaffomaticAccount) (roster, error) {
	ro, err := a.readRoster(ctx, t, p, s)
	if err == nil {
		a.rosters.put(t.ID, credentialVersion(t), a.now(), ro)
	}
	return ro, err
}

// match matches a roster with the stored user mappings and the selection, read now, with
// domain.MatchAll, as the user sync does.
func (a *API) match(ctx context.Context, t domain.Tenant, ro roster) (matching, error) {
	m := matching{employees: ro.employees, missing: ro.missing, users: ro.users}
	maps, err := a.store.LoadMappings(ctx, t.ID, domain.KindUser)
	if err != nil {
		return m, err
	}
	if m.selection, err = a.store.GetSelection(ctx, t.ID); err != nil {
		return m, err
	}
	links := make([]domain.Link, 0, len(maps))
	for _, mp := range maps {
		if mp.TargetID() != "" && mp.State != domain.StateDeleted {
			links = append(links, domain.Link{PersonioID: mp.SourceID, UserID: mp.TargetID()})
		}
	}
	m.matches = domain.MatchAll(m.employees, m.users, links)
	return m, nil
}

// numericID orders Personio ids as numbers ("9" before "10").
func numericID(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

func (a *API) listEmployees(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	q := r.URL.Query()
	status := strings.ToLower(strings.TrimSpace(q.Get("personio_status")))
	switch status {
	case "", "active", "onboarding", "leave", "inactive":
	default:
		return badRequest("personio_status", "personio_status: %q: use active, onboarding, leave or inactive", status)
	}
	limit, err := intParam(r, "limit", 100, 500)
	if err != nil {
		return err
	}
	offset := 0
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), "o"))
		if err != nil || cerr != nil || n < 0 || !strings.HasPrefix(string(b), "o") {
			return badRequest("cursor", "cursor: not a cursor this API returned")
		}
		offset = n
	}
	// A page after the first reuses the roster its first page read (rosterCache).
	ro, cached := roster{}, false
	if offset > 0 {
		ro, cached = a.rosters.get(t.ID, credentialVersion(t), a.now())
	}
	if !cached {
		p, s, err := a.clients(r.Context(), t)
		if err != nil {
			return err
		}
		if ro, err = a.freshRoster(r.Context(), t, p, s); err != nil {
			return err
		}
	}
	m, err := a.match(r.Context(), t, ro)
	if err != nil {
		return err
	}
	out := []EmployeeView{}
	for _, e := range m.employees {
		if status != "" && !strings.EqualFold(e.Status, status) {
			continue
		}
		mt := m.matches[e.PersonioID]
		match, reason := matchView(mt)
		out = append(out, EmployeeView{PersonioID: e.PersonioID, FirstName: e.FirstName, LastName: e.LastName, Email: e.Email,
			PersonioStatus: e.Status, Selected: m.selection.Includes(e), Match: match, StaffomaticUserID: mt.UserID, MatchReason: reason})
	}
	next := ""
	if offset > len(out) {
		offset = len(out)
	}
	page := out[offset:]
	if len(page) > limit {
		page = page[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset+limit)))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"employees": page, "next_cursor": next})
	return nil
}

// SelectionInput is the body of PUT /v1/tenants/{id}/selection.
type SelectionInput struct {
	Select   []string `json:"select,omitempty"`
	Deselect []string `json:"deselect,omitempty"`
	// Clear removes explicit switches, so the rules decide for those employees again.
	Clear       []string          `json:"clear,omitempty"`
	AutoInclude *AutoIncludeInput `json:"auto_include,omitempty"`
}

// AutoIncludeInput replaces the auto-include rules; an empty object removes them.
type AutoIncludeInput struct {
	// Match says how the rules combine: all (default; every rule must match) or any.
	Match       string          `json:"match,omitempty"`
	Statuses    []string        `json:"statuses,omitempty"`
	Offices     []string        `json:"offices,omitempty"`
	Departments []string        `json:"departments,omitempty"`
	Attribute   *AttributeMatch `json:"attribute,omitempty"`
}

// AttributeMatch selects employees whose Personio attribute key has value.
type AttributeMatch struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SelectionView is the stored selection as the admin reads it.
type SelectionView struct {
	Selected    []string         `json:"selected"`
	Deselected  []string         `json:"deselected"`
	AutoInclude AutoIncludeInput `json:"auto_include"`
	Version     int64            `json:"version"`
}

func (a *API) putSelection(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	var in SelectionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Select) == 0 && len(in.Deselect) == 0 && len(in.Clear) == 0 && in.AutoInclude == nil {
		return badRequest("", "send select, deselect and/or clear (Personio ids) and/or auto_include")
	}
	if len(in.Select)+len(in.Deselect)+len(in.Clear) > 5000 {
		return badRequest("select", "at most 5000 ids per request")
	}
	// Ids are kept as Personio spells them ("7", not "007" or "+7"): the selection is looked
	// up by that spelling, so another one would switch nobody on or off.
	both := map[string]bool{}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"select", in.Select}, {"deselect", in.Deselect}, {"clear", in.Clear}} {
		for i, id := range f.ids {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				return badRequest(f.name, "%s: %q is not a Personio employee id (a positive number, as listed by GET /v1/tenants/{id}/employees)", f.name, id)
			}
			id = strconv.FormatInt(n, 10)
			f.ids[i] = id
			if f.name != "select" && both[id] {
				return badRequest(f.name, "%s: %s is also in an earlier list of this request: decide for one", f.name, id)
			}
			both[id] = true
		}
	}
	sel, err := a.store.GetSelection(r.Context(), t.ID)
	if err != nil {
		return err
	}
	sel.Tenant = t.ID
	// Only the switches this request really changes are told (and stored): clearing an id
	// without a switch, or switching on one already on, changes nothing.
	changed := map[string][]string{}
	set := func(list string, id string, on, keep bool) {
		was, had := sel.Employees[id]
		if had == keep && (!keep || was == on) {
			return
		}
		changed[list] = append(changed[list], id)
		if keep {
			sel.Employees[id] = on
		} else {
			delete(sel.Employees, id)
		}
	}
	for _, id := range in.Select {
		set("select", id, true, true)
	}
	for _, id := range in.Deselect {
		set("deselect", id, false, true)
	}
	for _, id := range in.Clear {
		set("clear", id, false, false)
	}
	rulesBefore, matchBefore := slices.Clone(sel.Rules), cmp.Or(sel.Match, domain.MatchAllRules)
	if len(sel.Employees) > MaxSelectionSwitches {
		return unprocessable("selection_too_large", "select", "the selection would hold %d explicit switches; at most %d are kept: use auto_include rules for large groups, or clear switches the rules already decide", len(sel.Employees), MaxSelectionSwitches)
	}
	if ai := in.AutoInclude; ai != nil {
		sel.Rules, sel.Match = nil, cmp.Or(strings.ToLower(strings.TrimSpace(ai.Match)), domain.MatchAllRules)
		for _, rule := range []struct {
			f   domain.AutoIncludeField
			vs  []string
			key string
		}{{domain.RuleStatus, ai.Statuses, "statuses"}, {domain.RuleOffice, ai.Offices, "offices"}, {domain.RuleDepartment, ai.Departments, "departments"}} {
			if len(rule.vs) == 0 {
				continue
			}
			if len(rule.vs) > maxRuleValues {
				return badRequest("auto_include."+rule.key, "auto_include.%s: %d values: at most %d", rule.key, len(rule.vs), maxRuleValues)
			}
			for _, v := range rule.vs {
				if strings.TrimSpace(v) == "" {
					return badRequest("auto_include."+rule.key, "auto_include.%s: empty value", rule.key)
				}
				if !ruleValueOK(v) {
					return badRequest("auto_include."+rule.key, "auto_include.%s: a value has more than %d characters or a control character: name the Personio office or department as Personio shows it", rule.key, maxRuleValue)
				}
			}
			sel.Rules = append(sel.Rules, domain.AutoInclude{Field: rule.f, Values: rule.vs})
		}
		if at := ai.Attribute; at != nil {
			if strings.TrimSpace(at.Key) == "" {
				return badRequest("auto_include.attribute.key", "auto_include.attribute.key: name the Personio attribute, e.g. shift_planning")
			}
			if strings.TrimSpace(at.Value) == "" {
				return badRequest("auto_include.attribute.value", "auto_include.attribute.value: the value that selects an employee, e.g. true")
			}
			for _, f := range [][2]string{{"key", at.Key}, {"value", at.Value}} {
				if !ruleValueOK(f[1]) {
					return badRequest("auto_include.attribute."+f[0], "auto_include.attribute.%s: more than %d characters or a control character", f[0], maxRuleValue)
				}
			}
			sel.Rules = append(sel.Rules, domain.AutoInclude{Field: domain.RuleAttribute, Attribute: strings.TrimSpace(at.Key), Values: []string{at.Value}})
		}
	}
	if err := sel.Validate(); err != nil {
		return unprocessable("invalid_selection", "auto_include", "%v", err)
	}
	attribute := ""
	if in.AutoInclude != nil && in.AutoInclude.Attribute != nil {
		attribute = strings.TrimSpace(in.AutoInclude.Attribute.Key)
	}
	if err := a.checkSelectionInput(r.Context(), t, in, attribute); err != nil {
		return err
	}
	rulesChanged := in.AutoInclude != nil && (sel.Match != matchBefore || !reflect.DeepEqual(sel.Rules, rulesBefore))
	if len(changed) == 0 && !rulesChanged {
		// Nothing to store: no write, no new version (which would make the next partial
		// runs full), no set-up entry.
		WriteJSON(w, http.StatusOK, selectionView(sel))
		return nil
	}
	if err := a.store.SaveSelection(r.Context(), &sel); err != nil {
		return storeErr(err, "the selection")
	}
	var what []string
	for _, l := range []struct {
		name string
		ids  []string
	}{{"switched on", changed["select"]}, {"switched off", changed["deselect"]}, {"switches cleared", changed["clear"]}} {
		if len(l.ids) > 0 {
			what = append(what, fmt.Sprintf("%s: %s", l.name, idList(l.ids)))
		}
	}
	if rulesChanged {
		b, _ := json.Marshal(selectionView(sel).AutoInclude)
		what = append(what, "auto-include rules set to "+string(b))
	}
	a.audit(r.Context(), t, "change_selection", "employee selection changed: %s", strings.Join(what, "; "))
	WriteJSON(w, http.StatusOK, selectionView(sel))
	return nil
}

// Bounds of the auto-include rules: a company's offices, departments and statuses are a few
// dozen names, each a line of text. Without them one request stored 60,000 values (the
// selection item nears DynamoDB's 400 KB beside 10,000 switches) and echoed them into the
// answer and the set-up trail.
const (
	maxRuleValues = 200
	maxRuleValue  = 200
)

// ruleValueOK accepts a rule value of at most maxRuleValue characters without control
// characters.
func ruleValueOK(v string) bool {
	return utf8.RuneCountInString(v) <= maxRuleValue && utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
}

// idList shows at most 20 ids and how many more there are.
func idList(ids []string) string { return nameList(ids, 20) }

// getSelection is GET /v1/tenants/{id}/selection: the switches and rules PUT stored.
func (a *API) getSelection(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	sel, err := a.store.GetSelection(r.Context(), t.ID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, selectionView(sel))
	return nil
}

// MaxSelectionSwitches bounds the explicit switches of a tenant (the selection item stays
// far below DynamoDB's 400 KB item limit; larger groups belong in rules).
const MaxSelectionSwitches = 10000

func selectionView(s domain.Selection) SelectionView {
	v := SelectionView{Selected: []string{}, Deselected: []string{}, Version: s.Version}
	v.AutoInclude.Match = s.Match
	if v.AutoInclude.Match == "" && len(s.Rules) > 0 {
		v.AutoInclude.Match = domain.MatchAllRules
	}
	for id, on := range s.Employees {
		if on {
			v.Selected = append(v.Selected, id)
		} else {
			v.Deselected = append(v.Deselected, id)
		}
	}
	slices.Sort(v.Selected)
	slices.Sort(v.Deselected)
	for _, r := range s.Rules {
		switch r.Field {
		case domain.RuleStatus:
			v.AutoInclude.Statuses = r.Values
		case domain.RuleOffice:
			v.AutoInclude.Offices = r.Values
		case domain.RuleDepartment:
			v.AutoInclude.Departments = r.Values
		case domain.RuleAttribute:
			if len(r.Values) > 0 {
				v.AutoInclude.Attribute = &AttributeMatch{Key: r.Attribute, Value: r.Values[0]}
			}
		}
	}
	return v
}

// Checks is GET /v1/tenants/{id}/checks: what stands in the way of a clean first sync.
type Checks struct {
	OK                        bool            `json:"ok"`
	MissingPersonioAttributes []AttributeInfo `json:"missing_personio_attributes"`
	// UnmatchedTimeOffTypes are, with Personio leading absences, the Personio types
	// without a same-named Staffomatic category; their absences are reported, never
	// guessed (empty while Staffomatic leads: its absences all have a category).
	UnmatchedTimeOffTypes []string `json:"unmatched_time_off_types"`
	// UnmatchedAbsenceCategories are, with Staffomatic leading absences, the Staffomatic
	// categories without a same-named Personio type: the absence sync reports their
	// absences and does not transfer them (empty while Personio leads, when categories
	// are only targets).
	UnmatchedAbsenceCategories []string         `json:"unmatched_absence_categories"`
	DuplicateEmails            []DuplicateEmail `json:"duplicate_emails"`
	// UnmatchedUsers are Staffomatic users no Personio employee matches; they stay as
	// they are.
	UnmatchedUsers []UnmatchedUser `json:"unmatched_users"`
	Conflicts      []Conflict      `json:"conflicts"`
}

// DuplicateEmail is an e-mail address shared by several records of one system.
type DuplicateEmail struct {
	Email  string   `json:"email"`
	System string   `json:"system"`
	IDs    []string `json:"ids"`
}

// UnmatchedUser is a Staffomatic user without a Personio employee.
type UnmatchedUser struct {
	StaffomaticUserID string `json:"staffomatic_user_id"`
	Email             string `json:"email"`
	Name              string `json:"name"`
}

// Conflict is an employee the user sync will not touch until it is resolved.
type Conflict struct {
	PersonioID         string   `json:"personio_id"`
	Name               string   `json:"name"`
	Reason             string   `json:"reason"`
	StaffomaticUserIDs []string `json:"staffomatic_user_ids"`
}

func (a *API) checks(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	p, s, err := a.clients(r.Context(), t)
	if err != nil {
		return err
	}
	ro, err := a.freshRoster(r.Context(), t, p, s)
	if err != nil {
		return err
	}
	m, err := a.match(r.Context(), t, ro)
	if err != nil {
		return err
	}
	c := Checks{MissingPersonioAttributes: []AttributeInfo{}, UnmatchedTimeOffTypes: []string{}, UnmatchedAbsenceCategories: []string{},
		DuplicateEmails: []DuplicateEmail{}, UnmatchedUsers: []UnmatchedUser{}, Conflicts: []Conflict{}}
	for _, at := range m.missing {
		c.MissingPersonioAttributes = append(c.MissingPersonioAttributes, AttributeInfo{Key: at.Key, Name: at.Name})
	}
	ctx, cancel := context.WithTimeout(r.Context(), vendorTimeout)
	defer cancel()
	types, err := p.TimeOffTypes(ctx)
	if err != nil {
		return a.vendorErr(err, domain.SystemPersonio, "", t.Personio.BaseURL)
	}
	locs, err := s.ListLocations(ctx)
	if err != nil {
		return a.vendorErr(err, domain.SystemStaffomatic, "", t.Staffomatic.BaseURL)
	}
	// Absence categories belong to locations; a type is matched when some location has
	// its category (domain.CategoryFor decides what matches).
	perLocation := make([][]staffomatic.AbsenceType, 0, len(locs))
	for _, l := range locs {
		ats, err := s.ListAbsenceTypes(ctx, l.ID)
		if err != nil {
			return a.vendorErr(err, domain.SystemStaffomatic, "", t.Staffomatic.BaseURL)
		}
		perLocation = append(perLocation, ats)
	}
	for _, ty := range types {
		matched := false
		for _, ats := range perLocation {
			if _, ok := domain.CategoryFor(ty.Name, ats, func(a staffomatic.AbsenceType) string { return a.Name }); ok {
				matched = true
				break
			}
		}
		if !matched && t.Sources.Absences != domain.SystemStaffomatic {
			c.UnmatchedTimeOffTypes = append(c.UnmatchedTimeOffTypes, ty.Name)
		}
	}
	if t.Sources.Absences == domain.SystemStaffomatic {
		for _, ats := range perLocation {
			for _, at := range ats {
				_, ok := domain.CategoryFor(at.Name, types, func(ty personio.TimeOffType) string { return ty.Name })
				if name := strings.TrimSpace(at.Name); !ok && !slices.Contains(c.UnmatchedAbsenceCategories, name) {
					c.UnmatchedAbsenceCategories = append(c.UnmatchedAbsenceCategories, name)
				}
			}
		}
		slices.Sort(c.UnmatchedAbsenceCategories)
	}
	dup := func(system string, emails map[string][]string) {
		keys := make([]string, 0, len(emails))
		for e, ids := range emails {
			if len(ids) > 1 {
				keys = append(keys, e)
			}
		}
		slices.Sort(keys)
		for _, e := range keys {
			c.DuplicateEmails = append(c.DuplicateEmails, DuplicateEmail{Email: e, System: system, IDs: emails[e]})
		}
	}
	pe, se := map[string][]string{}, map[string][]string{}
	for _, e := range m.employees {
		if n := domain.NormalizeEmail(e.Email); n != "" {
			pe[n] = append(pe[n], e.PersonioID)
		}
	}
	for _, u := range m.users {
		if n := domain.NormalizeEmail(u.Email); n != "" {
			se[n] = append(se[n], u.ID)
		}
	}
	dup(string(domain.SystemPersonio), pe)
	dup(string(domain.SystemStaffomatic), se)
	claimed := map[string]bool{}
	for _, e := range m.employees {
		mt := m.matches[e.PersonioID]
		if mt.UserID != "" {
			claimed[mt.UserID] = true
		}
		if mt.Match == domain.MatchConflict {
			c.Conflicts = append(c.Conflicts, Conflict{PersonioID: e.PersonioID, Name: e.Name(),
				Reason: mt.Reason, StaffomaticUserIDs: orEmpty(mt.UserIDs)})
		}
	}
	for _, u := range m.users {
		if !claimed[u.ID] {
			c.UnmatchedUsers = append(c.UnmatchedUsers, UnmatchedUser{StaffomaticUserID: u.ID, Email: u.Email, Name: strings.TrimSpace(u.FirstName + " " + u.LastName)})
		}
	}
	c.OK = len(c.MissingPersonioAttributes) == 0 && len(c.UnmatchedTimeOffTypes) == 0 && len(c.UnmatchedAbsenceCategories) == 0 && len(c.DuplicateEmails) == 0 && len(c.Conflicts) == 0
	WriteJSON(w, http.StatusOK, c)
	return nil
}
