package usersync

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/staffsync/staffsync/internal/synctest"
	"strings"
	"testing"
	"time"

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

// TestTwoReportsOfOneEmployeeAreReportedOnce: an employee with two reports in one line
// (the admin staffsync signs in as has left and is not locked, and their new e-mail
// belongs to another user) is remembered by one fingerprint of both: the mapping keeps
// one fingerprint per employee, and with one per report the next run found the other
// one new, and so on, writing the same two reports in turn on every run.
func TestTwoReportsOfOneEmployeeAreReportedOnce(t *testing.T) {
	e := domain.Employee{PersonioID: "1", FirstName: "Frieda", LastName: "Fischer", Email: "desk@x.de", LastWorkingDay: "2026-11-30"}
	in := Input{Employees: []domain.Employee{e}, Today: "2026-12-01", SelfUserID: "u1",
		Settings: Settings{EnablePersonioLastWorkingDay: true},
		Users: []domain.User{{ID: "u1", CustomID: "1", Email: "frieda@x.de", FirstName: "Frieda", LastName: "Fischer"},
			{ID: "u9", Email: "desk@x.de", FirstName: "Front", LastName: "Desk"}},
		Links: []domain.Link{{PersonioID: "1", UserID: "u1"}}}
	st := synctest.Store(t)
	for run := 1; run <= 3; run++ {
		p := Compute(in)
		w, rec := &callRecorder{}, &synctest.Recorder{}
		j := &job{rec: rec, Tenant: domain.Tenant{ID: "acme"}, writer: w, Store: st, Now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Concurrency: 1}
		l := &Loaded{Input: in, Mode: domain.ModeFull, links: map[string]domain.Link{"1": in.Links[0]}, job: j}
		if err := apply(context.Background(), l, p); err != nil {
			t.Fatal(err)
		}
		switch {
		case run == 1 && (len(rec.Entries) != 1 || !strings.Contains(rec.Entries[0].Reason, "reported a conflict") || !strings.Contains(rec.Entries[0].Reason, "left the user unlocked")):
			t.Fatalf("first run: %+v", rec.Entries)
		case run > 1 && len(rec.Entries) != 0:
			t.Fatalf("run %d reports again what is unchanged: %+v", run, rec.Entries)
		}
		ms, err := st.LoadMappings(context.Background(), "acme", domain.KindUser)
		if err != nil || len(ms) != 1 {
			t.Fatalf("mappings %v %+v", err, ms)
		}
		in.Reported = map[string]string{"1": ms[0].Reported}
	}
}
