package staffomaticsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/testref"
)

// refDir is shared/reference/staffomatic beside the repository.
func refDir(t *testing.T) string { return testref.Dir(t, "staffomatic") }

type recording struct {
	Interactions []struct {
		Request struct {
			Method  string              `json:"method"`
			URI     string              `json:"uri"`
			Headers map[string][]string `json:"headers"`
			Body    json.RawMessage     `json:"body"`
		} `json:"request"`
		Response struct {
			Status struct {
				Code int `json:"code"`
			} `json:"status"`
			Body json.RawMessage `json:"body"`
		} `json:"response"`
	} `json:"interactions"`
}

const recordedBase = "https://api.staffomaticapp.com/v3/<STAFFOMATIC_TEST_ACCOUNT>"

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tp(t time.Time) *time.Time { return &t }
func ip(v int64) *int64         { return &v }

// seedRecordedAccount rebuilds the 2017 test account as it was before each recording:
// the ids, times and states are those the recordings refer to.
func seedRecordedAccount(t *testing.T, s *sim.Server) (*sim.Account, string) {
	t.Helper()
	acc, err := s.AddAccount(sim.AccountSpec{Subdomain: "acme", Name: "<STAFFOMATIC_TEST_ACCOUNT>", TimeZone: "Europe/Berlin", ID: 21453})
	if err != nil {
		t.Fatal(err)
	}
	loc := acc.AddLocation(sim.Location{ID: 24086, Name: "Test"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	admin, err := acc.AddUser(sim.User{ID: 286946, Email: "admin@example.com", Password: "pw", Role: "admin", FirstName: "Ada", LastName: "Admin", LocationIDs: []int64{loc.ID}})
	must(err)
	_, err = acc.AddUser(sim.User{ID: 286948, Email: "staff@example.com", FirstName: "Sam", LastName: "Staff", LocationIDs: []int64{loc.ID}})
	must(err)
	for _, id := range []int64{14563, 14564} {
		_, err = acc.AddAbsenceType(sim.AbsenceType{ID: id, LocationID: loc.ID, Name: "Holiday", Color: "749ec1", Visibility: "schedulers", IncludeWeekends: true,
			CreatedAt: berlin(t, "2017-02-13T10:09:32+01:00")})
		must(err)
	}
	for _, a := range []sim.Absence{
		{ID: 565592, StartsAt: berlin(t, "2014-08-20T00:00:00+02:00"), EndsAt: berlin(t, "2014-08-26T23:59:59+02:00"), IncludeWeekends: true, AdjustedDuration: ip(691200)},
		{ID: 565580, StartsAt: berlin(t, "2017-02-13T00:00:00+01:00"), EndsAt: berlin(t, "2017-02-15T23:59:59+01:00")},
		{ID: 565586, StartsAt: berlin(t, "2017-02-17T00:00:00+01:00"), EndsAt: berlin(t, "2017-02-24T23:59:59+01:00"), IncludeWeekends: true},
		{ID: 565500, StartsAt: berlin(t, "2017-01-02T00:00:00+01:00"), EndsAt: berlin(t, "2017-01-03T23:59:59+01:00"), State: sim.StateApproved},
	} {
		a.ApplicantID, a.AbsenceTypeID, a.LocationID, a.AllDay, a.Vacation = 286948, 14563, ip(loc.ID), true, true
		a.Commentable, a.Attachable, a.HandlerID, a.LastUpdatedByID, a.Justification = true, true, ip(admin.ID), ip(admin.ID), "Urlaub"
		_, err = acc.AddAbsence(a)
		must(err)
	}
	_, err = acc.AddWorkTimer(sim.WorkTimer{ID: 91, UserID: 286948, LocationID: ip(loc.ID), State: sim.TimerStopped, WorkReportID: 37,
		StartsAt: berlin(t, "2017-02-13T09:01:02+01:00"), EndsAt: tp(berlin(t, "2017-02-13T11:01:01+01:00")), CreatedByID: ip(admin.ID), UpdatedByID: ip(admin.ID)})
	must(err)
	_, err = acc.AddWorkTimer(sim.WorkTimer{ID: 92, UserID: 286948, State: sim.TimerRunning, WorkReportID: 38,
		StartsAt: berlin(t, "2014-12-08T02:30:00+01:00"), CreatedByID: ip(admin.ID), UpdatedByID: ip(admin.ID)})
	must(err)
	_, err = acc.AddBreakTimer(sim.BreakTimer{ID: 40, WorkTimerID: 91, StartsAt: berlin(t, "2017-02-13T09:01:01+01:00"), EndsAt: tp(berlin(t, "2017-02-13T09:45:00+01:00")),
		CreatedByID: ip(admin.ID), UpdatedByID: ip(admin.ID)})
	must(err)
	_, err = acc.AddBreakTimer(sim.BreakTimer{ID: 41, WorkTimerID: 91, StartsAt: berlin(t, "2017-02-13T09:45:01+01:00"), CreatedByID: ip(admin.ID), UpdatedByID: ip(admin.ID)})
	must(err)
	tok, err := acc.IssueToken(admin.ID)
	must(err)
	return acc, tok
}

// resourceOf names the collection a recorded URI addresses ("absences", "work_timers", …).
func resourceOf(uri string) string {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(uri, recordedBase), "/"), "/")
	res := ""
	for _, s := range segs {
		s, _, _ = strings.Cut(s, "?")
		if s != "" && (s[0] < '0' || s[0] > '9') && s != "locations" {
			res = s
		}
	}
	if res == "" && len(segs) > 0 {
		res = segs[0]
	}
	return res
}

