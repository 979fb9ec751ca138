package personiosim

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// v1 day-unit absences (/v1/company/time-offs) and the deprecated v1
// attendances (/v1/company/attendances) are views of the same stores the v2
// endpoints use, so a period written through one generation is read through
// the other (notes §0.7: v1 responses carry id_v2 to bridge to v2):
//
//   - a TimeOffPeriod is an AbsencePeriod whose type has unit "day";
//     half_day_start=1 is stored as starts_from.type SECOND_HALF (absent from
//     the afternoon of the first day), half_day_end=1 as ends_at.type
//     FIRST_HALF (absent in the morning of the last day);
//   - an AttendancePeriod is a WORK period; its `break` is the sum of the
//     BREAK periods of the same person that start inside it. A v1 break is
//     stored as one BREAK period centred in the WORK period (assumption: v1
//     carries minutes only, no break times).
//
// The integer v1 ids are kept beside the stores and never reused.

// v1IDs maps store ids (UUIDs) to v1 integer ids. Callers hold s.mu.
type v1IDs struct {
	timeOffs, attendances, projects       map[string]int64
	timeOffByID, attendanceByID, projByID map[int64]string
	nextTimeOff, nextAttendance, nextProj int64
}

func assign(fwd *map[string]int64, back *map[int64]string, next *int64, start int64, id string) int64 {
	if *fwd == nil {
		*fwd, *back, *next = map[string]int64{}, map[int64]string{}, start
	}
	if n, ok := (*fwd)[id]; ok {
		return n
	}
	*next++
	(*fwd)[id], (*back)[*next] = *next, id
	return *next
}

// Separate counters keep the ids of employees and org units (Server.id)
// unchanged by periods; the start values look like the recorded ids.
func (v *v1IDs) timeOff(id string) int64 {
	return assign(&v.timeOffs, &v.timeOffByID, &v.nextTimeOff, 17205900, id)
}

func (v *v1IDs) attendance(id string) int64 {
	return assign(&v.attendances, &v.attendanceByID, &v.nextAttendance, 33479600, id)
}

func (v *v1IDs) project(id string) int64 {
	return assign(&v.projects, &v.projByID, &v.nextProj, 500, id)
}

// v1OK is the success envelope of time-off writes; the recordings carry a
// one-page metadata block even there.
func v1OK(data any) map[string]any {
	return map[string]any{"success": true, "metadata": map[string]any{"current_page": 1, "total_pages": 1}, "data": data}
}

// ---- time-offs ----

func flag(b bool) int {
	if b {
		return 1 // 0/1 integers in real responses (api-docs issue #204), booleans in the spec
	}
	return 0
}

// v1DaysCount counts weekdays, half days as 0.5; a single half day is 0.5
// whichever flag is set (recorded: half_day_end 1, days_count 0.5).
func v1DaysCount(p *AbsencePeriod) float64 {
	if p.End != nil && truncDay(p.Start).Equal(truncDay(*p.End)) {
		if d := p.Start.Weekday(); d == time.Saturday || d == time.Sunday {
			return 0
		}
		if p.StartHalf != "" || p.EndHalf != "" {
			return 0.5
		}
		return 1
	}
	return absenceDays(p)
}

func shortEmployee(e *Employee) map[string]any {
	return map[string]any{"type": "Employee", "attributes": map[string]any{
		"id":         wrapped("id", e.ID),
		"first_name": wrapped("first_name", e.FirstName),
		"last_name":  wrapped("last_name", e.LastName),
		"email":      wrapped("email", e.Email),
	}}
}

// timeOffJSON renders a day-unit absence as a v1 TimeOffPeriod. Callers hold s.mu.
func (s *Server) timeOffJSON(p *AbsencePeriod, t TimeOffType) map[string]any {
	typ := map[string]any{"id": t.ID, "name": t.Name}
	if t.Category != "" {
		typ["category"] = t.Category
	}
	var emp any
	createdBy := "API"
	if e, ok := s.employees[p.PersonID]; ok {
		emp = shortEmployee(e)
		if !p.CreatedViaAPI {
			createdBy = strings.TrimSpace(e.FirstName + " " + e.LastName) // recorded: the requesting employee's name
		}
	}
	var end any
	if p.End != nil {
		end = v1Date(*p.End)
	}
	return map[string]any{"type": "TimeOffPeriod", "attributes": map[string]any{
		"id":             s.v1ids.timeOff(p.ID),
		"status":         strings.ToLower(p.Status),
		"comment":        p.Comment,
		"start_date":     v1Date(p.Start),
		"end_date":       end,
		"days_count":     v1DaysCount(p),
		"half_day_start": flag(p.StartHalf != ""),
		"half_day_end":   flag(p.EndHalf != ""),
		"time_off_type":  map[string]any{"type": "TimeOffType", "attributes": typ},
		"employee":       emp,
		"created_by":     createdBy,
		"certificate":    map[string]any{"status": "not-required"},
		"created_at":     v1Timestamp(p.CreatedAt),
		"updated_at":     v1Timestamp(p.UpdatedAt),
		"id_v2":          p.ID,
	}}
}

