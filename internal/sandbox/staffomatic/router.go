package staffomaticsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type route struct {
	methods []string
	pattern string
	parts   []string
	h       func(*reqCtx)
}

var routes []*route

func handle(methods, pattern string, h func(*reqCtx)) {
	routes = append(routes, &route{
		methods: strings.Split(methods, "|"),
		pattern: pattern,
		parts:   strings.Split(strings.Trim(pattern, "/"), "/"),
		h:       h,
	})
}

// match finds the route of a method and path, and its numeric parameters.
func match(method, path string) (*route, map[string]int64) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range routes {
		if len(rt.parts) != len(segs) || !slices.Contains(rt.methods, method) {
			continue
		}
		params := map[string]int64{}
		ok := true
		for i, p := range rt.parts {
			if strings.HasPrefix(p, "{") {
				n, err := strconv.ParseInt(segs[i], 10, 64)
				if err != nil || n <= 0 {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = n
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

func init() {
	handle("GET", "/account", getAccount)
	handle("PUT|PATCH", "/account", updateAccount)
	handle("GET", "/user", getMe)

	handle("GET", "/locations", listLocations)
	handle("POST", "/locations", createLocation)
	handle("GET", "/locations/{lid}", getLocation)

	handle("GET", "/users", listUsers)
	handle("GET", "/locations/{lid}/users", listUsers)
	handle("POST", "/users", createUser)
	handle("POST", "/locations/{lid}/users", createUser)
	handle("GET", "/users/{id}", getUser)
	handle("GET", "/locations/{lid}/users/{id}", getUser)
	handle("PUT|PATCH", "/users/{id}", updateUser)
	handle("PUT|PATCH", "/locations/{lid}/users/{id}", updateUser)
	handle("DELETE", "/users/{id}", deleteUser)
	handle("DELETE", "/locations/{lid}/users/{id}", deleteUser)

	handle("GET", "/departments", listDepartments)
	handle("GET", "/locations/{lid}/departments", listDepartments)
	handle("GET", "/departments/{id}", getDepartment)
	handle("GET", "/locations/{lid}/departments/{id}", getDepartment)
	handle("POST", "/locations/{lid}/departments", createDepartment)
	handle("PUT|PATCH", "/departments/{id}", updateDepartment)
	handle("PUT|PATCH", "/locations/{lid}/departments/{id}", updateDepartment)
	handle("PUT|PATCH", "/departments/{id}/add_users", departmentAddUsers)
	handle("PUT|PATCH", "/locations/{lid}/departments/{id}/add_users", departmentAddUsers)
	handle("PUT|PATCH", "/departments/{id}/remove_users", departmentRemoveUsers)
	handle("PUT|PATCH", "/locations/{lid}/departments/{id}/remove_users", departmentRemoveUsers)
	handle("DELETE", "/departments/{id}", deleteDepartment)
	handle("DELETE", "/locations/{lid}/departments/{id}", deleteDepartment)

	handle("GET", "/absence_types", listAbsenceTypes)
	handle("GET", "/locations/{lid}/absence_types", listAbsenceTypes)
	handle("GET", "/absence_types/{id}", getAbsenceType)
	handle("GET", "/locations/{lid}/absence_types/{id}", getAbsenceType)
	handle("POST", "/locations/{lid}/absence_types", createAbsenceType)
	handle("PUT|PATCH", "/absence_types/{id}", updateAbsenceType)
	handle("PUT|PATCH", "/locations/{lid}/absence_types/{id}", updateAbsenceType)
	handle("DELETE", "/absence_types/{id}", deleteAbsenceType)
	handle("DELETE", "/locations/{lid}/absence_types/{id}", deleteAbsenceType)

	handle("GET", "/absences", listAbsences)
	handle("GET", "/locations/{lid}/absences", listAbsences)
	handle("GET", "/absences/{id}", getAbsence)
	handle("GET", "/locations/{lid}/absences/{id}", getAbsence)
	handle("POST", "/absences", createAbsence)
	handle("POST", "/locations/{lid}/absences", createAbsence)
	handle("PUT|PATCH", "/absences/{id}", updateAbsence)
	handle("PUT|PATCH", "/locations/{lid}/absences/{id}", updateAbsence)
	handle("DELETE", "/absences/{id}", deleteAbsence)
	handle("DELETE", "/locations/{lid}/absences/{id}", deleteAbsence)

	handle("GET", "/work_timers", listWorkTimers)
	handle("GET", "/locations/{lid}/work_timers", listWorkTimers)
	handle("GET", "/work_timers/{id}", getWorkTimer)
	handle("POST", "/work_timers", createWorkTimer)
	handle("POST", "/locations/{lid}/work_timers", createWorkTimer)
	handle("PUT|PATCH", "/work_timers/{id}", updateWorkTimer)
	handle("DELETE", "/work_timers/{id}", deleteWorkTimer)

	handle("GET", "/break_timers", listBreakTimers)
	handle("GET", "/work_timers/{wid}/break_timers", listBreakTimers)
	handle("GET", "/break_timers/{id}", getBreakTimer)
	handle("POST", "/break_timers", createBreakTimer)
	handle("POST", "/work_timers/{wid}/break_timers", createBreakTimer)
	handle("PUT|PATCH", "/break_timers/{id}", updateBreakTimer)
	handle("DELETE", "/break_timers/{id}", deleteBreakTimer)

	handle("GET", "/work_reports", listWorkReports)
	handle("GET", "/locations/{lid}/work_reports", listWorkReports)
	handle("GET", "/work_reports/{id}", getWorkReport)

	handle("GET", "/events", listEvents)
	handle("GET", "/locations/{lid}/events", listEvents)
}

// ---- query helpers ---------------------------------------------------------------------

func (rc *reqCtx) query() url.Values { return rc.r.URL.Query() }

// list returns the values of a Rails array parameter: key[]=1&key[]=2, key=1, or key=1,2.
func (rc *reqCtx) list(key string) []string {
	q := rc.query()
	var out []string
	for _, v := range append(q[key+"[]"], q[key]...) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(strings.Trim(p, "[]")); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (rc *reqCtx) idList(key string) (map[int64]bool, bool) {
	vals := rc.list(key)
	if len(vals) == 0 {
		return nil, true
	}
	m := map[int64]bool{}
	for _, v := range vals {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			rc.fail(http.StatusBadRequest, "invalid "+key)
			return nil, false
		}
		m[n] = true
	}
	return m, true
}

// window parses from/until; a zero time means unbounded.
func (rc *reqCtx) window() (time.Time, time.Time, bool) {
	var out [2]time.Time
	for i, k := range []string{"from", "until"} {
		v := rc.query().Get(k)
		if v == "" {
			continue
		}
		t, ok := parseTime(v, rc.a.loc)
		if !ok {
			rc.fail(http.StatusBadRequest, "invalid "+k+" timestamp")
			return time.Time{}, time.Time{}, false
		}
		out[i] = t
	}
	return out[0], out[1], true
}

// parseTime accepts the shapes clients send: RFC 3339 with or without fractions, a space
// instead of the T (the 2017 Ruby client sent "2014-12-08 03:30:00.000+02:00"), and plain
// dates (midnight in the account zone).
func parseTime(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// page applies the documented pagination: ?page=N (1-based), PageSize records a page,
// an empty array after the last record. per_page is not supported [doc silent].
func page[T any](rc *reqCtx, items []T) []T {
	p := rc.pageNumber()
	size := rc.s.cfg.PageSize
	if p-1 > len(items)/size { // beyond the end; (p-1)·size could overflow
		return []T{}
	}
	start := (p - 1) * size
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+size, len(items))]
}

// ---- body helpers ----------------------------------------------------------------------

func (rc *reqCtx) has(k string) bool {
	v, ok := rc.body[k]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (rc *reqCtx) str(k string) (string, bool) {
	v, ok := rc.body[k]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String(), true
	}
	return "", bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (rc *reqCtx) int(k string) (int64, bool) {
	s, ok := rc.str(k)
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (rc *reqCtx) float(k string) (*float64, bool) {
	s, ok := rc.str(k)
	if !ok {
		return nil, false
	}
	if s == "" {
		return nil, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return &f, true
}

// bool accepts JSON booleans and the strings "true"/"false"/"1"/"0" (the docs send
// "commentable":"true").
func (rc *reqCtx) bool(k string, def bool) bool {
	v, ok := rc.body[k]
	if !ok {
		return def
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	s, _ := rc.str(k)
	switch strings.ToLower(s) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}

func (rc *reqCtx) time(k string) (time.Time, bool, bool) {
	s, ok := rc.str(k)
	if !ok || s == "" {
		return time.Time{}, false, true
	}
	t, valid := parseTime(s, rc.a.loc)
	return t, true, valid
}

func (rc *reqCtx) ids(k string) ([]int64, bool) {
	v, ok := rc.body[k]
	if !ok {
		return nil, true
	}
	var raw []json.RawMessage
	if json.Unmarshal(v, &raw) != nil {
		return nil, false
	}
	out := make([]int64, 0, len(raw))
	for _, r := range raw {
		var n json.Number
		var s string
		switch {
		case json.Unmarshal(r, &n) == nil:
		case json.Unmarshal(r, &s) == nil:
			n = json.Number(s)
		default:
			return nil, false
		}
		id, err := n.Int64()
		if err != nil {
			return nil, false
		}
		out = append(out, id)
	}
	return out, true
}

func (rc *reqCtx) do() string {
	s, _ := rc.str("do")
	return s
}
