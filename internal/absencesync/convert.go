package absencesync

import (
	"errors"
	"fmt"
	"time"
)

// Half is a half-day marker of a v2 absence period (starts_from.type, ends_at.type).
type Half string

const (
	FirstHalf  Half = "FIRST_HALF"
	SecondHalf Half = "SECOND_HALF"
)

// HalfDays are the local hours a half day covers in Staffomatic, which has no half-day
// flag: a half day becomes a timed absence (all_day false) over these hours. They are
// offsets from midnight, read as wall-clock hours and minutes (never added to midnight as
// a duration, so a DST day still starts the morning at 08:00).
type HalfDays struct {
	MorningStart, MorningEnd     time.Duration
	AfternoonStart, AfternoonEnd time.Duration
	// Week, when set, holds each weekday's half days (indexed by time.Weekday) from the
	// employee's work schedule (HalfDaysFrom); a day without valid hours there uses the
	// fields above, or DefaultHalfDays when those are zero.
	Week *[7]HalfDays
}

// DefaultHalfDays is used when the loader has no work schedule for the employee: an
// eight-hour day 08:00–16:00 split at noon, i.e. 08:00–12:00 and 12:00–16:00 local.
var DefaultHalfDays = HalfDays{MorningStart: 8 * time.Hour, MorningEnd: 12 * time.Hour, AfternoonStart: 12 * time.Hour, AfternoonEnd: 16 * time.Hour}

// DayStart is when a working day begins for the half days of a work schedule. Personio's
// work_schedule says how long each weekday's working time is ("06:00"), not when it
// begins, so a day of length L is taken to run from 08:00 (like DefaultHalfDays) and
// split in the middle: 08:00 to 08:00+L/2 and on to 08:00+L.
const DayStart = 8 * time.Hour

// HalfDaysFrom returns the half days of a weekly work schedule (the working time of each
// weekday, indexed by time.Weekday); a day off, or a day too long to fit after DayStart,
// uses DefaultHalfDays. A schedule without any working day gives the zero HalfDays.
func HalfDaysFrom(hours [7]time.Duration) HalfDays {
	var week [7]HalfDays
	found := false
	for d, l := range hours {
		if l <= 0 || DayStart+l >= 24*time.Hour {
			continue
		}
		half := (l / 2).Truncate(time.Minute)
		week[d] = HalfDays{MorningStart: DayStart, MorningEnd: DayStart + half, AfternoonStart: DayStart + half, AfternoonEnd: DayStart + l.Truncate(time.Minute)}
		found = true
	}
	if !found {
		return HalfDays{}
	}
	return HalfDays{Week: &week}
}

func (h HalfDays) valid() bool {
	return h.MorningStart < h.MorningEnd && h.MorningEnd <= h.AfternoonStart && h.AfternoonStart < h.AfternoonEnd && h.AfternoonEnd < 24*time.Hour
}

// on returns the half days of day d.
func (h HalfDays) on(d date) HalfDays {
	if h.Week != nil {
		if w := h.Week[d.at(0, time.UTC).Weekday()]; w.valid() {
			return w
		}
	}
	base := h
	base.Week = nil
	if !base.valid() {
		return DefaultHalfDays
	}
	return base
}

// Span is one Staffomatic absence's time range: all day (00:00:00 on the first day to
// 23:59:59 on the last, Staffomatic's own normalisation) or timed.
type Span struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	AllDay bool      `json:"all_day"`
}

// PeriodSpan is one Personio v2 absence period's range as wall-clock times without zone
// (the location of Start and End is ignored; Personio reads them in the period's
// timezone_id). Day-unit periods carry 00:00 on the first and on the last day.
type PeriodSpan struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	StartHalf Half      `json:"start_half,omitempty"`
	EndHalf   Half      `json:"end_half,omitempty"`
}

type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date { return date{t.Year(), t.Month(), t.Day()} }

// at is the wall-clock time of offset on day d in loc, built from hours and minutes so a
// DST day gets the right clock reading.
func (d date) at(off time.Duration, loc *time.Location) time.Time {
	return time.Date(d.y, d.m, d.d, int(off/time.Hour), int(off%time.Hour/time.Minute), int(off%time.Minute/time.Second), 0, loc)
}