// dayTimeOff returns the absence behind a v1 time-off id when it is a
// day-unit period. Callers hold s.mu.
func (s *Server) dayTimeOff(p *AbsencePeriod) (TimeOffType, bool) {
	t, ok := s.typeByV2(p.TypeID)
	return t, ok && t.Unit == "day"
}

func parseDate(v string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", v)
	return t, err == nil
}

// employeeFilter reads `employees[]` (repeated key).
func employeeFilter(q url.Values) (map[int64]bool, bool) {
	vals := q["employees[]"]
	if len(vals) == 0 {
		return nil, true
	}
	set := map[int64]bool{}
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				return nil, false
			}
			set[n] = true
		}
	}
	return set, true
}

// v1ListTimeOffs lists day-unit absences. offset is the PAGE NUMBER (0 and 1
// both mean the first page), metadata.current_page is 1-based, limit 1..200
// (default 200). start_date/end_date select periods lying fully inside the
// window (forum report, notes §3.2); updated_from/updated_to are inclusive
// company-local dates.
func (s *Server) v1ListTimeOffs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page := 200, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			// Assumption: wording like the employees limit error.
			writeV1Error(w, http.StatusBadRequest, 400, "The limit must be between 1 and 200.")
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
		page = max(n, 1)
	}
	var from, to, updFrom, updTo time.Time
	for _, d := range []struct {
		key string
		dst *time.Time
	}{{"start_date", &from}, {"end_date", &to}, {"updated_from", &updFrom}, {"updated_to", &updTo}} {
		if v := q.Get(d.key); v != "" {
			t, ok := parseDate(v)
			if !ok {
				// Assumption: text undocumented.
				writeV1Error(w, http.StatusBadRequest, 400, "The "+strings.ReplaceAll(d.key, "_", " ")+" must be a valid date (YYYY-MM-DD).")
				return
			}
			*d.dst = t
		}
	}
	emps, ok := employeeFilter(q)
	if !ok {
		writeV1Error(w, http.StatusBadRequest, 400, "The employees must be a list of integer ids.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type row struct {
		p *AbsencePeriod
		t TimeOffType
	}
	var sel []row
	for _, id := range s.absOrder {
		p, ok := s.absences[id]
		if !ok {
			continue
		}
		t, day := s.dayTimeOff(p)
		switch {
		case !day:
			continue
		case emps != nil && !emps[p.PersonID]:
			continue
		case !from.IsZero() && truncDay(p.Start).Before(from):
			continue
		case !to.IsZero() && (p.End == nil || truncDay(*p.End).After(to)):
			continue
		case !updFrom.IsZero() && p.UpdatedAt.Before(berlinMidnight(updFrom)):
			continue
		case !updTo.IsZero() && !p.UpdatedAt.Before(berlinMidnight(updTo.AddDate(0, 0, 1))):
			continue
		}
		sel = append(sel, row{p, t})
	}
	data := []any{}
	for i := (page - 1) * limit; i < len(sel) && i < page*limit; i++ {
		data = append(data, s.timeOffJSON(sel[i].p, sel[i].t))
	}
	// Assumption: an empty result still reports one page, so clients that
	// stop at current_page == total_pages terminate.
	pages := max(1, (len(sel)+limit-1)/limit)
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true,
		"metadata": map[string]any{
			"total_elements": len(sel),
			"current_page":   page,
			"total_pages":    pages,
		},
		"offset": page,
		"limit":  limit,
		"data":   data,
	})
}

func berlinMidnight(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, berlin)
}

// timeOffByPath finds a day-unit absence by v1 id; status 0 means found.
// Callers hold s.mu.
func (s *Server) timeOffByPath(r *http.Request) (*AbsencePeriod, TimeOffType, int) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return nil, TimeOffType{}, http.StatusBadRequest
	}
	p, ok := s.absences[s.v1ids.timeOffByID[n]]
	if !ok {
		return nil, TimeOffType{}, http.StatusNotFound
	}
	t, day := s.dayTimeOff(p)
	if !day {
		return nil, TimeOffType{}, http.StatusNotFound
	}
	return p, t, 0
}

