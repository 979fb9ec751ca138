package timesync

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses "2006-01-02 15:04:05" (seconds optional) in Berlin; a suffix " CET" or " CEST"
// picks the occurrence of a repeated hour.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	off := ""
	if v, ok := strings.CutSuffix(s, " CEST"); ok {
		s, off = v, "+02:00"
	} else if v, ok := strings.CutSuffix(s, " CET"); ok {
		s, off = v, "+01:00"
	}
	if len(s) == len("2006-01-02 15:04") {
		s += ":00"
	}
	if off != "" {
		v, err := time.Parse("2006-01-02 15:04:05-07:00", s+off)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, berlin(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// timer builds a finished timer whose net_duration is its gross time less breakMin.
func timer(t testing.TB, id, user string, state State, start, end string, breakSec int64, breaks ...Break) Timer {
	t.Helper()
	tm := Timer{ID: id, UserID: user, State: state, StartsAt: at(t, start), BreakSeconds: breakSec, Breaks: breaks}
	if end != "" {
		tm.EndsAt = at(t, end)
		tm.NetSeconds = int64(tm.EndsAt.Sub(tm.StartsAt)/time.Second) - breakSec
		tm.UpdatedAt = tm.EndsAt
	} else {
		tm.UpdatedAt = tm.StartsAt
	}
	return tm
}

func brk(t testing.TB, id, start, end string) Break {
	b := Break{ID: id, StartsAt: at(t, start)}
	if end != "" {
		b.EndsAt = at(t, end)
	}
	return b
}

// shape renders periods as "WORK 09:00:00-17:00:00" lines (date parts kept when they differ
// from want's style: the full local date-time is compared).
func shape(ps []Period) string {
	var b []string
	for _, p := range ps {
		b = append(b, string(p.Type)+" "+p.Start+" "+p.End+" "+p.Key)
	}
	return strings.Join(b, "\n")
}

// valid checks what Personio and the simulator require of a timer's periods: local times
// without offset, positive ranges, one WORK first, BREAKs inside it, sorted and disjoint,
// and the marker on each.
func valid(t *testing.T, tm Timer, ps []Period) {
	t.Helper()
	if len(ps) == 0 || ps[0].Type != TypeWork || ps[0].Key != KeyWork {
		t.Fatalf("first period is not WORK: %v", ps)
	}
	parse := func(s string) time.Time {
		if strings.ContainsAny(s, "Z+") || strings.Count(s, "-") != 2 {
			t.Fatalf("%q is not a local date-time without offset", s)
		}
		v, err := time.Parse(LocalLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ws, we := parse(ps[0].Start), parse(ps[0].End)
	prev := ws
	for i, p := range ps {
		s, e := parse(p.Start), parse(p.End)
		if !e.After(s) {
			t.Errorf("period %d %s: empty or negative range", i, p.Key)
		}
		if id, key, ok := ParseMarker(p.Comment); !ok || id != tm.ID || key != p.Key {
			t.Errorf("period %d comment %q is not the marker of %s/%s", i, p.Comment, tm.ID, p.Key)
		}
		if i == 0 {
			continue
		}
		if p.Type != TypeBreak {
			t.Errorf("period %d is %s, want BREAK", i, p.Type)
		}
		if s.Before(prev) || e.After(we) {
			t.Errorf("break %s %s–%s not inside WORK %s–%s after the previous break", p.Key, p.Start, p.End, ps[0].Start, ps[0].End)
		}
		prev = e
	}
}

// breakTotal sums the BREAK periods' wall-clock lengths.
func breakTotal(t *testing.T, ps []Period) time.Duration {
	var d time.Duration
	for _, p := range ps[1:] {
		s, _ := time.Parse(LocalLayout, p.Start)
		e, _ := time.Parse(LocalLayout, p.End)
		d += e.Sub(s)
	}
	return d
}

func TestPeriods(t *testing.T) {
	loc := berlin(t)
	cases := []struct {
		name  string
		timer Timer
		want  string
		err   error
	}{
		{name: "stamped break",
			timer: timer(t, "1", "u", StateVerified, "2026-03-30 09:00", "2026-03-30 17:30", 1800, brk(t, "b1", "2026-03-30 12:00", "2026-03-30 12:30")),
			want:  "WORK 2026-03-30T09:00:00 2026-03-30T17:30:00 work\nBREAK 2026-03-30T12:00:00 2026-03-30T12:30:00 break:b1"},
		{name: "no break",
			timer: timer(t, "1", "u", StateStopped, "2026-03-30 09:00", "2026-03-30 13:00", 0),
			want:  "WORK 2026-03-30T09:00:00 2026-03-30T13:00:00 work"},
		{name: "recorded: break 40 starts 09:01:01, its timer 09:01:02: clamped to the timer",
			timer: timer(t, "7", "u", StateVerified, "2026-03-30 09:01:02", "2026-03-30 17:00", 899, brk(t, "40", "2026-03-30 09:01:01", "2026-03-30 09:16:01")),
			want:  "WORK 2026-03-30T09:01:02 2026-03-30T17:00:00 work\nBREAK 2026-03-30T09:01:02 2026-03-30T09:16:01 break:40"},
		{name: "break before its timer and break_duration counting the second: the remainder second is placed",
			timer: timer(t, "7", "u", StateVerified, "2026-03-30 09:01:02", "2026-03-30 09:31:02", 900, brk(t, "40", "2026-03-30 09:01:01", "2026-03-30 09:16:01")),
			want:  "WORK 2026-03-30T09:01:02 2026-03-30T09:31:02 work\nBREAK 2026-03-30T09:01:02 2026-03-30T09:16:01 break:40\nBREAK 2026-03-30T09:23:31 2026-03-30T09:23:32 rest"},
		{name: "lump-sum break only: centred in the shift",
			timer: timer(t, "2", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 16:30", 1800),
			want:  "WORK 2026-03-30T08:00:00 2026-03-30T16:30:00 work\nBREAK 2026-03-30T12:00:00 2026-03-30T12:30:00 rest"},
		{name: "break_duration exceeds the stamped breaks: remainder centred in the largest gap",
			timer: timer(t, "3", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 18:00", 2700, brk(t, "b1", "2026-03-30 10:00", "2026-03-30 10:15")),
			want:  "WORK 2026-03-30T08:00:00 2026-03-30T18:00:00 work\nBREAK 2026-03-30T10:00:00 2026-03-30T10:15:00 break:b1\nBREAK 2026-03-30T13:52:30 2026-03-30T14:22:30 rest"},
		{name: "remainder larger than every gap",
			timer: timer(t, "4", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 09:00", 3000, brk(t, "b1", "2026-03-30 08:20", "2026-03-30 08:40")),
			err:   ErrNoRoom},
		{name: "stamped breaks longer than break_duration: the last one is shortened",
			timer: timer(t, "5", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 16:00", 2700,
				brk(t, "b1", "2026-03-30 10:00", "2026-03-30 10:30"), brk(t, "b2", "2026-03-30 13:00", "2026-03-30 13:30")),
			want: "WORK 2026-03-30T08:00:00 2026-03-30T16:00:00 work\nBREAK 2026-03-30T10:00:00 2026-03-30T10:30:00 break:b1\nBREAK 2026-03-30T13:00:00 2026-03-30T13:15:00 break:b2"},
		{name: "overlapping break timers and one after the timer's end are clamped",
			timer: timer(t, "6", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 12:00", 2700,
				brk(t, "b1", "2026-03-30 10:00", "2026-03-30 10:30"), brk(t, "b2", "2026-03-30 10:20", "2026-03-30 10:40"), brk(t, "b3", "2026-03-30 11:55", "2026-03-30 12:10")),
			want: "WORK 2026-03-30T08:00:00 2026-03-30T12:00:00 work\nBREAK 2026-03-30T10:00:00 2026-03-30T10:30:00 break:b1\nBREAK 2026-03-30T10:30:00 2026-03-30T10:40:00 break:b2\nBREAK 2026-03-30T11:55:00 2026-03-30T12:00:00 break:b3"},
		{name: "a break still running ends with its timer",
			timer: timer(t, "6", "u", StateStopped, "2026-03-30 08:00", "2026-03-30 12:00", 600, brk(t, "b1", "2026-03-30 11:50", "")),
			want:  "WORK 2026-03-30T08:00:00 2026-03-30T12:00:00 work\nBREAK 2026-03-30T11:50:00 2026-03-30T12:00:00 break:b1"},
		{name: "crossing midnight: one WORK period",
			timer: timer(t, "8", "u", StateVerified, "2026-03-30 22:00", "2026-03-31 06:00", 1800, brk(t, "b1", "2026-03-31 02:00", "2026-03-31 02:30")),
			want:  "WORK 2026-03-30T22:00:00 2026-03-31T06:00:00 work\nBREAK 2026-03-31T02:00:00 2026-03-31T02:30:00 break:b1"},
		{name: "spring change 29 March: night shift over the skipped hour",
			timer: timer(t, "9", "u", StateVerified, "2026-03-28 22:00", "2026-03-29 06:00", 1800, brk(t, "b1", "2026-03-29 01:45", "2026-03-29 03:15")),
			// 01:45 CET to 03:15 CEST is 30 minutes; the wall clock jumps 02:00 → 03:00
			want: "WORK 2026-03-28T22:00:00 2026-03-29T06:00:00 work\nBREAK 2026-03-29T01:45:00 2026-03-29T03:15:00 break:b1"},
		{name: "spring change: timer starting just before the jump",
			timer: timer(t, "10", "u", StateStopped, "2026-03-29 01:30", "2026-03-29 03:30", 0),
			want:  "WORK 2026-03-29T01:30:00 2026-03-29T03:30:00 work"},
		{name: "autumn change 25 October: night shift over the repeated hour, breaks in both occurrences",
			timer: timer(t, "11", "u", StateVerified, "2026-10-24 22:00 CEST", "2026-10-25 06:00 CET", 2700,
				brk(t, "b1", "2026-10-25 02:30 CEST", "2026-10-25 02:45 CEST"), brk(t, "b2", "2026-10-25 02:50 CET", "2026-10-25 03:20 CET")),
			// b2's first ten minutes lie in the second 02:xx and read 03:00
			want: "WORK 2026-10-24T22:00:00 2026-10-25T06:00:00 work\nBREAK 2026-10-25T02:30:00 2026-10-25T02:45:00 break:b1\nBREAK 2026-10-25T03:00:00 2026-10-25T03:20:00 break:b2"},
		{name: "autumn change: timer from the first into the second 02:xx would run backwards on the wall clock",
			timer: timer(t, "12", "u", StateStopped, "2026-10-25 02:30 CEST", "2026-10-25 02:15 CET", 0),
			want:  "WORK 2026-10-25T02:30:00 2026-10-25T03:00:00 work"},
		{name: "autumn change: timer wholly in the second 02:xx cannot be expressed",
			timer: timer(t, "13", "u", StateStopped, "2026-10-25 02:10 CET", "2026-10-25 02:50 CET", 0),
			err:   ErrEmptyWork},
		{name: "longer than 24 hours", timer: timer(t, "14", "u", StateStopped, "2026-03-30 08:00", "2026-03-31 08:01", 0), err: ErrTooLong},
		{name: "23½ hours over the spring change are 24½ on the wall clock", timer: timer(t, "18", "u", StateStopped, "2026-03-28 20:00", "2026-03-29 20:30", 0), err: ErrTooLong},
		{name: "running", timer: timer(t, "15", "u", StateRunning, "2026-03-30 08:00", "", 0), err: ErrNotFinished},
		{name: "ends before it starts", timer: timer(t, "16", "u", StateStopped, "2026-03-30 08:00", "2026-03-30 08:00", 0), err: ErrBadRange},
		{name: "net longer than the timer", timer: timer(t, "17", "u", StateStopped, "2026-03-30 08:00", "2026-03-30 09:00", -60), err: ErrBadNet},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Periods(c.timer, loc)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v (periods %v)", err, c.err, ps)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := shape(ps); got != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
			valid(t, c.timer, ps)
		})
	}
}

// TestPeriodsNet: away from a daylight-saving change, WORK minus BREAKs on the wall clock
// is exactly Staffomatic's net_duration, whatever mix of stamped and lump-sum breaks.
func TestPeriodsNet(t *testing.T) {
	loc := berlin(t)
	for _, tm := range []Timer{
		timer(t, "1", "u", StateVerified, "2026-03-30 08:00", "2026-03-30 16:30", 1800),
		timer(t, "2", "u", StateVerified, "2026-03-30 08:00:17", "2026-03-30 18:03:59", 3661, brk(t, "b1", "2026-03-30 07:59", "2026-03-30 08:10:05")),
		timer(t, "3", "u", StateVerified, "2026-03-30 22:00", "2026-03-31 07:00", 2700, brk(t, "b1", "2026-03-31 01:00", "2026-03-31 01:20")),
	} {
		ps, err := Periods(tm, loc)
		if err != nil {
			t.Fatal(err)
		}
		valid(t, tm, ps)
		ws, _ := time.Parse(LocalLayout, ps[0].Start)
		we, _ := time.Parse(LocalLayout, ps[0].End)
		if net := we.Sub(ws) - breakTotal(t, ps); net != time.Duration(tm.NetSeconds)*time.Second {
			t.Errorf("timer %s: net in Personio %s, Staffomatic %ds\n%s", tm.ID, net, tm.NetSeconds, shape(ps))
		}
	}
}

// TestWallMonotone: minute by minute over both change nights, the wall clock never reads
// earlier for a later instant and never carries an offset.
func TestWallMonotone(t *testing.T) {
	loc := berlin(t)
	for _, day := range []string{"2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"} {
		start, _ := time.Parse(time.RFC3339, day)
		prev := Wall(start, loc)
		for i := 1; i < 12*60; i++ {
			w := Wall(start.Add(time.Duration(i)*time.Minute), loc)
			if w.Before(prev) {
				t.Fatalf("%s: wall clock goes back from %s to %s", day, prev, w)
			}
			prev = w
		}
	}
	if got := Wall(at(t, "2026-10-25 02:15 CET"), loc).Format(LocalLayout); got != "2026-10-25T03:00:00" {
		t.Errorf("second 02:15 reads %s, want 03:00", got)
	}
	if got := Wall(at(t, "2026-10-25 02:15 CEST"), loc).Format(LocalLayout); got != "2026-10-25T02:15:00" {
		t.Errorf("first 02:15 reads %s", got)
	}
	if got := Wall(at(t, "2026-10-25 03:00 CET"), loc).Format(LocalLayout); got != "2026-10-25T03:00:00" {
		t.Errorf("03:00 CET reads %s", got)
	}
}

func TestMarkerAndTargets(t *testing.T) {
	id, key, ok := ParseMarker(Marker("42", BreakKey("7")))
	if !ok || id != "42" || key != "break:7" {
		t.Errorf("ParseMarker = %q %q %v", id, key, ok)
	}
	for _, c := range []string{"", "staffsync:timer:", "staffsync:timer:42", "note", "staffsync:timer:/work"} {
		if _, _, ok := ParseMarker(c); ok {
			t.Errorf("ParseMarker(%q) ok", c)
		}
	}
	tg := Targets{Person: "p1", Periods: map[string]string{"rest": "r", "work": "w", "break:1": "b"}}
	enc := EncodeTargets(tg)
	if strings.Join(enc, ",") != "work=w,break:1=b,rest=r,person=p1" {
		t.Errorf("EncodeTargets = %v", enc)
	}
	back := ParseTargets(enc)
	if back.Person != "p1" || len(back.Periods) != 3 || back.Periods["rest"] != "r" {
		t.Errorf("ParseTargets = %+v", back)
	}
	if got := strings.Join(back.IDs(), ","); got != "w,b,r" {
		t.Errorf("IDs = %s", got)
	}
}

func TestHash(t *testing.T) {
	loc := berlin(t)
	base := timer(t, "1", "u", StateStopped, "2026-03-30 08:00", "2026-03-30 16:30", 1800, brk(t, "b1", "2026-03-30 12:00", "2026-03-30 12:30"))
	h := func(tm Timer, person string) string {
		ps, err := Periods(tm, loc)
		return Hash(tm, person, ps, err)
	}
	h0 := h(base, "p")
	touched := base
	touched.UpdatedAt = touched.UpdatedAt.Add(time.Hour)
	if h(touched, "p") != h0 {
		t.Error("updated_at alone changed the hash")
	}
	verified := base
	verified.State = StateVerified
	moved := base
	moved.Breaks = []Break{brk(t, "b1", "2026-03-30 12:05", "2026-03-30 12:35")}
	later := base
	later.EndsAt = later.EndsAt.Add(time.Minute)
	for name, other := range map[string]string{"state": h(verified, "p"), "break": h(moved, "p"), "end": h(later, "p"), "person": h(base, "q")} {
		if other == h0 {
			t.Errorf("a change of %s kept the hash", name)
		}
	}
}
