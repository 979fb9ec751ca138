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

// StoredHash is what a timer's mapping keeps as its Hash after a transfer: the timer's
// Hash, then a fingerprint per period ("<hash>;<key>:<print>,…"), so that the next change
// of the timer PATCHes only the periods whose content changed (an end moved by a quarter
// of an hour leaves a stamped break as it was: one write, not two). Only the part before
// ';' says whether the timer changed (SameHash), so mappings stored before the prints
// existed stay unchanged; their next change PATCHes every kept period, as it used to.
func StoredHash(hash string, periods []Period) string {
	if len(periods) == 0 {
		return hash
	}
	ps := make([]string, 0, len(periods))
	for _, p := range periods {
		ps = append(ps, p.Key+":"+periodPrint(p))
	}
	sort.Strings(ps)
	return hash + ";" + strings.Join(ps, ",")
}

// SameHash reports whether a mapping's stored hash (StoredHash) is the timer's hash.
func SameHash(stored, hash string) bool {
	h, _, _ := strings.Cut(stored, ";")
	return h == hash
}

// storedPrints returns the period fingerprints of a stored hash by key (none for a hash
// stored without them).
func storedPrints(stored string) map[string]string {
	_, list, ok := strings.Cut(stored, ";")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, e := range strings.Split(list, ",") {
		// Keys hold colons ("break:<id>"), prints are hex: the last colon separates.
		if i := strings.LastIndex(e, ":"); i > 0 {
			out[e[:i]] = e[i+1:]
		}
	}
	return out
}

// periodPrint fingerprints what a PATCH of the period sends.
func periodPrint(p Period) string {
	h := sha256.Sum256([]byte(string(p.Type) + "|" + p.Start + "|" + p.End + "|" + p.Comment))
	return hex.EncodeToString(h[:6])
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
