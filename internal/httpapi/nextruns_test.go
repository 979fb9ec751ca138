package httpapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestNextRunsOnlyRunsThatHappen: next_runs lists the timetable's lines of the phases this
// stack deploys, without timesheets while time tracking is off in the sources, soonest
// first.
func TestNextRunsOnlyRunsThatHappen(t *testing.T) {
	lines := func(p domain.Phase) int {
		n := 0
		for _, s := range domain.Timetable {
			if s.Phase == p {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name         string
		deployed     []domain.Phase
		timeTracking bool
		want         []domain.Phase
	}{
		{"all deployed, time tracking on", nil, true, domain.Phases},
		{"time tracking off", nil, false, []domain.Phase{domain.PhaseUsers, domain.PhaseWorkspaces, domain.PhaseAbsences}},
		{"users and timesheets deployed", []domain.Phase{domain.PhaseUsers, domain.PhaseTimesheets}, true, []domain.Phase{domain.PhaseUsers, domain.PhaseTimesheets}},
		{"users deployed, time tracking off", []domain.Phase{domain.PhaseUsers, domain.PhaseTimesheets}, false, []domain.Phase{domain.PhaseUsers}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Phases = c.deployed })
			tc := e.createDemo(t)
			base := "/v1/tenants/" + tc.TenantID
			timesheets := "off"
			if c.timeTracking {
				timesheets = "staffomatic"
			}
			if r := e.do(t, "PUT", base+"/sources", tc.AdminToken, map[string]any{"timesheets": timesheets, "absences": "personio"}); r.Code != http.StatusOK {
				t.Fatalf("sources: %d %s", r.Code, r.Body)
			}
			if r := e.do(t, "PUT", base+"/settings", tc.AdminToken, map[string]any{"enable_background_sync": true}); r.Code != http.StatusOK {
				t.Fatalf("settings: %d %s", r.Code, r.Body)
			}
			var v TenantView
			e.do(t, "GET", base, tc.AdminToken, nil).json(t, &v)
			want := 0
			for _, p := range c.want {
				want += lines(p)
			}
			if len(v.NextRuns) != want {
				t.Fatalf("%d next runs, want %d: %+v", len(v.NextRuns), want, v.NextRuns)
			}
			for i, n := range v.NextRuns {
				if !slices.Contains(c.want, n.Phase) {
					t.Errorf("next run of %s listed: %+v", n.Phase, n)
				}
				if i > 0 && n.At.Before(v.NextRuns[i-1].At) {
					t.Errorf("next runs not soonest first: %+v", v.NextRuns)
				}
			}
		})
	}
}
