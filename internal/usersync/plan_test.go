package usersync

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

func f(v float64) *float64 { return &v }

// emp and usr build records whose master data already agree, so each case states only the
// difference it is about.
func emp(id, email string) domain.Employee {
	return domain.Employee{PersonioID: id, FirstName: "First" + id, LastName: "Last" + id, Email: email, Status: "active"}
}

func usr(id, customID, email, personioID string) domain.User {
	return domain.User{ID: id, CustomID: customID, Email: email, FirstName: "First" + personioID, LastName: "Last" + personioID}
}

// step is the expected shape of one action.
type step struct {
	kind    ActionKind
	pid     string
	uid     string
	match   domain.Match
	reason  string // substring
	lock    bool
	invite  bool
	changes string // comma-separated changed field names
}

// check holds the plan against the expected steps, in order, and holds that they make
// one action per employee: the steps of one Personio id are one action (named after the
// employee, its Kind the headline of its steps, its diff the steps' diffs), and the
// actions come in the order of their first steps.
func check(t *testing.T, got Plan, want []step) {
	t.Helper()
	var pids []string
	for i, w := range want {
		if i == 0 || w.pid == "" || !slices.Contains(pids, w.pid) {
			pids = append(pids, w.pid)
		}
	}
	if len(got.Actions) != len(pids) {
		t.Fatalf("got %d actions, want %d (one per employee):\n%s", len(got.Actions), len(pids), dump(got))
	}
	var steps []Step
	for i, a := range got.Actions {
		if a.PersonioID != pids[i] {
			t.Errorf("action %d is employee %q's, want %q:\n%s", i, a.PersonioID, pids[i], dump(got))
		}
		for _, s := range a.Steps {
			if s.PersonioID != a.PersonioID {
				t.Errorf("action %d of employee %q holds a step of %q", i, a.PersonioID, s.PersonioID)
			}
		}
		steps = append(steps, a.Steps...)
	}
	if len(steps) != len(want) {
		t.Fatalf("got %d steps, want %d:\n%s", len(steps), len(want), dump(got))
	}
	for i, w := range want {
		a := steps[i]
		if a.Kind != w.kind || a.PersonioID != w.pid || (w.uid != "" && a.UserID != w.uid) || (w.match != "" && a.Match != w.match) ||
			a.Lock != w.lock || a.Invite != w.invite || !strings.Contains(a.Reason, w.reason) ||
			(w.changes != "" && changedNames(a.Changes) != strings.ReplaceAll(w.changes, ",", ", ")) {
			t.Errorf("step %d = %+v\nwant %+v\nplan:\n%s", i, a, w, dump(got))
		}
		if a.Reason == "" {
			t.Errorf("step %d has no reason", i)
		}
	}
}

func dump(p Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		b.WriteString("  " + string(a.Kind) + " " + a.PersonioID + " (" + a.Person + ")\n")
		for _, s := range a.Steps {
			b.WriteString("    " + string(s.Kind) + " " + s.PersonioID + "→" + s.UserID + " " + string(s.Match) + " " + changedNames(s.Changes) + ": " + s.Reason + "\n")
		}
	}
	return b.String()
}