type refShapes struct {
	single   map[string]map[string]any      // a recorded single-record body per resource
	nullable map[string]map[string]bool     // fields seen null in any recording of the resource
	extra    map[string]map[string]struct{} // fields the (newer) docs examples add
}

func keysOf(v any, into map[string]struct{}) {
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			into[k] = struct{}{}
		}
	case []any:
		for _, e := range x {
			keysOf(e, into)
		}
	}
}

func loadRecordings(t *testing.T) (map[string]recording, refShapes) {
	t.Helper()
	dir := refDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "recorded-2017", "*.json"))
	if err != nil || len(files) < 30 {
		t.Fatalf("expected the 31 recordings, found %d (%v)", len(files), err)
	}
	recs := map[string]recording{}
	ref := refShapes{single: map[string]map[string]any{}, nullable: map[string]map[string]bool{}, extra: map[string]map[string]struct{}{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r recording
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		recs[filepath.Base(f)] = r
		for _, it := range r.Interactions {
			res := resourceOf(it.Request.URI)
			var body any
			_ = json.Unmarshal(it.Response.Body, &body)
			var objs []map[string]any
			switch x := body.(type) {
			case map[string]any:
				objs = append(objs, x)
			case []any:
				for _, e := range x {
					if m, ok := e.(map[string]any); ok {
						objs = append(objs, m)
					}
				}
			}
			for _, o := range objs {
				if ref.single[res] == nil {
					ref.single[res] = o
				}
				if ref.nullable[res] == nil {
					ref.nullable[res] = map[string]bool{}
				}
				for k, v := range o {
					if v == nil {
						ref.nullable[res][k] = true
					}
				}
			}
		}
	}
	docs, _ := filepath.Glob(filepath.Join(dir, "docs-examples", "*.json"))
	for _, f := range docs {
		b, _ := os.ReadFile(f)
		var d struct {
			Resource string `json:"resource"`
			Examples []struct {
				Section string `json:"section"`
				Example any    `json:"example"`
			} `json:"examples"`
		}
		if json.Unmarshal(b, &d) != nil {
			continue
		}
		keys := map[string]struct{}{}
		for _, ex := range d.Examples {
			if strings.HasPrefix(ex.Section, "Get") {
				keysOf(ex.Example, keys)
			}
		}
		ref.extra[d.Resource] = keys
		// Fields the docs show as null are nullable too.
		if ref.nullable[d.Resource] == nil {
			ref.nullable[d.Resource] = map[string]bool{}
		}
		for _, ex := range d.Examples {
			var objs []any
			if l, ok := ex.Example.([]any); ok {
				objs = l
			} else {
				objs = []any{ex.Example}
			}
			for _, o := range objs {
				if m, ok := o.(map[string]any); ok && strings.HasPrefix(ex.Section, "Get") {
					for k, v := range m {
						if v == nil {
							ref.nullable[d.Resource][k] = true
						}
					}
				}
			}
		}
	}
	return recs, ref
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
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// compareShape reports every difference of field names and JSON types between want
// (recorded) and got (simulated).
func compareShape(res string, want, got map[string]any, ref refShapes) []string {
	var diffs []string
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			diffs = append(diffs, "missing field "+k)
			continue
		}
		wk, gk := kind(wv), kind(gv)
		if wk == gk || ((wk == "null" || gk == "null") && ref.nullable[res][k]) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("field %s: recorded %s, simulated %s", k, wk, gk))
	}
	for k := range got {
		if _, ok := want[k]; ok {
			continue
		}
		if _, documented := ref.extra[res][k]; !documented {
			diffs = append(diffs, "undocumented extra field "+k)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// valueKeys are compared by value, not only by type: they carry the documented behaviour
// (all-day normalisation, state changes, durations in seconds, time zone offsets).
var valueKeys = []string{"state", "starts_at", "ends_at", "all_day", "include_weekends", "paid", "vacation",
	"duration", "break_duration", "net_duration", "adjusted_duration", "name", "visibility", "time_zone",
	"user_id", "applicant_id", "work_timer_id", "absence_type_id"}

func TestReplayRecorded2017Pairs(t *testing.T) {
	recs, ref := loadRecordings(t)
	names := make([]string, 0, len(recs))
	for n := range recs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			s := sim.New(sim.Config{})
			_, tok := seedRecordedAccount(t, s)
			srv := httptest.NewServer(s)
			defer srv.Close()
			for _, it := range recs[name].Interactions {
				uri := strings.Replace(it.Request.URI, recordedBase, srv.URL+"/v3/acme", 1)
				var body io.Reader
				if len(it.Request.Body) > 0 && string(it.Request.Body) != "null" {
					body = bytes.NewReader(it.Request.Body)
				}
				req, err := http.NewRequest(it.Request.Method, uri, body)
				if err != nil {
					t.Fatal(err)
				}
				for k, vs := range it.Request.Headers {
					if k != "Authorization" {
						req.Header[k] = vs
					}
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("User-Agent", "staffomatic.rb replay (test@example.com)")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != it.Response.Status.Code {
					t.Fatalf("%s %s: status %d, recorded %d; body %s", it.Request.Method, uri, resp.StatusCode, it.Response.Status.Code, got)
				}
				if string(it.Response.Body) == "null" || len(it.Response.Body) == 0 {
					if len(bytes.TrimSpace(got)) != 0 {
						t.Fatalf("recorded an empty body, simulated %s", got)
					}
					continue
				}
				res := resourceOf(it.Request.URI)
				var want, have any
				if err := json.Unmarshal(it.Response.Body, &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(got, &have); err != nil {
					t.Fatalf("simulated body is not JSON: %v: %s", err, got)
				}
				if kind(want) != kind(have) {
					t.Fatalf("recorded a %s, simulated a %s", kind(want), kind(have))
				}
				switch w := want.(type) {
				case map[string]any:
					h := have.(map[string]any)
					if d := compareShape(res, w, h, ref); len(d) > 0 {
						t.Errorf("shape differs from the recording:\n  %s", strings.Join(d, "\n  "))
					}
					for _, k := range valueKeys {
						if wv, ok := w[k]; ok && fmt.Sprint(wv) != fmt.Sprint(h[k]) {
							t.Errorf("%s: recorded %v, simulated %v", k, wv, h[k])
						}
					}
				case []any:
					hl := have.([]any)
					ref1 := ref.single[res]
					if ref1 == nil {
						t.Fatalf("no recorded record shape for %s", res)
					}
					if len(hl) == 0 {
						t.Fatalf("the seeded account should list %s", res)
					}
					for i, e := range hl {
						if d := compareShape(res, ref1, e.(map[string]any), ref); len(d) > 0 {
							t.Errorf("element %d differs from the recorded shape:\n  %s", i, strings.Join(d, "\n  "))
						}
					}
				}
			}
		})
	}
}