func (d date) add(days int) date { return dateOf(time.Date(d.y, d.m, d.d+days, 12, 0, 0, 0, time.UTC)) }

func (d date) before(o date) bool {
	if d.y != o.y {
		return d.y < o.y
	}
	if d.m != o.m {
		return d.m < o.m
	}
	return d.d < o.d
}

func (d date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }

func clock(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
}

const endOfDay = 23*time.Hour + 59*time.Minute + 59*time.Second

// ToStaffomatic converts a Personio period into the Staffomatic absences that show it in
// loc (the account's time zone).
//
// Day-unit periods: Personio sends the first and the last day at 00:00 local; the last day
// is inclusive (a one-day absence starts and ends on the same date; this is how v1's
// inclusive end_date appears in v2). Whole days become one all-day absence, 00:00:00 on
// the first day to 23:59:59 on the last. A half-day marker names the half of that day at
// which the period begins (starts_from.type) or ends (ends_at.type): SECOND_HALF on the
// start means the first day is absent only in the afternoon, FIRST_HALF on the end that
// the last day is absent only in the morning (v1's half_day_start/half_day_end). On a
// single day one marker alone names the absent half; FIRST_HALF to SECOND_HALF is the
// whole day, SECOND_HALF to FIRST_HALF is no time at all and an error. A half day becomes
// a timed absence over that half's hours (h, DefaultHalfDays when zero), so a multi-day
// period with half days becomes up to three absences: the half first day, the whole days,
// the half last day.
//
// Hour-unit periods keep their times as one timed absence. An open-ended period (End nil,
// e.g. long sick leave) is shown until openEnd's date (the last day the run looks at).
func ToStaffomatic(start time.Time, startHalf Half, end *time.Time, endHalf Half, unit Unit, h HalfDays, loc *time.Location, openEnd time.Time) ([]Span, error) {
	if end == nil {
		if unit == UnitHour {
			return nil, errors.New("an hour-unit period without an end has no time range")
		}
		e := time.Date(openEnd.Year(), openEnd.Month(), openEnd.Day(), 0, 0, 0, 0, loc)
		end = &e
	}
	if unit == UnitHour {
		s := dateOf(start).at(clock(start), loc)
		e := dateOf(*end).at(clock(*end), loc)
		if !s.Before(e) {
			return nil, fmt.Errorf("the period ends (%s) before it starts (%s)", e.Format("2006-01-02 15:04"), s.Format("2006-01-02 15:04"))
		}
		return []Span{{Start: s, End: e}}, nil
	}
	first, last := dateOf(start), dateOf(*end)
	if last.before(first) {
		return nil, fmt.Errorf("the period ends (%s) before it starts (%s)", last, first)
	}
	morning := func(d date) Span {
		x := h.on(d)
		return Span{Start: d.at(x.MorningStart, loc), End: d.at(x.MorningEnd, loc)}
	}
	afternoon := func(d date) Span {
		x := h.on(d)
		return Span{Start: d.at(x.AfternoonStart, loc), End: d.at(x.AfternoonEnd, loc)}
	}
	whole := func(a, b date) Span { return Span{Start: a.at(0, loc), End: b.at(endOfDay, loc), AllDay: true} }
	if first == last {
		switch {
		case startHalf == SecondHalf && endHalf == FirstHalf:
			return nil, fmt.Errorf("the single day %s starts in the second half and ends in the first", first)
		case startHalf == SecondHalf || (startHalf == "" && endHalf == SecondHalf):
			return []Span{afternoon(first)}, nil
		case endHalf == FirstHalf || (startHalf == FirstHalf && endHalf == ""):
			return []Span{morning(first)}, nil
		}
		return []Span{whole(first, first)}, nil
	}
	var out []Span
	from, to := first, last
	if startHalf == SecondHalf {
		out = append(out, afternoon(first))
		from = first.add(1)
	}
	if endHalf == FirstHalf {
		to = last.add(-1)
	}
	if !to.before(from) {
		out = append(out, whole(from, to))
	}
	if endHalf == FirstHalf {
		out = append(out, morning(last))
	}
	return out, nil
}