func TestMatchingAndConflicts(t *testing.T) {
	cases := []struct {
		name  string
		in    Input
		want  []step
		match map[string]domain.Match
	}{
		{
			name: "new employee is created with custom_id",
			in:   Input{Employees: []domain.Employee{emp("1", "a@x.de")}},
			want: []step{{kind: ActCreate, pid: "1", match: domain.MatchNone, reason: "new employee"}},
		},
		{
			name: "stored mapping matches even when e-mail and custom_id differ",
			in: Input{Employees: []domain.Employee{emp("1", "new@x.de")}, Users: []domain.User{usr("u1", "1", "old@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "email", reason: "Personio is the leading system"}},
		},
		{
			name: "stored mapping wins over custom_id on another user",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")},
				Users: []domain.User{usr("u1", "", "a@x.de", "1"), usr("u2", "1", "b@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "custom_id"}},
		},
		{
			name: "e-mail change of an already mapped employee updates the same user",
			in: Input{Employees: []domain.Employee{emp("1", "anna.new@x.de")}, Users: []domain.User{usr("u1", "1", "anna@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "email", reason: "Personio is the leading system"}},
		},
		{
			name: "new e-mail of a mapped employee taken by another user: conflict, other fields still synced",
			in: Input{Employees: []domain.Employee{emp("1", "Team@x.de")},
				Users: []domain.User{{ID: "u1", CustomID: "1", Email: "anna@x.de", FirstName: "First1", LastName: "Old"}, usr("u2", "", "team@x.de", "9")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{
				{kind: ActUpdate, pid: "1", uid: "u1", changes: "last_name"},
				{kind: ActConflict, pid: "1", uid: "u1", match: domain.MatchConflict, reason: "already belongs to Staffomatic user u2"},
			},
		},
		{
			name: "new e-mail of a mapped employee is a new hire's e-mail: neither written, both reported, other fields still synced",
			in: Input{Employees: []domain.Employee{emp("1", "team@x.de"), emp("2", "Team@x.de ")},
				Users: []domain.User{{ID: "u1", CustomID: "1", Email: "anna@x.de", FirstName: "First1", LastName: "Old"}},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{
				{kind: ActUpdate, pid: "1", uid: "u1", changes: "last_name"},
				{kind: ActConflict, pid: "1", uid: "u1", match: domain.MatchConflict, reason: "the e-mail of user u1 was not changed: the e-mail team@x.de is also the e-mail of Personio employee 2"},
				{kind: ActConflict, pid: "2", match: domain.MatchConflict, reason: "not created: the e-mail team@x.de is also the e-mail of Personio employee 1"},
			},
		},
		{
			name: "two mapped employees move to one e-mail: neither written",
			in: Input{Employees: []domain.Employee{emp("1", "desk@x.de"), emp("2", "desk@x.de")},
				Users: []domain.User{usr("u1", "1", "a@x.de", "1"), usr("u2", "2", "b@x.de", "2")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}, {PersonioID: "2", UserID: "u2"}}},
			want: []step{
				{kind: ActConflict, pid: "1", uid: "u1", reason: "also the e-mail of Personio employee 2"},
				{kind: ActConflict, pid: "2", uid: "u2", reason: "also the e-mail of Personio employee 1"},
			},
		},
		{
			name: "user of a deselected (mapped) employee is not taken by e-mail",
			in: Input{Employees: []domain.Employee{emp("1", "shared@x.de")}, Users: []domain.User{usr("u7", "7", "shared@x.de", "7")},
				Links: []domain.Link{{PersonioID: "7", UserID: "u7"}}},
			want: []step{{kind: ActConflict, pid: "1", reason: "already mapped to Personio employee 7"}},
		},
		{
			name: "custom_id match is linked without writes",
			in:   Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{usr("u1", "1", "a@x.de", "1")}},
			want: []step{{kind: ActLink, pid: "1", uid: "u1", match: domain.MatchCustomID}},
		},
		{
			name: "custom_id wins over e-mail; the e-mail held by the other user is a conflict, not overwritten",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")},
				Users: []domain.User{usr("u1", "", "a@x.de", "9"), usr("u2", "1", "other@x.de", "1")}},
			want: []step{{kind: ActLink, pid: "1", uid: "u2", match: domain.MatchCustomID},
				{kind: ActConflict, pid: "1", uid: "u2", reason: "already belongs to Staffomatic user u1"}},
		},
		{
			name: "e-mail match is case-insensitive and trimmed and sets custom_id",
			in:   Input{Employees: []domain.Employee{emp("1", " Anna.B@X.de ")}, Users: []domain.User{usr("u1", "", "anna.b@x.de", "1")}},
			want: []step{{kind: ActLink, pid: "1", uid: "u1", match: domain.MatchEmail}, {kind: ActUpdate, pid: "1", uid: "u1", changes: "custom_id"}},
		},
		{
			name: "e-mail match of a user carrying another employee's id in custom_id is a conflict, not a takeover",
			in:   Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{usr("u7", "7", "A@x.de", "7")}},
			want: []step{{kind: ActConflict, pid: "1", match: domain.MatchConflict, reason: "custom_id 7 is not this employee's Personio id"}},
		},
		{
			name: "employee without e-mail and no custom_id is a conflict",
			in:   Input{Employees: []domain.Employee{emp("1", "")}},
			want: []step{{kind: ActConflict, pid: "1", reason: "no e-mail"}},
		},
		{
			name: "employee without e-mail matched by custom_id is fine",
			in:   Input{Employees: []domain.Employee{emp("1", "")}, Users: []domain.User{usr("u1", "1", "", "1")}},
			want: []step{{kind: ActLink, pid: "1", uid: "u1", match: domain.MatchCustomID}},
		},
		{
			name: "e-mail matching two users is a conflict",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")},
				Users: []domain.User{usr("u1", "", "a@x.de", "1"), usr("u2", "", "A@x.de", "1")}},
			want: []step{{kind: ActConflict, pid: "1", reason: "matches 2 Staffomatic users"}},
		},
		{
			name: "custom_id on two users is a conflict",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")},
				Users: []domain.User{usr("u1", "1", "a@x.de", "1"), usr("u2", "1", "b@x.de", "1")}},
			want: []step{{kind: ActConflict, pid: "1", reason: "2 Staffomatic users carry custom_id 1"}},
		},
		{
			name: "user already mapped to another employee is a conflict",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{usr("u1", "2", "a@x.de", "2")},
				Links: []domain.Link{{PersonioID: "2", UserID: "u1"}}},
			want: []step{{kind: ActConflict, pid: "1", reason: "already mapped to Personio employee 2"}},
		},
		{
			name: "user claimed by custom_id in this run is a conflict for the e-mail match",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de"), emp("2", "b@x.de")},
				Users: []domain.User{usr("u1", "2", "a@x.de", "2")}},
			want: []step{
				{kind: ActConflict, pid: "1", reason: "already matched to Personio employee 2"},
				{kind: ActLink, pid: "2", uid: "u1", match: domain.MatchCustomID},
				{kind: ActUpdate, pid: "2", uid: "u1", changes: "email"},
			},
		},
		{
			name: "two employees sharing one e-mail are both conflicts",
			in:   Input{Employees: []domain.Employee{emp("1", "team@x.de"), emp("2", "Team@x.de")}},
			want: []step{
				{kind: ActConflict, pid: "1", reason: "belongs to 2 Personio employees (1, 2)"},
				{kind: ActConflict, pid: "2", reason: "belongs to 2 Personio employees (1, 2)"},
			},
		},
		{
			name: "mapping to a deleted user falls back to e-mail",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{usr("u2", "", "a@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "gone"}}},
			want: []step{{kind: ActLink, pid: "1", uid: "u2", match: domain.MatchEmail}, {kind: ActUpdate, pid: "1", uid: "u2", changes: "custom_id"}},
		},
		{
			name: "deselected employee's user is left untouched",
			in: Input{Employees: nil, Users: []domain.User{usr("u1", "1", "a@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}, Settings: Settings{EnablePersonioLastWorkingDay: true}, Today: "2030-01-01"},
			want: nil,
		},
		{
			name: "Staffomatic edit is overwritten",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")},
				Users: []domain.User{{ID: "u1", CustomID: "1", Email: "a@x.de", FirstName: "First1", LastName: "Edited"}},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "last_name", reason: "Personio is the leading system"}},
		},
		{
			name: "empty names in Personio do not clear the user's names (an update of nothing fails at every run)",
			in: Input{Employees: []domain.Employee{{PersonioID: "1", FirstName: " ", Email: "a@x.de"}},
				Users: []domain.User{usr("u1", "1", "a@x.de", "1")}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: nil,
		},
		{
			name: "empty first name with another change: only the change is planned",
			in: Input{Employees: []domain.Employee{{PersonioID: "1", LastName: "New", Email: "a@x.de"}},
				Users: []domain.User{usr("u1", "1", "a@x.de", "1")}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "last_name"}},
		},
		{
			name: "unchanged mapped user needs nothing",
			in: Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{usr("u1", "1", "A@x.de", "1")},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, truthful(t, c.in), c.want)
		})
	}
}

func TestCreateCarriesAllFields(t *testing.T) {
	e := emp("7", "g@x.de")
	e.WeeklyHours = f(38.5)
	e.Entitlements = map[string]float64{"10": 24, "11": 2.5, "12": 99}
	p := truthful(t, Input{Employees: []domain.Employee{e}, Settings: Settings{EntitlementTypeIDs: []string{"10", "11"}},
		Place: func(domain.Employee) domain.Placement {
			return domain.Placement{LocationID: "L1", DepartmentIDs: []string{"d2", "d1"}}
		}})
	if len(p.Actions) != 1 || p.Actions[0].Kind != ActCreate {
		t.Fatalf("plan %s", dump(p))
	}
	got := p.Actions[0].Steps[0].Fields
	if got.CustomID != "7" || got.Email != "g@x.de" || got.FirstName != "First7" || got.LocationID != "L1" ||
		strings.Join(got.DepartmentIDs, ",") != "d1,d2" || *got.WeeklyHours != 38.5 || *got.VacationDays != 26.5 {
		t.Fatalf("fields %+v", got)
	}
}

func TestEntitlementSums(t *testing.T) {
	cases := []struct {
		name    string
		types   []string
		ent     map[string]float64
		have    *float64
		changes int
		want    *float64
	}{
		{"sum of configured types", []string{"1", "2"}, map[string]float64{"1": 20, "2": 5, "3": 10}, f(20), 1, f(25)},
		{"type missing on the employee counts zero", []string{"1", "4"}, map[string]float64{"1": 20}, f(0), 1, f(20)},
		{"equal sum needs no write", []string{"1", "2"}, map[string]float64{"1": 20, "2": 5}, f(25), 0, nil},
		{"half days kept", []string{"1"}, map[string]float64{"1": 12.5}, nil, 1, f(12.5)},
		{"setting empty: not managed", nil, map[string]float64{"1": 20}, f(3), 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := emp("1", "a@x.de")
			e.Entitlements = c.ent
			u := usr("u1", "1", "a@x.de", "1")
			u.VacationDays = c.have
			p := truthful(t, Input{Employees: []domain.Employee{e}, Users: []domain.User{u}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}},
				Settings: Settings{EntitlementTypeIDs: c.types}})
			if len(p.Actions) != c.changes {
				t.Fatalf("plan %s", dump(p))
			}
			if c.want != nil && *p.Actions[0].Steps[0].Fields.VacationDays != *c.want {
				t.Fatalf("vacation days %v, want %v", *p.Actions[0].Steps[0].Fields.VacationDays, *c.want)
			}
		})
	}
}

func TestHireDateAndLastWorkingDay(t *testing.T) {
	on := Settings{EnablePersonioHireDate: true, EnablePersonioLastWorkingDay: true, InviteStaffomaticUsers: true}
	withDates := func(hire, lwd string) domain.Employee {
		e := emp("1", "a@x.de")
		e.HireDate, e.LastWorkingDay = hire, lwd
		return e
	}
	mapped := func(locked, lockedBySync, invited bool) ([]domain.User, []domain.Link) {
		u := usr("u1", "1", "a@x.de", "1")
		u.Locked = locked
		return []domain.User{u}, []domain.Link{{PersonioID: "1", UserID: "u1", LockedBySync: lockedBySync, Invited: invited}}
	}
	cases := []struct {
		name     string
		settings Settings
		emp      domain.Employee
		mapped   bool
		locked   bool
		bySync   bool
		invited  bool
		self     bool
		today    string
		want     []step
	}{
		{name: "future hire date: created locked, not invited", settings: on, emp: withDates("2026-12-01", ""), today: "2026-11-30",
			want: []step{{kind: ActCreate, pid: "1", lock: true, reason: "hire date 2026-12-01 is in the future"}}},
		{name: "hire date today: created open and invited", settings: on, emp: withDates("2026-12-01", ""), today: "2026-12-01",
			want: []step{{kind: ActCreate, pid: "1", invite: true}}},
		{name: "hire-date setting off: future hire date ignored", settings: Settings{InviteStaffomaticUsers: true}, emp: withDates("2027-01-01", ""), today: "2026-11-30",
			want: []step{{kind: ActCreate, pid: "1", invite: true}}},
		{name: "hire date reached: our lock is lifted and the invitation sent", settings: on, emp: withDates("2026-12-01", ""), today: "2026-12-01",
			mapped: true, locked: true, bySync: true,
			want: []step{{kind: ActUnlock, pid: "1", uid: "u1", reason: "hire date 2026-12-01 reached"}, {kind: ActInvite, pid: "1", uid: "u1"}}},
		{name: "hire date not reached: locked user stays locked and uninvited", settings: on, emp: withDates("2026-12-01", ""), today: "2026-11-30",
			mapped: true, locked: true, bySync: true, want: nil},
		{name: "future hire date locks an existing open user", settings: on, emp: withDates("2026-12-01", ""), today: "2026-11-30",
			mapped: true, invited: true,
			want: []step{{kind: ActLock, pid: "1", uid: "u1", reason: "hire date"}}},
		{name: "admin's lock is never lifted", settings: on, emp: withDates("2020-01-01", ""), today: "2026-11-30",
			mapped: true, locked: true, bySync: false, invited: true, want: nil},
		{name: "last working day today: still open", settings: on, emp: withDates("", "2026-11-30"), today: "2026-11-30",
			mapped: true, invited: true, want: nil},
		{name: "day after last working day: locked, still billed", settings: on, emp: withDates("", "2026-11-30"), today: "2026-12-01",
			mapped: true, invited: true,
			want: []step{{kind: ActLock, pid: "1", uid: "u1", reason: "still billed"}}},
		{name: "last-working-day setting off: no lock", settings: Settings{}, emp: withDates("", "2026-11-30"), today: "2026-12-01",
			mapped: true, want: nil},
		{name: "leaver without a user is not created", settings: on, emp: withDates("", "2026-11-30"), today: "2026-12-01",
			want: []step{{kind: ActSkip, pid: "1", reason: "licence"}}},
		{name: "the admin staffsync signs in as is never locked: skip reported instead", settings: on, emp: withDates("", "2026-11-30"), today: "2026-12-01",
			mapped: true, invited: true, self: true,
			want: []step{{kind: ActSkip, pid: "1", uid: "u1", reason: "staffsync signs in as"}}},
		{name: "last working day moved into the future: our lock lifted", settings: on, emp: withDates("", "2027-06-30"), today: "2026-12-01",
			mapped: true, locked: true, bySync: true, invited: true,
			want: []step{{kind: ActUnlock, pid: "1", uid: "u1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Employees: []domain.Employee{c.emp}, Settings: c.settings, Today: c.today}
			if c.mapped {
				in.Users, in.Links = mapped(c.locked, c.bySync, c.invited)
			}
			if c.self {
				in.SelfUserID = "u1"
			}
			check(t, truthful(t, in), c.want)
		})
	}
}

// TestTodayInAccountZone shows the boundary is the account's calendar day: at 23:30 UTC
// on 30 November it is already 1 December in Berlin, so a hire date of 1 December counts.
func TestTodayInAccountZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	if got := Today(now, berlin); got != "2026-12-01" {
		t.Fatalf("Today = %s", got)
	}
	e := emp("1", "a@x.de")
	e.HireDate = "2026-12-01"
	settings := Settings{EnablePersonioHireDate: true}
	if p := truthful(t, Input{Employees: []domain.Employee{e}, Settings: settings, Today: Today(now, berlin)}); p.Actions[0].Steps[0].Lock {
		t.Fatal("locked although the hire date has begun in the account's zone")
	}
	if p := truthful(t, Input{Employees: []domain.Employee{e}, Settings: settings, Today: Today(now, time.UTC)}); !p.Actions[0].Steps[0].Lock {
		t.Fatal("not locked on the day before the hire date")
	}
}

func TestInviteOnce(t *testing.T) {
	inv := Settings{InviteStaffomaticUsers: true}
	cases := []struct {
		name     string
		settings Settings
		state    string
		invited  bool
		email    string
		want     []step
	}{
		{"first sync invites a matched user", inv, "", false, "a@x.de", []step{{kind: ActInvite, pid: "1", uid: "u1"}}},
		{"never twice", inv, "", true, "a@x.de", nil},
		{"already accepted in Staffomatic: remembered, not sent", inv, "accepted", false, "a@x.de", []step{{kind: ActLink, pid: "1", uid: "u1", reason: "not sent again"}}},
		{"setting off: no invitation", Settings{}, "", false, "a@x.de", nil},
		{"already pending in Staffomatic: remembered, not sent", inv, "pending", false, "a@x.de", []step{{kind: ActLink, pid: "1", uid: "u1", reason: "not sent again"}}},
		{"user without e-mail: nothing to invite", inv, "", false, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := usr("u1", "1", c.email, "1")
			u.InvitationState = c.state
			p := truthful(t, Input{Employees: []domain.Employee{emp("1", c.email)}, Users: []domain.User{u},
				Links: []domain.Link{{PersonioID: "1", UserID: "u1", Invited: c.invited}}, Settings: c.settings})
			check(t, p, c.want)
			if c.state != "" && !p.Actions[0].Steps[0].MarkInvited {
				t.Error("accepted invitation not marked in the mapping")
			}
		})
	}
}

