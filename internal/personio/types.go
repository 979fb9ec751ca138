package personio

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar day without time zone. Personio v1 sends days as
// midnight with an offset ("2022-01-12T00:00:00+01:00", sometimes "+0100")
// or as plain "2021-01-01"; the day is what it means, so the offset is
// dropped rather than converted (converting would shift days to the 11th).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date of t's wall clock.
func NewDate(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// ParseDate accepts "2006-01-02" with anything after it (time, offset).
func ParseDate(s string) (Date, error) {
	if len(s) < 10 {
		return Date{}, fmt.Errorf("personio: invalid date %q", s)
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return Date{}, fmt.Errorf("personio: invalid date %q: %w", s, err)
	}
	return NewDate(t), nil
}

// IsZero reports whether d is unset (Personio sent null).
func (d Date) IsZero() bool { return d == Date{} }

// String formats as YYYY-MM-DD ("" when zero).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// In returns midnight of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.In(time.UTC).Before(o.In(time.UTC)) }

// LocalDateTime is a wall-clock time without offset, as v2 absence and
// attendance periods use ("2024-06-07T08:00:00"; a trailing Z is rejected by
// Personio). Convert with In using the employee's time zone.
type LocalDateTime struct {
	Date
	Hour, Minute, Second int
}

const localLayout = "2006-01-02T15:04:05"

// NewLocalDateTime takes the wall clock of t, ignoring its zone.
func NewLocalDateTime(t time.Time) LocalDateTime {
	return LocalDateTime{NewDate(t), t.Hour(), t.Minute(), t.Second()}
}

// ParseLocalDateTime parses "2006-01-02T15:04:05" (fractions and a zone
// suffix, if Personio ever sends them, are ignored).
func ParseLocalDateTime(s string) (LocalDateTime, error) {
	if len(s) < 19 {
		return LocalDateTime{}, fmt.Errorf("personio: invalid local date-time %q", s)
	}
	t, err := time.Parse(localLayout, s[:19])
	if err != nil {
		return LocalDateTime{}, fmt.Errorf("personio: invalid local date-time %q: %w", s, err)
	}
	return NewLocalDateTime(t), nil
}

// String formats as "2006-01-02T15:04:05".
func (l LocalDateTime) String() string {
	return l.In(time.UTC).Format(localLayout)
}

// In interprets the wall clock in loc.
func (l LocalDateTime) In(loc *time.Location) time.Time {
	return time.Date(l.Year, l.Month, l.Day, l.Hour, l.Minute, l.Second, 0, loc)
}

// MarshalJSON writes the Personio form.
func (l LocalDateTime) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

// UnmarshalJSON reads the Personio form.
func (l *LocalDateTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("personio: local date-time: %w", err)
	}
	v, err := ParseLocalDateTime(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}
