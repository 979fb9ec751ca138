// Package usersync is the users phase (Personio employees → Staffomatic users) as the
// harness of internal/phase runs it. Its planner (plan.go) is a pure function: it takes the
// selected Personio employees, the Staffomatic users and the stored user mappings and
// returns the actions that make Staffomatic match Personio (one per employee, its steps
// each with its reason), so every rule of DESIGN §1.3 is tested without a network. Load
// (load.go) reads the employees, the users and the mappings; Apply (apply.go) performs the
// steps, records the mapping per step and one protocol entry per employee, making exactly
// the writes the plan lists. What it shares with the
// other phases and the admin API (employees, users, matching, the selection, placement)
// lives in internal/domain.
package usersync

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// Settings are the tenant settings that shape the user sync (DESIGN §1.2).
type Settings struct {
	EnablePersonioHireDate       bool
	EnablePersonioLastWorkingDay bool
	InviteStaffomaticUsers       bool
	// EntitlementTypeIDs are fallback_personio_time_off_type_ids_for_entitlements: the
	// user's vacation entitlement in Staffomatic is the sum of these types' entitlements.
	// Empty: the entitlement is not managed.
	EntitlementTypeIDs []string
}

// Input is everything Plan needs.
type Input struct {
	// Employees are the selected employees in scope of this run (all selected ones in a full
	// run, changed ones in a partial run, named ones in a targeted run).
	Employees []domain.Employee
	// Users are all Staffomatic users of the account (any state), needed for matching.
	Users []domain.User
	// Links are the stored user mappings of the tenant.
	Links    []domain.Link
	Settings Settings
	// Today is the current date in the Staffomatic account's time zone, "YYYY-MM-DD".
	Today string
	// Place returns an employee's placement; nil or an empty result leaves departments alone.
	Place func(domain.Employee) domain.Placement
	// MissingAttributes are required Personio attributes the credential does not expose.
	MissingAttributes []string
	// SelfUserID is the Staffomatic user whose credentials staffsync signs in with (the
	// admin managing the integration); it is never locked, as that would stop every sync.
	SelfUserID string
	// Skips are what the loader could not hand to the planner (targets that are no
	// employee, or not selected); they are reported like the planner's own skips.
	Skips []Step
	// Reported holds, per Personio id, the fingerprint of the report (conflict, skip) last
	// written to the protocol: an unchanged one is not planned again, so a run without
	// changes writes nothing but its summary.
	Reported map[string]string
}

// ActionKind names what an action does.
type ActionKind string

const (
	// ActCreate creates the user (with custom_id), locked and/or invited as flagged.
	ActCreate ActionKind = "create_user"
	// ActLink stores the mapping of an employee to an existing user (no Staffomatic write).
	ActLink ActionKind = "link_user"
	// ActUpdate writes changed master data.
	ActUpdate ActionKind = "update_user"
	ActLock   ActionKind = "lock_user"
	ActUnlock ActionKind = "unlock_user"
	ActInvite ActionKind = "invite_user"
	// ActConflict reports an employee that cannot be matched safely; nothing is written.
	ActConflict ActionKind = "conflict"
	// ActSkip reports an employee deliberately not synced, with the reason.
	ActSkip ActionKind = "skip"
	// ActFail stops the run before any write (for example hidden required attributes).
	ActFail ActionKind = "fail"
)

// Writes reports whether the action writes to Staffomatic.
func (k ActionKind) Writes() bool {
	switch k {
	case ActCreate, ActUpdate, ActLock, ActUnlock, ActInvite:
		return true
	}
	return false
}

// Fields are the master data staffsync writes to a user.
type Fields struct {
	FirstName     string   `json:"first_name,omitempty"`
	LastName      string   `json:"last_name,omitempty"`
	Email         string   `json:"email,omitempty"`
	CustomID      string   `json:"custom_id,omitempty"`
	LocationID    string   `json:"location_id,omitempty"`
	DepartmentIDs []string `json:"department_ids,omitempty"`
	WeeklyHours   *float64 `json:"weekly_hours,omitempty"`
	VacationDays  *float64 `json:"vacation_days,omitempty"`
}