func TestDepartmentsAreOnlyAdded(t *testing.T) {
	u := usr("u1", "1", "a@x.de", "1")
	u.DepartmentIDs = []string{"d9", "d1"}
	place := func(domain.Employee) domain.Placement {
		return domain.Placement{LocationID: "L1", DepartmentIDs: []string{"d1", "d2"}}
	}
	p := truthful(t, Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{u}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}, Place: place})
	check(t, p, []step{{kind: ActUpdate, pid: "1", uid: "u1", changes: "department_ids"}})
	if got := strings.Join(p.Actions[0].Steps[0].Fields.DepartmentIDs, ","); got != "d1,d2,d9" {
		t.Fatalf("departments %s: the admin's d9 must stay", got)
	}
	u.DepartmentIDs = []string{"d1", "d2", "d9"}
	if p := truthful(t, Input{Employees: []domain.Employee{emp("1", "a@x.de")}, Users: []domain.User{u}, Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}, Place: place}); len(p.Actions) != 0 {
		t.Fatalf("extra membership caused writes: %s", dump(p))
	}
}

func TestMissingAttributesFailWithoutChanges(t *testing.T) {
	p := truthful(t, Input{Employees: []domain.Employee{emp("1", "a@x.de")}, MissingAttributes: []string{"hire_date", "email"}})
	check(t, p, []step{{kind: ActFail, reason: "email, hire_date"}})
	if p.Writes() != 0 {
		t.Fatal("a failed plan writes")
	}
}

