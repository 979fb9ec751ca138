package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestWordingByOutcome: a dry run's entry says what will happen, a real run's what
// happened, a failure what could not be done.
func TestWordingByOutcome(t *testing.T) {
	w := Wording{Do: "create user", Done: "created user"}
	cases := []struct {
		o    Outcome
		why  string
		want string
	}{
		{OutcomePlanned, "new employee", "will create user: new employee"},
		{OutcomeCreated, "new employee", "created user: new employee"},
		{OutcomeUpdated, "", "created user"},
		{OutcomeFailed, "new employee", "could not create user: new employee"},
	}
	for _, c := range cases {
		if got := w.Reason(c.o, c.why); got != c.want {
			t.Errorf("%s: %q, want %q", c.o, got, c.want)
		}
	}
}

// TestNamesAreBounded: an entry about many people names five and counts the rest, so
// a department of 5,000 members stays a short line.
func TestNamesAreBounded(t *testing.T) {
	many := make([]string, 5000)
	for i := range many {
		many[i] = "Person Number"
	}
	cases := []struct {
		name  string
		names []string
		want  string
	}{
		{"none", nil, ""},
		{"blank left out", []string{" ", "Anna Berg"}, "Anna Berg"},
		{"five", []string{"A", "B", "C", "D", "E"}, "A, B, C, D, E"},
		{"seven", []string{"A", "B", "C", "D", "E", "F", "G"}, "A, B, C, D, E and 2 more"},
		{"five thousand", many, strings.Repeat("Person Number, ", 4) + "Person Number and 4995 more"},
		{"a long name cut", []string{strings.Repeat("x", 400), "Anna Berg"}, strings.Repeat("x", MaxValueRunes-1) + "…, Anna Berg"},
	}
	for _, c := range cases {
		if got := Names(c.names); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestIDsAreBounded: a reason listing ids (the users a membership line adds, the
// employees sharing an e-mail) names MaxIDs of them and counts the rest, so one line
// about 5,000 people stays short and a plan of 5,000 such lines does not hold 5,000²
// ids.
func TestIDsAreBounded(t *testing.T) {
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprint(100000 + i)
	}
	cases := []struct {
		name string
		ids  []string
		want string
	}{
		{"none", nil, ""},
		{"three", []string{"u1", "u2", "u3"}, "u1, u2, u3"},
		{"ten", many[:10], strings.Join(many[:10], ", ")},
		{"eleven", many[:11], strings.Join(many[:10], ", ") + " and 1 more"},
		{"five thousand", many, strings.Join(many[:10], ", ") + " and 4990 more"},
	}
	for _, c := range cases {
		if got := IDs(c.ids); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := IDsOf(many[:3], 7); got != strings.Join(many[:3], ", ")+" and 4 more" {
		t.Errorf("the first three of seven: %q", got)
	}
}

// TestChangeValuesAreShort: a field diff's values are cut to MaxValueRunes runes (runes,
// not bytes: no umlaut is cut in half), the cut marked.
func TestChangeValuesAreShort(t *testing.T) {
	long := strings.Repeat("ä", 500)
	c := Change("department_ids", long, "d1")
	if n := utf8.RuneCountInString(c.From); n != MaxValueRunes || !strings.HasSuffix(c.From, "…") || !utf8.ValidString(c.From) || c.To != "d1" {
		t.Fatalf("change %d runes %q → %q", n, c.From, c.To)
	}
	if c := Change("first_name", "Frida", "Frieda"); c != (FieldChange{"first_name", "Frida", "Frieda"}) {
		t.Fatalf("short values changed: %+v", c)
	}
}

// TestPlannedActionRoundTrip: a dry run stores its actions as protocol entries and the
// API reads them back as actions: every field survives, the names and the diff included.
func TestPlannedActionRoundTrip(t *testing.T) {
	a := PlannedAction{Kind: KindUser, Action: "update_user", SourceID: "1", TargetID: "u1", Reason: "will update first_name: …",
		Person: "Frieda Fischer", Workspace: "Kitchen", AbsenceType: "Urlaub", Changes: []FieldChange{{"first_name", "Frida", "Frieda"}}, Writes: 2}
	e := a.Entry(OutcomePlanned)
	if e.Outcome != OutcomePlanned || !reflect.DeepEqual(e.Planned(), a) {
		t.Fatalf("entry %+v gives back %+v", e, e.Planned())
	}
	// A real run's entry tells what was done: the planned write count is no part of it.
	if e := a.Entry(OutcomeUpdated); e.Writes != 0 || e.Person != a.Person {
		t.Fatalf("a real run's entry %+v", e)
	}
	// Every field of PlannedAction is carried (a field added later must be added to both).
	ab, _ := json.Marshal(a)
	var fields map[string]any
	_ = json.Unmarshal(ab, &fields)
	if len(fields) != reflect.TypeOf(a).NumField() {
		t.Fatalf("set every field of PlannedAction in this test: %s", ab)
	}
}
