package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ProtocolRetention is how long protocol entries live (DESIGN §1.3: two months).
const ProtocolRetention = 62 * 24 * time.Hour

// Area groups protocol entries as the admin reads them: one per phase plus set-up.
type Area string

const (
	AreaUsers      Area = "users"
	AreaWorkspaces Area = "workspaces"
	AreaTimesheets Area = "timesheets"
	AreaAbsences   Area = "absences"
	AreaSetup      Area = "setup"
)

// Areas lists every area, in the order the API names them.
var Areas = []Area{AreaUsers, AreaWorkspaces, AreaTimesheets, AreaAbsences, AreaSetup}

// AreaOf returns the protocol area of a phase.
func AreaOf(p Phase) Area { return Area(p) }

// Valid reports whether a is a known area.
func (a Area) Valid() bool {
	switch a {
	case AreaUsers, AreaWorkspaces, AreaTimesheets, AreaAbsences, AreaSetup:
		return true
	}
	return false
}

// Outcome is what happened to one record in a run.
type Outcome string

const (
	OutcomeCreated Outcome = "created"
	OutcomeUpdated Outcome = "updated"
	OutcomeDeleted Outcome = "deleted"
	OutcomeSkipped Outcome = "skipped"
	OutcomeFailed  Outcome = "failed"
	// OutcomeUnchanged: the record was compared and needed nothing.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomePlanned: a dry run's action that was planned and not applied.
	OutcomePlanned Outcome = "planned"
	// OutcomeReported: nothing was written to the target; a conflict or a finding the
	// admin has to act on was written to the protocol (e.g. an absence type without a
	// same-named category).
	OutcomeReported Outcome = "reported"
)

// Outcomes lists every outcome (the keys of a run's counts).
var Outcomes = []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeDeleted, OutcomeSkipped, OutcomeFailed, OutcomeUnchanged, OutcomePlanned, OutcomeReported}

// RecordOutcomes are the outcomes of an applied run, the counts every run summary shows
// (zero included), so a script or an alarm reads counts.failed without checking that the
// key exists. API calls are no outcome: they are a run's separate api_calls figure.
var RecordOutcomes = []Outcome{OutcomeCreated, OutcomeUpdated, OutcomeDeleted, OutcomeUnchanged, OutcomeSkipped, OutcomeFailed, OutcomeReported}

// ProtocolEntry is one line of the protocol: what a run did (or would do, in a dry run) to
// one record, and why. It never carries a secret.
type ProtocolEntry struct {
	Tenant   string     `json:"tenant_id"`
	Area     Area       `json:"area"`
	Time     time.Time  `json:"time"`
	RunID    string     `json:"run_id"`
	Kind     RecordKind `json:"kind"`
	SourceID string     `json:"source_id,omitempty"`
	TargetID string     `json:"target_id,omitempty"`
	// Action is the planned or applied action, e.g. create_user or lock_user.
	Action  string  `json:"action"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	// Person, Workspace and Changes make the entry readable without looking the ids up:
	// see PlannedAction, whose fields they are in a dry run.
	Person    string `json:"person,omitempty"`
	Workspace string `json:"workspace,omitempty"`
	// AbsenceType is the name of the absence's Personio type or Staffomatic category.
	AbsenceType string        `json:"absence_type,omitempty"`
	Changes     []FieldChange `json:"changes,omitempty"`
	// Writes is a dry run's planned action's count of write calls (PlannedAction.Writes);
	// entries of a real run leave it zero.
	Writes int `json:"writes,omitempty"`
	// ExpiresAt is when DynamoDB TTL may delete the entry; reads hide it from then on.
	ExpiresAt time.Time `json:"expires_at"`
}

// Validate checks the fields the protocol is queried by.
func (e ProtocolEntry) Validate() error {
	if e.Tenant == "" {
		return fmt.Errorf("protocol entry: tenant_id is required")
	}
	if !e.Area.Valid() {
		return fmt.Errorf("protocol entry: unknown area %q: use users, workspaces, timesheets, absences or setup", e.Area)
	}
	if e.RunID == "" {
		return fmt.Errorf("protocol entry: run_id is required")
	}
	if e.Outcome == "" {
		return fmt.Errorf("protocol entry: outcome is required")
	}
	return nil
}

// PlannedAction is one action of a plan in the form a dry run stores and the admin reads.
type PlannedAction struct {
	Kind     RecordKind `json:"kind"`
	Action   string     `json:"action"`
	SourceID string     `json:"source_id,omitempty"`
	TargetID string     `json:"target_id,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	// Person is the name of the person the action is about ("Frieda Fischer"), or for an
	// action about several people the first few names and how many more (Names).
	Person string `json:"person,omitempty"`
	// Workspace is the name of the location or department the action is about.
	Workspace string `json:"workspace,omitempty"`
	// AbsenceType is the name of the absence type (Personio) or category (Staffomatic) an
	// absence action is about.
	AbsenceType string `json:"absence_type,omitempty"`
	// Changes is the field diff of the record: every field the action changes, once,
	// however many writes it takes.
	Changes []FieldChange `json:"changes,omitempty"`
	// Writes is the number of write calls (to Staffomatic or Personio) the real run makes
	// for this action: a dry run lists exactly the writes the real run makes, and this is
	// how a reader (and a test) counts them, without parsing reasons. Set by each phase's
	// planner; zero (and left out of JSON) for an action that writes nothing.
	Writes int `json:"writes,omitempty"`
}

