package personiosim_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// periodsEnv is a small company with a fixed clock: one employee, a day
// type needing approval, a day type without, an hour type.
type periodsEnv struct {
	*fixture
	alan                   personiosim.Employee
	vacation, sick, office personiosim.TimeOffType
}

func newPeriodsEnv(t *testing.T, cfg personiosim.Config) *periodsEnv {
	t.Helper()
	if cfg.RateLimits == nil {
		cfg.NoRateLimits = true
	}
	cfg.Now = func() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) }
	sim := personiosim.New(cfg)
	sim.AddCredential(personiosim.Credential{ClientID: "id", ClientSecret: "secret"})
	e := &periodsEnv{fixture: &fixture{sim: sim}}
	e.alan = sim.AddEmployee(personiosim.Employee{FirstName: "Alan", LastName: "Turing", Email: "alan@example.org"})
	e.vacation = sim.AddTimeOffType(personiosim.TimeOffType{Name: "vacation", Category: "paid_vacation", Unit: "day", ApprovalRequired: true})
	e.sick = sim.AddTimeOffType(personiosim.TimeOffType{Name: "sick", Category: "sick_leave", Unit: "day"})
	e.office = sim.AddTimeOffType(personiosim.TimeOffType{Name: "Homeoffice", Category: "offsite_work", Unit: "hour"})
	e.srv = httptest.NewServer(sim)
	t.Cleanup(func() { e.srv.Close(); sim.Close() })
	return e
}

func recorded(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(refDir(t), "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// sameShape checks that every field of the recorded value exists in got
// with the same JSON type (recursively; arrays by their first items).
func sameShape(t *testing.T, path string, rec, got any) {
	t.Helper()
	if rec == nil {
		return
	}
	if kind(rec) != kind(got) {
		t.Errorf("%s: recorded %s, simulator %s (%v)", path, kind(rec), kind(got), got)
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, v := range r {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing in simulator response", path, k)
				continue
			}
			sameShape(t, path+"."+k, v, gv)
		}
	case []any:
		if g := got.([]any); len(r) > 0 && len(g) > 0 {
			sameShape(t, path+"[0]", r[0], g[0])
		}
	}
}

func jsonEqual(t *testing.T, what, raw, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatalf("%s: %v in %s", what, err, raw)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.TrimSpace(raw), want)
	}
}

func itemAttrs(r resp, i int) map[string]any {
	return r.body["data"].([]any)[i].(map[string]any)["attributes"].(map[string]any)
}

func TestV1TimeOffsShapeAndHalfDays(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	day := personiosim.Date(2026, 9, 1) // a Tuesday
	e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: e.alan.ID, TypeID: e.vacation.IDv2, Start: day, End: &day,
		EndHalf: "FIRST_HALF", Comment: "marathon starts at noon"})
	end := personiosim.Date(2026, 8, 20)
	e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: e.alan.ID, TypeID: e.vacation.IDv2, Start: personiosim.Date(2026, 8, 7), End: &end})
	tok := e.v1Token(t)
	r := e.do(t, "GET", "/v1/company/time-offs", "", "", tok)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	for _, f := range []string{"v1-time-offs-list-page1.at-gmbh.json", "v1-time-offs-list.giantswarm.json"} {
		sameShape(t, f, recorded(t, f), r.body)
	}
	half := itemAttrs(r, 0)
	if half["days_count"] != 0.5 || half["half_day_start"] != 0.0 || half["half_day_end"] != 1.0 ||
		half["start_date"] != "2026-09-01T00:00:00+02:00" || half["status"] != "approved" || half["created_by"] != "Alan Turing" {
		t.Fatalf("half day %v", half)
	}
	if !strings.Contains(r.raw, `"half_day_end":1`) || strings.Contains(r.raw, `"half_day_end":true`) {
		t.Fatal("half-day flags must be the integers 0/1")
	}
	if whole := itemAttrs(r, 1); whole["days_count"] != 10.0 || whole["end_date"] != "2026-08-20T00:00:00+02:00" {
		t.Fatalf("two weeks %v", whole)
	}
	if m := r.body["metadata"].(map[string]any); m["current_page"] != 1.0 || m["total_pages"] != 1.0 || m["total_elements"] != 2.0 {
		t.Fatalf("metadata %v", m)
	}
}