func (s *Server) v1GetTimeOff(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, t, st := s.timeOffByPath(r)
	var body map[string]any
	if st == 0 {
		body = s.timeOffJSON(p, t)
	}
	s.mu.Unlock()
	switch st {
	case http.StatusBadRequest:
		writeV1Error(w, st, 400, "The absence period id is invalid.")
	case http.StatusNotFound:
		writeV1Error(w, st, 404, "The absence period was not found.")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": body})
	}
}

func (s *Server) v1DeleteTimeOff(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, _, st := s.timeOffByPath(r)
	if st == 0 {
		delete(s.absences, p.ID) // no tombstone: deletions are invisible in v1 (notes §3.2)
	}
	s.mu.Unlock()
	switch st {
	case http.StatusBadRequest:
		writeV1Error(w, st, 400, "The absence period id is invalid.")
	case http.StatusNotFound:
		writeV1Error(w, st, 404, "The absence period was not found.")
	default:
		s.emit("absence-period.deleted", p.ID)
		writeJSON(w, http.StatusOK, v1OK(map[string]any{"message": "The absence period was deleted."}))
	}
}

// v1Body reads a v1 write body, documented as form-urlencoded; JSON is
// accepted too (personio-py posts JSON). JSON scalars become strings.
func v1Body(r *http.Request) (url.Values, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, false
		}
		out := url.Values{}
		for k, v := range m {
			switch x := v.(type) {
			case nil:
			case string:
				out.Set(k, x)
			case bool:
				out.Set(k, strconv.FormatBool(x))
			case float64:
				out.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
			default:
				b, _ := json.Marshal(x)
				out.Set(k, string(b))
			}
		}
		return out, true
	}
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.PostForm, true
}

func parseFlag(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

// writeValidation answers 422 code 0 with Laravel-style error_data
// (assumption: the spec shows error_data only as '{...}').
func writeValidation(w http.ResponseWriter, errs map[string][]string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"success": false, "error": map[string]any{
		"code": 0, "message": "The given data failed to pass validation.", "error_data": errs}})
}