// Change is one field that differs, for the protocol and the dry-run preview; its values
// are shortened (domain.Change).
type Change = domain.FieldChange

// Step is one thing a run does for an employee: a Staffomatic write, a mapping write or a
// report, with its reason. An employee's steps make up its Action.
type Step struct {
	Kind       ActionKind `json:"kind"`
	PersonioID string     `json:"personio_id,omitempty"`
	UserID     string     `json:"user_id,omitempty"`
	// UserIDs lists the users involved in a conflict.
	UserIDs []string     `json:"user_ids,omitempty"`
	Match   domain.Match `json:"match,omitempty"`
	// Fields are the complete data of a create and the changed data of an update.
	Fields  *Fields  `json:"fields,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// Lock and Invite qualify a create: create locked, or send the invitation with it.
	Lock   bool `json:"lock,omitempty"`
	Invite bool `json:"invite,omitempty"`
	// LockedBySync is stored in the mapping after a lock or create.
	LockedBySync bool `json:"locked_by_sync,omitempty"`
	// MarkInvited sets the mapping's Invited flag (an invitation found already sent).
	MarkInvited bool `json:"mark_invited,omitempty"`
	// Report is the fingerprint a conflict or skip is remembered by once it is written
	// (domain.ReportFingerprint); empty for other steps.
	Report string `json:"report,omitempty"`
	Reason string `json:"reason"`
	// person is the name of an employee the loader skips (not one of Input.Employees).
	person string
}

// Action is everything one run does for one employee: its steps in order (a link, an
// update, a lock, an invitation, a report), told as one line of the plan and of the
// protocol, with the employee's name and one field diff over all steps. 25 employees
// with changes are 25 actions, however many writes each needs.
type Action struct {
	// Kind is the main step's kind (headline): a create, else an update, a lock, an
	// unlock, an invitation, a link, a conflict, a skip, in this order.
	Kind       ActionKind `json:"kind"`
	PersonioID string     `json:"personio_id,omitempty"`
	// UserID is the employee's user ("" before a create).
	UserID string `json:"user_id,omitempty"`
	// Person is the employee's name (or the user's, for a user without an employee).
	Person string `json:"person,omitempty"`
	// Changes is the field diff of all steps: the fields an update or create writes, and
	// locked and invitation when they change.
	Changes []Change `json:"changes,omitempty"`
	Steps   []Step   `json:"steps"`
}

// headline lists the step kinds in the order one names an action by.
var headline = []ActionKind{ActFail, ActCreate, ActUpdate, ActLock, ActUnlock, ActInvite, ActLink, ActConflict, ActSkip}

// Calls is the number of Staffomatic write calls the action makes: the sum of its steps'.
func (a Action) Calls() int {
	n := 0
	for _, s := range a.Steps {
		n += s.Calls()
	}
	return n
}

// Outcome is what a successful apply of the action records: created for a create,
// updated for any other write or a mapping, reported for a conflict, skipped for a skip.
func (a Action) Outcome() domain.Outcome {
	switch a.Kind {
	case ActCreate:
		return domain.OutcomeCreated
	case ActConflict:
		return domain.OutcomeReported
	case ActSkip:
		return domain.OutcomeSkipped
	case ActFail:
		return domain.OutcomeFailed
	}
	return domain.OutcomeUpdated
}

// Tell words the action for a protocol reason, step by step, each with its reason: in a
// dry run (OutcomePlanned) what will happen ("will create user: new employee …"), else
// what happened: the first done steps in the past ("created user: …"), the step that
// failed with err ("could not lock user: …; failed: …"), and the steps not tried after it.
func (a Action) Tell(o domain.Outcome, done int, err error) string {
	parts := make([]string, 0, len(a.Steps))
	for i, s := range a.Steps {
		w := s.wording()
		switch {
		case o == domain.OutcomePlanned:
			parts = append(parts, w.Reason(domain.OutcomePlanned, s.Reason))
		case i < done:
			parts = append(parts, w.Reason(domain.OutcomeUpdated, s.Reason))
		case i == done && err != nil:
			parts = append(parts, w.Reason(domain.OutcomeFailed, s.Reason)+"; failed: "+err.Error())
		default:
			parts = append(parts, "not tried: "+w.Do)
		}
	}
	return strings.Join(parts, "; ")
}

// wording is the step's phrase in both tenses.
func (s Step) wording() domain.Wording {
	switch s.Kind {
	case ActCreate:
		w := domain.Wording{Do: "create user", Done: "created user"}
		if s.Lock {
			w.Do, w.Done = w.Do+" locked", w.Done+" locked"
		}
		if s.Invite {
			w.Do, w.Done = w.Do+" and send the invitation", w.Done+" and sent the invitation"
		}
		return w
	case ActLink:
		if s.MarkInvited {
			return domain.Wording{Do: "note the invitation as sent", Done: "noted the invitation as sent"}
		}
		return domain.Wording{Do: "link user " + s.UserID, Done: "linked user " + s.UserID}
	case ActUpdate:
		names := changedNames(s.Changes)
		return domain.Wording{Do: "update " + names, Done: "updated " + names}
	case ActLock:
		return domain.Wording{Do: "lock user", Done: "locked user"}
	case ActUnlock:
		return domain.Wording{Do: "unlock user", Done: "unlocked user"}
	case ActInvite:
		return domain.Wording{Do: "send the invitation", Done: "sent the invitation"}
	case ActConflict:
		return domain.Wording{Do: "report a conflict", Done: "reported a conflict"}
	case ActSkip:
		if s.UserID != "" { // a matched user not locked (the admin staffsync signs in as)
			return domain.Wording{Do: "leave the user unlocked", Done: "left the user unlocked"}
		}
		return domain.Wording{Do: "skip the employee", Done: "skipped the employee"}
	case ActFail:
		return domain.Wording{Do: "stop the run", Done: "stopped the run"}
	}
	return domain.Wording{Do: string(s.Kind), Done: string(s.Kind)}
}

// diffOf is the step's part of the action's field diff.
func (s Step) diffOf() []Change {
	switch s.Kind {
	case ActCreate:
		f := s.Fields
		var ch []Change
		for _, v := range []struct{ field, value string }{
			{"first_name", f.FirstName}, {"last_name", f.LastName}, {"email", f.Email}, {"custom_id", f.CustomID},
			{"location_id", f.LocationID}, {"department_ids", strings.Join(f.DepartmentIDs, ",")},
			{"weekly_hours", fmtFloat(f.WeeklyHours)}, {"vacation_days", fmtFloat(f.VacationDays)},
		} {
			if v.value != "" {
				ch = append(ch, domain.Change(v.field, "", v.value))
			}
		}
		if s.Lock {
			ch = append(ch, domain.Change("locked", "", "yes"))
		}
		if s.Invite {
			ch = append(ch, domain.Change("invitation", "", "sent"))
		}
		return ch
	case ActUpdate:
		return s.Changes
	case ActLock:
		return []Change{domain.Change("locked", "no", "yes")}
	case ActUnlock:
		return []Change{domain.Change("locked", "yes", "no")}
	case ActInvite:
		return []Change{domain.Change("invitation", "not sent", "sent")}
	}
	return nil
}

// Calls is the number of Staffomatic write calls the step makes: a create of a user
// that must start locked is the create and the lock.
func (s Step) Calls() int {
	switch {
	case s.Kind == ActCreate && s.Lock:
		return 2
	case s.Kind.Writes():
		return 1
	}
	return 0
}

// Plan is the ordered list of actions of one run: one per employee, or the one action
// of kind ActFail that stops the run.
type Plan struct {
	Actions []Action `json:"actions"`
	// Repeated are the Personio ids whose report (conflict, skip) an earlier run wrote
	// unchanged: not planned again, counted as skipped.
	Repeated []string `json:"repeated,omitempty"`
}

// Writes counts the Staffomatic write calls the plan makes when applied.
func (p Plan) Writes() int {
	n := 0
	for _, a := range p.Actions {
		n += a.Calls()
	}
	return n
}

// Count returns the number of actions per kind.
func (p Plan) Count() map[ActionKind]int {
	out := map[ActionKind]int{}
	for _, a := range p.Actions {
		out[a.Kind]++
	}
	return out
}

// Today returns the date of now in the Staffomatic account's time zone, "YYYY-MM-DD": hire
// dates and last working days are calendar days of the account, not of UTC.
func Today(now time.Time, loc *time.Location) string { return now.In(loc).Format(time.DateOnly) }

// Compute plans the actions of one run: the planned steps, then the loader's skips, less
// the reports already written unchanged, grouped into one action per employee.
func Compute(in Input) Plan {
	steps := compute(in)
	if len(steps) == 1 && steps[0].Kind == ActFail {
		return Plan{Actions: []Action{{Kind: ActFail, Steps: steps}}}
	}
	var p Plan
	steps = append(steps, in.Skips...)
	isReport := func(s Step) bool { return s.Kind == ActConflict || s.Kind == ActSkip }
	reports := map[string][]string{} // Personio id → the fingerprints of its reports
	for i, a := range steps {
		if isReport(a) {
			steps[i].Report = domain.ReportFingerprint(string(a.Kind), a.UserIDs, a.Reason)
			reports[a.PersonioID] = append(reports[a.PersonioID], steps[i].Report)
		}
	}
	kept := steps[:0]
	for _, a := range steps {
		if isReport(a) {
			if fps := reports[a.PersonioID]; a.PersonioID != "" && len(fps) > 1 {
				// The mapping remembers one fingerprint per employee: an employee with
				// several reports is remembered by one of all, so they are planned again
				// together, or not at all.
				a.Report = domain.ReportFingerprint("reports", fps, "")
			}
			if a.PersonioID != "" && in.Reported[a.PersonioID] == a.Report {
				p.Repeated = append(p.Repeated, a.PersonioID) // written earlier and unchanged
				continue
			}
		}
		kept = append(kept, a)
	}
	p.Actions = group(kept, in)
	return p
}

// group makes one action of each employee's steps (in the order of its first step; a
// step without a Personio id is an action of its own), named after the employee.
func group(steps []Step, in Input) []Action {
	names := make(map[string]string, len(in.Employees))
	for _, e := range in.Employees {
		names[e.PersonioID] = e.Name()
	}
	userNames := map[string]string{}
	for _, u := range in.Users {
		userNames[u.ID] = u.Name()
	}
	var out []Action
	at := map[string]int{}
	for _, s := range steps {
		i, ok := at[s.PersonioID]
		if !ok || s.PersonioID == "" {
			i = len(out)
			at[s.PersonioID] = i
			out = append(out, Action{PersonioID: s.PersonioID})
		}
		out[i].Steps = append(out[i].Steps, s)
	}
	for i := range out {
		a := &out[i]
		rank := len(headline)
		for _, s := range a.Steps {
			if r := slices.Index(headline, s.Kind); r >= 0 && r < rank {
				rank, a.Kind = r, s.Kind
			}
			if a.UserID == "" {
				a.UserID = s.UserID
			}
			a.Changes = append(a.Changes, s.diffOf()...)
		}
		if a.Person = names[a.PersonioID]; a.Person == "" {
			a.Person = cmp.Or(userNames[a.UserID], a.Steps[0].person)
		}
	}
	return out
}

func compute(in Input) []Step {
	if len(in.MissingAttributes) > 0 {
		missing := slices.Clone(in.MissingAttributes)
		slices.Sort(missing)
		return []Step{{Kind: ActFail,
			Reason: "the Personio credential does not expose these required attributes: " + strings.Join(missing, ", ") +
				"; allow them in Personio (Settings → Integrations → API credentials → readable attributes); nothing was changed"}}
	}
	matches := domain.MatchAll(in.Employees, in.Users, in.Links)
	users := make(map[string]*domain.User, len(in.Users))
	for i := range in.Users {
		users[in.Users[i].ID] = &in.Users[i]
	}
	links := make(map[string]domain.Link, len(in.Links))
	for _, l := range in.Links {
		links[l.PersonioID] = l
	}
	usersByEmail := map[string][]string{}
	for _, u := range in.Users {
		if e := domain.NormalizeEmail(u.Email); e != "" {
			usersByEmail[e] = append(usersByEmail[e], u.ID)
		}
	}
	emps := slices.Clone(in.Employees)
	sort.Slice(emps, func(i, j int) bool { return emps[i].PersonioID < emps[j].PersonioID })

	// writers lists, per e-mail, the employees whose actions would write it to a user (a
	// create, or an update that changes the e-mail). Staffomatic keeps an e-mail on one
	// user only, so when two would write the same one, neither is a guess worth a failed
	// call: both are reported and the e-mail written by neither.
	writers := map[string][]string{}
	for _, e := range emps {
		email := domain.NormalizeEmail(e.Email)
		if email == "" {
			continue
		}
		switch m := matches[e.PersonioID]; m.Match {
		case domain.MatchConflict:
		case domain.MatchNone:
			writers[email] = append(writers[email], e.PersonioID)
		default:
			if u := users[m.UserID]; u != nil && domain.NormalizeEmail(u.Email) != email {
				writers[email] = append(writers[email], e.PersonioID)
			}
		}
	}
	contested := func(pid, email string) string {
		ids := writers[domain.NormalizeEmail(email)]
		if len(ids) < 2 {
			return ""
		}
		// Ten of the others are named and the rest counted: with a shared inbox on
		// thousands of employees, listing all would make each reason as long as the
		// company (domain.IDs).
		others, n := make([]string, 0, domain.MaxIDs), 0
		for _, id := range ids {
			if id == pid {
				continue
			}
			if n++; len(others) < domain.MaxIDs {
				others = append(others, id)
			}
		}
		return fmt.Sprintf("the e-mail %s is also the e-mail of Personio employee %s in this sync, and Staffomatic keeps an e-mail on one user only; give each employee its own e-mail in Personio",
			domain.NormalizeEmail(email), domain.IDsOf(others, n))
	}

	var steps []Step
	add := func(a Step) { steps = append(steps, a) }
	for _, e := range emps {
		m := matches[e.PersonioID]
		want := desired(e, in)
		lock, lockReason := lockState(e, in)
		switch m.Match {
		case domain.MatchConflict:
			add(Step{Kind: ActConflict, PersonioID: e.PersonioID, UserIDs: m.UserIDs, Match: domain.MatchConflict, Reason: m.Reason})
			continue
		case domain.MatchNone:
			if in.Settings.EnablePersonioLastWorkingDay && e.LastWorkingDay != "" && in.Today > e.LastWorkingDay {
				add(Step{Kind: ActSkip, PersonioID: e.PersonioID, Reason: "last working day " + e.LastWorkingDay +
					" has passed; no Staffomatic user is created for a leaver (every user counts towards the licence)"})
				continue
			}
			if why := contested(e.PersonioID, want.Email); why != "" {
				add(Step{Kind: ActConflict, PersonioID: e.PersonioID, Match: domain.MatchConflict, Reason: "not created: " + why})
				continue
			}
			invite := in.Settings.InviteStaffomaticUsers && !lock && want.Email != ""
			reason := "new employee: " + m.Reason
			if lock {
				reason += "; locked: " + lockReason
			}
			add(Step{Kind: ActCreate, PersonioID: e.PersonioID, Match: domain.MatchNone, Fields: &want,
				Lock: lock, Invite: invite, LockedBySync: lock, Reason: reason})
			continue
		}

		u := users[m.UserID]
		link, linked := links[e.PersonioID]
		if !linked || link.UserID != u.ID {
			add(Step{Kind: ActLink, PersonioID: e.PersonioID, UserID: u.ID, Match: m.Match, Reason: m.Reason})
			link = domain.Link{PersonioID: e.PersonioID, UserID: u.ID}
		}
		f, changes := diff(*u, want)
		var emailConflict *Step
		if f.Email != "" {
			// The new e-mail of a matched employee already belongs to another user:
			// Staffomatic refuses a second user with it, and taking it over would be a guess.
			// The e-mail stays, the other fields are still synced, the conflict is reported.
			var others []string
			for _, id := range usersByEmail[domain.NormalizeEmail(f.Email)] {
				if id != u.ID {
					others = append(others, id)
				}
			}
			why := contested(e.PersonioID, f.Email)
			switch {
			case len(others) > 0:
				slices.Sort(others)
				f.Email = ""
				changes = slices.DeleteFunc(changes, func(c Change) bool { return c.Field == "email" })
				emailConflict = &Step{Kind: ActConflict, PersonioID: e.PersonioID, UserID: u.ID,
					UserIDs: append([]string{u.ID}, others...), Match: domain.MatchConflict,
					Reason: fmt.Sprintf("the new e-mail %s from Personio already belongs to Staffomatic user %s; the e-mail of user %s was not changed; change or remove the other user's e-mail",
						domain.NormalizeEmail(want.Email), strings.Join(others, ", "), u.ID)}
			case why != "":
				f.Email = ""
				changes = slices.DeleteFunc(changes, func(c Change) bool { return c.Field == "email" })
				emailConflict = &Step{Kind: ActConflict, PersonioID: e.PersonioID, UserID: u.ID, UserIDs: []string{u.ID}, Match: domain.MatchConflict,
					Reason: "the e-mail of user " + u.ID + " was not changed: " + why}
			}
		}
		if len(changes) > 0 {
			add(Step{Kind: ActUpdate, PersonioID: e.PersonioID, UserID: u.ID, Fields: &f, Changes: changes,
				Reason: "Personio is the leading system"})
		}
		if emailConflict != nil {
			add(*emailConflict)
		}
		switch {
		case lock && !u.Locked && u.ID == in.SelfUserID:
			add(Step{Kind: ActSkip, PersonioID: e.PersonioID, UserID: u.ID, Reason: lockReason +
				"; not locked: this is the Staffomatic admin staffsync signs in as, and a locked admin stops every sync; hand the integration over to another admin, then lock the user"})
		case lock && !u.Locked:
			add(Step{Kind: ActLock, PersonioID: e.PersonioID, UserID: u.ID, LockedBySync: true, Reason: lockReason})
		case !lock && u.Locked && link.LockedBySync:
			add(Step{Kind: ActUnlock, PersonioID: e.PersonioID, UserID: u.ID, Reason: unlockReason(e, in)})
		}
		if in.Settings.InviteStaffomaticUsers && !link.Invited && !lock && (!u.Locked || link.LockedBySync) {
			switch {
			case domain.NormalizeEmail(want.Email) == "":
			case u.InvitationState == "accepted" || u.InvitationState == "pending":
				// Already invited outside staffsync: remember it, never send a second one.
				add(Step{Kind: ActLink, PersonioID: e.PersonioID, UserID: u.ID, Match: m.Match, MarkInvited: true,
					Reason: "invitation already " + u.InvitationState + " in Staffomatic; not sent again"})
			default:
				add(Step{Kind: ActInvite, PersonioID: e.PersonioID, UserID: u.ID, Reason: "first sync of this user; an invitation is sent once"})
			}
		}
	}
	return steps
}

// desired returns the master data Personio prescribes for the employee's user.
func desired(e domain.Employee, in Input) Fields {
	f := Fields{
		FirstName: strings.TrimSpace(e.FirstName),
		LastName:  strings.TrimSpace(e.LastName),
		Email:     strings.TrimSpace(e.Email),
		CustomID:  e.PersonioID,
	}
	if in.Place != nil {
		p := in.Place(e)
		f.LocationID = p.LocationID
		f.DepartmentIDs = domain.SortedCopy(p.DepartmentIDs)
	}
	if e.WeeklyHours != nil {
		h := *e.WeeklyHours
		f.WeeklyHours = &h
	}
	if len(in.Settings.EntitlementTypeIDs) > 0 {
		sum := 0.0
		for _, id := range in.Settings.EntitlementTypeIDs {
			sum += e.Entitlements[id]
		}
		sum = math.Round(sum*100) / 100
		f.VacationDays = &sum
	}
	return f
}

// lockState says whether the user must be locked today, and why.
func lockState(e domain.Employee, in Input) (bool, string) {
	if in.Settings.EnablePersonioHireDate && e.HireDate != "" && in.Today < e.HireDate {
		return true, "hire date " + e.HireDate + " is in the future; the user stays locked and uninvited until then"
	}
	if in.Settings.EnablePersonioLastWorkingDay && e.LastWorkingDay != "" && in.Today > e.LastWorkingDay {
		return true, "last working day " + e.LastWorkingDay + " has passed (a locked user is still billed by Staffomatic until deleted)"
	}
	return false, ""
}

func unlockReason(e domain.Employee, in Input) string {
	if in.Settings.EnablePersonioHireDate && e.HireDate != "" && in.Today >= e.HireDate {
		return "hire date " + e.HireDate + " reached"
	}
	return "the reason staffsync locked this user no longer holds"
}

// diff returns the fields of want that differ from u. Departments are only added, never
// removed: memberships staffsync did not add are the admin's. The location is set at
// creation only, because Staffomatic's users belong to locations through the locations'
// member lists, which the workspace sync maintains.
func diff(u domain.User, want Fields) (Fields, []Change) {
	var f Fields
	var ch []Change
	// An empty name in Personio does not clear the user's name: a partial update cannot
	// send an empty name (an update of nothing but it fails), and a user needs a name.
	if want.FirstName != "" && want.FirstName != u.FirstName {
		f.FirstName = want.FirstName
		ch = append(ch, domain.Change("first_name", u.FirstName, want.FirstName))
	}
	if want.LastName != "" && want.LastName != u.LastName {
		f.LastName = want.LastName
		ch = append(ch, domain.Change("last_name", u.LastName, want.LastName))
	}
	if want.Email != "" && domain.NormalizeEmail(want.Email) != domain.NormalizeEmail(u.Email) {
		f.Email = want.Email
		ch = append(ch, domain.Change("email", u.Email, want.Email))
	}
	if want.CustomID != u.CustomID {
		f.CustomID = want.CustomID
		ch = append(ch, domain.Change("custom_id", u.CustomID, want.CustomID))
	}
	var missing []string
	for _, d := range want.DepartmentIDs {
		if !slices.Contains(u.DepartmentIDs, d) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		f.DepartmentIDs = append(domain.SortedCopy(u.DepartmentIDs), missing...)
		slices.Sort(f.DepartmentIDs)
		ch = append(ch, domain.Change("department_ids", strings.Join(domain.SortedCopy(u.DepartmentIDs), ","), strings.Join(f.DepartmentIDs, ",")))
	}
	if want.WeeklyHours != nil && !floatEq(u.WeeklyHours, *want.WeeklyHours) {
		f.WeeklyHours = want.WeeklyHours
		ch = append(ch, domain.Change("weekly_hours", fmtFloat(u.WeeklyHours), fmtFloat(want.WeeklyHours)))
	}
	if want.VacationDays != nil && !floatEq(u.VacationDays, *want.VacationDays) {
		f.VacationDays = want.VacationDays
		ch = append(ch, domain.Change("vacation_days", fmtFloat(u.VacationDays), fmtFloat(want.VacationDays)))
	}
	return f, ch
}

func floatEq(have *float64, want float64) bool {
	return have != nil && math.Abs(*have-want) < 0.005
}

func fmtFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf("%g", *v)
}

func changedNames(ch []Change) string {
	names := make([]string, len(ch))
	for i, c := range ch {
		names[i] = c.Field
	}
	return strings.Join(names, ", ")
}