func TestV1TimeOffsPageNumberOffsets(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	other := e.sim.AddEmployee(personiosim.Employee{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org"})
	var want []string
	for i := range 7 {
		d := personiosim.Date(2026, 4, 6).AddDate(0, 0, 7*i)
		p := e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: e.alan.ID, TypeID: e.sick.IDv2, Start: d, End: &d})
		want = append(want, p.ID)
		e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: other.ID, TypeID: e.sick.IDv2, Start: d, End: &d})
	}
	hour := personiosim.Local(2026, 4, 8, 10, 0)
	e.sim.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: e.alan.ID, TypeID: e.office.IDv2, Start: hour, End: &hour}) // hour unit: not a time-off
	tok := e.v1Token(t)
	q := "/v1/company/time-offs?limit=3&employees[]=" + itoa(e.alan.ID)
	first := e.do(t, "GET", q+"&offset=0", "", "", tok)
	if again := e.do(t, "GET", q+"&offset=1", "", "", tok); again.raw != first.raw {
		t.Fatalf("offset 0 and 1 must both be the first page:\n%s\n%s", first.raw, again.raw)
	}
	var got []string
	for page := 1; ; page++ {
		r := e.do(t, "GET", q+"&offset="+itoa(int64(page)), "", "", tok)
		m := r.body["metadata"].(map[string]any)
		if r.status != 200 || m["current_page"] != float64(page) || m["total_pages"] != 3.0 || m["total_elements"] != 7.0 || r.body["offset"] != float64(page) {
			t.Fatalf("page %d: %d %v", page, r.status, m)
		}
		for _, it := range r.body["data"].([]any) {
			got = append(got, it.(map[string]any)["attributes"].(map[string]any)["id_v2"].(string))
		}
		if m["current_page"] == m["total_pages"] {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pages returned %v, want %v", got, want)
	}
	if r := e.do(t, "GET", q+"&offset=4", "", "", tok); len(r.body["data"].([]any)) != 0 {
		t.Fatalf("past the last page: %s", r.raw)
	}
	if r := e.do(t, "GET", "/v1/company/time-offs?limit=201", "", "", tok); r.status != 400 {
		t.Fatalf("limit 201: %d", r.status)
	}
	// start_date/end_date keep periods lying fully inside the window.
	r := e.do(t, "GET", "/v1/company/time-offs?start_date=2026-04-13&end_date=2026-04-20&employees[]="+itoa(e.alan.ID)+"&employees[]="+itoa(other.ID), "", "", tok)
	if n := len(r.body["data"].([]any)); n != 4 {
		t.Fatalf("window: %d items", n)
	}
}

