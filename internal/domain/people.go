package domain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Employee is a Personio employee as every phase and the admin API see it. The Personio
// adapter fills it from the API's record (personio.Employee.Person), so the selection
// preview, the checks and each sync read the same fields the same way.
type Employee struct {
	PersonioID string
	FirstName  string
	LastName   string
	Email      string
	// Status is Personio's status: active, onboarding, leave or inactive.
	Status string
	// Office, Department and Team are the names of the employee's org units; the ids are
	// Personio's ("" when the employee has none).
	Office       string
	OfficeID     string
	Department   string
	DepartmentID string
	Team         string
	TeamID       string
	// HireDate and LastWorkingDay are "YYYY-MM-DD" or empty.
	HireDate       string
	LastWorkingDay string
	WeeklyHours    *float64
	// Entitlements is the absence entitlement in days per Personio time-off type id.
	Entitlements map[string]float64
	// Attributes are the employee's attributes as Personio sent them (standard and custom
	// ones), sorted by key, for the auto-include rules that name one.
	Attributes []Attribute
}

// Attribute is one Personio attribute of an employee with its value as text.
type Attribute struct {
	// Key is the attribute's key ("status", "dynamic_123").
	Key string
	// UniversalID is Personio's stable name of a custom attribute ("shift_planning"), if any.
	UniversalID string
	// Label is the name shown in Personio ("Schichtplanung").
	Label string
	Value string
}

// Attribute finds the attribute an admin names: by key, else by universal id, else by
// label (both case-insensitive), the three ways Personio shows an attribute. The first
// match in key order wins, so the answer never depends on map order.
func (e Employee) Attribute(name string) (Attribute, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Attribute{}, false
	}
	for _, a := range e.Attributes {
		if a.Key == name {
			return a, true
		}
	}
	for _, a := range e.Attributes {
		if a.UniversalID != "" && strings.EqualFold(a.UniversalID, name) {
			return a, true
		}
	}
	for _, a := range e.Attributes {
		if a.Label != "" && strings.EqualFold(a.Label, name) {
			return a, true
		}
	}
	return Attribute{}, false
}

// SortAttributes orders attributes by key, the order Attribute relies on.
func SortAttributes(as []Attribute) {
	slices.SortFunc(as, func(a, b Attribute) int { return cmp.Compare(a.Key, b.Key) })
}

// Name is the employee's display name for the protocol and the API.
func (e Employee) Name() string { return strings.TrimSpace(e.FirstName + " " + e.LastName) }

// User is a Staffomatic user as the sync sees it.
type User struct {
	ID              string
	CustomID        string
	Email           string
	FirstName       string
	LastName        string
	Locked          bool
	InvitationState string
	DepartmentIDs   []string
	// WeeklyHours is derived from the user's max_hours_per_month (HoursPerMonthFactor).
	WeeklyHours  *float64
	VacationDays *float64
}

// Name is the user's display name for the protocol (of a user without an employee).
func (u User) Name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// HoursPerMonthFactor converts Personio's weekly hours into Staffomatic's
// max_hours_per_month, the only writable working-time field a user has: 52 weeks / 12
// months.
const HoursPerMonthFactor = 52.0 / 12.0

// Link is the stored mapping of one employee to one Staffomatic user, with the user
// mapping's flags.
type Link struct {
	PersonioID string
	UserID     string
	// Invited records that staffsync sent (or found) the user's invitation, so it is never
	// sent twice.
	Invited bool
	// LockedBySync records that the lock on the user is staffsync's (hire date or last
	// working day), so only such a lock is ever lifted; a lock set by an admin stays.
	LockedBySync bool
	// Reported identifies the report (conflict, skip) last written to the protocol for this
	// employee, so an unchanged one is not written again.
	Reported string
}

// NormalizeEmail is how e-mails (and workspace names) are compared: trimmed and
// case-insensitive.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Match says how an employee was matched to a user.
type Match string

