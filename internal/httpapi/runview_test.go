package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestNoOpRunShowsZeroCountsAndAPICallsApart: a users run that changed nothing but made
// API calls is shown with every record outcome at zero and the calls under api_calls,
// through the run, the run list and the tenant's last runs (the API once showed
// counts {"personio":3,"staffomatic":8} for such a run).
func TestNoOpRunShowsZeroCountsAndAPICallsApart(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	base := "/v1/tenants/" + c.TenantID
	now := time.Now().UTC()
	sum := domain.RunSummary{Tenant: c.TenantID, RunID: domain.NewRunID(domain.PhaseUsers, now), Phase: domain.PhaseUsers, Mode: domain.ModeFull,
		Trigger: domain.TriggerSchedule, Status: domain.RunSucceeded, ScheduledTime: now, QueuedAt: now, StartedAt: now, FinishedAt: now,
		Counts: map[domain.Outcome]int{}, APICalls: map[domain.System]int{domain.SystemPersonio: 3, domain.SystemStaffomatic: 8}}
	if err := e.store.PutRun(t.Context(), sum); err != nil {
		t.Fatal(err)
	}
	check := func(what string, v RunView) {
		t.Helper()
		if len(v.Counts) != len(domain.RecordOutcomes) {
			t.Errorf("%s: counts %v, want exactly the record outcomes %v", what, v.Counts, domain.RecordOutcomes)
		}
		for _, o := range domain.RecordOutcomes {
			if n, ok := v.Counts[o]; !ok || n != 0 {
				t.Errorf("%s: counts[%s] = %d (present %v), want 0", what, o, n, ok)
			}
		}
		if v.APICalls[domain.SystemPersonio] != 3 || v.APICalls[domain.SystemStaffomatic] != 8 || len(v.APICalls) != 2 {
			t.Errorf("%s: api_calls %v", what, v.APICalls)
		}
	}
	var one RunView
	r := e.do(t, "GET", base+"/runs/"+sum.RunID, c.AdminToken, nil)
	if err := json.Unmarshal(r.Body, &one); err != nil || r.Code != 200 {
		t.Fatalf("%d %s %v", r.Code, r.Body, err)
	}
	check("GET run", one)
	var list struct{ Runs []RunView }
	r = e.do(t, "GET", base+"/runs?phase=users", c.AdminToken, nil)
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Runs) != 1 {
		t.Fatalf("%d %s %v", r.Code, r.Body, err)
	}
	check("run list", list.Runs[0])
	var tv TenantView
	r = e.do(t, "GET", base, c.AdminToken, nil)
	if err := json.Unmarshal(r.Body, &tv); err != nil || tv.LastRuns[domain.PhaseUsers] == nil {
		t.Fatalf("%d %s %v", r.Code, r.Body, err)
	}
	check("tenant last run", *tv.LastRuns[domain.PhaseUsers])
}

// TestFallbackRunShowsTheModeThatRan: a scheduled partial run that ran full is shown as
// mode full with requested_mode partial and the reason; a run that kept its mode shows
// requested_mode equal to mode.
func TestFallbackRunShowsTheModeThatRan(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	now := time.Now().UTC()
	fell := domain.RunSummary{Tenant: c.TenantID, RunID: domain.NewRunID(domain.PhaseUsers, now), Phase: domain.PhaseUsers, Mode: domain.ModeFull,
		RequestedMode: domain.ModePartial, ModeReason: "no earlier successful run: full sync instead of partial",
		Trigger: domain.TriggerManual, Status: domain.RunSucceeded, StartedAt: now, FinishedAt: now}
	kept := fell
	kept.RunID, kept.Mode, kept.RequestedMode, kept.ModeReason = domain.NewRunID(domain.PhaseUsers, now), domain.ModePartial, "", ""
	for _, s := range []domain.RunSummary{fell, kept} {
		if err := e.store.PutRun(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []domain.RunSummary{fell, kept} {
		var v RunView
		r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/runs/"+want.RunID, c.AdminToken, nil)
		if err := json.Unmarshal(r.Body, &v); err != nil || r.Code != 200 {
			t.Fatalf("%d %s %v", r.Code, r.Body, err)
		}
		req := want.RequestedMode
		if req == "" {
			req = want.Mode
		}
		if v.Mode != want.Mode || v.RequestedMode != req || v.ModeReason != want.ModeReason {
			t.Fatalf("run %s: mode %q requested %q reason %q", want.RunID, v.Mode, v.RequestedMode, v.ModeReason)
		}
	}
}
