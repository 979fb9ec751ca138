package usersync

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestSharedEmailOf5000StaysShort: 5,000 employees with one e-mail (a shared inbox) are
// 5,000 conflicts, each naming ten of the others and counting the rest: a conflict line
// listing all 4,999 others made each line 45 KB and the plan 5,000² ids (hundreds of MB).
// Both ways there: employees without users (the matcher finds the e-mail shared) and
// mapped employees whose new e-mail is the same (the planner finds it contested).
func TestSharedEmailOf5000StaysShort(t *testing.T) {
	const n = 5000
	for _, mapped := range []bool{false, true} {
		in := Input{Today: "2026-12-01"}
		for i := range n {
			pid := fmt.Sprint(100000 + i)
			in.Employees = append(in.Employees, domain.Employee{PersonioID: pid, FirstName: "Person", LastName: pid, Email: "info@x.de"})
			if mapped {
				in.Users = append(in.Users, domain.User{ID: "u" + pid, CustomID: pid, FirstName: "Person", LastName: pid, Email: pid + "@x.de"})
			}
		}
		p := Compute(in)
		more := "and 4990 more" // ten of the 5,000 sharing it
		if mapped {
			more = "and 4989 more" // ten of the 4,999 others
		}
		conflicts := 0
		for _, pa := range (Planned{Plan: p}).Actions() {
			b, _ := json.Marshal(pa.Entry(domain.OutcomePlanned))
			if len(b) > 2048 {
				t.Fatalf("mapped %v: line of %s is %d bytes: %.300s…", mapped, pa.SourceID, len(b), b)
			}
			if strings.Contains(pa.Reason, more) {
				conflicts++
			}
		}
		if conflicts != n {
			t.Errorf("mapped %v: %d of %d lines name ten and count the rest:\n%s", mapped, conflicts, n, dump(p)[:2000])
		}
	}
}