func (s *Server) v1CreateTimeOff(w http.ResponseWriter, r *http.Request) {
	form, ok := v1Body(r)
	if !ok {
		writeV1Error(w, http.StatusBadRequest, 400, "Error when trying to insert absence period")
		return
	}
	errs := map[string][]string{}
	human := func(k string) string { return strings.ReplaceAll(k, "_", " ") }
	ints := map[string]int64{}
	for _, k := range []string{"employee_id", "time_off_type_id"} {
		v := form.Get(k)
		if v == "" {
			errs[k] = append(errs[k], "The "+human(k)+" field is required.")
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs[k] = append(errs[k], "The "+human(k)+" must be an integer.")
			continue
		}
		ints[k] = n
	}
	dates := map[string]time.Time{}
	for _, k := range []string{"start_date", "end_date"} {
		v := form.Get(k)
		if v == "" {
			errs[k] = append(errs[k], "The "+human(k)+" field is required.")
			continue
		}
		d, ok := parseDate(v)
		if !ok {
			errs[k] = append(errs[k], "The "+human(k)+" does not match the format Y-m-d.")
			continue
		}
		dates[k] = d
	}
	flags := map[string]bool{}
	for _, k := range []string{"half_day_start", "half_day_end"} {
		v := form.Get(k)
		if v == "" {
			errs[k] = append(errs[k], "The "+human(k)+" field is required.")
			continue
		}
		b, ok := parseFlag(v)
		if !ok {
			errs[k] = append(errs[k], "The "+human(k)+" field must be true or false.")
			continue
		}
		flags[k] = b
	}
	skip := true // v1 default
	if v := form.Get("skip_approval"); v != "" {
		b, ok := parseFlag(v)
		if !ok {
			errs["skip_approval"] = append(errs["skip_approval"], "The skip approval field must be true or false.")
		}
		skip = b
	}
	if len(errs) == 0 && dates["end_date"].Before(dates["start_date"]) {
		errs["end_date"] = []string{"The end date must be a date after or equal to start date."}
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	start, end := dates["start_date"], dates["end_date"]
	single := start.Equal(end)
	if single && flags["half_day_start"] && flags["half_day_end"] {
		// Since 2025-01-24 (CL "Absence Period Creation Update").
		writeV1Error(w, http.StatusBadRequest, 400, "Invalid absence day. Reason: Both half day start and half day end are true for a single-day period")
		return
	}
	p := AbsencePeriod{PersonID: ints["employee_id"], Start: start, End: &end, TimezoneID: "Europe/Berlin",
		Comment: form.Get("comment"), SkipApproval: skip, CreatedViaAPI: true}
	if flags["half_day_start"] {
		p.StartHalf = "SECOND_HALF"
	}
	if flags["half_day_end"] {
		p.EndHalf = "FIRST_HALF"
	}
	s.mu.Lock()
	var typ *TimeOffType
	for i := range s.types {
		if s.types[i].ID == ints["time_off_type_id"] && s.types[i].Unit == "day" {
			typ = &s.types[i]
		}
	}
	if typ == nil {
		s.mu.Unlock()
		// Hour-unit types belong to /company/absence-periods; assumption: the
		// day endpoint does not know them either.
		writeV1Error(w, http.StatusNotFound, 0, "Time-off type not found.")
		return
	}
	if _, ok := s.employees[p.PersonID]; !ok {
		s.mu.Unlock()
		writeV1Error(w, http.StatusNotFound, 0, "Employee not found.") // assumption: text undocumented
		return
	}
	p.TypeID = typ.IDv2
	if st, _ := s.validateAbsence(&p); st != 0 {
		s.mu.Unlock()
		// Overlaps: text undocumented; the documented 400 of this endpoint.
		writeV1Error(w, http.StatusBadRequest, 400, "Error when trying to insert absence period")
		return
	}
	p.Status = StatusApproved
	if !skip && typ.ApprovalRequired {
		p.Status = StatusPending
	}
	p.ID = s.uuid()
	p.CreatedAt = s.cfg.Now()
	p.UpdatedAt = p.CreatedAt
	cp := p
	s.storeAbsence(&cp)
	body := s.timeOffJSON(&cp, *typ)
	s.mu.Unlock()
	s.emit("absence-period.created", p.ID)
	writeJSON(w, http.StatusOK, v1OK(body))
}

// ---- attendances ----

var hhmm = regexp.MustCompile(`^\d\d:\d\d$`)

func parseClock(day time.Time, v string) (time.Time, bool) {
	if !hhmm.MatchString(v) {
		return time.Time{}, false
	}
	h, _ := strconv.Atoi(v[:2])
	m, _ := strconv.Atoi(v[3:])
	if h > 23 || m > 59 {
		return time.Time{}, false
	}
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute), true
}

func workEnd(p *AttendancePeriod) time.Time {
	if p.End == nil {
		return p.Start.Add(24 * time.Hour)
	}
	return *p.End
}

// breaksOf returns the BREAK periods of the person starting inside a WORK
// period. Callers hold s.mu.
func (s *Server) breaksOf(work *AttendancePeriod) []*AttendancePeriod {
	var out []*AttendancePeriod
	for _, id := range s.attByPerson[work.PersonID] {
		b, ok := s.attendances[id]
		if ok && b.Type == "BREAK" && !b.Start.Before(work.Start) && b.Start.Before(workEnd(work)) {
			out = append(out, b)
		}
	}
	return out
}

func breakMinutes(bs []*AttendancePeriod) int {
	n := 0
	for _, b := range bs {
		if b.End != nil {
			n += int(b.End.Sub(b.Start) / time.Minute)
		}
	}
	return n
}

// placeBreak positions v1 break minutes inside a WORK period: centred when
// the end is known, else from the start (assumption, see file comment).
func placeBreak(work *AttendancePeriod, minutes int) *AttendancePeriod {
	if minutes <= 0 {
		return nil
	}
	bs := work.Start
	if work.End != nil {
		bs = work.Start.Add(time.Duration((int(work.End.Sub(work.Start)/time.Minute)-minutes)/2) * time.Minute)
	}
	be := bs.Add(time.Duration(minutes) * time.Minute)
	return &AttendancePeriod{PersonID: work.PersonID, Type: "BREAK", Start: bs, End: &be, Status: work.Status}
}

func v1Status(st string) string {
	if st == StatusPending || st == StatusRejected {
		return strings.ToLower(st)
	}
	return "confirmed"
}

// onTimeOff reports whether an absence (not rejected) covers the day.
// Callers hold s.mu.
func (s *Server) onTimeOff(person int64, day time.Time) bool {
	d := &AbsencePeriod{Start: day, End: &day}
	for _, id := range s.absByPerson[person] {
		if a, ok := s.absences[id]; ok && a.Status != StatusRejected && absOverlap(d, a) {
			return true
		}
	}
	return false
}