func TestNoOpPlanHasNoWrites(t *testing.T) {
	var emps []domain.Employee
	var users []domain.User
	var links []domain.Link
	for _, id := range []string{"1", "2", "3"} {
		emps = append(emps, emp(id, id+"@x.de"))
		users = append(users, usr("u"+id, id, id+"@x.de", id))
		links = append(links, domain.Link{PersonioID: id, UserID: "u" + id, Invited: true})
	}
	p := truthful(t, Input{Employees: emps, Users: users, Links: links, Settings: Settings{InviteStaffomaticUsers: true, EnablePersonioHireDate: true}, Today: "2026-11-25"})
	if len(p.Actions) != 0 || p.Writes() != 0 {
		t.Fatalf("no-op run plans %s", dump(p))
	}
}

// TestInviteOnceAtCreate: a created user is invited with the create (one write) when the
// setting is on, and never when it is off or the user has no e-mail to invite.
func TestInviteOnceAtCreate(t *testing.T) {
	cases := []struct {
		name   string
		inv    bool
		email  string
		invite bool
	}{
		{"setting on", true, "a@x.de", true},
		{"setting off", false, "a@x.de", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := truthful(t, Input{Employees: []domain.Employee{emp("1", c.email)}, Settings: Settings{InviteStaffomaticUsers: c.inv}})
			check(t, p, []step{{kind: ActCreate, pid: "1", invite: c.invite}})
			if p.Writes() != 1 {
				t.Fatalf("create with invitation must be one write: %s", dump(p))
			}
		})
	}
}

