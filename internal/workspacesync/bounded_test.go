package workspacesync

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestLinesAbout5000PeopleStayShort: a department gaining 5,000 members, 5,000 users of
// an office outside its location, and 5,000 employees of a department without an office
// are one line each; the line (plan, protocol entry, report mapping) lists ten ids and
// counts the rest, while the write still adds every user. A report whose employees change
// beyond the ten listed is reported again.
func TestLinesAbout5000PeopleStayShort(t *testing.T) {
	const n = 5000
	berlin := Location{ID: "L1", Name: "Berlin"}
	kitchen := Department{ID: "D1", Name: "Kitchen", LocationID: "L1"}
	in := Input{Locations: []Location{berlin}, Departments: []Department{kitchen}, UserOf: map[string]string{}}
	for i := range n {
		for g, emp := range []domain.Employee{
			e(fmt.Sprint(100000+i), "Berlin", "Kitchen"),                                   // joins Kitchen
			{PersonioID: fmt.Sprint(200000 + i), OfficeID: "o-Berlin", Office: "Berlin"},   // no department: outside the location
			{PersonioID: fmt.Sprint(300000 + i), DepartmentID: "d-Bar", Department: "Bar"}, // no office
		} {
			emp.FirstName, emp.LastName = "Person", fmt.Sprint(g, i)
			in.Employees = append(in.Employees, emp)
			in.UserOf[emp.PersonioID] = "u" + emp.PersonioID
		}
	}
	p := Compute(in)
	kinds := map[ActionKind]Action{}
	for _, a := range p.Actions {
		kinds[a.Kind] = a
		for _, o := range []domain.Outcome{domain.OutcomePlanned, domain.OutcomeUpdated, domain.OutcomeReported} {
			pa := a.Planned()
			pa.Reason = a.Wording().Reason(o, a.Reason)
			b, _ := json.Marshal(pa.Entry(o))
			if len(b) > 2048 || len(a.Reason) > 1024 {
				t.Errorf("%s line (%s): %d bytes, reason %d bytes: %.300s…", a.Kind, o, len(b), len(a.Reason), b)
			}
		}
	}
	add, out, unplaced := kinds[ActAddMembers], kinds[ActNotInLocation], kinds[ActUnplaced]
	if len(add.UserIDs) != n || len(out.UserIDs) != n || unplaced.Kind != ActUnplaced || p.Writes() != 1 {
		t.Fatalf("plan: %d members added in %d writes, %d outside the location, unplaced %q", len(add.UserIDs), p.Writes(), len(out.UserIDs), unplaced.Kind)
	}
	if w := add.Wording().Reason(domain.OutcomePlanned, ""); !strings.Contains(w, "u100009 and 4990 more") {
		t.Errorf("membership line: %q", w)
	}
	for _, a := range []Action{out, unplaced} {
		if !strings.Contains(a.Reason, "and 4990 more") {
			t.Errorf("%s reason: %q", a.Kind, a.Reason)
		}
	}
	// The last employee without an office is another one now: the same count, the same
	// first ten, a new report.
	in.Employees[len(in.Employees)-1].PersonioID = "399999"
	in.UserOf["399999"] = "u399999"
	for _, a := range Compute(in).Actions {
		if a.Kind == ActUnplaced && a.Report == unplaced.Report {
			t.Errorf("the unplaced report keeps its fingerprint although its employees changed")
		}
	}
}