const (
	MatchMapping  Match = "mapping"
	MatchCustomID Match = "custom_id"
	MatchEmail    Match = "email"
	MatchNone     Match = "none"
	MatchConflict Match = "conflict"
)

// Matching is the outcome of matching one employee.
type Matching struct {
	Match   Match
	UserID  string
	UserIDs []string
	Reason  string
}

// MatchAll matches every employee to at most one user (DESIGN §1.3): first by the stored
// mapping, then by custom_id = Personio id, then by e-mail. A user can belong to one
// employee only, so matches by stronger evidence claim users first; a weaker match that
// would reuse a claimed user, an e-mail shared by two users, a custom_id on two users, and
// an employee without e-mail that nothing else matches are conflicts. The employee
// selection preview, the checks and the user sync all call it, so they never disagree.
func MatchAll(employees []Employee, users []User, links []Link) map[string]Matching {
	byID := make(map[string]*User, len(users))
	byCustom := map[string][]string{}
	byEmail := map[string][]string{}
	for i := range users {
		u := &users[i]
		byID[u.ID] = u
		if c := strings.TrimSpace(u.CustomID); c != "" {
			byCustom[c] = append(byCustom[c], u.ID)
		}
		if e := NormalizeEmail(u.Email); e != "" {
			byEmail[e] = append(byEmail[e], u.ID)
		}
	}
	linkOf := map[string]string{}  // personio id → user id
	ownerOf := map[string]string{} // user id → personio id (from stored mappings)
	for _, l := range links {
		linkOf[l.PersonioID] = l.UserID
		ownerOf[l.UserID] = l.PersonioID
	}
	out := make(map[string]Matching, len(employees))
	claimed := map[string]string{} // user id → personio id, within this plan
	claim := func(pid, uid string, m Match, reason string) bool {
		if owner, ok := claimed[uid]; ok && owner != pid {
			out[pid] = Matching{Match: MatchConflict, UserIDs: []string{uid},
				Reason: fmt.Sprintf("Staffomatic user %s is already matched to Personio employee %s", uid, owner)}
			return false
		}
		if owner, ok := ownerOf[uid]; ok && owner != pid {
			out[pid] = Matching{Match: MatchConflict, UserIDs: []string{uid},
				Reason: fmt.Sprintf("Staffomatic user %s is already mapped to Personio employee %s", uid, owner)}
			return false
		}
		claimed[uid] = pid
		out[pid] = Matching{Match: m, UserID: uid, Reason: reason}
		return true
	}
	sorted := slices.Clone(employees)
	slices.SortFunc(sorted, func(a, b Employee) int { return cmp.Compare(a.PersonioID, b.PersonioID) })
	// Pass 1: stored mappings whose user still exists.
	for _, e := range sorted {
		if uid, ok := linkOf[e.PersonioID]; ok && byID[uid] != nil {
			claim(e.PersonioID, uid, MatchMapping, "mapped earlier")
		}
	}
	// Pass 2: custom_id = Personio id.
	for _, e := range sorted {
		if _, done := out[e.PersonioID]; done {
			continue
		}
		switch ids := byCustom[e.PersonioID]; len(ids) {
		case 0:
		case 1:
			claim(e.PersonioID, ids[0], MatchCustomID, "custom_id equals the Personio id")
		default:
			out[e.PersonioID] = Matching{Match: MatchConflict, UserIDs: SortedCopy(ids),
				Reason: fmt.Sprintf("%d Staffomatic users carry custom_id %s; remove it from all but one", len(ids), e.PersonioID)}
		}
	}
	// Pass 3: e-mail. Two unmatched employees with one e-mail cannot both own its user, and
	// picking one would be a guess, so both are conflicts.
	sharedEmail := map[string][]string{}
	for _, e := range sorted {
		if _, done := out[e.PersonioID]; !done {
			if email := NormalizeEmail(e.Email); email != "" {
				sharedEmail[email] = append(sharedEmail[email], e.PersonioID)
			}
		}
	}
	for _, e := range sorted {
		if _, done := out[e.PersonioID]; done {
			continue
		}
		email := NormalizeEmail(e.Email)
		if email == "" {
			out[e.PersonioID] = Matching{Match: MatchConflict,
				Reason: "the Personio employee has no e-mail and no Staffomatic user carries its id in custom_id; add an e-mail in Personio or set custom_id in Staffomatic"}
			continue
		}
		if pids := sharedEmail[email]; len(pids) > 1 {
			out[e.PersonioID] = Matching{Match: MatchConflict, UserIDs: SortedCopy(byEmail[email]),
				Reason: fmt.Sprintf("e-mail %s belongs to %d Personio employees (%s); give each its own e-mail", email, len(pids), IDs(pids))}
			continue
		}
		switch ids := byEmail[email]; len(ids) {
		case 0:
			out[e.PersonioID] = Matching{Match: MatchNone, Reason: "no Staffomatic user with this id or e-mail"}
		case 1:
			_, taken := claimed[ids[0]]
			_, owned := ownerOf[ids[0]]
			if c := strings.TrimSpace(byID[ids[0]].CustomID); c != "" && c != e.PersonioID && !taken && !owned {
				// The user carries another Personio id: it belongs to that employee (set by
				// staffsync or the previous integration), whether or not that employee is in
				// this run. Taking it by e-mail would overwrite its custom_id and rename it.
				out[e.PersonioID] = Matching{Match: MatchConflict, UserIDs: []string{ids[0]},
					Reason: fmt.Sprintf("e-mail %s belongs to Staffomatic user %s, whose custom_id %s is not this employee's Personio id; correct or clear the custom_id in Staffomatic", email, ids[0], c)}
				continue
			}
			claim(e.PersonioID, ids[0], MatchEmail, "e-mail matches")
		default:
			out[e.PersonioID] = Matching{Match: MatchConflict, UserIDs: SortedCopy(ids),
				Reason: fmt.Sprintf("e-mail %s matches %d Staffomatic users; merge or change them", email, len(ids))}
		}
	}
	return out
}