// TestReportsAreNotRepeated: the planner leaves out a conflict or skip whose fingerprint
// is the one last reported (so a run without changes writes nothing), and plans it again
// once its reason or users changed; a loader skip is deduplicated the same way.
func TestReportsAreNotRepeated(t *testing.T) {
	noEmail := Input{Employees: []domain.Employee{emp("1", "")}}
	first := truthful(t, noEmail)
	if len(first.Actions) != 1 || first.Actions[0].Kind != ActConflict || first.Actions[0].Steps[0].Report == "" {
		t.Fatalf("first plan %+v", first.Actions)
	}
	fp := first.Actions[0].Steps[0].Report
	skip := Step{Kind: ActSkip, PersonioID: "9", Reason: "no Personio employee with this id"}
	skipFP := domain.ReportFingerprint(string(ActSkip), nil, skip.Reason)
	cases := []struct {
		name     string
		reported map[string]string
		skips    []Step
		want     []step
	}{
		{"reported unchanged: nothing", map[string]string{"1": fp}, nil, nil},
		{"another report earlier: reported again", map[string]string{"1": "report:0000000000000000"}, nil,
			[]step{{kind: ActConflict, pid: "1", reason: "no e-mail"}}},
		{"loader skip, new", map[string]string{"1": fp}, []Step{skip}, []step{{kind: ActSkip, pid: "9", reason: "no Personio employee"}}},
		{"loader skip, reported unchanged", map[string]string{"1": fp, "9": skipFP}, []Step{skip}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := noEmail
			in.Reported, in.Skips = c.reported, c.skips
			p := truthful(t, in)
			check(t, p, c.want)
			for _, act := range p.Actions {
				for _, a := range act.Steps {
					if a.Report != domain.ReportFingerprint(string(a.Kind), a.UserIDs, a.Reason) {
						t.Errorf("step %+v carries fingerprint %q", a, a.Report)
					}
				}
			}
		})
	}
}

