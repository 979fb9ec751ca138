package personiosim

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- authentication ----

// issue returns the credential's current token or a new one. Personio's
// tokens are stable for their lifetime: the same credentials get the same
// token back. Callers hold s.mu.
func (s *Server) issue(clientID string, version int) (string, time.Time) {
	now := s.cfg.Now()
	key := strconv.Itoa(version) + ":" + clientID
	if t, ok := s.credToken[key]; ok {
		if info := s.tokens[t]; now.Before(info.expires) {
			return t, info.expires
		}
		delete(s.tokens, t)
	}
	t := fmt.Sprintf("papi-%016x%016x", s.rnd.Uint64(), s.rnd.Uint64())
	exp := now.Add(s.cfg.TokenTTL)
	s.tokens[t] = token{clientID: clientID, expires: exp, version: version}
	s.credToken[key] = t
	return t, exp
}

// credentialFor validates a presented client id/secret pair.
func (s *Server) credentialFor(id, secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.credentials[id]
	return ok && id != "" && c.ClientSecret == secret
}

func (s *Server) v1Auth(w http.ResponseWriter, r *http.Request) {
	// Body may be JSON or form-encoded; query parameters were the original way.
	var id, secret string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var b struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			writeV1Error(w, http.StatusBadRequest, 400, "Invalid JSON body")
			return
		}
		id, secret = b.ClientID, b.ClientSecret
	default:
		_ = r.ParseForm()
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	if !s.credentialFor(id, secret) {
		// Assumption: the notes do not record the text for wrong credentials.
		writeV1Error(w, http.StatusUnauthorized, 401, "Wrong credentials")
		return
	}
	s.mu.Lock()
	t, exp := s.issue(id, 1)
	s.mu.Unlock()
	w.Header().Set("Authorization", "Bearer "+t) // echoed, as Personio still does
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"token": t, "expires_in": int(exp.Sub(s.cfg.Now()).Seconds()), "scope": "employees:read absences:read",
	}})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// lookupToken returns the credential behind a valid, unexpired token.
func (s *Server) lookupToken(t string) (Credential, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[t]
	if !ok || !s.cfg.Now().Before(info.expires) {
		return Credential{}, "", false
	}
	c, ok := s.credentials[info.clientID]
	return c, t, ok
}

func (s *Server) v1Authenticate(w http.ResponseWriter, r *http.Request) (Credential, bool) {
	t := bearer(r)
	if t == "" {
		writeV1Error(w, http.StatusUnauthorized, 401, "Authorization is not provided")
		return Credential{}, false
	}
	c, tok, ok := s.lookupToken(t)
	if !ok {
		writeV1Error(w, http.StatusForbidden, 403, "Provided authorization is not valid")
		return Credential{}, false
	}
	w.Header().Set("Authorization", "Bearer "+tok)
	return c, true
}

func (s *Server) credentialOf(r *http.Request) Credential {
	c, _, _ := s.lookupToken(bearer(r))
	return c
}

// ---- employees ----

var standardLabels = map[string]string{
	"id": "ID", "first_name": "First name", "last_name": "Last name", "preferred_name": "Name (preferred)",
	"email": "Email", "gender": "Gender", "status": "Status", "position": "Position", "supervisor": "Supervisor",
	"employment_type": "Employment type", "weekly_working_hours": "Weekly hours", "hire_date": "Hire date",
	"contract_end_date": "Contract ends", "termination_date": "Termination date",
	"termination_type": "Termination type", "termination_reason": "Termination reason",
	"probation_period_end": "Probation period end", "created_at": "Created at", "last_modified_at": "Last modified",
	"subcompany": "Subcompany", "office": "Office", "department": "Department", "cost_centers": "Cost center",
	"holiday_calendar": "Public holidays", "absence_entitlement": "Absence entitlement",
	"vacation_day_balance": "Vacation day balance", "last_working_day": "Last day of work",
	"profile_picture": "Profile Picture", "team": "Team", "work_schedule": "Work schedule",
}

var standardTypes = map[string]string{
	"id": "integer", "hire_date": "date", "contract_end_date": "date", "termination_date": "date",
	"probation_period_end": "date", "created_at": "date", "last_modified_at": "date",
	"last_working_day": "date", "vacation_day_balance": "decimal",
}

