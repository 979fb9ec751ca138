package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func validRequest() SyncRequest {
	at := time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)
	return SyncRequest{Tenant: "acme", Phase: PhaseUsers, Mode: ModePartial, Trigger: TriggerSchedule, RunID: ScheduledRunID(PhaseUsers, at), ScheduledTime: at}
}

func TestSyncRequestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*SyncRequest)
		want   string // "" = valid
	}{
		{"valid scheduled", func(*SyncRequest) {}, ""},
		{"valid targeted webhook", func(r *SyncRequest) {
			r.Mode, r.Trigger, r.ScheduledTime, r.Targets = ModeTargeted, TriggerWebhook, time.Time{}, []Target{{Kind: KindAbsence, ID: "42"}}
		}, ""},
		{"bad tenant", func(r *SyncRequest) { r.Tenant = "Acme Corp" }, "tenant_id"},
		{"bad phase", func(r *SyncRequest) { r.Phase = "payroll" }, "phase: \"payroll\""},
		{"bad mode", func(r *SyncRequest) { r.Mode = "fast" }, "mode: \"fast\""},
		{"bad trigger", func(r *SyncRequest) { r.Trigger = "cron" }, "trigger: \"cron\""},
		{"bad run id", func(r *SyncRequest) { r.RunID = "abc" }, "run_id \"abc\""},
		{"run id phase unknown", func(r *SyncRequest) { r.RunID = "20260101T040000Z-payroll-x" }, "not a phase"},
		{"schedule without time", func(r *SyncRequest) { r.ScheduledTime = time.Time{} }, "scheduled_time: required"},
		{"targeted without targets", func(r *SyncRequest) { r.Mode = ModeTargeted }, "at least one target"},
		{"targets on a full run", func(r *SyncRequest) { r.Mode, r.Targets = ModeFull, []Target{{Kind: KindUser, ID: "1"}} }, "only allowed with mode targeted"},
		{"target without id", func(r *SyncRequest) { r.Mode, r.Targets = ModeTargeted, []Target{{Kind: KindUser}} }, "targets[0].id"},
		{"target bad kind", func(r *SyncRequest) { r.Mode, r.Targets = ModeTargeted, []Target{{Kind: "car", ID: "1"}} }, "targets[0].kind"},
		{"target id with a line break", func(r *SyncRequest) { r.Mode, r.Targets = ModeTargeted, []Target{{Kind: KindUser, ID: "1\n2"}} }, "targets[0].id"},
		{"target id with a control character", func(r *SyncRequest) { r.Mode, r.Targets = ModeTargeted, []Target{{Kind: KindUser, ID: "1\u0000"}} }, "targets[0].id"},
		{"target id with a space", func(r *SyncRequest) { r.Mode, r.Targets = ModeTargeted, []Target{{Kind: KindUser, ID: "1 OR 1=1"}} }, "targets[0].id"},
		{"target id too long", func(r *SyncRequest) {
			r.Mode, r.Targets = ModeTargeted, []Target{{Kind: KindUser, ID: strings.Repeat("7", 129)}}
		}, "targets[0].id"},
		{"valid chain", func(r *SyncRequest) {
			r.Then = []Step{{PhaseWorkspaces, "20260101T040000Z-workspaces-a1"}, {PhaseAbsences, "20260101T040000Z-absences-a2"}}
		}, ""},
		{"chain repeats the phase", func(r *SyncRequest) { r.Then = []Step{{PhaseUsers, "20260101T040000Z-users-a1"}} }, "then[0].phase: users runs twice"},
		{"chain bad phase", func(r *SyncRequest) { r.Then = []Step{{"payroll", "20260101T040000Z-users-a1"}} }, "then[0].phase"},
		{"chain bad run id", func(r *SyncRequest) { r.Then = []Step{{PhaseWorkspaces, "x"}} }, "then[0]: run_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validRequest()
			c.mutate(&r)
			err := r.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid request rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSyncRequestNext(t *testing.T) {
	r := validRequest()
	r.Mode, r.Trigger, r.ScheduledTime, r.Targets = ModeTargeted, TriggerManual, time.Time{}, []Target{{Kind: KindUser, ID: "1"}}
	r.Then = []Step{{PhaseWorkspaces, "20260101T040000Z-workspaces-a1"}, {PhaseTimesheets, "20260101T040000Z-timesheets-a2"}}
	n, ok := r.Next()
	if !ok || n.Phase != PhaseWorkspaces || n.RunID != "20260101T040000Z-workspaces-a1" || len(n.Then) != 1 ||
		n.Targets != nil || n.Mode != ModePartial || n.Tenant != "acme" || n.Trigger != TriggerManual {
		t.Fatalf("next %+v", n)
	}
	if err := n.Validate(); err != nil {
		t.Fatalf("next invalid: %v", err)
	}
	last, ok := n.Next()
	if !ok || last.Phase != PhaseTimesheets || last.Then != nil {
		t.Fatalf("last %+v", last)
	}
	if _, ok := last.Next(); ok {
		t.Fatal("a step after the last")
	}
}

func TestRunIDs(t *testing.T) {
	at := time.Date(2026, 1, 1, 5, 0, 0, 0, time.FixedZone("CET", 3600))
	if a, b := ScheduledRunID(PhaseUsers, at), ScheduledRunID(PhaseUsers, at.UTC()); a != b || a != "20260101T040000Z-users-sched" {
		t.Fatalf("scheduled ids %q %q", a, b)
	}
	if ScheduledRunID(PhaseUsers, at) == ScheduledRunID(PhaseAbsences, at) {
		t.Fatal("phases share a run id")
	}
	a, b := NewRunID(PhaseTimesheets, at), NewRunID(PhaseTimesheets, at)
	if a == b || ValidateRunID(a) != nil || !strings.HasPrefix(a, "20260101T040000Z-timesheets-") {
		t.Fatalf("NewRunID %q %q", a, b)
	}
	if NewRunID(PhaseUsers, at) > NewRunID(PhaseUsers, at.Add(time.Second)) {
		t.Fatal("run ids do not sort by time")
	}
}

func TestSettingsDefaultsAndValidate(t *testing.T) {
	d := DefaultSettings()
	if d.EnableBackgroundSync || d.PropagateDeletions || !d.CreateMissingWorkspaces || !d.OnlyVerifiedStaffomaticWorkTimers {
		t.Fatalf("defaults %+v", d)
	}
	b, _ := json.Marshal(d)
	for _, name := range []string{"enable_background_sync", "enable_personio_hire_date", "enable_personio_last_working_day",
		"only_approved_staffomatic_absences", "only_verified_staffomatic_work_timers", "invite_staffomatic_users",
		"propagate_deletions", "create_missing_workspaces"} {
		if !strings.Contains(string(b), `"`+name+`"`) {
			t.Errorf("setting %s missing from JSON %s", name, b)
		}
	}
	cases := []struct {
		name string
		s    func(*Settings)
		want string
	}{
		{"ok", func(s *Settings) { s.PersonioTimeOffTypeIDsForPaidVacations = []int64{1, 2} }, ""},
		{"negative", func(s *Settings) { s.FallbackPersonioTimeOffTypeIDsForEntitlements = []int64{-1} }, "settings.fallback_personio_time_off_type_ids_for_entitlements: -1"},
		{"duplicate", func(s *Settings) { s.PersonioTimeOffTypeIDsForVacationDaysDeduction = []int64{3, 3} }, "listed twice"},
	}
	for _, c := range cases {
		s := DefaultSettings()
		c.s(&s)
		err := s.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSelection(t *testing.T) {
	sel := Selection{
		Employees: map[string]bool{"1": true, "2": false},
		Match:     MatchAnyRule,
		Rules: []AutoInclude{
			{Field: RuleStatus, Values: []string{"active"}},
			{Field: RuleAttribute, Attribute: "shift_planning", Values: []string{"Yes"}},
		},
	}
	cases := []struct {
		e    Employee
		want bool
	}{
		{Employee{PersonioID: "1", Status: "inactive"}, true},    // explicit yes
		{Employee{PersonioID: "2", Status: "active"}, false},     // explicit no beats the rule
		{Employee{PersonioID: "3", Status: " Active "}, true},    // status rule, case/space-insensitive
		{Employee{PersonioID: "4", Status: "onboarding"}, false}, // new employees are "no"
		{Employee{PersonioID: "5", Attributes: []Attribute{{Key: "shift_planning", Value: "yes"}}}, true},
		{Employee{PersonioID: "6", Attributes: []Attribute{{Key: "shift_planning", Value: ""}}}, false},
		// The attribute is found by universal id and by label (case-insensitive) too.
		{Employee{PersonioID: "7", Attributes: []Attribute{{Key: "dynamic_9", UniversalID: "Shift_Planning", Value: "Yes"}}}, true},
		{Employee{PersonioID: "8", Attributes: []Attribute{{Key: "dynamic_9", Label: "SHIFT_PLANNING", Value: "yes"}}}, true},
		{Employee{PersonioID: "9", Attributes: []Attribute{{Key: "dynamic_9", Label: "shift planning", Value: "yes"}}}, false},
	}
	for _, c := range cases {
		if got := sel.Includes(c.e); got != c.want {
			t.Errorf("Includes(%+v) = %v, want %v", c.e, got, c.want)
		}
	}
	if got := sel.Select([]Employee{cases[0].e, cases[1].e, cases[2].e}); len(got) != 2 || got[0].PersonioID != "1" || got[1].PersonioID != "3" {
		t.Errorf("Select = %+v, want employees 1 and 3", got)
	}
	// By default every rule must match: Frieda, active but with shift planning "nein", is
	// not picked by status active + shift_planning ja (the rules used to combine with or).
	all := Selection{Rules: []AutoInclude{{Field: RuleStatus, Values: []string{"active"}}, {Field: RuleAttribute, Attribute: "shift_planning", Values: []string{"ja"}}}}
	for _, c := range []struct {
		e    Employee
		want bool
	}{
		{Employee{PersonioID: "f", Status: "active", Attributes: []Attribute{{Key: "shift_planning", Value: "nein"}}}, false},
		{Employee{PersonioID: "g", Status: "active", Attributes: []Attribute{{Key: "shift_planning", Value: "Ja"}}}, true},
		{Employee{PersonioID: "h", Status: "leave", Attributes: []Attribute{{Key: "shift_planning", Value: "ja"}}}, false},
	} {
		if got := all.Includes(c.e); got != c.want {
			t.Errorf("all rules: Includes(%s) = %v, want %v", c.e.PersonioID, got, c.want)
		}
		all.Match = MatchAllRules // explicit all is the default
		if got := all.Includes(c.e); got != c.want {
			t.Errorf("match all: Includes(%s) = %v, want %v", c.e.PersonioID, got, c.want)
		}
		all.Match = ""
	}
	bad := []struct {
		r    AutoInclude
		want string
	}{
		{AutoInclude{Field: "salary", Values: []string{"x"}}, "auto_include.field"},
		{AutoInclude{Field: RuleAttribute, Values: []string{"x"}}, "auto_include.attribute: required"},
		{AutoInclude{Field: RuleOffice}, "at least one value"},
		{AutoInclude{Field: RuleOffice, Attribute: "x", Values: []string{"Berlin"}}, "only allowed with field attribute"},
		{AutoInclude{Field: RuleStatus, Values: []string{"aktiv"}}, `"aktiv" is no Personio status: use active, onboarding, leave, inactive`},
	}
	for _, c := range bad {
		if err := (Selection{Rules: []AutoInclude{c.r}}).Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
	if err := (Selection{Match: "some"}).Validate(); err == nil || !strings.Contains(err.Error(), "auto_include.match") {
		t.Errorf("match some: %v", err)
	}
}

func TestMappingRetryWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := Mapping{Tenant: "acme", Kind: KindTimer, SourceID: "9", State: StatePending}
	if !m.RecordFailure(t0, "500", 0) || m.State != StateFailed || m.Attempts != 1 {
		t.Fatalf("first failure: %+v", m)
	}
	if !m.RecordFailure(t0.Add(6*24*time.Hour), "500", 0) || !m.FirstFailureAt.Equal(t0) {
		t.Fatalf("day 6: %+v", m)
	}
	if m.RecordFailure(t0.Add(7*24*time.Hour+time.Minute), "500", 0) || m.State != StateGaveUp || m.Attempts != 3 {
		t.Fatalf("after 7 days: %+v", m)
	}
	m.RecordSuccess(t0.Add(8*24*time.Hour), "h2", "p1")
	if m.State != StateTransferred || m.Attempts != 0 || !m.FirstFailureAt.IsZero() || m.TargetID() != "p1" || m.Changed("h2") || !m.Changed("h3") {
		t.Fatalf("after success: %+v", m)
	}
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := Credentials{PersonioClientID: "cid", PersonioClientSecret: "psecret-xyz", StaffomaticPassword: "spass-xyz", StaffomaticToken: "stok-xyz"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "creds", c)
	j, _ := json.Marshal(c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), string(j), buf.String()} {
		for _, secret := range []string{"psecret-xyz", "spass-xyz", "stok-xyz"} {
			if strings.Contains(out, secret) {
				t.Errorf("secret %s printed: %s", secret, out)
			}
		}
	}
}

func TestTenantValidate(t *testing.T) {
	tn := Tenant{ID: "acme", Owner: Owner{Email: "a@b.c"}, Settings: DefaultSettings(), Sources: DefaultSources()}
	if err := tn.Validate(); err != nil {
		t.Fatal(err)
	}
	tn.AdminTokenHash = "plain-token"
	tn.Sources.Absences = "excel"
	err := tn.Validate()
	for _, want := range []string{"admin_token_hash", "sources.absences"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}
