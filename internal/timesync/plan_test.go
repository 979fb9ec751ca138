package timesync

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// now is the fixed clock of the planner tests: the daily full run of Thursday 2 April 2026.
func now(t testing.TB) time.Time { return at(t, "2026-04-02 05:30") }

func baseInput(t testing.TB) Input {
	n := now(t)
	return Input{
		Mappings: map[string]domain.Mapping{},
		Persons:  map[string]string{"u1": "p1", "u3": "p3"},
		Names:    map[string]string{"u1": "Anna Schmidt", "u2": "Ben Ohnemap", "u3": "Cem Yilmaz"},
		Mode:     domain.ModeFull,
		Window:   Window{From: n.AddDate(0, 0, -7), Until: n},
		Now:      n,
		Location: berlin(t),
		Reported: map[string]string{},
	}
}

// shift is Anna's verified Monday shift with a stamped lunch break.
func shift(t testing.TB) Timer {
	return timer(t, "100", "u1", StateVerified, "2026-03-30 09:00", "2026-03-30 17:30", 1800, brk(t, "b1", "2026-03-30 12:00", "2026-03-30 12:30"))
}

// transferred is the mapping of tm as an earlier run left it: its periods created with
// ids "<timer>-<key>".
func transferred(t testing.TB, tm Timer, person string) domain.Mapping {
	t.Helper()
	ps, err := Periods(tm, berlin(t))
	if err != nil {
		t.Fatal(err)
	}
	tg := Targets{Person: person, Periods: map[string]string{}}
	for _, p := range ps {
		tg.Periods[p.Key] = tm.ID + "-" + p.Key
	}
	return domain.Mapping{Kind: domain.KindTimer, SourceID: tm.ID, TargetIDs: EncodeTargets(tg),
		Hash: Hash(tm, person, ps, nil), State: domain.StateTransferred}
}

// step is the expected shape of one action.
type step struct {
	kind   ActionKind
	timer  string
	create string // keys created, comma-separated
	patch  string // keys patched
	delete string // ids deleted
	reason string // substring
}

func keys(ps []Period) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return strings.Join(out, ",")
}

func patched(ps []PeriodWrite) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return strings.Join(out, ",")
}

func dump(p Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "  %s %s create[%s] patch[%s] delete[%s]: %s\n", a.Kind, a.TimerID, keys(a.Create), patched(a.Patch), strings.Join(a.Delete, ","), a.Reason)
	}
	fmt.Fprintf(&b, "  unchanged %d repeated %d out of window %d\n", p.Unchanged, p.Repeated, p.OutOfWindow)
	return b.String()
}

func check(t *testing.T, got Plan, want []step) {
	t.Helper()
	if len(got.Actions) != len(want) {
		t.Fatalf("got %d actions, want %d:\n%s", len(got.Actions), len(want), dump(got))
	}
	writes := 0
	for i, w := range want {
		a := got.Actions[i]
		if a.Kind != w.kind || a.TimerID != w.timer || keys(a.Create) != w.create || patched(a.Patch) != w.patch ||
			strings.Join(a.Delete, ",") != w.delete || !strings.Contains(a.Reason, w.reason) {
			t.Errorf("action %d = %s %s create[%s] patch[%s] delete[%s] %q\nwant %+v\nplan:\n%s", i, a.Kind, a.TimerID, keys(a.Create), patched(a.Patch), strings.Join(a.Delete, ","), a.Reason, w, dump(got))
		}
		if a.Reason == "" {
			t.Errorf("action %d has no reason", i)
		}
		if a.Kind.Reports() && a.Report == "" {
			t.Errorf("report action %d has no fingerprint", i)
		}
		if a.Kind.Reports() && a.Calls() != 0 {
			t.Errorf("report action %d writes", i)
		}
		n := strings.Count(w.create, ",") + strings.Count(w.patch, ",") + strings.Count(w.delete, ",")
		for _, s := range []string{w.create, w.patch, w.delete} {
			if s != "" {
				n++
			}
		}
		// The dry run's line counts the writes the case lists for the timer.
		if pw := a.Planned().Writes; pw != n {
			t.Errorf("action %d (%s %s): the dry-run line counts %d writes, want %d", i, a.Kind, a.TimerID, pw, n)
		}
		writes += n
	}
	if got.Writes() != writes {
		t.Errorf("Writes() = %d, want %d", got.Writes(), writes)
	}
}