// standardKeys lists the standard attributes in the order of the recordings.
var standardKeys = []string{
	"id", "first_name", "last_name", "preferred_name", "email", "gender", "status", "position", "supervisor",
	"employment_type", "weekly_working_hours", "hire_date", "contract_end_date", "termination_date",
	"termination_type", "termination_reason", "probation_period_end", "created_at", "last_modified_at",
	"subcompany", "office", "department", "cost_centers", "holiday_calendar", "absence_entitlement",
	"vacation_day_balance", "last_working_day", "profile_picture", "team",
}

func wrapped(key string, v any) map[string]any {
	t := standardTypes[key]
	if t == "" {
		t = "standard"
	}
	return map[string]any{"label": standardLabels[key], "value": v, "type": t, "universal_id": key}
}

func unitValue(kind string, m map[int64]OrgUnit, id int64) any {
	u, ok := m[id]
	if !ok {
		return nil
	}
	return map[string]any{"type": kind, "attributes": map[string]any{"id": u.ID, "name": u.Name}}
}

// formatHours renders weekly hours as Personio does: a string ("40", "37.5").
func formatHours(h float64) string { return strconv.FormatFloat(h, 'f', -1, 64) }

// renderAttributes renders every attribute value of an employee (unfiltered)
// as v1 wrapped attributes. Callers hold s.mu.
func (s *Server) renderAttributes(e *Employee) map[string]any {
	str := func(v string) any { return v }
	a := map[string]any{
		"id":                   wrapped("id", e.ID),
		"first_name":           wrapped("first_name", str(e.FirstName)),
		"last_name":            wrapped("last_name", str(e.LastName)),
		"preferred_name":       wrapped("preferred_name", str(e.PreferredName)),
		"email":                wrapped("email", str(e.Email)),
		"gender":               wrapped("gender", str(e.Gender)),
		"status":               wrapped("status", str(e.Status)),
		"position":             wrapped("position", str(e.Position)),
		"employment_type":      wrapped("employment_type", str(e.EmploymentType)),
		"weekly_working_hours": wrapped("weekly_working_hours", formatHours(e.WeeklyHours)),
		"hire_date":            wrapped("hire_date", v1Date(e.HireDate)),
		"contract_end_date":    wrapped("contract_end_date", v1Date(e.ContractEndDate)),
		"termination_date":     wrapped("termination_date", v1Date(e.TerminationDate)),
		"termination_type":     wrapped("termination_type", ""),
		"termination_reason":   wrapped("termination_reason", ""),
		"probation_period_end": wrapped("probation_period_end", v1Date(e.ProbationPeriodEnd)),
		"created_at":           wrapped("created_at", v1Timestamp(e.CreatedAt)),
		"last_modified_at":     wrapped("last_modified_at", v1Timestamp(e.ModifiedAt)),
		"subcompany":           wrapped("subcompany", unitValue("Subcompany", s.subcompanies, e.SubcompanyID)),
		"office":               wrapped("office", unitValue("Office", s.offices, e.OfficeID)),
		"department":           wrapped("department", unitValue("Department", s.departments, e.DepartmentID)),
		"team":                 wrapped("team", unitValue("Team", s.teams, e.TeamID)),
		"cost_centers":         wrapped("cost_centers", []any{}),
		"holiday_calendar": wrapped("holiday_calendar", map[string]any{"type": "HolidayCalendar", "attributes": map[string]any{
			"id": 2, "name": "Deutschland (Bayern) Feiertage", "country": "DE", "state": "Bayern"}}),
		"last_working_day": wrapped("last_working_day", v1Date(e.LastWorkingDay)),
		"profile_picture":  wrapped("profile_picture", fmt.Sprintf("https://api.personio.de/v1/company/employees/%d/profile-picture", e.ID)),
	}
	if ws := e.WorkSchedule; ws != nil {
		attrs := map[string]any{"id": ws.ID, "name": ws.Name, "valid_from": nil}
		for d := time.Sunday; d <= time.Saturday; d++ {
			h := ws.Hours[d]
			attrs[strings.ToLower(d.String())] = fmt.Sprintf("%02d:%02d", int(h/time.Hour), int(h%time.Hour/time.Minute))
		}
		a["work_schedule"] = wrapped("work_schedule", map[string]any{"type": "WorkSchedule", "attributes": attrs})
	}
	if s.cfg.LegacyVacationDayBalance {
		a["vacation_day_balance"] = wrapped("vacation_day_balance", e.VacationDayBalance)
	}
	if sup, ok := s.employees[e.SupervisorID]; ok && e.SupervisorID != 0 {
		a["supervisor"] = wrapped("supervisor", map[string]any{"type": "Employee", "attributes": map[string]any{
			"id":         wrapped("id", sup.ID),
			"first_name": wrapped("first_name", sup.FirstName),
			"last_name":  wrapped("last_name", sup.LastName),
			"email":      wrapped("email", sup.Email),
		}})
	} else {
		a["supervisor"] = wrapped("supervisor", nil)
	}
	var ents []any
	for _, t := range s.types {
		if v, ok := e.Entitlements[t.ID]; ok {
			ents = append(ents, map[string]any{"type": "TimeOffType", "attributes": map[string]any{
				"id": t.ID, "name": t.Name, "category": t.Category, "entitlement": v}})
		}
	}
	if ents == nil {
		a["absence_entitlement"] = wrapped("absence_entitlement", nil)
	} else {
		a["absence_entitlement"] = wrapped("absence_entitlement", ents)
	}
	for _, ca := range s.customAttrs {
		var uid any
		if ca.UniversalID != "" {
			uid = ca.UniversalID
		}
		v, ok := e.Custom[ca.Key]
		if !ok {
			v = ""
		}
		if t, isTime := v.(time.Time); isTime {
			v = t.Format("2006-01-02") // custom dates come as plain dates
		}
		a[ca.Key] = map[string]any{"label": ca.Label, "value": v, "type": ca.Type, "universal_id": uid}
	}
	return a
}