// TestOneActionPerEmployee: however many writes an employee needs (a link, an update of
// several fields, a lock, an unlock, an invitation), the plan has one action for the
// employee: named after them, with one field diff over all steps, and a dry-run reason
// that says what will happen, step by step.
func TestOneActionPerEmployee(t *testing.T) {
	frieda := domain.Employee{PersonioID: "1", FirstName: "Frieda", LastName: "Fischer", Email: "frieda@x.de", Status: "active"}
	place := func(domain.Employee) domain.Placement {
		return domain.Placement{LocationID: "L1", DepartmentIDs: []string{"d2"}}
	}
	on := Settings{EnablePersonioHireDate: true, EnablePersonioLastWorkingDay: true, InviteStaffomaticUsers: true}
	cases := []struct {
		name   string
		emp    func(domain.Employee) domain.Employee
		user   *domain.User // nil: no user
		link   *domain.Link
		kind   ActionKind
		steps  string // kinds of the steps, in order
		diff   []Change
		writes int
		told   string // the dry run's reason
		self   bool   // the user is the admin staffsync signs in as
	}{
		{name: "matched by e-mail, renamed, new department, left: link, update and lock",
			emp:  func(e domain.Employee) domain.Employee { e.LastWorkingDay = "2026-11-30"; return e },
			user: &domain.User{ID: "u1", Email: "Frieda@x.de", FirstName: "Frida", LastName: "Fischer", DepartmentIDs: []string{"d1"}},
			kind: ActUpdate, steps: "link_user update_user lock_user", writes: 2,
			diff: []Change{{Field: "first_name", From: "Frida", To: "Frieda"}, {Field: "custom_id", From: "", To: "1"},
				{Field: "department_ids", From: "d1", To: "d1,d2"}, {Field: "locked", From: "no", To: "yes"}},
			told: "will link user u1: e-mail matches; will update first_name, custom_id, department_ids: Personio is the leading system; will lock user: last working day 2026-11-30 has passed"},
		{name: "new employee hired next month: created locked",
			emp:  func(e domain.Employee) domain.Employee { e.HireDate = "2027-01-01"; return e },
			kind: ActCreate, steps: "create_user", writes: 2,
			diff: []Change{{Field: "first_name", From: "", To: "Frieda"}, {Field: "last_name", From: "", To: "Fischer"},
				{Field: "email", From: "", To: "frieda@x.de"}, {Field: "custom_id", From: "", To: "1"}, {Field: "location_id", From: "", To: "L1"},
				{Field: "department_ids", From: "", To: "d2"}, {Field: "locked", From: "", To: "yes"}},
			told: "will create user locked: new employee"},
		{name: "new employee starting today: created and invited in one write",
			emp:  func(e domain.Employee) domain.Employee { e.HireDate = "2026-12-01"; return e },
			kind: ActCreate, steps: "create_user", writes: 1,
			diff: []Change{{Field: "first_name", From: "", To: "Frieda"}, {Field: "last_name", From: "", To: "Fischer"},
				{Field: "email", From: "", To: "frieda@x.de"}, {Field: "custom_id", From: "", To: "1"}, {Field: "location_id", From: "", To: "L1"},
				{Field: "department_ids", From: "", To: "d2"}, {Field: "invitation", From: "", To: "sent"}},
			told: "will create user and send the invitation: new employee"},
		{name: "hire date reached: unlock and invitation",
			emp:  func(e domain.Employee) domain.Employee { e.HireDate = "2026-12-01"; return e },
			user: &domain.User{ID: "u1", CustomID: "1", Email: "frieda@x.de", FirstName: "Frieda", LastName: "Fischer", DepartmentIDs: []string{"d2"}, Locked: true},
			link: &domain.Link{PersonioID: "1", UserID: "u1", LockedBySync: true},
			kind: ActUnlock, steps: "unlock_user invite_user", writes: 2,
			diff: []Change{{Field: "locked", From: "yes", To: "no"}, {Field: "invitation", From: "not sent", To: "sent"}},
			told: "will unlock user: hire date 2026-12-01 reached; will send the invitation: first sync of this user"},
		{name: "leaver who is the admin staffsync signs in as: updated, left unlocked",
			emp:  func(e domain.Employee) domain.Employee { e.LastWorkingDay = "2026-11-30"; return e },
			user: &domain.User{ID: "u1", CustomID: "1", Email: "frieda@x.de", FirstName: "Frida", LastName: "Fischer", DepartmentIDs: []string{"d2"}},
			link: &domain.Link{PersonioID: "1", UserID: "u1", Invited: true}, self: true,
			kind: ActUpdate, steps: "update_user skip", writes: 1,
			diff: []Change{{Field: "first_name", From: "Frida", To: "Frieda"}},
			told: "will update first_name: Personio is the leading system; will leave the user unlocked: last working day 2026-11-30 has passed"},
		{name: "new e-mail taken by another user: the update tells the conflict",
			emp:  func(e domain.Employee) domain.Employee { e.Email = "desk@x.de"; return e },
			user: &domain.User{ID: "u1", CustomID: "1", Email: "frieda@x.de", FirstName: "Frida", LastName: "Fischer", DepartmentIDs: []string{"d2"}},
			link: &domain.Link{PersonioID: "1", UserID: "u1", Invited: true},
			kind: ActUpdate, steps: "update_user conflict", writes: 1,
			diff: []Change{{Field: "first_name", From: "Frida", To: "Frieda"}},
			told: "will update first_name: Personio is the leading system; will report a conflict: the new e-mail desk@x.de from Personio already belongs to Staffomatic user u9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Employees: []domain.Employee{c.emp(frieda)}, Settings: on, Today: "2026-12-01", Place: place}
			if c.user != nil {
				in.Users = append(in.Users, *c.user)
			}
			in.Users = append(in.Users, domain.User{ID: "u9", Email: "desk@x.de", FirstName: "Front", LastName: "Desk"})
			if c.link != nil {
				in.Links = []domain.Link{*c.link}
			}
			if c.self {
				in.SelfUserID = "u1"
			}
			p := truthful(t, in)
			if len(p.Actions) != 1 {
				t.Fatalf("%d actions for one employee:\n%s", len(p.Actions), dump(p))
			}
			a := p.Actions[0]
			var kinds []string
			for _, s := range a.Steps {
				kinds = append(kinds, string(s.Kind))
			}
			if a.Kind != c.kind || strings.Join(kinds, " ") != c.steps || a.Person != "Frieda Fischer" || a.PersonioID != "1" || p.Writes() != c.writes {
				t.Fatalf("action %s of %s (%s), steps %v, %d writes; want %s, steps %s, %d writes", a.Kind, a.PersonioID, a.Person, kinds, p.Writes(), c.kind, c.steps, c.writes)
			}
			if !slices.Equal(a.Changes, c.diff) {
				t.Errorf("diff %+v\nwant %+v", a.Changes, c.diff)
			}
			if told := a.Tell(domain.OutcomePlanned, 0, nil); !strings.HasPrefix(told, c.told) {
				t.Errorf("dry run tells %q\nwant it to start %q", told, c.told)
			}
			pa := (Planned{Plan: p}).Actions()
			if len(pa) != 1 || pa[0].Person != "Frieda Fischer" || pa[0].Action != string(c.kind) || !slices.Equal(pa[0].Changes, c.diff) ||
				!strings.HasPrefix(pa[0].Reason, "will ") || pa[0].SourceID != "1" {
				t.Errorf("stored plan %+v", pa)
			}
		})
	}
}