func TestCompute(t *testing.T) {
	failed := func(m domain.Mapping, first time.Time, lastErr string) domain.Mapping {
		m.State, m.FirstFailureAt, m.Attempts, m.LastError = domain.StateFailed, first, 2, lastErr
		return m
	}
	cases := []struct {
		name      string
		in        func(in *Input)
		want      []step
		unchanged int
		repeated  int
		outside   int
		// targets: the encoded targets of the first action after apply, less created ones
		targets string
	}{
		{name: "new verified timer: its WORK and BREAK created, reason with user name and local date",
			in:   func(in *Input) { in.Timers = []Timer{shift(t)} },
			want: []step{{kind: ActCreate, timer: "100", create: "work,break:b1", reason: "timer 100 of Anna Schmidt (user u1) on Mon 2026-03-30 09:00–17:30: new finished timer: creating 1 WORK and 1 BREAK"}}},
		{name: "stopped timer with verified-only off is sent",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "101", "u1", StateStopped, "2026-03-31 08:00", "2026-03-31 12:00", 0)}
			},
			want: []step{{kind: ActCreate, timer: "101", create: "work"}}},
		{name: "stopped timer with verified-only on is skipped",
			in: func(in *Input) {
				in.Settings.OnlyVerified = true
				in.Timers = []Timer{timer(t, "101", "u1", StateStopped, "2026-03-31 08:00", "2026-03-31 12:00", 0)}
			},
			want: []step{{kind: ActSkip, timer: "101", reason: "not verified yet"}}},
		{name: "verified timer with verified-only on is sent",
			in:   func(in *Input) { in.Settings.OnlyVerified = true; in.Timers = []Timer{shift(t)} },
			want: []step{{kind: ActCreate, timer: "100", create: "work,break:b1"}}},
		{name: "a running timer is never sent",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "102", "u1", StateRunning, "2026-04-02 05:00", "", 0)}
			},
			want: []step{{kind: ActSkip, timer: "102", reason: "still running"}}},
		{name: "a stopped-state timer without an end is running",
			in: func(in *Input) {
				tm := timer(t, "102", "u1", StateStopped, "2026-04-02 05:00", "", 0)
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActSkip, timer: "102", reason: "still running"}}},
		{name: "window edges: start at From is in, start at Until is out, ended in the window is in, all before is out",
			in: func(in *Input) {
				from, until := in.Window.From, in.Window.Until
				atFrom := Timer{ID: "110", UserID: "u1", State: StateVerified, StartsAt: from, EndsAt: from.Add(4 * time.Hour), NetSeconds: 4 * 3600, UpdatedAt: from.Add(4 * time.Hour)}
				atUntil := Timer{ID: "111", UserID: "u1", State: StateVerified, StartsAt: until, EndsAt: until.Add(time.Hour), NetSeconds: 3600, UpdatedAt: until.Add(time.Hour)}
				endsIn := Timer{ID: "112", UserID: "u1", State: StateVerified, StartsAt: from.Add(-time.Hour), EndsAt: from.Add(time.Hour), NetSeconds: 7200, UpdatedAt: from.Add(time.Hour)}
				before := Timer{ID: "113", UserID: "u1", State: StateVerified, StartsAt: from.Add(-3 * time.Hour), EndsAt: from.Add(-time.Second), NetSeconds: 3*3600 - 1, UpdatedAt: from.Add(-time.Second)}
				in.Timers = []Timer{atUntil, before, atFrom, endsIn}
			},
			want:    []step{{kind: ActCreate, timer: "112", create: "work"}, {kind: ActCreate, timer: "110", create: "work"}},
			outside: 2},
		{name: "a targeted run ignores the window",
			in: func(in *Input) {
				in.Mode = domain.ModeTargeted
				in.Timers = []Timer{timer(t, "114", "u1", StateVerified, "2026-03-01 08:00", "2026-03-01 12:00", 0)}
			},
			want: []step{{kind: ActCreate, timer: "114", create: "work"}}},
		{name: "verified late within the late window (started 40 days ago, verified yesterday): transferred",
			in: func(in *Input) {
				tm := timer(t, "120", "u1", StateVerified, "2026-02-21 09:00", "2026-02-21 13:00", 0)
				tm.UpdatedAt = at(t, "2026-04-01 16:00")
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActCreate, timer: "120", create: "work", reason: "2026-02-21"}}},
		{name: "verified beyond the late window (started four months ago): reported, not dropped",
			in: func(in *Input) {
				tm := timer(t, "121", "u1", StateVerified, "2025-12-01 09:00", "2025-12-01 13:00", 0)
				tm.UpdatedAt = at(t, "2026-04-01 16:00")
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActTooOld, timer: "121", reason: "started before 2026-01-02"}}},
		{name: "a configured late window of 30 days",
			in: func(in *Input) {
				in.Settings.LateWindow = 30 * 24 * time.Hour
				tm := timer(t, "120", "u1", StateVerified, "2026-02-21 09:00", "2026-02-21 13:00", 0)
				tm.UpdatedAt = at(t, "2026-04-01 16:00")
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActTooOld, timer: "120", reason: "started before 2026-03-03"}}},
		{name: "an old timer transferred and unchanged is only unchanged",
			in: func(in *Input) {
				tm := timer(t, "121", "u1", StateVerified, "2025-12-01 09:00", "2025-12-01 13:00", 0)
				tm.UpdatedAt = at(t, "2026-04-01 16:00")
				in.Timers = []Timer{tm}
				in.Mappings["121"] = transferred(t, tm, "p1")
			},
			unchanged: 1},
		{name: "unmapped user, first time: failed, to be retried",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "130", "u2", StateVerified, "2026-03-31 09:00", "2026-03-31 13:00", 0)}
			},
			want: []step{{kind: ActUnmapped, timer: "130", reason: "Ben Ohnemap (user u2) on Tue 2026-03-31 09:00–13:00: the user has no Personio employee"}}},
		{name: "unmapped user within the retry window: still retried",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "130", "u2", StateVerified, "2026-03-31 09:00", "2026-03-31 13:00", 0)}
				in.Mappings["130"] = failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "130"}, now(t).Add(-6*24*time.Hour), causeUnmapped)
			},
			want: []step{{kind: ActUnmapped, timer: "130", reason: "retried for"}}},
		{name: "unmapped user after the retry window: given up and reported",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "130", "u2", StateVerified, "2026-03-31 09:00", "2026-03-31 13:00", 0)}
				in.Mappings["130"] = failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "130"}, now(t).Add(-7*24*time.Hour-time.Minute), causeUnmapped)
			},
			want: []step{{kind: ActGiveUp, timer: "130", reason: "Ben Ohnemap (user u2) on Tue 2026-03-31 09:00–13:00: given up after 7 days of failures since 2026-03-26 (last: the user has no Personio employee"}}},
		{name: "transferred and unchanged: nothing",
			in: func(in *Input) {
				in.Timers = []Timer{shift(t)}
				in.Mappings["100"] = transferred(t, shift(t), "p1")
			},
			unchanged: 1},
		{name: "full run: a period edited in Personio is PATCHed back, one deleted there created again, the untouched one left",
			in: func(in *Input) {
				tm := timer(t, "100", "u1", StateVerified, "2026-03-30 08:00", "2026-03-30 18:00", 2700, brk(t, "b1", "2026-03-30 10:00", "2026-03-30 10:15"))
				in.Timers = []Timer{tm}
				in.Mappings["100"] = transferred(t, tm, "p1")
				ps := mustPeriods(t, tm)
				edited := ps[0]
				edited.End = "2026-03-30T19:00:00"
				in.Current = map[string]Period{"100-work": edited, "100-break:b1": ps[1]}
			},
			want:    []step{{kind: ActUpdate, timer: "100", patch: "work", create: "rest", reason: "edited or deleted in Personio"}},
			targets: "work=100-work,break:b1=100-break:b1,person=p1"},
		{name: "full run: periods as sent: unchanged",
			in: func(in *Input) {
				in.Timers = []Timer{shift(t)}
				in.Mappings["100"] = transferred(t, shift(t), "p1")
				ps := mustPeriods(t, shift(t))
				in.Current = map[string]Period{"100-work": ps[0], "100-break:b1": ps[1]}
			},
			unchanged: 1},
		{name: "changed end: exactly its periods are PATCHed",
			in: func(in *Input) {
				tm := shift(t)
				in.Mappings["100"] = transferred(t, tm, "p1")
				tm.EndsAt = tm.EndsAt.Add(15 * time.Minute)
				tm.NetSeconds += 900
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1", reason: "changed in Staffomatic: update 1 WORK and 1 BREAK"}}},
		{name: "verified after being sent stopped: PATCHed (the state is part of the hash)",
			in: func(in *Input) {
				tm := shift(t)
				tm.State = StateStopped
				in.Mappings["100"] = transferred(t, tm, "p1")
				in.Timers = []Timer{shift(t)}
			},
			want: []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1"}}},
		{name: "break added: the new BREAK created, the others PATCHed",
			in: func(in *Input) {
				tm := shift(t)
				in.Mappings["100"] = transferred(t, tm, "p1")
				tm.Breaks = append(tm.Breaks, brk(t, "b2", "2026-03-30 15:00", "2026-03-30 15:15"))
				tm.BreakSeconds += 900
				tm.NetSeconds -= 900
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1", create: "break:b2", reason: "create 0 WORK and 1 BREAK"}}},
		{name: "break removed: its BREAK deleted",
			in: func(in *Input) {
				tm := shift(t)
				tm.Breaks = append(tm.Breaks, brk(t, "b2", "2026-03-30 15:00", "2026-03-30 15:15"))
				tm.BreakSeconds += 900
				tm.NetSeconds -= 900
				in.Mappings["100"] = transferred(t, tm, "p1")
				in.Timers = []Timer{shift(t)}
			},
			want:    []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1", delete: "100-break:b2", reason: "delete 1 period"}},
			targets: "work=100-work,break:b1=100-break:b1,person=p1"},
		{name: "break_duration raised (a lump-sum break added): the remainder BREAK created",
			in: func(in *Input) {
				tm := shift(t)
				in.Mappings["100"] = transferred(t, tm, "p1")
				tm.BreakSeconds += 900
				tm.NetSeconds -= 900
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1", create: "rest"}}},
		{name: "the user now maps to another person: deleted there and created anew",
			in: func(in *Input) {
				in.Mappings["100"] = transferred(t, shift(t), "p9")
				in.Timers = []Timer{shift(t)}
			},
			want: []step{{kind: ActUpdate, timer: "100", delete: "100-work,100-break:b1", create: "work,break:b1"}}},
		{name: "failed earlier, within 7 days: retried",
			in: func(in *Input) {
				in.Timers = []Timer{shift(t)}
				in.Mappings["100"] = failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "100"}, now(t).Add(-2*24*time.Hour), "Overlapping attendance periods")
			},
			want: []step{{kind: ActCreate, timer: "100", create: "work,break:b1", reason: "(retry 3 of a failure first seen 2026-03-31: Overlapping attendance periods)"}}},
		{name: "failed update earlier, within 7 days: retried as an update",
			in: func(in *Input) {
				tm := shift(t)
				in.Mappings["100"] = failed(transferred(t, tm, "p1"), now(t).Add(-7*24*time.Hour), "Overlapping attendance periods")
				tm.EndsAt = tm.EndsAt.Add(time.Hour)
				tm.NetSeconds += 3600
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActUpdate, timer: "100", patch: "work,break:b1", reason: "retry 3"}}},
		{name: "failed for more than 7 days: given up, reported with Personio's message",
			in: func(in *Input) {
				in.Timers = []Timer{shift(t)}
				in.Mappings["100"] = failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "100"}, now(t).Add(-8*24*time.Hour), "Overlapping attendance periods")
			},
			want: []step{{kind: ActGiveUp, timer: "100", reason: "Anna Schmidt (user u1) on Mon 2026-03-30 09:00–17:30: given up after 7 days of failures since 2026-03-25 (last: Overlapping attendance periods)"}}},
		{name: "given up and reported, unchanged: not retried",
			in: func(in *Input) {
				in.Timers = []Timer{shift(t)}
				m := failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "100"}, now(t).Add(-8*24*time.Hour), "Overlapping attendance periods")
				m.State = domain.StateGaveUp
				in.Mappings["100"] = m
				in.Reported["100"] = domain.ReportFingerprint(string(ActGiveUp), []string{"100", Hash(shift(t), "p1", mustPeriods(t, shift(t)), nil)}, "Overlapping attendance periods")
			},
			repeated: 1},
		{name: "given up, then changed in Staffomatic: tried again",
			in: func(in *Input) {
				m := failed(domain.Mapping{Kind: domain.KindTimer, SourceID: "100"}, now(t).Add(-8*24*time.Hour), "Overlapping attendance periods")
				m.State = domain.StateGaveUp
				in.Mappings["100"] = m
				in.Reported["100"] = domain.ReportFingerprint(string(ActGiveUp), []string{"100", Hash(shift(t), "p1", mustPeriods(t, shift(t)), nil)}, "Overlapping attendance periods")
				tm := shift(t)
				tm.StartsAt = tm.StartsAt.Add(-time.Hour)
				tm.NetSeconds += 3600
				in.Timers = []Timer{tm}
			},
			want: []step{{kind: ActCreate, timer: "100", create: "work,break:b1"}}},
		{name: "a timer the conversion refuses is reported as failed",
			in: func(in *Input) {
				in.Timers = []Timer{timer(t, "140", "u1", StateVerified, "2026-03-30 08:00", "2026-03-30 09:00", 3000, brk(t, "b1", "2026-03-30 08:20", "2026-03-30 08:40"))}
			},
			want: []step{{kind: ActInvalid, timer: "140", reason: "cannot be sent: the unstamped break time does not fit"}}},
		{name: "deleted in Staffomatic with propagate_deletions on: its periods deleted",
			in: func(in *Input) {
				in.Settings.PropagateDeletions = true
				in.Mappings["100"] = transferred(t, shift(t), "p1")
				in.Deleted = []Deleted{{ID: "100", UserID: "u1", StartsAt: shift(t).StartsAt}}
			},
			want: []step{{kind: ActDelete, timer: "100", delete: "100-work,100-break:b1", reason: "timer 100 of Anna Schmidt (user u1) on Mon 2026-03-30 09:00: deleted in Staffomatic: deleting its 2 Personio periods"}}},
		{name: "deleted in Staffomatic with propagate_deletions off: reported that the periods remain",
			in: func(in *Input) {
				in.Mappings["100"] = transferred(t, shift(t), "p1")
				in.Deleted = []Deleted{{ID: "100", UserID: "u1", StartsAt: shift(t).StartsAt}}
			},
			want: []step{{kind: ActDeletionKept, timer: "100", reason: "its 2 Personio periods remain (propagate_deletions is off)"}}},
		{name: "deleted but never transferred, or its deletion handled: nothing",
			in: func(in *Input) {
				in.Settings.PropagateDeletions = true
				m := transferred(t, shift(t), "p1")
				m.State = domain.StateDeleted
				in.Mappings["100"] = m
				in.Deleted = []Deleted{{ID: "100"}, {ID: "999"}}
			}},
		{name: "a timer listed and deleted counts as deleted",
			in: func(in *Input) {
				in.Settings.PropagateDeletions = true
				in.Timers = []Timer{shift(t)}
				in.Mappings["100"] = transferred(t, shift(t), "p1")
				in.Deleted = []Deleted{{ID: "100"}}
			},
			want: []step{{kind: ActDelete, timer: "100", delete: "100-work,100-break:b1", reason: "timer 100: deleted"}}},
		{name: "midnight and both DST nights go through as one WORK with its BREAKs",
			in: func(in *Input) {
				in.Window = Window{}
				in.Now = at(t, "2026-10-26 05:30")
				in.Settings.LateWindow = 365 * 24 * time.Hour
				in.Timers = []Timer{
					timer(t, "150", "u1", StateVerified, "2026-03-28 22:00", "2026-03-29 06:00", 1800, brk(t, "b1", "2026-03-29 01:45", "2026-03-29 03:15")),
					timer(t, "151", "u3", StateVerified, "2026-10-24 22:00 CEST", "2026-10-25 06:00 CET", 1800, brk(t, "b1", "2026-10-25 02:50 CET", "2026-10-25 03:20 CET")),
					timer(t, "152", "u1", StateVerified, "2026-10-25 22:00", "2026-10-26 05:00", 0),
				}
			},
			want: []step{{kind: ActCreate, timer: "150", create: "work,break:b1"}, {kind: ActCreate, timer: "151", create: "work,break:b1", reason: "Cem Yilmaz"}, {kind: ActCreate, timer: "152", create: "work"}}},
		{name: "recorded quirk: break 40 starts 09:01:01, its timer 09:01:02; and a lump-sum break: both created clamped and placed",
			in: func(in *Input) {
				in.Timers = []Timer{
					timer(t, "170", "u1", StateVerified, "2026-03-30 09:01:02", "2026-03-30 17:00", 899, brk(t, "40", "2026-03-30 09:01:01", "2026-03-30 09:16:01")),
					timer(t, "171", "u3", StateVerified, "2026-03-31 08:00", "2026-03-31 16:30", 1800),
				}
			},
			want: []step{{kind: ActCreate, timer: "170", create: "work,break:40"}, {kind: ActCreate, timer: "171", create: "work,rest"}}},
		{name: "a user without a name is named by id",
			in: func(in *Input) {
				in.Persons["u4"] = "p4"
				in.Timers = []Timer{timer(t, "160", "u4", StateStopped, "2026-03-31 08:00", "2026-03-31 12:00", 0)}
			},
			want: []step{{kind: ActCreate, timer: "160", create: "work", reason: "timer 160 of user u4 on Tue 2026-03-31"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := baseInput(t)
			if c.in != nil {
				c.in(&in)
			}
			p := Compute(in)
			check(t, p, c.want)
			if p.Unchanged != c.unchanged || p.Repeated != c.repeated || p.OutOfWindow != c.outside {
				t.Errorf("unchanged %d repeated %d out of window %d, want %d %d %d", p.Unchanged, p.Repeated, p.OutOfWindow, c.unchanged, c.repeated, c.outside)
			}
			if c.targets != "" {
				if got := strings.Join(EncodeTargets(p.Actions[0].Targets()), ","); got != c.targets {
					t.Errorf("targets after apply = %s, want %s", got, c.targets)
				}
			}
			if p.SkipApproval != in.Settings.OnlyVerified {
				t.Errorf("SkipApproval = %v with only verified %v", p.SkipApproval, in.Settings.OnlyVerified)
			}
			for _, a := range p.Actions {
				for _, pd := range append(slices.Clone(a.Create), periodsOf(a.Patch)...) {
					if id, _, ok := ParseMarker(pd.Comment); !ok || id != a.TimerID {
						t.Errorf("period %s of timer %s carries comment %q", pd.Key, a.TimerID, pd.Comment)
					}
				}
			}
		})
	}
}