// ToPersonio converts a Staffomatic absence (instants, read in loc) into the Personio
// periods of a type of unit unit, split at every year boundary so that no period crosses
// Dec 31/Jan 1 (Personio counts entitlements per year; the vendor makes admins split by
// hand). Day-unit periods carry 00:00 on the first and on the last (inclusive) day:
//   - all day: the dates of start and end (an end at exactly 00:00 belongs to the day
//     before, so 00:00–00:00 next day is one day);
//   - timed: a start at 00:00 or at the morning's start is a whole first day, at the
//     afternoon's start a SECOND_HALF start; an end at 23:59:59, 00:00 or the afternoon's
//     end is a whole last day, at the morning's end a FIRST_HALF end (h, DefaultHalfDays
//     when zero). A single half day carries one marker only, the form v1's half-day flags
//     take in v2. Other times fit no day-unit type and are an error, never rounded.
//
// Hour-unit periods keep the times; a part ending at a year boundary ends at 23:59 on
// Dec 31 (Personio's times are minutes: one minute is lost rather than the period ending
// in the next year). An all-day absence has no hours to give an hour-unit type: an error.
func ToPersonio(s Span, unit Unit, h HalfDays, loc *time.Location) ([]PeriodSpan, error) {
	start, end := s.Start.In(loc), s.End.In(loc)
	if !start.Before(end) {
		return nil, fmt.Errorf("the absence ends (%s) before it starts (%s)", end.Format("2006-01-02 15:04"), start.Format("2006-01-02 15:04"))
	}
	wall := func(d date, off time.Duration) time.Time { return d.at(off, time.UTC) }
	if unit == UnitHour {
		if s.AllDay {
			return nil, errors.New("an all-day absence has no times for an hour-unit Personio type")
		}
		var out []PeriodSpan
		cur := start
		for cur.Year() < end.Year() {
			out = append(out, PeriodSpan{Start: wall(dateOf(cur), clock(cur)), End: wall(date{cur.Year(), time.December, 31}, 23*time.Hour+59*time.Minute)})
			cur = time.Date(cur.Year()+1, time.January, 1, 0, 0, 0, 0, loc)
		}
		if cur.Before(end) {
			out = append(out, PeriodSpan{Start: wall(dateOf(cur), clock(cur)), End: wall(dateOf(end), clock(end))})
		}
		return out, nil
	}
	first, last := dateOf(start), dateOf(end)
	var sh, eh Half
	sc, ec := clock(start), clock(end)
	if ec == 0 {
		last = last.add(-1)
	}
	if !s.AllDay {
		hs, he := h.on(first), h.on(last) // the half days of the first and the last day
		switch sc {
		case 0, hs.MorningStart:
		case hs.AfternoonStart:
			sh = SecondHalf
		default:
			return nil, fmt.Errorf("it starts at %s, which is neither the start of a day nor of a half day (%s or %s)", hm(sc), hm(hs.MorningStart), hm(hs.AfternoonStart))
		}
		switch ec {
		case 0, endOfDay, 23*time.Hour + 59*time.Minute, he.AfternoonEnd:
		case he.MorningEnd:
			eh = FirstHalf
		default:
			return nil, fmt.Errorf("it ends at %s, which is neither the end of a day nor of a half day (%s or %s)", hm(ec), hm(he.MorningEnd), hm(he.AfternoonEnd))
		}
		if first == last && sh == SecondHalf && eh == FirstHalf {
			return nil, errors.New("it covers no half day")
		}
	}
	var out []PeriodSpan
	for y := first.y; y <= last.y; y++ {
		a, b := first, last
		p := PeriodSpan{}
		if y > first.y {
			a = date{y, time.January, 1}
		} else {
			p.StartHalf = sh
		}
		if y < last.y {
			b = date{y, time.December, 31}
		} else {
			p.EndHalf = eh
		}
		p.Start, p.End = wall(a, 0), wall(b, 0)
		out = append(out, p)
	}
	return out, nil
}

func hm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