// SortedCopy returns a sorted copy of s.
func SortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Includes decides whether the employee is synced (DESIGN §1.2 step 3): the admin's
// explicit yes/no if set, else whether the auto-include rules pick it — every rule
// (Match all, the default: "active employees with shift_planning = yes") or one of them
// (Match any). Without rules a new employee is "no". It is the one place this is
// decided: the API's preview and every phase call it.
func (s Selection) Includes(e Employee) bool {
	if on, ok := s.Employees[e.PersonioID]; ok {
		return on
	}
	if len(s.Rules) == 0 {
		return false
	}
	any := s.Match == MatchAnyRule
	for _, r := range s.Rules {
		if r.Matches(e) == any {
			return any
		}
	}
	return !any
}

// Select returns the employees the selection includes, in their order.
func (s Selection) Select(emps []Employee) []Employee {
	var out []Employee
	for _, e := range emps {
		if s.Includes(e) {
			out = append(out, e)
		}
	}
	return out
}

// CategoryFor returns the Staffomatic absence category that matches a Personio time-off
// type (DESIGN §1.2 step 5): the category of identical name, compared after trimming
// surrounding spaces only, because "Urlaub" and "urlaub" may well be two categories an
// admin keeps apart. A type without one is reported, never guessed; ok is false then, and
// also when two categories carry the name (which one would be a guess, too).
func CategoryFor[C any](typeName string, categories []C, name func(C) string) (C, bool) {
	var zero, found C
	n := 0
	want := strings.TrimSpace(typeName)
	if want == "" {
		return zero, false
	}
	for _, c := range categories {
		if strings.TrimSpace(name(c)) == want {
			if n == 0 {
				found = c
			}
			n++
		}
	}
	if n != 1 {
		return zero, false
	}
	return found, true
}
