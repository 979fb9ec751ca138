// Package schedule parses EventBridge Scheduler expressions and computes their next firing
// time in a time zone. The local runner uses it to play the timetable, and the template
// test uses it to validate every ScheduleV2 expression, because cfn-lint checks neither the
// expression nor the time zone.
package schedule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed Scheduler cron expression: minutes hours day-of-month month
// day-of-week year, with exactly one of day-of-month and day-of-week given as "?".
type Cron struct {
	expr                  string
	minutes, hours        []int
	doms, months, dows    []int // dows: 1 = Sunday … 7 = Saturday, as in AWS
	years                 []int
	anyDOM, anyDOW, anyYr bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// Parse parses "cron(m h dom mon dow y)". The L, W and # forms are valid in AWS but refused
// here, because nothing in staffsync's timetable needs them and an unsupported form must not
// be silently misread.
func Parse(expr string) (*Cron, error) {
	inner, ok := strings.CutPrefix(expr, "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return nil, fmt.Errorf("schedule %q: want cron(minutes hours day-of-month month day-of-week year)", expr)
	}
	fields := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(fields) != 6 {
		return nil, fmt.Errorf("schedule %q: has %d fields, want 6 (minutes hours day-of-month month day-of-week year)", expr, len(fields))
	}
	c := &Cron{expr: expr}
	var err error
	if c.minutes, _, err = field(fields[0], 0, 59, nil, false); err != nil {
		return nil, fmt.Errorf("schedule %q: minutes: %w", expr, err)
	}
	if c.hours, _, err = field(fields[1], 0, 23, nil, false); err != nil {
		return nil, fmt.Errorf("schedule %q: hours: %w", expr, err)
	}
	if c.doms, c.anyDOM, err = field(fields[2], 1, 31, nil, true); err != nil {
		return nil, fmt.Errorf("schedule %q: day-of-month: %w", expr, err)
	}
	if c.months, _, err = field(fields[3], 1, 12, monthNames, false); err != nil {
		return nil, fmt.Errorf("schedule %q: month: %w", expr, err)
	}
	if c.dows, c.anyDOW, err = field(fields[4], 1, 7, dayNames, true); err != nil {
		return nil, fmt.Errorf("schedule %q: day-of-week: %w", expr, err)
	}
	if c.years, c.anyYr, err = field(fields[5], 1970, 2199, nil, false); err != nil {
		return nil, fmt.Errorf("schedule %q: year: %w", expr, err)
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return nil, fmt.Errorf("schedule %q: exactly one of day-of-month and day-of-week must be '?'", expr)
	}
	return c, nil
}

// field parses one cron field into the sorted set of values it allows. all reports a
// "*" or "?" (every value).
func field(s string, lo, hi int, names map[string]int, question bool) (vals []int, all bool, err error) {
	if s == "?" {
		if !question {
			return nil, false, fmt.Errorf("'?' is only allowed in day-of-month and day-of-week")
		}
		return nil, true, nil
	}
	if s == "*" {
		return rangeOf(lo, hi, 1), true, nil
	}
	for _, part := range strings.Split(s, ",") {
		if strings.ContainsAny(part, "LW#") && names == nil || strings.Contains(part, "#") {
			return nil, false, fmt.Errorf("%q: the L, W and # forms are not supported", part)
		}
		base, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepStr); err != nil || step < 1 {
				return nil, false, fmt.Errorf("%q: bad increment", part)
			}
		}
		var from, to int
		switch {
		case base == "*":
			from, to = lo, hi
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			if from, err = value(a, names); err != nil {
				return nil, false, err
			}
			if to, err = value(b, names); err != nil {
				return nil, false, err
			}
		default:
			if from, err = value(base, names); err != nil {
				return nil, false, err
			}
			to = from
			if hasStep {
				to = hi
			}
		}
		if from < lo || to > hi || from > to {
			return nil, false, fmt.Errorf("%q: out of range %d-%d", part, lo, hi)
		}
		vals = append(vals, rangeOf(from, to, step)...)
	}
	slices.Sort(vals)
	return slices.Compact(vals), false, nil
}

func value(s string, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

func rangeOf(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// String returns the expression as given.
func (c *Cron) String() string { return c.expr }

// Next returns the first firing time strictly after t, evaluated on the wall clock of loc,
// as EventBridge Scheduler does: wall-clock times that do not exist (the hour skipped at
// the start of daylight-saving time) are skipped, and a wall-clock time that happens twice
// (the hour repeated at its end) fires once, at its first occurrence. It returns the zero
// time if nothing fires within five years.
func (c *Cron) Next(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 5*366; i++ {
		d := day.AddDate(0, 0, i)
		if !c.dayMatches(d) {
			continue
		}
		for _, h := range c.hours {
			for _, m := range c.minutes {
				at := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc)
				if at.Hour() != h || at.Minute() != m {
					continue // in the daylight-saving gap
				}
				at = firstOccurrence(at, loc)
				if at.After(t) {
					return at
				}
			}
		}
	}
	return time.Time{}
}

// firstOccurrence returns the earliest instant showing the same wall-clock time as at in
// loc. time.Date picks the later one of a repeated wall-clock time (when clocks go back);
// zone offsets change by multiples of 15 minutes and by at most a few hours.
func firstOccurrence(at time.Time, loc *time.Location) time.Time {
	first := at
	for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
		e := at.Add(-back).In(loc)
		if e.Year() == at.Year() && e.YearDay() == at.YearDay() && e.Hour() == at.Hour() && e.Minute() == at.Minute() {
			first = e
		}
	}
	return first
}

func (c *Cron) dayMatches(d time.Time) bool {
	if !c.anyYr && !slices.Contains(c.years, d.Year()) {
		return false
	}
	if !slices.Contains(c.months, int(d.Month())) {
		return false
	}
	if !c.anyDOM && !slices.Contains(c.doms, d.Day()) {
		return false
	}
	if !c.anyDOW && !slices.Contains(c.dows, int(d.Weekday())+1) {
		return false
	}
	return true
}

// LoadLocation loads an IANA time zone by name, refusing the empty name and "Local", which
// time.LoadLocation accepts but Scheduler does not.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q: want an IANA name such as Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: not an IANA time zone: %w", name, err)
	}
	return loc, nil
}