func mustPeriods(t testing.TB, tm Timer) []Period {
	ps, err := Periods(tm, berlin(t))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func periodsOf(ws []PeriodWrite) []Period {
	var out []Period
	for _, w := range ws {
		out = append(out, w.Period)
	}
	return out
}

// TestReportsNotRepeated: a report written once (its fingerprint stored as Reported) is
// not planned again while nothing changes; a change to the timer reports it again.
func TestReportsNotRepeated(t *testing.T) {
	in := baseInput(t)
	in.Settings.OnlyVerified = true
	old := timer(t, "121", "u1", StateVerified, "2025-12-01 09:00", "2025-12-01 13:00", 0)
	old.UpdatedAt = at(t, "2026-04-01 16:00")
	in.Timers = []Timer{
		timer(t, "101", "u1", StateStopped, "2026-03-31 08:00", "2026-03-31 12:00", 0),
		timer(t, "102", "u1", StateRunning, "2026-04-02 05:00", "", 0),
		timer(t, "130", "u2", StateVerified, "2026-03-31 09:00", "2026-03-31 13:00", 0),
		timer(t, "140", "u1", StateVerified, "2026-03-30 08:00", "2026-03-30 09:00", 3000, brk(t, "b1", "2026-03-30 08:20", "2026-03-30 08:40")),
		old,
	}
	in.Mappings["200"] = transferred(t, shift(t), "p1")
	in.Deleted = []Deleted{{ID: "200"}}
	first := Compute(in)
	if len(first.Actions) != 6 {
		t.Fatalf("first run:\n%s", dump(first))
	}
	for _, a := range first.Actions {
		in.Reported[a.TimerID] = a.Report
	}
	// what apply records for the unmapped user
	in.Mappings["130"] = domain.Mapping{Kind: domain.KindTimer, SourceID: "130", State: domain.StateFailed, FirstFailureAt: now(t), Attempts: 1, LastError: causeUnmapped}
	in.Now = in.Now.Add(10 * time.Minute)
	second := Compute(in)
	if len(second.Actions) != 0 || second.Repeated != 6 {
		t.Fatalf("second run repeats reports:\n%s", dump(second))
	}
	in.Timers[0].State = StateVerified // verified now: sent
	in.Timers[1].EndsAt, in.Timers[1].State, in.Timers[1].NetSeconds = at(t, "2026-04-02 05:35"), StateStopped, 300
	third := Compute(in)
	check(t, third, []step{{kind: ActCreate, timer: "101", create: "work"}, {kind: ActSkip, timer: "102", reason: "not verified"}})
}

// TestComputeDeterministic: the same input gives the same plan whatever the timers' order.
func TestComputeDeterministic(t *testing.T) {
	in := benchInput(t, 20, 7)
	a := Compute(in)
	slices.Reverse(in.Timers)
	b := Compute(in)
	if dump(a) != dump(b) {
		t.Fatalf("order changed the plan:\n%s\nvs\n%s", dump(a), dump(b))
	}
}

// benchInput: users × days of verified shifts with a stamped break, half of them
// transferred unchanged, a tenth of those changed since.
func benchInput(t testing.TB, users, days int) Input {
	in := baseInput(t)
	in.Settings.OnlyVerified = true
	day0 := at(t, "2026-03-26 00:00")
	for u := range users {
		uid := fmt.Sprintf("u%d", u)
		in.Persons[uid] = fmt.Sprintf("p%d", u)
		in.Names[uid] = fmt.Sprintf("User %d", u)
		for d := range days {
			start := day0.AddDate(0, 0, d).Add(time.Duration(6+u%5) * time.Hour)
			id := fmt.Sprintf("%d-%d", u, d)
			tm := Timer{ID: id, UserID: uid, State: StateVerified, StartsAt: start, EndsAt: start.Add(8*time.Hour + 30*time.Minute),
				BreakSeconds: 2700, NetSeconds: 8*3600 - 900, UpdatedAt: start.Add(9 * time.Hour),
				Breaks: []Break{{ID: id + "b", StartsAt: start.Add(4 * time.Hour), EndsAt: start.Add(4*time.Hour + 30*time.Minute)}}}
			if (u+d)%2 == 0 {
				m := transferred(t, tm, in.Persons[uid])
				if (u+d)%10 == 0 {
					tm.EndsAt = tm.EndsAt.Add(5 * time.Minute)
					tm.NetSeconds += 300
				}
				in.Mappings[id] = m
			}
			in.Timers = append(in.Timers, tm)
		}
	}
	in.Window = Window{}
	return in
}

func BenchmarkCompute(b *testing.B) {
	in := benchInput(b, 300, 7)
	b.ReportAllocs()
	b.ResetTimer()
	var p Plan
	for b.Loop() {
		p = Compute(in)
	}
	b.ReportMetric(float64(len(in.Timers)), "timers")
	b.ReportMetric(float64(p.Writes()), "writes")
}

// TestTimerActionsNameTheUser: every timer action carries the name of the timer's user,
// and its reason says what will happen in a dry run and what happened in a real run.
// everyKind is an input whose plan has an action of each kind that names a user: a
// create (100), a skip (101, running), a report (102, unmapped user) and a delete (103).
func everyKind(t *testing.T) Input {
	running := timer(t, "101", "u3", StateVerified, "2026-04-01 09:00", "", 0)
	unmapped := timer(t, "102", "u2", StateVerified, "2026-03-31 09:00", "2026-03-31 12:00", 0)
	gone := shift(t)
	gone.ID = "103"
	in := baseInput(t)
	in.Timers = []Timer{shift(t), running, unmapped}
	in.Mappings["103"] = transferred(t, gone, "p1")
	in.Deleted = []Deleted{{ID: "103", UserID: "u1", StartsAt: gone.StartsAt}}
	in.Settings.PropagateDeletions = true
	return in
}

func TestTimerActionsNameTheUser(t *testing.T) {
	in := everyKind(t)
	cases := []struct {
		timer   string
		kind    ActionKind
		person  string
		planned string // prefixes
		done    string
		o       domain.Outcome
	}{
		{"100", ActCreate, "Anna Schmidt", "will create attendance periods: timer 100 of Anna Schmidt (user u1)", "created attendance periods: timer 100", domain.OutcomeCreated},
		{"102", ActUnmapped, "Ben Ohnemap", "will not transfer the timer: timer 102 of Ben Ohnemap", "not transferred: timer 102", domain.OutcomeFailed},
		{"101", ActSkip, "Cem Yilmaz", "will skip the timer: timer 101 of Cem Yilmaz", "skipped the timer: timer 101", domain.OutcomeSkipped},
		{"103", ActDelete, "Anna Schmidt", "will delete attendance periods: timer 103 of Anna Schmidt", "deleted attendance periods: timer 103", domain.OutcomeDeleted},
	}
	p := Compute(in)
	planned := (Planned{Plan: p}).Actions()
	if len(p.Actions) != len(cases) || len(planned) != len(cases) {
		t.Fatalf("plan:\n%s", dump(p))
	}
	for i, c := range cases {
		a, pa := p.Actions[i], planned[i]
		if a.TimerID != c.timer || a.Kind != c.kind || a.Person != c.person || pa.Person != c.person || pa.SourceID != c.timer {
			t.Errorf("action %d: %s %s of %q (stored as %+v), want %s %s of %q", i, a.Kind, a.TimerID, a.Person, pa, c.kind, c.timer, c.person)
		}
		if !strings.HasPrefix(pa.Reason, c.planned) {
			t.Errorf("dry run of %s tells %q, want it to start %q", c.timer, pa.Reason, c.planned)
		}
		if got := a.Tell(c.o, a.Reason); !strings.HasPrefix(got, c.done) {
			t.Errorf("real run of %s tells %q, want it to start %q", c.timer, got, c.done)
		}
	}
	if got := p.Actions[0].Tell(domain.OutcomeFailed, p.Actions[0].Reason+"; failed: 409 overlap"); !strings.HasPrefix(got, "could not create attendance periods: timer 100 of Anna Schmidt") ||
		!strings.HasSuffix(got, "; failed: 409 overlap") {
		t.Errorf("failed create tells %q", got)
	}
}

// TestChangedTimerPatchesOnlyChangedPeriods: a timer whose end moved PATCHes its WORK
// period only when its mapping carries the periods' prints (StoredHash), its unmoved break
// is kept; a mapping stored before the prints existed PATCHes every period as before, and
// neither kind of mapping makes an unchanged timer change.
func TestChangedTimerPatchesOnlyChangedPeriods(t *testing.T) {
	old := shift(t)
	moved := timer(t, "100", "u1", StateVerified, "2026-03-30 09:00", "2026-03-30 17:15", 1800, brk(t, "b1", "2026-03-30 12:00", "2026-03-30 12:30"))
	withPrints := func(t *testing.T) domain.Mapping {
		m := transferred(t, old, "p1")
		m.Hash = StoredHash(m.Hash, mustPeriods(t, old))
		return m
	}
	for _, c := range []struct {
		name    string
		mapping func(*testing.T) domain.Mapping
		timer   Timer
		patch   string
		keep    int
		actions int
	}{
		{"prints: only the moved WORK period", withPrints, moved, "work", 1, 1},
		{"no prints (stored before them): every period", func(t *testing.T) domain.Mapping { return transferred(t, old, "p1") }, moved, "work,break:b1", 0, 1},
		{"prints, unchanged timer: nothing", withPrints, old, "", 0, 0},
		{"no prints, unchanged timer: nothing", func(t *testing.T) domain.Mapping { return transferred(t, old, "p1") }, old, "", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := baseInput(t)
			in.Timers = []Timer{c.timer}
			in.Mappings["100"] = c.mapping(t)
			p := Compute(in)
			if len(p.Actions) != c.actions {
				t.Fatalf("actions %+v", p.Actions)
			}
			if c.actions == 0 {
				return
			}
			a := p.Actions[0]
			if a.Kind != ActUpdate || patched(a.Patch) != c.patch || len(a.Keep) != c.keep || len(a.Create)+len(a.Delete) != 0 {
				t.Fatalf("action %+v", a)
			}
			if a.Calls() != len(strings.Split(c.patch, ",")) {
				t.Errorf("%d calls for patching %s", a.Calls(), c.patch)
			}
			if !SameHash(a.Stored, a.Hash) || a.Stored == a.Hash {
				t.Errorf("stored hash %q does not carry the prints of hash %q", a.Stored, a.Hash)
			}
		})
	}
}