// attendanceV1JSON renders a WORK period as a v1 AttendancePeriod. Callers hold s.mu.
func (s *Server) attendanceV1JSON(p *AttendancePeriod) map[string]any {
	var end, project any
	if p.End != nil {
		end = p.End.Format("15:04")
	}
	if p.ProjectID != "" {
		if pr, ok := s.projects[p.ProjectID]; ok {
			project = map[string]any{"id": s.v1ids.project(pr.ID), "type": "Project",
				"attributes": map[string]any{"name": pr.Name, "active": pr.Active}}
		}
	}
	day := truncDay(p.Start)
	return map[string]any{"id": s.v1ids.attendance(p.ID), "type": "AttendancePeriod", "attributes": map[string]any{
		"employee":       p.PersonID,
		"date":           day.Format("2006-01-02"),
		"start_time":     p.Start.Format("15:04"),
		"end_time":       end,
		"break":          breakMinutes(s.breaksOf(p)),
		"comment":        p.Comment,
		"updated_at":     v1Timestamp(p.UpdatedAt),
		"status":         v1Status(p.Status),
		"is_holiday":     false, // assumption: the simulator has no holiday calendar
		"is_on_time_off": s.onTimeOff(p.PersonID, day),
		"project":        project,
		"id_v2":          p.ID,
	}}
}

// parseV1Updated accepts a date, or a date-time with or without zone
// (company-local when without); dates cover the whole day.
func parseV1Updated(v string, endOfDay bool) (time.Time, bool) {
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation(localLayout, v, berlin); err == nil {
		return t, true
	}
	if d, ok := parseDate(v); ok {
		t := berlinMidnight(d)
		if endOfDay {
			t = berlinMidnight(d.AddDate(0, 0, 1)).Add(-time.Nanosecond)
		}
		return t, true
	}
	return time.Time{}, false
}

