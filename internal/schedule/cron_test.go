package schedule

import (
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

func TestParseRejects(t *testing.T) {
	for _, expr := range []string{
		"cron(0 5 * * *)",           // 5 fields
		"cron(0 5 * * * *)",         // * in both day fields
		"cron(0 5 ? * ? *)",         // ? in both
		"cron(60 5 * * ? *)",        // minute out of range
		"cron(0 24 * * ? *)",        // hour out of range
		"cron(0 5 L * ? *)",         // unsupported form
		"cron(0 5 ? * MON#2 *)",     // unsupported form
		"rate(4 hour)",              // not a cron
		"cron(0/0 5 * * ? *)",       // zero increment
		"cron(0 5 * 13 ? *)",        // month out of range
		"cron(0 5 * * ? 1800)",      // year out of range
		"cron(0 5 * JANUARY ? *)",   // bad name
		"cron(0 5 * * ? *",          // unclosed
		"cron(5-1 5 * * ? *)",       // reversed range
		"cron(0 5 ? * FOO *)",       // bad day name
		"cron(0 5 ? * 8 *)",         // day of week out of range
		"cron(0 5 0 * ? *)",         // day of month 0
		"cron(0 x * * ? *)",         // not a number
		"cron(0 5 * * ? 2026/0)",    // bad step
		"cron(0 5 * * ? 2026-2025)", // reversed years
	} {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%q) accepted", expr)
		}
	}
}

func TestNext(t *testing.T) {
	berlin, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		expr, after, want string
	}{
		{"cron(0 5 * * ? *)", "2026-11-25 04:59", "2026-11-25 05:00"},
		{"cron(0 5 * * ? *)", "2026-11-25 05:00", "2026-11-26 05:00"},
		{"cron(0 0/4 * * ? *)", "2026-11-25 04:00", "2026-11-25 08:00"},
		{"cron(0 0/4 * * ? *)", "2026-11-25 20:00", "2026-11-26 00:00"},
		{"cron(10 4/4 * * ? *)", "2026-11-25 00:10", "2026-11-25 04:10"},
		{"cron(10 4/4 * * ? *)", "2026-11-25 20:10", "2026-11-26 04:10"},
		{"cron(0/10 6-23 * * ? *)", "2026-11-25 23:50", "2026-11-26 06:00"},
		{"cron(0/10 6-23 * * ? *)", "2026-11-25 06:01", "2026-11-25 06:10"},
		{"cron(30 2 * * ? *)", "2026-03-29 00:00", "2026-03-30 02:30"}, // 02:30 does not exist on 29 March
		{"cron(0 9 ? * MON-FRI *)", "2026-11-27 10:00", "2026-11-30 09:00"},
		{"cron(0 9 1 JAN ? 2027)", "2026-11-25 10:00", "2027-01-01 09:00"},
	}
	for _, c := range cases {
		cr, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := cr.Next(at(c.after), berlin); !got.Equal(at(c.want)) {
			t.Errorf("%s after %s = %s, want %s", c.expr, c.after, got, c.want)
		}
	}
}

// TestNextFallBackFiresOnceAtFirstOccurrence: when clocks go back (Berlin, 25 October
// 2026, 03:00 CEST → 02:00 CET), EventBridge Scheduler runs a schedule whose wall-clock
// time happens twice only once and does not repeat it; the runner must fire at the first
// occurrence, not an hour later at the second.
func TestNextFallBackFiresOnceAtFirstOccurrence(t *testing.T) {
	berlin, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		expr, after, want string // UTC; 02:00 CEST is 00:00 UTC, 02:00 CET is 01:00 UTC
	}{
		{"cron(30 2 * * ? *)", "2026-10-24 22:00", "2026-10-25 00:30"},   // 02:30 CEST
		{"cron(30 2 * * ? *)", "2026-10-25 00:30", "2026-10-26 01:30"},   // not again at 02:30 CET
		{"cron(0/20 * * * ? *)", "2026-10-24 23:40", "2026-10-25 00:00"}, // 01:40 CEST → 02:00 CEST
		{"cron(0/20 * * * ? *)", "2026-10-25 00:40", "2026-10-25 02:00"}, // 02:40 CEST → 03:00 CET
		{"cron(0 5 * * ? *)", "2026-10-24 12:00", "2026-10-25 04:00"},    // 05:00 CET
	}
	for _, c := range cases {
		cr, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := cr.Next(utc(c.after), berlin); !got.Equal(utc(c.want)) {
			t.Errorf("%s after %s UTC = %s, want %s UTC", c.expr, c.after, got.UTC().Format("2006-01-02 15:04"), c.want)
		}
	}
}

// TestTimetableAvoidsDSTHour checks the promise of DESIGN §1.4 on the real timetable:
// parsed, and never firing between 02:00 and 03:00 Berlin time.
func TestTimetableAvoidsDSTHour(t *testing.T) {
	berlin, _ := LoadLocation(domain.DefaultScheduleTimezone)
	for _, s := range domain.Timetable {
		cr, err := Parse(s.Expression)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		next := time.Date(2026, 1, 1, 0, 0, 0, 0, berlin)
		for i := 0; i < 200; i++ {
			next = cr.Next(next, berlin)
			if next.Hour() == 2 {
				t.Fatalf("%s fires at %s, in the daylight-saving hour", s.Name, next)
			}
		}
	}
}

func TestLoadLocation(t *testing.T) {
	for _, bad := range []string{"", "Local", "Europe/Berlinn"} {
		if _, err := LoadLocation(bad); err == nil {
			t.Errorf("LoadLocation(%q) accepted", bad)
		}
	}
}