// TestTwentyFiveEmployeesTwentyFiveActions: an employee with several changes is still one
// action, so 25 employees of whom three need several writes plan 25 actions (the
// protocol of the run has 25 entries, checked by truthful).
func TestTwentyFiveEmployeesTwentyFiveActions(t *testing.T) {
	var in Input
	in.Settings = Settings{EnablePersonioLastWorkingDay: true, InviteStaffomaticUsers: true}
	in.Today = "2026-12-01"
	for i := 1; i <= 25; i++ {
		id := strconv.Itoa(i)
		e, u := emp(id, id+"@x.de"), usr("u"+id, id, id+"@x.de", id)
		u.LastName = "Old" // every user needs an update
		if i <= 3 {
			e.LastWorkingDay = "2026-11-01" // and three a lock
		}
		in.Employees, in.Users = append(in.Employees, e), append(in.Users, u)
		in.Links = append(in.Links, domain.Link{PersonioID: id, UserID: "u" + id, Invited: i > 3})
	}
	p := truthful(t, in)
	if len(p.Actions) != 25 || p.Writes() != 28 {
		t.Fatalf("%d actions, %d writes; want 25 actions making 28 writes:\n%s", len(p.Actions), p.Writes(), dump(p))
	}
	for _, a := range p.Actions {
		if a.Person != "First"+a.PersonioID+" Last"+a.PersonioID || a.Kind != ActUpdate {
			t.Errorf("action %s of %s named %q", a.Kind, a.PersonioID, a.Person)
		}
	}
}