// allowed reports whether a credential may read an attribute key.
func allowed(c Credential, key string) bool {
	return key == "id" || c.Attributes == nil || slices.Contains(c.Attributes, key)
}

// employeeJSON renders an employee filtered by whitelist and projection.
// Callers hold s.mu.
func (s *Server) employeeJSON(e *Employee, c Credential, projection []string) map[string]any {
	all := s.renderAttributes(e)
	out := map[string]any{}
	for k, v := range all {
		if !allowed(c, k) {
			continue // Personio silently omits non-whitelisted attributes
		}
		if len(projection) > 0 && k != "id" && !slices.Contains(projection, k) {
			continue
		}
		out[k] = v
	}
	return map[string]any{"type": "Employee", "attributes": out}
}

// parseUpdatedSince accepts `2022-12-24T08:15:30` or `2022-12-24`, as
// documented. Values are company-local (Europe/Berlin) wall-clock times.
func parseUpdatedSince(v string) (time.Time, error) {
	for _, layout := range []string{localLayout, "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, berlin); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid updated_since %q", v)
}

func (s *Server) v1Employees(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 10, 0 // spec default limit 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			// Max 100 enforced since 2025-01-31 (was 200, same wording).
			writeV1Error(w, http.StatusBadRequest, 400, "The limit must be between 1 and 100.")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeV1Error(w, http.StatusBadRequest, 400, "The offset must be a non-negative integer.")
			return
		}
		offset = n
	}
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		t, err := parseUpdatedSince(v)
		if err != nil {
			writeV1Error(w, http.StatusBadRequest, 400, "The updated since must be a valid date.")
			return
		}
		since = t
	}
	projection := q["attributes[]"]
	email := strings.TrimSpace(q.Get("email"))
	c := s.credentialOf(r)

	s.mu.Lock()
	var sel []*Employee
	for _, id := range s.empOrder {
		e := s.employees[id]
		switch {
		case !since.IsZero():
			// email is ignored with updated_since; attributes[] turns into a
			// "changed any of these" filter.
			if !e.ModifiedAt.After(since) {
				continue
			}
			if len(projection) > 0 && !changedAny(e, projection, since) {
				continue
			}
		case email != "":
			if !strings.EqualFold(e.Email, email) {
				continue
			}
		}
		sel = append(sel, e)
	}
	total := len(sel)
	page := []any{}
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, s.employeeJSON(sel[i], c, projection))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true,
		"metadata": map[string]any{
			"total_elements": total,
			"current_page":   offset / limit, // 0-based
			"total_pages":    (total + limit - 1) / limit,
		},
		"offset": offset,
		"limit":  limit,
		"data":   page,
	})
}

func changedAny(e *Employee, keys []string, since time.Time) bool {
	for _, k := range keys {
		if t, ok := e.attrModified[k]; ok && t.After(since) {
			return true
		}
	}
	return false
}