// Entry is the protocol entry of the action with outcome o (the harness stores a dry
// run's plan this way, with OutcomePlanned). Only a planned entry keeps Writes: a real
// run's entry tells what was done, not what was planned.
func (a PlannedAction) Entry(o Outcome) ProtocolEntry {
	e := ProtocolEntry{Kind: a.Kind, SourceID: a.SourceID, TargetID: a.TargetID, Action: a.Action, Outcome: o, Reason: a.Reason,
		Person: a.Person, Workspace: a.Workspace, AbsenceType: a.AbsenceType, Changes: a.Changes}
	if o == OutcomePlanned {
		e.Writes = a.Writes
	}
	return e
}

// Planned is the planned action a dry run's protocol entry stores (the inverse of Entry).
func (e ProtocolEntry) Planned() PlannedAction {
	return PlannedAction{Kind: e.Kind, Action: e.Action, SourceID: e.SourceID, TargetID: e.TargetID, Reason: e.Reason,
		Person: e.Person, Workspace: e.Workspace, AbsenceType: e.AbsenceType, Changes: e.Changes, Writes: e.Writes}
}

// FieldChange is one field a run changes (or, in a dry run, would change) on a record,
// with its value before and after. Values are short (ShortValue), so a plan of thousands
// of records stays a few hundred bytes per stored action.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Change returns the change of field from → to with both values shortened (ShortValue).
func Change(field, from, to string) FieldChange {
	return FieldChange{Field: field, From: ShortValue(from), To: ShortValue(to)}
}

// MaxValueRunes bounds a value in a FieldChange or a list of names in an entry: a
// protocol entry is one DynamoDB item (at most 400 KB), and a readable value is short.
const MaxValueRunes = 120

// ShortValue is s cut to MaxValueRunes runes, an ellipsis marking the cut.
func ShortValue(s string) string {
	if utf8.RuneCountInString(s) <= MaxValueRunes {
		return s
	}
	r := []rune(s)
	return string(r[:MaxValueRunes-1]) + "…"
}

// MaxNames is how many names an entry about several people lists (Names).
const MaxNames = 5

// Names lists the first MaxNames of names, each cut to MaxValueRunes (ShortValue), then
// how many more there are: "Anna Berg, Carl Dorn and 12 more". Empty names are left out;
// no names is "".
func Names(names []string) string {
	kept := make([]string, 0, min(len(names), MaxNames))
	n := 0
	for _, name := range names {
		if name = strings.TrimSpace(name); name != "" {
			if n++; len(kept) < MaxNames {
				kept = append(kept, ShortValue(name))
			}
		}
	}
	return IDsOf(kept, n)
}

// MaxIDs is how many ids a reason lists (IDs): a protocol entry and a report's mapping
// are one DynamoDB item each (at most 400 KB), and a plan holds one line per record.
const MaxIDs = 10

// IDs lists ids for a reason: all of them up to MaxIDs, else the first MaxIDs and how
// many more there are ("101, 102, …, 110 and 4990 more").
func IDs(ids []string) string { return IDsOf(ids[:min(len(ids), MaxIDs)], len(ids)) }

// IDsOf lists first, the first items of total, and how many more there are.
func IDsOf(first []string, total int) string {
	s := strings.Join(first, ", ")
	if total > len(first) {
		s += fmt.Sprintf(" and %d more", total-len(first))
	}
	return s
}

// Wording tells an action in a protocol reason in the tense of its outcome: a dry run's
// entry says what will happen ("will create user: new employee"), a real run's what
// happened ("created user: new employee") or what could not be done. Do is the phrase in
// the infinitive ("create user"), Done in the past ("created user").
type Wording struct{ Do, Done string }

// Reason tells the action with outcome o, followed by why (when not empty).
func (w Wording) Reason(o Outcome, why string) string {
	var s string
	switch o {
	case OutcomePlanned:
		s = "will " + w.Do
	case OutcomeFailed:
		s = "could not " + w.Do
	default:
		s = w.Done
	}
	if why != "" {
		s += ": " + why
	}
	return s
}