// v1ListAttendances lists WORK periods as v1 attendances: start_date and
// end_date required (1970-01-01 … today+10y), record offset, 0-based
// current_page, default limit 200, only confirmed periods unless
// includePending.
func (s *Server) v1ListAttendances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, okFrom := parseDate(q.Get("start_date"))
	to, okTo := parseDate(q.Get("end_date"))
	if !okFrom || !okTo {
		// Assumption: text undocumented.
		writeV1Error(w, http.StatusBadRequest, 400, "The start date and end date are required and must be dates (YYYY-MM-DD).")
		return
	}
	now := s.cfg.Now()
	if from.Before(Date(1970, 1, 1)) || to.After(Date(now.Year()+10, now.Month(), now.Day())) || to.Before(from) {
		writeV1Error(w, http.StatusBadRequest, 400, "The requested period must lie between 1970-01-01 and 10 years from today.")
		return
	}
	limit, offset, ok := v1LimitOffset(w, q)
	if !ok {
		return
	}
	var updFrom, updTo time.Time
	if v := q.Get("updated_from"); v != "" {
		t, ok := parseV1Updated(v, false)
		if !ok {
			writeV1Error(w, http.StatusBadRequest, 400, "The updated from must be a valid date.")
			return
		}
		updFrom = t
	}
	if v := q.Get("updated_to"); v != "" {
		t, ok := parseV1Updated(v, true)
		if !ok {
			writeV1Error(w, http.StatusBadRequest, 400, "The updated to must be a valid date.")
			return
		}
		updTo = t
	}
	pending, _ := strconv.ParseBool(q.Get("includePending"))
	emps, ok := employeeFilter(q)
	if !ok {
		writeV1Error(w, http.StatusBadRequest, 400, "The employees must be a list of integer ids.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sel []*AttendancePeriod
	for _, id := range s.attOrder {
		p, ok := s.attendances[id]
		if !ok || p.Type != "WORK" {
			continue
		}
		day := truncDay(p.Start)
		switch {
		case day.Before(from) || day.After(to):
			continue
		case !pending && p.Status != StatusConfirmed:
			continue
		case emps != nil && !emps[p.PersonID]:
			continue
		case !updFrom.IsZero() && p.UpdatedAt.Before(updFrom):
			continue
		case !updTo.IsZero() && p.UpdatedAt.After(updTo):
			continue
		}
		sel = append(sel, p)
	}
	data := []any{}
	for i := offset; i < len(sel) && i < offset+limit; i++ {
		data = append(data, s.attendanceV1JSON(sel[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true,
		"metadata": map[string]any{
			"total_elements": len(sel),
			"current_page":   offset / limit, // 0-based
			"total_pages":    (len(sel) + limit - 1) / limit,
		},
		"offset": offset,
		"limit":  limit,
		"data":   data,
	})
}

// attendanceRow is one row of a v1 attendance write, as sent.
type attendanceRow struct {
	Employee  *int64  `json:"employee"`
	Date      *string `json:"date"`
	StartTime *string `json:"start_time"`
	EndTime   *string `json:"end_time"`
	Break     *int    `json:"break"`
	Comment   *string `json:"comment"`
	ProjectID *int64  `json:"project_id"`
}

// echo renders a row for detailed_message.
func (a attendanceRow) echo(ok bool, msg string, id int64) map[string]any {
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	out := map[string]any{"success": ok, "error_msg": nil, "id": nil, "employee": nil,
		"date": str(a.Date), "start_time": str(a.StartTime), "end_time": str(a.EndTime),
		"break": nil, "comment": "", "project_id": nil}
	if !ok {
		out["error_msg"] = msg
	} else {
		out["id"] = id
	}
	if a.Employee != nil {
		out["employee"] = *a.Employee
	}
	if a.Break != nil {
		out["break"] = *a.Break
	}
	if a.Comment != nil {
		out["comment"] = *a.Comment
	}
	if a.ProjectID != nil {
		out["project_id"] = *a.ProjectID
	}
	return out
}

// Row error texts: the first two are documented (notes §4.1), the others
// are assumptions.
const (
	msgOverlap       = "Existing overlapping attendances periods"
	msgStartEnd      = "Start time has to be smaller than end time"
	msgEmployee      = "The employee does not exist."
	msgDate          = "The date must be a valid date (YYYY-MM-DD)."
	msgTime          = "The time must have the format HH:MM."
	msgBreak         = "The break is required and must be an integer of at least 0."
	msgBreakTooLong  = "The break has to be shorter than the attendance period."
	msgProject       = "The project does not exist or is not active."
	msgInsertRows    = "Error when trying to insert Attendances periods rows"
	msgMaxEmployees  = "Attendances of at most 100 employees can be created per request."
	msgInvalidBody   = "Bad Request"
	msgNotFoundV1Att = "The attendance period was not found."
)

// buildAttendance turns a complete row into a WORK period and its BREAK, or
// a row error. Callers hold s.mu.
func (s *Server) buildAttendance(a attendanceRow, status string) (*AttendancePeriod, *AttendancePeriod, string) {
	if a.Employee == nil || s.employees[*a.Employee] == nil {
		return nil, nil, msgEmployee
	}
	if a.Date == nil {
		return nil, nil, msgDate
	}
	day, ok := parseDate(*a.Date)
	if !ok {
		return nil, nil, msgDate
	}
	if a.StartTime == nil {
		return nil, nil, msgTime
	}
	st, ok := parseClock(day, *a.StartTime)
	if !ok {
		return nil, nil, msgTime
	}
	work := &AttendancePeriod{PersonID: *a.Employee, Type: "WORK", Start: st, Status: status}
	if a.EndTime != nil {
		en, ok := parseClock(day, *a.EndTime)
		if !ok {
			return nil, nil, msgTime
		}
		if !en.After(st) {
			return nil, nil, msgStartEnd
		}
		work.End = &en
	}
	if a.Break == nil || *a.Break < 0 {
		return nil, nil, msgBreak
	}
	if work.End != nil && *a.Break >= int(work.End.Sub(work.Start)/time.Minute) {
		return nil, nil, msgBreakTooLong
	}
	if a.Comment != nil {
		work.Comment = *a.Comment
	}
	if a.ProjectID != nil {
		pid := s.v1ids.projByID[*a.ProjectID]
		if pr, ok := s.projects[pid]; !ok || !pr.Active {
			return nil, nil, msgProject
		}
		work.ProjectID = pid
	}
	brk := placeBreak(work, *a.Break)
	if _, msg := s.validateAttendance(work); msg != "" {
		if strings.HasPrefix(msg, "Overlapping") {
			return nil, nil, msgOverlap
		}
		return nil, nil, msg
	}
	if brk != nil {
		if _, msg := s.validateAttendance(brk); msg != "" {
			return nil, nil, msgOverlap
		}
	}
	return work, brk, ""
}

// store saves a new WORK period (and BREAK) and returns its v1 id and the
// new period ids. Callers hold s.mu.
func (s *Server) storeV1Attendance(work, brk *AttendancePeriod) (int64, []string) {
	now := s.cfg.Now()
	var ids []string
	for _, p := range []*AttendancePeriod{work, brk} {
		if p == nil {
			continue
		}
		p.ID = s.uuid()
		p.CreatedAt, p.UpdatedAt = now, now
		s.storeAttendance(p)
		ids = append(ids, p.ID)
	}
	return s.v1ids.attendance(work.ID), ids
}

// readAttendanceRows reads the bulk body: JSON {"attendances":[…],
// "skip_approval":…} or the form `attendances[<n>][<field>]`.
func readAttendanceRows(r *http.Request) ([]attendanceRow, bool, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var b struct {
			Attendances  []attendanceRow `json:"attendances"`
			SkipApproval *bool           `json:"skip_approval"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			return nil, false, false
		}
		skip := b.SkipApproval == nil || *b.SkipApproval
		return b.Attendances, skip, true
	}
	if err := r.ParseForm(); err != nil {
		return nil, false, false
	}
	key := regexp.MustCompile(`^attendances\[(\d+)\]\[(\w+)\]$`)
	rows := map[int]*attendanceRow{}
	for k, vs := range r.PostForm {
		m := key.FindStringSubmatch(k)
		if m == nil || len(vs) == 0 {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if rows[i] == nil {
			rows[i] = &attendanceRow{}
		}
		row, v := rows[i], vs[0]
		switch m[2] {
		case "employee", "project_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, false, false
			}
			if m[2] == "employee" {
				row.Employee = &n
			} else {
				row.ProjectID = &n
			}
		case "break":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, false, false
			}
			row.Break = &n
		case "date":
			row.Date = &v
		case "start_time":
			row.StartTime = &v
		case "end_time":
			row.EndTime = &v
		case "comment":
			row.Comment = &v
		}
	}
	idx := make([]int, 0, len(rows))
	for i := range rows {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]attendanceRow, 0, len(idx))
	for _, i := range idx {
		out = append(out, *rows[i])
	}
	skip := true
	if v := r.PostForm.Get("skip_approval"); v != "" {
		skip, _ = parseFlag(v)
	}
	return out, skip, true
}

// v1CreateAttendances is the bulk POST: valid rows are stored even when
// others fail; then the answer is 400 with one detailed_message entry per
// row (CL "improved failure handling for attendance batch POST").
func (s *Server) v1CreateAttendances(w http.ResponseWriter, r *http.Request) {
	rows, skip, ok := readAttendanceRows(r)
	if !ok || len(rows) == 0 {
		writeV1Error(w, http.StatusBadRequest, 400, msgInvalidBody)
		return
	}
	emps := map[int64]bool{}
	for _, a := range rows {
		if a.Employee != nil {
			emps[*a.Employee] = true
		}
	}
	if len(emps) > 100 {
		writeV1Error(w, http.StatusBadRequest, 400, msgMaxEmployees)
		return
	}
	status := StatusConfirmed
	if !skip {
		status = StatusPending
	}
	s.mu.Lock()
	var details []any
	var ids []int64
	var created []string
	failed := false
	for _, a := range rows {
		work, brk, msg := s.buildAttendance(a, status)
		if msg != "" {
			failed = true
			details = append(details, a.echo(false, msg, 0))
			continue
		}
		id, pids := s.storeV1Attendance(work, brk)
		created = append(created, pids...)
		ids = append(ids, id)
		details = append(details, a.echo(true, "", id))
	}
	s.mu.Unlock()
	for _, id := range created {
		s.emit("attendance-period.created", id)
	}
	if failed {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": map[string]any{
			"code": 400, "message": msgInsertRows, "detailed_message": details}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"id": ids, "message": "success"}})
}

// workByPath finds the WORK period behind a v1 attendance id; status 0
// means found. Callers hold s.mu.
func (s *Server) workByPath(r *http.Request) (*AttendancePeriod, int) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return nil, http.StatusBadRequest
	}
	p, ok := s.attendances[s.v1ids.attendanceByID[n]]
	if !ok || p.Type != "WORK" {
		return nil, http.StatusNotFound
	}
	return p, 0
}

// v1PatchAttendance changes a v1 attendance: any of date, start_time,
// end_time, break, comment, project_id, skip_approval (≥1); the employee
// cannot change. Breaks are re-placed when times or break change.
func (s *Server) v1PatchAttendance(w http.ResponseWriter, r *http.Request) {
	var raw presence
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || len(raw) == 0 || raw.has("employee") {
		writeV1Error(w, http.StatusBadRequest, 400, msgInvalidBody)
		return
	}
	var b attendanceRow
	var skipB struct {
		SkipApproval *bool `json:"skip_approval"`
	}
	enc, _ := json.Marshal(raw)
	if err := json.Unmarshal(enc, &b); err != nil || json.Unmarshal(enc, &skipB) != nil {
		writeV1Error(w, http.StatusBadRequest, 400, msgInvalidBody)
		return
	}
	s.mu.Lock()
	cur, st := s.workByPath(r)
	if st != 0 {
		s.mu.Unlock()
		if st == http.StatusBadRequest {
			writeV1Error(w, st, 400, msgInvalidBody)
		} else {
			writeV1Error(w, st, 404, msgNotFoundV1Att)
		}
		return
	}
	oldBreaks := s.breaksOf(cur)
	// Complete the row with the current values, then validate it as a new one.
	emp, date, start := cur.PersonID, truncDay(cur.Start).Format("2006-01-02"), cur.Start.Format("15:04")
	row := attendanceRow{Employee: &emp, Date: &date, StartTime: &start, Comment: &cur.Comment}
	if cur.End != nil {
		e := cur.End.Format("15:04")
		row.EndTime = &e
	}
	mins := breakMinutes(oldBreaks)
	row.Break = &mins
	if cur.ProjectID != "" {
		pid := s.v1ids.project(cur.ProjectID)
		row.ProjectID = &pid
	}
	if raw.has("date") {
		row.Date = b.Date
	}
	if raw.has("start_time") {
		row.StartTime = b.StartTime
	}
	if raw.has("end_time") {
		row.EndTime = b.EndTime
	}
	if raw.has("break") {
		row.Break = b.Break
	}
	if raw.has("comment") {
		c := ""
		if b.Comment != nil {
			c = *b.Comment
		}
		row.Comment = &c
	}
	if raw.has("project_id") {
		row.ProjectID = b.ProjectID
	}
	status := StatusConfirmed
	if skipB.SkipApproval != nil && !*skipB.SkipApproval {
		status = StatusPending
	}
	// Validate without the period itself and its breaks.
	delete(s.attendances, cur.ID)
	for _, o := range oldBreaks {
		delete(s.attendances, o.ID)
	}
	work, brk, msg := s.buildAttendance(row, status)
	if msg != "" {
		s.attendances[cur.ID] = cur
		for _, o := range oldBreaks {
			s.attendances[o.ID] = o
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": map[string]any{
			"code": 400, "message": msgInsertRows + ".", "detailed_message": []any{row.echo(false, msg, 0)}}})
		return
	}
	s.attendances[cur.ID] = cur
	if !raw.has("date") && !raw.has("start_time") && !raw.has("end_time") && !raw.has("break") {
		// Times unchanged: the breaks stay as they are (with their ids).
		for _, o := range oldBreaks {
			s.attendances[o.ID] = o
		}
		oldBreaks, brk = nil, nil
	}
	work.ID, work.CreatedAt, work.UpdatedAt = cur.ID, cur.CreatedAt, s.cfg.Now()
	work.IsAutoGenerated = cur.IsAutoGenerated
	*cur = *work
	var created []string
	if brk != nil {
		brk.ID = s.uuid()
		brk.CreatedAt, brk.UpdatedAt = work.UpdatedAt, work.UpdatedAt
		s.storeAttendance(brk)
		created = append(created, brk.ID)
	}
	s.mu.Unlock()
	for _, o := range oldBreaks {
		s.emit("attendance-period.deleted", o.ID)
	}
	for _, id := range created {
		s.emit("attendance-period.created", id)
	}
	s.emit("attendance-period.updated", cur.ID)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"message": "The attendance period was updated."}})
}

// v1DeleteAttendance deletes the WORK period and the breaks inside it.
func (s *Server) v1DeleteAttendance(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cur, st := s.workByPath(r)
	var gone []string
	if st == 0 {
		for _, b := range s.breaksOf(cur) {
			delete(s.attendances, b.ID)
			gone = append(gone, b.ID)
		}
		delete(s.attendances, cur.ID)
		gone = append(gone, cur.ID)
	}
	s.mu.Unlock()
	switch st {
	case http.StatusBadRequest:
		writeV1Error(w, st, 400, msgInvalidBody)
	case http.StatusNotFound:
		writeV1Error(w, st, 404, msgNotFoundV1Att)
	default:
		for _, id := range gone {
			s.emit("attendance-period.deleted", id)
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]any{"message": "The attendance period was deleted."}})
	}
}