func (s *Server) v1Employee(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c := s.credentialOf(r)
	s.mu.Lock()
	e, ok := s.employees[id]
	var body map[string]any
	if ok && err == nil {
		body = s.employeeJSON(e, c, nil)
	}
	s.mu.Unlock()
	if body == nil {
		// German text and code 0, as recorded in the spec.
		writeV1Error(w, http.StatusNotFound, 0, "Es ist ein Problem aufgetreten")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": body})
}

func (s *Server) v1Attributes(w http.ResponseWriter, r *http.Request) {
	c := s.credentialOf(r)
	s.mu.Lock()
	var data []any
	keys := standardKeys
	for _, k := range keys {
		if !allowed(c, k) {
			continue
		}
		t := standardTypes[k]
		if t == "" {
			t = "standard"
		}
		data = append(data, map[string]any{"key": k, "label": standardLabels[k], "type": t, "universal_id": k, "options": []any{}})
	}
	for _, ca := range s.customAttrs {
		if !allowed(c, ca.Key) {
			continue
		}
		var uid any
		if ca.UniversalID != "" {
			uid = ca.UniversalID
		}
		data = append(data, map[string]any{"key": ca.Key, "label": ca.Label, "type": ca.Type, "universal_id": uid, "options": []any{}})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": data})
}

// v1Balance answers /employees/{id}/absences/balance: per time-off type the
// entitlement minus approved absence days of the current year (balance) and
// minus all approved or pending ones (available_balance). Assumption: the
// notes give the shape only, not the arithmetic. The employee's absences are summed
// per type in one pass over the per-person index (in store order, as absOrder has
// them), not once per type over every absence of the company.
func (s *Server) v1Balance(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	e, ok := s.employees[id]
	if !ok || err != nil {
		s.mu.Unlock()
		writeV1Error(w, http.StatusNotFound, 404, "Es ist ein Problem aufgetreten ")
		return
	}
	now := s.cfg.Now()
	type sums struct{ taken, planned float64 }
	byType := map[string]sums{} // v2 type id → days of this year
	for _, aid := range s.absByPerson[id] {
		p, ok := s.absences[aid]
		if !ok || p.PersonID != id || p.Start.Year() != now.Year() || p.Status == StatusRejected {
			continue
		}
		d := absenceDays(p)
		sum := byType[p.TypeID]
		sum.planned += d
		if p.Status == StatusApproved && !p.Start.After(now) {
			sum.taken += d
		}
		byType[p.TypeID] = sum
	}
	data := []any{}
	for _, t := range s.types {
		ent, has := e.Entitlements[t.ID]
		if !has {
			continue
		}
		sum := byType[t.IDv2]
		data = append(data, map[string]any{"id": t.ID, "name": t.Name, "category": t.Category,
			"balance": ent - sum.taken, "available_balance": ent - sum.planned})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": data})
}

// absenceDays counts weekdays of a day-unit period, half days as 0.5.
func absenceDays(p *AbsencePeriod) float64 {
	if p.End == nil {
		return 0
	}
	n := 0.0
	for d := truncDay(p.Start); !d.After(truncDay(*p.End)); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			n++
		}
	}
	if p.StartHalf != "" {
		n -= 0.5
	}
	if p.EndHalf != "" && !truncDay(p.Start).Equal(truncDay(*p.End)) {
		n -= 0.5
	}
	if n < 0 {
		n = 0
	}
	return n
}

func truncDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// v1TimeOffTypes lists absence types. The spec words offset ambiguously;
// assumption: record offset, default limit 200 (one page in practice).
func (s *Server) v1TimeOffTypes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, ok := v1LimitOffset(w, q)
	if !ok {
		return
	}
	cred, _, _ := s.lookupToken(bearer(r))
	s.mu.Lock()
	data := []any{}
	for i := offset; i < len(s.types) && i < offset+limit; i++ {
		t := s.types[i]
		var cat any
		if t.Category != "" {
			cat = t.Category
		}
		attrs := map[string]any{"id": t.ID, "name": t.Name, "category": cat, "unit": t.Unit,
			"approval_required": t.ApprovalRequired, "id_v2": t.IDv2}
		if cred.WithoutIDv2 {
			delete(attrs, "id_v2")
		}
		data = append(data, map[string]any{"type": "TimeOffType", "attributes": attrs})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": data})
}

// readForm parses a form body without accepting JSON; used by /v2/auth/token.
func readForm(r *http.Request) (url.Values, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.PostForm, true
}

// v1LimitOffset reads the limit (default 200) and offset query parameters of the v1 lists
// that take them as plain integers, answering 400 in the v1 envelope when they are not.
func v1LimitOffset(w http.ResponseWriter, q url.Values) (limit, offset int, ok bool) {
	limit = 200
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeV1Error(w, http.StatusBadRequest, 400, "The limit must be a positive integer.")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeV1Error(w, http.StatusBadRequest, 400, "The offset must be a non-negative integer.")
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}