// TestToldByOutcome: one action told in a dry run (what will happen), after a real run
// (what happened), and after a failure in its second step (what happened, what failed,
// what was not tried).
func TestToldByOutcome(t *testing.T) {
	a := Action{Kind: ActUpdate, PersonioID: "1", Steps: []Step{
		{Kind: ActUpdate, Changes: []Change{{Field: "last_name", From: "A", To: "B"}}, Reason: "Personio is the leading system"},
		{Kind: ActLock, Reason: "last working day 2026-11-30 has passed"},
		{Kind: ActInvite, Reason: "first sync"},
	}}
	cases := []struct {
		name string
		o    domain.Outcome
		done int
		err  error
		want string
	}{
		{"dry run", domain.OutcomePlanned, 0, nil,
			"will update last_name: Personio is the leading system; will lock user: last working day 2026-11-30 has passed; will send the invitation: first sync"},
		{"real run", domain.OutcomeUpdated, 3, nil,
			"updated last_name: Personio is the leading system; locked user: last working day 2026-11-30 has passed; sent the invitation: first sync"},
		{"failed in the second step", domain.OutcomeFailed, 1, errors.New("429 too many requests"),
			"updated last_name: Personio is the leading system; could not lock user: last working day 2026-11-30 has passed; failed: 429 too many requests; not tried: send the invitation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := a.Tell(c.o, c.done, c.err); got != c.want {
				t.Errorf("told %q\nwant %q", got, c.want)
			}
		})
	}
}
