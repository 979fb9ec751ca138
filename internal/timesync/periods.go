package timesync

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// State is a Staffomatic work timer's state.
type State string

const (
	StateRunning  State = "running"
	StateStopped  State = "stopped"
	StateVerified State = "verified"
)

// Break is a Staffomatic break timer of a work timer. EndsAt is zero while it runs.
type Break struct {
	ID       string
	StartsAt time.Time
	EndsAt   time.Time
}

// Timer is a Staffomatic work timer as the planner needs it; the loader converts the
// client's records into it. Durations are Staffomatic's, in seconds.
type Timer struct {
	ID     string
	UserID string
	State  State
	// StartsAt and EndsAt are instants (any zone); EndsAt is zero while the timer runs.
	StartsAt time.Time
	EndsAt   time.Time
	// BreakSeconds is break_duration, NetSeconds net_duration. NetSeconds is what Personio
	// must show; BreakSeconds is kept for the hash.
	BreakSeconds int64
	NetSeconds   int64
	// UpdatedAt is Staffomatic's updated_at: Staffomatic has no verified_at, so a
	// verification (or an edit) shows as a later updated_at. It brings a timer started
	// before the run's window into it.
	UpdatedAt time.Time
	Breaks    []Break
}

// Finished reports whether the timer may be sent at all: stopped or verified, with an end.
func (t Timer) Finished() bool {
	return (t.State == StateStopped || t.State == StateVerified) && !t.EndsAt.IsZero()
}

// PeriodType is a Personio v2 attendance period type.
type PeriodType string

const (
	TypeWork  PeriodType = "WORK"
	TypeBreak PeriodType = "BREAK"
)

// Period keys name a period within its timer, stably across runs: the mapping stores the
// Personio id per key, so a change PATCHes the period of the same key.
const (
	KeyWork = "work"
	// KeyRest is the BREAK holding the unstamped remainder of break_duration.
	KeyRest = "rest"
	// keyBreak prefixes a stamped break's key: "break:<break timer id>".
	keyBreak = "break:"
)

// BreakKey is the key of the BREAK period of the stamped break timer id.
func BreakKey(id string) string { return keyBreak + id }

// LocalLayout is Personio v2's local date-time: no offset, no Z (v2 rejects those).
const LocalLayout = "2006-01-02T15:04:05"

// Period is one Personio v2 attendance period to write.
type Period struct {
	Key  string     `json:"key"`
	Type PeriodType `json:"type"`
	// Start and End are local date-times in the account's zone (LocalLayout).
	Start   string `json:"start"`
	End     string `json:"end"`
	Comment string `json:"comment"`
}

// MarkerPrefix starts every comment staffsync writes on a period.
const MarkerPrefix = "staffsync:timer:"

// Marker is the comment of the period key of timer id. It is how apply recognises a
// period it created before a crash, since Personio's POST is not idempotent.
func Marker(timerID, key string) string { return MarkerPrefix + timerID + "/" + key }

// ParseMarker returns the timer id and key of a comment written by Marker.
func ParseMarker(comment string) (timerID, key string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(comment), MarkerPrefix)
	if !ok {
		return "", "", false
	}
	timerID, key, ok = strings.Cut(rest, "/")
	if !ok || timerID == "" || key == "" {
		return "", "", false
	}
	return timerID, key, true
}

// MaxPeriod is the longest period Personio accepts (422 "Period time range too long"; the
// simulator's limit).
const MaxPeriod = 24 * time.Hour

// Conversion errors. They are properties of the timer's data: the planner reports such a
// timer as failed and tries again only when the timer changes.
var (
	ErrNotFinished = errors.New("the timer is not finished")
	ErrBadRange    = errors.New("the timer does not end after it starts")
	ErrTooLong     = errors.New("the timer is longer than 24 hours, which Personio refuses for one period")
	ErrBadNet      = errors.New("net_duration is negative or longer than the timer")
	ErrNoRoom      = errors.New("the unstamped break time does not fit into a gap between the stamped breaks")
	ErrEmptyWork   = errors.New("the timer lies wholly in the repeated hour of a daylight-saving change, which Personio's local times cannot express")
)

type span struct {
	key        string
	start, end time.Time
}

