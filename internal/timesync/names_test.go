package timesync

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/personio"
)

func TestNamed(t *testing.T) {
	cases := []struct{ in, user, want string }{
		{"timer 5 of user 12 on Mon 2026-03-30 09:00", "12", "timer 5 of Ada Adler (user 12) on Mon 2026-03-30 09:00"},
		{"timer 5 of user 123 on Mon", "12", "timer 5 of user 123 on Mon"},
		{"timer 5 of user 12", "12", "timer 5 of Ada Adler (user 12)"},
		{"timer 5 of user 12: given up (last: timer 5 of user 12 again)", "12", "timer 5 of Ada Adler (user 12): given up (last: timer 5 of Ada Adler (user 12) again)"},
		{"timer 5 of user 123, timer 6 of user 12.", "12", "timer 5 of user 123, timer 6 of Ada Adler (user 12)."},
		{"nothing about users", "12", "nothing about users"},
	}
	for _, c := range cases {
		if got := named(c.in, c.user, "Ada Adler"); got != c.want {
			t.Errorf("named(%q, %s) = %q, want %q", c.in, c.user, got, c.want)
		}
	}
}

// TestLateNamesGiveThePlansText: a targeted run plans without the users' names and names
// each protocol entry once its writes are done; what it records is what the plan says
// with the names (the dry run's text), for every kind of action and the reasons apply
// derives from them (a failure, giving up), and the writes are the same.
func TestLateNamesGiveThePlansText(t *testing.T) {
	in := everyKind(t)
	withNames := Compute(in)
	bare := in
	bare.Names = map[string]string{}
	without := Compute(bare)
	l := &late{done: make(chan struct{}), names: maps.Clone(in.Names)}
	close(l.done)
	if len(withNames.Actions) != 4 || len(without.Actions) != len(withNames.Actions) {
		t.Fatalf("plans:\n%s\n%s", dump(withNames), dump(without))
	}
	first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range withNames.Actions {
		a := without.Actions[i]
		if a.Person != "" || strings.Contains(a.Reason, want.Person) {
			t.Fatalf("the plan without names names the user: %+v", a)
		}
		if a.Calls() != want.Calls() || keys(a.Create) != keys(want.Create) || a.Report != want.Report {
			t.Errorf("timer %s: the writes or the report differ without the names", a.TimerID)
		}
		reasons := [][2]string{
			{a.Reason, want.Reason},
			{a.Reason + "; failed: 422 Overlapping attendance periods", want.Reason + "; failed: 422 Overlapping attendance periods"},
			{a.GiveUp("422", first).Reason, want.GiveUp("422", first).Reason},
		}
		for _, r := range reasons {
			got, reason := l.name(a, r[0])
			if reason != r[1] || got.Person != want.Person || got.Reason != want.Reason {
				t.Errorf("timer %s: named %q / %q (%q), want %q / %q (%q)", a.TimerID, reason, got.Reason, got.Person, r[1], want.Reason, want.Person)
			}
		}
	}
	// A user whose name could not be read stays named by id.
	none := &late{done: make(chan struct{}), names: map[string]string{}}
	close(none.done)
	if got, reason := none.name(without.Actions[0], without.Actions[0].Reason); got.Person != "" || reason != without.Actions[0].Reason {
		t.Errorf("without a name: %q %q", got.Person, reason)
	}
}

// barrierWriter is a periodWriter whose creates answer only once n of them are in flight
// (or fail with fail's message for the period of that type).
type barrierWriter struct {
	periodWriter
	n       int32
	fail    string
	arrived atomic.Int32
	all     chan struct{}
}

func (w *barrierWriter) CreateAttendancePeriod(ctx context.Context, in personio.AttendancePeriodInput, _ bool) (string, error) {
	if w.arrived.Add(1) == w.n {
		close(w.all)
	}
	select {
	case <-w.all:
	case <-time.After(5 * time.Second):
		return "", errors.New("the other periods were not sent meanwhile")
	}
	if in.Type == w.fail {
		return "", errors.New("422 Overlapping attendance periods")
	}
	return in.Type + "-id", nil
}

// TestCreateSendsATimersPeriodsAtOnce: a timer's WORK and BREAK POSTs are in flight
// together; when one fails the other's id is kept (the mapping names it, and the next
// run does not create it again) and the error names the failed one.
func TestCreateSendsATimersPeriodsAtOnce(t *testing.T) {
	ps, err := Periods(shift(t), berlin(t))
	if err != nil || len(ps) != 2 {
		t.Fatalf("periods %+v, %v", ps, err)
	}
	cases := []struct {
		fail    string
		want    map[string]string
		wantErr string
	}{
		{"", map[string]string{KeyWork: "WORK-id", ps[1].Key: "BREAK-id"}, ""},
		{"BREAK", map[string]string{KeyWork: "WORK-id"}, "create the break period " + ps[1].Key},
		{"WORK", map[string]string{ps[1].Key: "BREAK-id"}, "create the work period " + KeyWork},
	}
	for _, c := range cases {
		w := &barrierWriter{n: 2, fail: c.fail, all: make(chan struct{})}
		got := map[string]string{}
		err := create(context.Background(), w, "p1", true, ps, got)
		if !maps.Equal(got, c.want) || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("fail %q: periods %v, error %v; want %v, %q", c.fail, got, err, c.want, c.wantErr)
		}
	}
}