func TestV1TimeOffWrites(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	tok := e.v1Token(t)
	emp, sick, vac := itoa(e.alan.ID), itoa(e.sick.ID), itoa(e.vacation.ID)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const ct = "application/x-www-form-urlencoded"
	tests := []struct {
		name, ct, body string
		status         int
		want           string
	}{
		{"both half days on one day", ct, form("employee_id", emp, "time_off_type_id", sick, "start_date", "2026-05-04", "end_date", "2026-05-04", "half_day_start", "1", "half_day_end", "1"),
			400, `{"success":false,"error":{"code":400,"message":"Invalid absence day. Reason: Both half day start and half day end are true for a single-day period"}}`},
		{"unknown type", ct, form("employee_id", emp, "time_off_type_id", "999", "start_date", "2026-05-04", "end_date", "2026-05-04", "half_day_start", "0", "half_day_end", "0"),
			404, `{"success":false,"error":{"code":0,"message":"Time-off type not found."}}`},
		{"hour type", ct, form("employee_id", emp, "time_off_type_id", itoa(e.office.ID), "start_date", "2026-05-04", "end_date", "2026-05-04", "half_day_start", "0", "half_day_end", "0"),
			404, `{"success":false,"error":{"code":0,"message":"Time-off type not found."}}`},
		{"half-day flags required", "application/json", `{"employee_id":` + emp + `,"time_off_type_id":` + sick + `,"start_date":"2026-05-04","end_date":"2026-05-05"}`,
			422, `{"success":false,"error":{"code":0,"message":"The given data failed to pass validation.","error_data":{"half_day_start":["The half day start field is required."],"half_day_end":["The half day end field is required."]}}}`},
		{"end before start", ct, form("employee_id", emp, "time_off_type_id", sick, "start_date", "2026-05-04", "end_date", "2026-05-01", "half_day_start", "0", "half_day_end", "0"),
			422, `{"success":false,"error":{"code":0,"message":"The given data failed to pass validation.","error_data":{"end_date":["The end date must be a date after or equal to start date."]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/v1/company/time-offs", tt.ct, tt.body, tok)
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			jsonEqual(t, tt.name, r.raw, tt.want)
		})
	}

	// Form, half day at the end of a single day, default skip_approval=true.
	r := e.do(t, "POST", "/v1/company/time-offs", ct, form("employee_id", emp, "time_off_type_id", vac, "start_date", "2026-05-04",
		"end_date", "2026-05-04", "half_day_start", "0", "half_day_end", "1", "comment", "marathon"), tok)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	sameShape(t, "create", recorded(t, "v1-time-offs-create.at-gmbh.json"), r.body)
	a := r.body["data"].(map[string]any)["attributes"].(map[string]any)
	if a["days_count"] != 0.5 || a["half_day_end"] != 1.0 || a["created_by"] != "API" || a["status"] != "approved" || a["comment"] != "marathon" {
		t.Fatalf("created %v", a)
	}
	id := itoa(int64(a["id"].(float64)))
	if r := e.do(t, "POST", "/v1/company/time-offs", "application/json", `{"employee_id":`+emp+`,"time_off_type_id":`+sick+
		`,"start_date":"2026-05-01","end_date":"2026-05-06","half_day_start":false,"half_day_end":false}`, tok); r.status != 400 {
		t.Fatalf("overlap: %d %s", r.status, r.raw)
	} else {
		jsonEqual(t, "overlap", r.raw, `{"success":false,"error":{"code":400,"message":"Error when trying to insert absence period"}}`)
	}
	// JSON with booleans, skip_approval=false on a type needing approval.
	r = e.do(t, "POST", "/v1/company/time-offs", "application/json", `{"employee_id":`+emp+`,"time_off_type_id":`+vac+
		`,"start_date":"2026-06-05","end_date":"2026-06-08","half_day_start":true,"half_day_end":true,"skip_approval":false}`, tok)
	b := r.body["data"].(map[string]any)["attributes"].(map[string]any)
	if r.status != 200 || b["status"] != "pending" || b["days_count"] != 1.0 || b["half_day_start"] != 1.0 { // Fri ½ + Mon ½
		t.Fatalf("pending: %d %s", r.status, r.raw)
	}
	if g := e.do(t, "GET", "/v1/company/time-offs/"+id, "", "", tok); g.status != 200 || g.body["data"].(map[string]any)["attributes"].(map[string]any)["id_v2"] != a["id_v2"] {
		t.Fatalf("get: %d %s", g.status, g.raw)
	}

	del := e.do(t, "DELETE", "/v1/company/time-offs/"+id, "", "", tok)
	rec, _ := json.Marshal(recorded(t, "v1-time-offs-delete.at-gmbh.json"))
	if del.status != 200 {
		t.Fatalf("delete: %d", del.status)
	}
	jsonEqual(t, "delete", del.raw, string(rec))
	if r := e.do(t, "DELETE", "/v1/company/time-offs/"+id, "", "", tok); r.status != 404 {
		t.Fatalf("second delete: %d", r.status)
	} else {
		jsonEqual(t, "404", r.raw, `{"success":false,"error":{"code":404,"message":"The absence period was not found."}}`)
	}
	if r := e.do(t, "DELETE", "/v1/company/time-offs/abc", "", "", tok); r.status != 400 {
		t.Fatalf("bad id: %d", r.status)
	} else {
		jsonEqual(t, "400", r.raw, `{"success":false,"error":{"code":400,"message":"The absence period id is invalid."}}`)
	}
	for _, p := range e.sim.AbsencePeriods() {
		if p.ID == a["id_v2"] {
			t.Fatal("the deleted time-off is still stored")
		}
	}
}

func TestV1AndV2SeeTheSameAbsences(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	v1, v2 := e.v1Token(t), e.v2Token(t)
	r := e.do(t, "POST", "/v1/company/time-offs", "application/json", `{"employee_id":`+itoa(e.alan.ID)+`,"time_off_type_id":`+itoa(e.sick.ID)+
		`,"start_date":"2026-07-01","end_date":"2026-07-03","half_day_start":1,"half_day_end":0,"comment":"v1"}`, v1)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	idv2 := r.body["data"].(map[string]any)["attributes"].(map[string]any)["id_v2"].(string)
	g := e.do(t, "GET", "/v2/absence-periods/"+idv2, "", "", v2)
	if g.status != 200 || g.body["person"].(map[string]any)["id"] != itoa(e.alan.ID) || g.body["absence_type"].(map[string]any)["id"] != e.sick.IDv2 ||
		g.body["starts_from"].(map[string]any)["date_time"] != "2026-07-01T00:00:00" || g.body["starts_from"].(map[string]any)["type"] != "SECOND_HALF" ||
		g.body["ends_at"].(map[string]any)["date_time"] != "2026-07-03T00:00:00" || g.body["comment"] != "v1" {
		t.Fatalf("v1 time-off in v2: %d %s", g.status, g.raw)
	}
	c := e.do(t, "POST", "/v2/absence-periods?skip_approval=true", "application/json", `{"person":{"id":"`+itoa(e.alan.ID)+`"},"absence_type":{"id":"`+e.vacation.IDv2+
		`"},"starts_from":{"date_time":"2026-07-13T00:00:00"},"ends_at":{"date_time":"2026-07-17T00:00:00","type":"FIRST_HALF"}}`, v2)
	if c.status != 201 {
		t.Fatalf("v2 create %d %s", c.status, c.raw)
	}
	l := e.do(t, "GET", "/v1/company/time-offs?start_date=2026-07-10", "", "", v1)
	if len(l.body["data"].([]any)) != 1 {
		t.Fatalf("v1 list %s", l.raw)
	}
	if a := itemAttrs(l, 0); a["id_v2"] != c.body["id"] || a["half_day_end"] != 1.0 || a["days_count"] != 4.5 || a["created_by"] != "API" {
		t.Fatalf("v2 period in v1: %v", a)
	}
	if d := e.do(t, "DELETE", "/v2/absence-periods/"+c.body["id"].(string), "", "", v2); d.status != 204 {
		t.Fatalf("v2 delete %d", d.status)
	}
	if l := e.do(t, "GET", "/v1/company/time-offs?start_date=2026-07-10", "", "", v1); len(l.body["data"].([]any)) != 0 {
		t.Fatalf("deleted in v2, still in v1: %s", l.raw)
	}
}

func TestV1AttendancesBulkPartialFailure(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	tok := e.v1Token(t)
	emp := itoa(e.alan.ID)
	body := `{"attendances":[
		{"employee":` + emp + `,"date":"2026-03-02","start_time":"09:00","end_time":"18:00","break":60,"comment":"ok"},
		{"employee":` + emp + `,"date":"2026-03-02","start_time":"17:00","end_time":"19:00","break":0},
		{"employee":` + emp + `,"date":"2026-03-03","start_time":"12:00","end_time":"11:00","break":0},
		{"employee":` + emp + `,"date":"2026-03-03","start_time":"18:00","end_time":"20:00","break":15}]}`
	r := e.do(t, "POST", "/v1/company/attendances", "application/json", body, tok)
	if r.status != 400 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	// The valid rows were stored and their ids reported.
	list := e.do(t, "GET", "/v1/company/attendances?start_date=2026-03-01&end_date=2026-03-31", "", "", tok)
	if n := len(list.body["data"].([]any)); n != 2 {
		t.Fatalf("stored %d rows: %s", n, list.raw)
	}
	id0, id3 := list.body["data"].([]any)[0].(map[string]any)["id"], list.body["data"].([]any)[1].(map[string]any)["id"]
	want, _ := json.Marshal(map[string]any{"success": false, "error": map[string]any{"code": 400,
		"message": "Error when trying to insert Attendances periods rows",
		"detailed_message": []any{
			map[string]any{"success": true, "error_msg": nil, "id": id0, "employee": e.alan.ID, "date": "2026-03-02", "start_time": "09:00", "end_time": "18:00", "break": 60, "comment": "ok", "project_id": nil},
			map[string]any{"success": false, "error_msg": "Existing overlapping attendances periods", "id": nil, "employee": e.alan.ID, "date": "2026-03-02", "start_time": "17:00", "end_time": "19:00", "break": 0, "comment": "", "project_id": nil},
			map[string]any{"success": false, "error_msg": "Start time has to be smaller than end time", "id": nil, "employee": e.alan.ID, "date": "2026-03-03", "start_time": "12:00", "end_time": "11:00", "break": 0, "comment": "", "project_id": nil},
			map[string]any{"success": true, "error_msg": nil, "id": id3, "employee": e.alan.ID, "date": "2026-03-03", "start_time": "18:00", "end_time": "20:00", "break": 15, "comment": "", "project_id": nil},
		}}})
	jsonEqual(t, "partial failure", r.raw, string(want))
	sameShape(t, "list", recorded(t, "v1-attendances-list.at-gmbh.json"), list.body)
	a := itemAttrs(list, 0)
	if a["break"] != 60.0 || a["start_time"] != "09:00" || a["end_time"] != "18:00" || a["status"] != "confirmed" || a["date"] != "2026-03-02" {
		t.Fatalf("row %v", a)
	}
	// v2 sees WORK and BREAK periods, the 60 min break inside the work time.
	var work, brk int
	for _, p := range e.sim.AttendancePeriods() {
		switch {
		case p.Type == "WORK":
			work++
		case p.Type == "BREAK" && p.Start.Equal(personiosim.Local(2026, 3, 2, 13, 0)) && p.End.Equal(personiosim.Local(2026, 3, 2, 14, 0)):
			brk++
		}
	}
	if work != 2 || brk != 1 {
		t.Fatalf("v2 store: %d WORK, %d matching BREAK: %+v", work, brk, e.sim.AttendancePeriods())
	}

	// All rows valid (form, indexed keys): 200 with the id array, pending
	// without skip_approval and hidden unless includePending.
	ok := e.do(t, "POST", "/v1/company/attendances", "application/x-www-form-urlencoded",
		"attendances[0][employee]="+emp+"&attendances[0][date]=2026-03-04&attendances[0][start_time]=08:00&attendances[0][end_time]=12:00&attendances[0][break]=0&skip_approval=false", tok)
	if ok.status != 200 {
		t.Fatalf("create: %d %s", ok.status, ok.raw)
	}
	sameShape(t, "create", recorded(t, "v1-attendances-create.at-gmbh.json"), ok.body)
	if ids := ok.body["data"].(map[string]any)["id"].([]any); len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
	if l := e.do(t, "GET", "/v1/company/attendances?start_date=2026-03-04&end_date=2026-03-04", "", "", tok); len(l.body["data"].([]any)) != 0 {
		t.Fatalf("pending listed without includePending: %s", l.raw)
	}
	if l := e.do(t, "GET", "/v1/company/attendances?start_date=2026-03-04&end_date=2026-03-04&includePending=true", "", "", tok); len(l.body["data"].([]any)) != 1 || itemAttrs(l, 0)["status"] != "pending" {
		t.Fatalf("includePending: %s", l.raw)
	}
	if r := e.do(t, "GET", "/v1/company/attendances?end_date=2026-03-04", "", "", tok); r.status != 400 {
		t.Fatalf("start_date is required: %d", r.status)
	}
}

func TestV1AttendancesRecordOffsetsPatchDeleteAndV2(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{})
	v1, v2 := e.v1Token(t), e.v2Token(t)
	for d := 2; d <= 6; d++ {
		st, en := personiosim.Local(2026, 3, d, 8, 0), personiosim.Local(2026, 3, d, 16, 30)
		e.sim.AddAttendancePeriod(personiosim.AttendancePeriod{PersonID: e.alan.ID, Type: "WORK", Start: st, End: &en})
	}
	// A v2 BREAK inside the first WORK period shows as v1 break minutes.
	c := e.do(t, "POST", "/v2/attendance-periods?skip_approval=true", "application/json", `{"person":{"id":"`+itoa(e.alan.ID)+
		`"},"type":"BREAK","start":{"date_time":"2026-03-02T12:00:00"},"end":{"date_time":"2026-03-02T12:45:00"}}`, v2)
	if c.status != 201 {
		t.Fatalf("v2 break %d %s", c.status, c.raw)
	}
	q := "/v1/company/attendances?start_date=2026-03-01&end_date=2026-03-31&limit=2"
	var ids []float64
	for off := 0; ; off += 2 {
		r := e.do(t, "GET", q+"&offset="+itoa(int64(off)), "", "", v1)
		m := r.body["metadata"].(map[string]any)
		if m["current_page"] != float64(off/2) || m["total_pages"] != 3.0 || m["total_elements"] != 5.0 {
			t.Fatalf("offset %d: %v", off, m)
		}
		data := r.body["data"].([]any)
		if len(data) == 0 {
			break
		}
		for _, it := range data {
			ids = append(ids, it.(map[string]any)["id"].(float64))
		}
		if off == 0 && itemAttrs(r, 0)["break"] != 45.0 {
			t.Fatalf("v2 break not in v1: %v", itemAttrs(r, 0))
		}
	}
	if len(ids) != 5 {
		t.Fatalf("ids over record offsets %v", ids)
	}
	first := itoa(int64(ids[0]))
	p := e.do(t, "PATCH", "/v1/company/attendances/"+first, "application/json", `{"end_time":"17:00","break":30}`, v1)
	jsonEqual(t, "patch", p.raw, `{"success":true,"data":{"message":"The attendance period was updated."}}`)
	r := e.do(t, "GET", "/v1/company/attendances?start_date=2026-03-02&end_date=2026-03-02", "", "", v1)
	if a := itemAttrs(r, 0); a["end_time"] != "17:00" || a["break"] != 30.0 {
		t.Fatalf("patched %v", a)
	}
	bad := e.do(t, "PATCH", "/v1/company/attendances/"+first, "application/json", `{"start_time":"18:00"}`, v1)
	if bad.status != 400 || !strings.Contains(bad.raw, `"error_msg":"Start time has to be smaller than end time"`) {
		t.Fatalf("bad patch %d %s", bad.status, bad.raw)
	}
	jsonEqual(t, "delete", e.do(t, "DELETE", "/v1/company/attendances/"+first, "", "", v1).raw,
		`{"success":true,"data":{"message":"The attendance period was deleted."}}`)
	jsonEqual(t, "404", e.do(t, "PATCH", "/v1/company/attendances/"+first, "application/json", `{"break":5}`, v1).raw,
		`{"success":false,"error":{"code":404,"message":"The attendance period was not found."}}`)
	var left int
	for _, p := range e.sim.AttendancePeriods() {
		if p.Start.Day() == 2 {
			left++
		}
	}
	if left != 0 {
		t.Fatalf("%d periods of the deleted attendance remain in v2", left)
	}
}

func TestV1PeriodEndpointsLimitsFaultsCounts(t *testing.T) {
	e := newPeriodsEnv(t, personiosim.Config{RateLimits: map[personiosim.Family]personiosim.RateLimit{
		personiosim.FamilyTimeOffs: {PerSecond: 0.001, Burst: 2},
	}})
	tok := e.v1Token(t)
	var last resp
	for range 3 {
		last = e.do(t, "GET", "/v1/company/time-offs", "", "", tok)
	}
	if last.status != 429 || last.header.Get("Retry-After") != "" || last.header.Get("x-ratelimit-burst-capacity") != "2" {
		t.Fatalf("429: %d %v", last.status, last.header)
	}
	jsonEqual(t, "429", last.raw, `{"success":false,"error":{"code":429,"message":"Too Many Requests"}}`)
	if got := personiosim.DefaultRateLimits()[personiosim.FamilyAttendancesV1]; got.PerSecond <= 0 {
		t.Fatalf("no default limit for v1 attendances: %+v", got)
	}
	e.sim.InjectFault("POST /v1/company/attendances", 1, personiosim.Fault{Status: 502})
	r := e.do(t, "POST", "/v1/company/attendances", "application/json", `{"attendances":[{"employee":`+itoa(e.alan.ID)+`,"date":"2026-03-02","start_time":"09:00","break":0}]}`, tok)
	if r.status != 502 || len(e.sim.AttendancePeriods()) != 0 {
		t.Fatalf("fault: %d, stored %d", r.status, len(e.sim.AttendancePeriods()))
	}
	jsonEqual(t, "502", r.raw, `{"success":false,"error":{"code":502,"message":"Es ist ein Problem aufgetreten"}}`)
	if r := e.do(t, "POST", "/v1/company/attendances", "application/json", `{"attendances":[{"employee":`+itoa(e.alan.ID)+`,"date":"2026-03-02","start_time":"09:00","break":0}]}`, tok); r.status != 200 {
		t.Fatalf("after fault: %d %s", r.status, r.raw)
	}
	if n := e.sim.CallCount("POST /v1/company/attendances"); n != 2 {
		t.Fatalf("call count %d", n)
	}
	if n := e.sim.CallCount("GET /v1/company/time-offs"); n != 3 {
		t.Fatalf("call count %d", n)
	}
	if e.sim.WriteCalls() != 2 || e.sim.StatusCount(personiosim.FamilyTimeOffs, 429) != 1 {
		t.Fatalf("writes %d, 429s %d", e.sim.WriteCalls(), e.sim.StatusCount(personiosim.FamilyTimeOffs, 429))
	}
}
