package faults_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/synctest"
)

// absencesFromStaffomatic is the absences phase with Staffomatic leading: absences entered
// in Staffomatic by a mapped user (an approved vacation week, a new sick day) go to
// Personio, so Personio is the target.
var absencesFromStaffomatic = spec{
	phase: domain.PhaseAbsences,
	prepare: func(t testing.TB, env *synctest.Env) {
		mappedUsers(t, env)
		tn := env.Tenant(t)
		tn.Sources.Absences = domain.SystemStaffomatic
		if err := env.Store.SaveTenant(context.Background(), &tn); err != nil {
			t.Fatal(err)
		}
		acc := env.S.Account(env.Demo.StaffomaticSubdomain)
		var user staffomaticsim.User
		for _, u := range acc.Users() {
			if len(u.LocationIDs) > 0 && u.CustomID != "" {
				user = u
				break
			}
		}
		cats := map[string]int64{}
		for _, c := range acc.AbsenceTypes() {
			if user.ID != 0 && c.LocationID == user.LocationIDs[0] {
				cats[c.Name] = c.ID
			}
		}
		if cats["Bezahlter Urlaub"] == 0 || cats["Krankheit"] == 0 {
			t.Fatalf("the demo changed: no mapped user in a location with vacation and sickness categories (%v)", cats)
		}
		loc := acc.TimeZone()
		day := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
		for _, x := range []staffomaticsim.Absence{
			{ApplicantID: user.ID, AbsenceTypeID: cats["Bezahlter Urlaub"], State: "approved", StartsAt: day(4, 6, 0, 0), EndsAt: day(4, 10, 23, 59), AllDay: true},
			{ApplicantID: user.ID, AbsenceTypeID: cats["Krankheit"], State: "new", StartsAt: day(3, 16, 0, 0), EndsAt: day(3, 16, 23, 59), AllDay: true},
		} {
			if _, err := acc.AddAbsence(x); err != nil {
				t.Fatal(err)
			}
		}
	},
	records: specs[3].records,
}

// personioDown answers Personio's requests that down selects with a 503 in Personio's v2
// error format, as its gateway does in an outage.
func personioDown(w *world, down func(r *http.Request) bool) func(r *http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		if r.URL.Host != w.tap.personioHost || !down(r) {
			return nil
		}
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		h := http.Header{}
		h.Set("Content-Type", "application/problem+json")
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Header: h, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"type":"https://developer.personio.de/reference/errors#common.service_unavailable","title":"Service Unavailable","detail":"The server could not process the request.","status":503}`))}
	}
}

// TestPersonioDownForDays: Personio is down from day 0 and back on day `back` (never, for
// 9); the phase runs once a day on the world's clock. With Personio the target
// (timesheets; absences with Staffomatic leading) it refuses every write: each run ends
// with the records failed and kept for retry — none given up before the retry window
// (domain.RetryWindow, 7 days) has passed — and on day 8 they are reported failed and
// given up; when Personio is back within the window, that day's run transfers every
// record exactly once, as an undisturbed run does. With Personio the source (users,
// workspaces, absences from Personio) every request fails: each run fails saying so, and
// the run on the day it is back transfers everything. The clients do not retry (their back-offs would cost wall time the days do
// not need).
func TestPersonioDownForDays(t *testing.T) {
	const never = 9
	// whole: Personio refuses every request (it is the phase's source); else only writes.
	cases := []struct {
		name  string
		spec  spec
		whole bool
		kind  domain.RecordKind
		back  int
	}{
		{"timesheets, back on day 3", specs[2], false, domain.KindTimer, 3},
		{"timesheets, back on day 7", specs[2], false, domain.KindTimer, 7},
		{"timesheets, down for good", specs[2], false, domain.KindTimer, never},
		{"absences from Staffomatic, back on day 7", absencesFromStaffomatic, false, domain.KindAbsence, 7},
		{"absences from Staffomatic, down for good", absencesFromStaffomatic, false, domain.KindAbsence, never},
		{"users, back on day 8", specs[0], true, domain.KindUser, 8},
		{"workspaces, back on day 8", specs[1], true, domain.KindDepartment, 8},
		{"absences from Personio, back on day 8", specs[3], true, domain.KindAbsence, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ref := newWorld(t, c.spec, options{})
			if _, _, err := ref.fullRun(t, context.Background()); err != nil {
				t.Fatal(err)
			}
			want := c.spec.records(ref.env)
			w := newWorld(t, c.spec, options{maxRetries: -1})
			w.tap.setFault(personioDown(w, func(r *http.Request) bool { return c.whole || isWrite(r) }))
			ctx := context.Background()
			failing := 0
			for day := 0; day <= min(c.back, 8); day++ {
				if day > 0 {
					w.env.Advance(24 * time.Hour)
				}
				if day == c.back {
					w.tap.setFault(nil)
				}
				sum, entries, err := w.fullRun(t, ctx)
				switch {
				case day == c.back:
					if err != nil || sum.Status == domain.RunFailed {
						t.Fatalf("day %d, Personio back: %v %+v", day, err, sum)
					}
					checkOnce(t, c.spec.records(w.env), want)
					for _, m := range mappings(t, w, c.kind) {
						if m.State == domain.StateGaveUp {
							t.Errorf("day %d: %s was given up", day, m.SourceID)
						}
					}
					w.quiet(t)
				case c.whole:
					if err == nil || sum.Status != domain.RunFailed || !strings.Contains(strings.ToLower(sum.Error), "personio") {
						t.Fatalf("day %d, Personio down: %v %+v", day, err, sum)
					}
				default:
					if err != nil || sum.Status != domain.RunPartiallyFailed {
						t.Fatalf("day %d, Personio refusing writes: %v %+v", day, err, sum)
					}
					states := map[domain.TransferState][]string{}
					for _, m := range mappings(t, w, c.kind) {
						states[m.State] = append(states[m.State], m.SourceID)
					}
					if day == 0 {
						failing = len(states[domain.StateFailed])
					}
					gaveUp := 0
					for _, e := range entries {
						if e.Outcome == domain.OutcomeFailed && strings.Contains(e.Reason, "given up") {
							gaveUp++
						}
					}
					switch {
					case failing == 0:
						t.Fatalf("day 0: no record failed: %v", states)
					case day < 8 && (len(states[domain.StateFailed]) != failing || len(states[domain.StateGaveUp]) != 0 || gaveUp != 0):
						t.Fatalf("day %d: %d records failing (day 0: %d), %d given up, %d reports of giving up", day,
							len(states[domain.StateFailed]), failing, len(states[domain.StateGaveUp]), gaveUp)
					case day == 8 && (len(states[domain.StateGaveUp]) != failing || len(states[domain.StateFailed]) != 0 || gaveUp != failing):
						t.Fatalf("day 8: %d of %d records given up, %d still failing, %d reports of giving up; protocol %+v", len(states[domain.StateGaveUp]),
							failing, len(states[domain.StateFailed]), gaveUp, entries)
					}
				}
			}
		})
	}
}

// mappings returns the world's mappings of kind.
func mappings(t testing.TB, w *world, kind domain.RecordKind) []domain.Mapping {
	t.Helper()
	ms, err := w.env.Store.LoadMappings(context.Background(), synctest.TenantID, kind)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