// Periods converts a finished timer into its WORK period and its BREAK periods inside it,
// in the order WORK, then breaks by start (the package doc explains the model). The
// breaks' total is the timer's gross time minus net_duration, so Personio's tracked time
// equals Staffomatic's; an error means the timer cannot be sent as it is.
func Periods(t Timer, loc *time.Location) ([]Period, error) {
	if !t.Finished() {
		return nil, ErrNotFinished
	}
	if !t.EndsAt.After(t.StartsAt) {
		return nil, ErrBadRange
	}
	gross := t.EndsAt.Sub(t.StartsAt)
	if gross > MaxPeriod {
		return nil, ErrTooLong
	}
	net := time.Duration(t.NetSeconds) * time.Second
	if net < 0 || net > gross {
		return nil, ErrBadNet
	}
	want := gross - net

	// Stamped breaks, clamped into the timer and after each other.
	bs := append([]Break(nil), t.Breaks...)
	sort.SliceStable(bs, func(i, j int) bool {
		if !bs[i].StartsAt.Equal(bs[j].StartsAt) {
			return bs[i].StartsAt.Before(bs[j].StartsAt)
		}
		return bs[i].ID < bs[j].ID
	})
	var breaks []span
	prev := t.StartsAt
	var stamped time.Duration
	for _, b := range bs {
		s, e := b.StartsAt, b.EndsAt
		if e.IsZero() || e.After(t.EndsAt) { // a break still running ends with its timer
			e = t.EndsAt
		}
		if s.Before(prev) {
			s = prev
		}
		if !e.After(s) {
			continue
		}
		breaks = append(breaks, span{BreakKey(b.ID), s, e})
		stamped += e.Sub(s)
		prev = e
	}
	// More stamped than Staffomatic counts: shorten the latest breaks.
	for i := len(breaks) - 1; i >= 0 && stamped > want; i-- {
		cut := min(stamped-want, breaks[i].end.Sub(breaks[i].start))
		breaks[i].end = breaks[i].end.Add(-cut)
		stamped -= cut
	}
	kept := breaks[:0]
	for _, b := range breaks {
		if b.end.After(b.start) {
			kept = append(kept, b)
		}
	}
	breaks = kept

	if rest := want - stamped; rest > 0 {
		gs, ge, ok := largestGap(t.StartsAt, t.EndsAt, breaks)
		if !ok || ge.Sub(gs) < rest {
			return nil, fmt.Errorf("%w (%s unstamped, largest gap %s)", ErrNoRoom, rest, ge.Sub(gs))
		}
		s := gs.Add(((ge.Sub(gs) - rest) / 2).Truncate(time.Second))
		breaks = append(breaks, span{KeyRest, s, s.Add(rest)})
		sort.SliceStable(breaks, func(i, j int) bool { return breaks[i].start.Before(breaks[j].start) })
	}

	ws, we := Wall(t.StartsAt, loc), Wall(t.EndsAt, loc)
	if !we.After(ws) {
		return nil, ErrEmptyWork
	}
	if we.Sub(ws) > MaxPeriod { // the spring change adds an hour on the wall clock
		return nil, ErrTooLong
	}
	out := []Period{{Key: KeyWork, Type: TypeWork, Start: ws.Format(LocalLayout), End: we.Format(LocalLayout), Comment: Marker(t.ID, KeyWork)}}
	for _, b := range breaks {
		bs, be := Wall(b.start, loc), Wall(b.end, loc)
		if !be.After(bs) { // wholly in the second occurrence of a repeated hour
			continue
		}
		out = append(out, Period{Key: b.key, Type: TypeBreak, Start: bs.Format(LocalLayout), End: be.Format(LocalLayout), Comment: Marker(t.ID, b.key)})
	}
	return out, nil
}

// largestGap returns the longest stretch of [start, end) free of breaks (sorted, disjoint),
// the earliest of equal ones.
func largestGap(start, end time.Time, breaks []span) (time.Time, time.Time, bool) {
	var bs, be time.Time
	found := false
	cur := start
	consider := func(s, e time.Time) {
		if e.After(s) && (!found || e.Sub(s) > be.Sub(bs)) {
			bs, be, found = s, e, true
		}
	}
	for _, b := range breaks {
		consider(cur, b.start)
		cur = b.end
	}
	consider(cur, end)
	return bs, be, found
}

// Wall returns the wall-clock reading of instant t in loc, as a time in UTC whose fields
// are the reading. It is monotone: an instant in the second occurrence of a repeated hour
// (the autumn change) reads as the end of that hour, the first reading after it, so
// later instants never read earlier.
func Wall(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	naive := func(x time.Time) time.Time {
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
	}
	w := naive(lt)
	start, _ := lt.ZoneBounds()
	if start.IsZero() {
		return w
	}
	_, cur := lt.Zone()
	_, before := start.Add(-time.Second).In(loc).Zone()
	if before > cur && t.Before(start.Add(time.Duration(before-cur)*time.Second)) {
		// the clock went back at start: until it has caught up, read the reading the clock
		// had reached just before it went back
		return naive(start.In(time.FixedZone("", before)))
	}
	return w
}
