package timesync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Hash is the content hash of a timer as sent to Personio: its state, times and
// durations, its break timers, the Personio person it goes to and the conversion's result
// (periods, or the error). The mapping keeps the hash last transferred, so an unchanged
// timer is never written again, and any change to what would be sent, including a new
// conversion rule, is. updated_at is left out: a touch without change writes nothing.
func Hash(t Timer, person string, periods []Period, convErr error) string {
	h := sha256.New()
	fmt.Fprintf(h, "v1|%s|%s|%s|%s|%d|%d|%d|%d\n", t.ID, t.UserID, person, t.State,
		t.StartsAt.UnixNano(), t.EndsAt.UnixNano(), t.BreakSeconds, t.NetSeconds)
	bs := append([]Break(nil), t.Breaks...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	for _, b := range bs {
		fmt.Fprintf(h, "b|%s|%d|%d\n", b.ID, b.StartsAt.UnixNano(), b.EndsAt.UnixNano())
	}
	for _, p := range periods {
		fmt.Fprintf(h, "p|%s|%s|%s|%s|%s\n", p.Key, p.Type, p.Start, p.End, p.Comment)
	}
	if convErr != nil {
		fmt.Fprintf(h, "e|%s\n", convErr)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Targets are the Personio side of a timer's mapping: the person its periods belong to and
// the period id per key. They are stored in domain.Mapping.TargetIDs (EncodeTargets), so
// the timer mapping needs no field of its own.
type Targets struct {
	Person  string
	Periods map[string]string // key → Personio period id
}

const personKey = "person"

// EncodeTargets writes t as "<key>=<period id>" entries, the WORK period first (it is the
// mapping's TargetID), then the breaks by key, then "person=<id>".
func EncodeTargets(t Targets) []string {
	var out []string
	if id, ok := t.Periods[KeyWork]; ok {
		out = append(out, KeyWork+"="+id)
	}
	keys := make([]string, 0, len(t.Periods))
	for k := range t.Periods {
		if k != KeyWork {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+t.Periods[k])
	}
	if t.Person != "" {
		out = append(out, personKey+"="+t.Person)
	}
	return out
}

// ParseTargets reads what EncodeTargets wrote; entries of another form are ignored.
func ParseTargets(ids []string) Targets {
	t := Targets{Periods: map[string]string{}}
	for _, e := range ids {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || v == "" {
			continue
		}
		if k == personKey {
			t.Person = v
		} else {
			t.Periods[k] = v
		}
	}
	return t
}

// IDs returns the period ids, sorted by key as EncodeTargets orders them.
func (t Targets) IDs() []string {
	var out []string
	for _, e := range EncodeTargets(Targets{Periods: t.Periods}) {
		_, v, _ := strings.Cut(e, "=")
		out = append(out, v)
	}
	return out
}
