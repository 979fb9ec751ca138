package timesync

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// Settings are the tenant settings that shape the time sync (DESIGN §1.2 step 4).
type Settings struct {
	// OnlyVerified is only_verified_staffomatic_work_timers: only verified timers move,
	// and then Staffomatic is the approving system (skip_approval=true).
	OnlyVerified bool
	// PropagateDeletions: a transferred timer deleted in Staffomatic deletes its periods.
	PropagateDeletions bool
	// LateWindow is how old (by its start) a timer may be and still be transferred when it
	// is verified or edited late; zero means three calendar months (DefaultLateMonths).
	LateWindow time.Duration
}

// DefaultLateMonths is the default late-verification window (DESIGN §1.2: "a timer must be
// verified within 3 months to be transferred").
const DefaultLateMonths = 3

// Window is the run's window: a timer is in scope when it started, ended or was updated
// (verified) in [From, Until). A zero Window, or a targeted run, takes every timer given
// (a webhook names the timers; their dates do not matter).
type Window struct {
	From, Until time.Time
}

// Zero reports whether the window is unbounded.
func (w Window) Zero() bool { return w.From.IsZero() && w.Until.IsZero() }

func (w Window) contains(t time.Time) bool {
	return !t.IsZero() && (w.From.IsZero() || !t.Before(w.From)) && (w.Until.IsZero() || t.Before(w.Until))
}

// Deleted is a timer known deleted in Staffomatic. UserID and StartsAt are what the loader
// knows of it (from its Personio periods); they only make the reason readable.
type Deleted struct {
	ID       string
	UserID   string
	StartsAt time.Time
}

// Input is everything Compute needs.
type Input struct {
	// Timers are the timers in scope of the run (the loader lists the run's window and the
	// late-verified ones; targeted runs the named ones).
	Timers []Timer
	// Deleted are the timers known deleted in Staffomatic.
	Deleted []Deleted
	// Mappings are the stored timer mappings (kind domain.KindTimer) by timer id.
	Mappings map[string]domain.Mapping
	// Persons maps Staffomatic user ids to Personio person ids (the user mappings).
	Persons map[string]string
	// Names maps Staffomatic user ids to display names, for the protocol.
	Names    map[string]string
	Settings Settings
	// Mode is the run's mode: a targeted run ignores Window.
	Mode   domain.Mode
	Window Window
	Now    time.Time
	// Location is the Staffomatic account's zone (account.time_zone); nil is UTC.
	Location *time.Location
	// Reported holds, per timer id, the fingerprint of the report last written to the
	// protocol (the mapping's Reported): an unchanged report is not planned again.
	Reported map[string]string
	// Current, when not nil (full runs), holds the Personio periods by period id as
	// Personio has them now, read for the run's window: a transferred, unchanged timer
	// whose period was edited in Personio gets that period PATCHed back, one deleted in
	// Personio is created again (DESIGN §1.1: edits in Personio are overwritten). It must
	// hold every period of the timers given; nil skips the comparison (partial runs).
	Current map[string]Period
}

// ActionKind names what an action does.
type ActionKind string

const (
	// ActCreate creates all periods of a timer not transferred yet.
	ActCreate ActionKind = "create_attendance"
	// ActUpdate PATCHes the timer's periods whose key remains, deletes those whose key is
	// gone and creates the new ones (a break added or removed).
	ActUpdate ActionKind = "update_attendance"
	// ActDelete deletes the periods of a timer deleted in Staffomatic (propagate_deletions).
	ActDelete ActionKind = "delete_attendance"
	// ActSkip reports a timer deliberately not sent: running, or not verified with
	// only_verified_staffomatic_work_timers.
	ActSkip ActionKind = "skip_timer"
	// ActUnmapped reports a timer whose user has no Personio employee; apply records the
	// failure (domain.Mapping.RecordFailure) and later runs retry it within the retry window.
	ActUnmapped ActionKind = "unmapped_user"
	// ActInvalid reports a timer the conversion refuses (Periods' error): failed, tried
	// again when the timer changes.
	ActInvalid ActionKind = "invalid_timer"
	// ActGiveUp reports a timer that failed for longer than domain.RetryWindow since its
	// first failure: apply sets the mapping given up; it is tried again when it changes.
	ActGiveUp ActionKind = "give_up_timer"
	// ActTooOld reports a timer verified or changed after the late-verification window.
	ActTooOld ActionKind = "too_old"
	// ActDeletionKept reports a transferred timer deleted in Staffomatic whose periods
	// remain in Personio (propagate_deletions off).
	ActDeletionKept ActionKind = "deletion_not_propagated"
)

// Writes reports whether the action writes to Personio.
func (k ActionKind) Writes() bool {
	return k == ActCreate || k == ActUpdate || k == ActDelete
}

// Reports reports whether the action only tells the admin (protocol and mapping); such
// actions carry a fingerprint and are not repeated unchanged.
func (k ActionKind) Reports() bool { return !k.Writes() }

// Outcome is the protocol outcome of the action when applied successfully.
func (k ActionKind) Outcome() domain.Outcome {
	switch k {
	case ActCreate:
		return domain.OutcomeCreated
	case ActUpdate:
		return domain.OutcomeUpdated
	case ActDelete:
		return domain.OutcomeDeleted
	case ActSkip:
		return domain.OutcomeSkipped
	case ActUnmapped, ActInvalid, ActGiveUp:
		return domain.OutcomeFailed
	}
	return domain.OutcomeReported
}

// PeriodWrite is a period to PATCH: its Personio id and its new content.
type PeriodWrite struct {
	ID string `json:"id"`
	Period
}

// Action is one planned step about one timer, with its reason.
type Action struct {
	Kind     ActionKind `json:"kind"`
	TimerID  string     `json:"timer_id"`
	UserID   string     `json:"user_id,omitempty"`
	PersonID string     `json:"person_id,omitempty"`
	// Person is the name of the timer's user (Input.Names), for the protocol.
	Person string `json:"person,omitempty"`
	// Date is the timer's local start date in the account's zone.
	Date string `json:"date,omitempty"`
	// Hash is the timer's content hash; apply stores it with a successful write, as
	// Stored (StoredHash: with the fingerprints of its periods) when that is set.
	Hash   string `json:"hash,omitempty"`
	Stored string `json:"stored,omitempty"`
	// Apply in this order: Delete, Patch, Create (a removed break frees its time before a
	// moved one takes it).
	Delete []string      `json:"delete,omitempty"`
	Patch  []PeriodWrite `json:"patch,omitempty"`
	Create []Period      `json:"create,omitempty"`
	// Keep are the timer's periods left as they are (key → Personio id), kept in its
	// mapping beside the patched and created ones.
	Keep map[string]string `json:"keep,omitempty"`
	// Report is the fingerprint of a report action (domain.ReportFingerprint over kind,
	// timer, hash and cause), stored in the mapping's Reported once written.
	Report string `json:"report,omitempty"`
	// Cause is the stable part of the reason (a rule or an error), what Report covers.
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason"`
}

// Calls is the number of Personio write calls of the action: one per period created,
// patched or deleted.
func (a Action) Calls() int { return len(a.Delete) + len(a.Patch) + len(a.Create) }

// Targets are the periods the timer keeps after a successful apply, less the created
// ones, whose ids apply adds before storing EncodeTargets in the mapping.
func (a Action) Targets() Targets {
	t := Targets{Person: a.PersonID, Periods: map[string]string{}}
	for k, id := range a.Keep {
		t.Periods[k] = id
	}
	for _, p := range a.Patch {
		t.Periods[p.Key] = p.ID
	}
	return t
}

// GiveUp turns an action that failed with cause into the report of giving up. Apply uses
// it when domain.Mapping.RecordFailure(now, cause, domain.RetryWindow) says no further
// retry, the planner when a failed timer's retry window has passed; cause is the failure
// recorded as the mapping's LastError (Personio's message, or the action's Cause for
// ActUnmapped). Both write the same fingerprint as the mapping's Reported, so the report
// is written once and the timer is tried again only when it changes (its hash does).
func (a Action) GiveUp(cause string, first time.Time) Action {
	g := Action{Kind: ActGiveUp, TimerID: a.TimerID, UserID: a.UserID, PersonID: a.PersonID, Person: a.Person, Date: a.Date, Hash: a.Hash, Cause: cause}
	g.Reason = fmt.Sprintf("%s: given up after %s of failures since %s (last: %s)", head(a.Reason), retryDays, first.UTC().Format(time.DateOnly), cause)
	g.Report = fingerprint(g)
	return g
}

// Tell words the action's reason why for a protocol entry with outcome o: in a dry run
// (OutcomePlanned) what will happen ("will create attendance periods: timer 5 of …"),
// else what happened ("created attendance periods: …", "could not create attendance
// periods: …; failed: …"); a timer reported instead of sent is "not transferred".
func (a Action) Tell(o domain.Outcome, why string) string {
	var w domain.Wording
	switch a.Kind {
	case ActCreate:
		w = domain.Wording{Do: "create attendance periods", Done: "created attendance periods"}
	case ActUpdate:
		w = domain.Wording{Do: "update attendance periods", Done: "updated attendance periods"}
	case ActDelete:
		w = domain.Wording{Do: "delete attendance periods", Done: "deleted attendance periods"}
	case ActSkip:
		w = domain.Wording{Do: "skip the timer", Done: "skipped the timer"}
	case ActDeletionKept:
		w = domain.Wording{Do: "keep the Personio periods", Done: "kept the Personio periods"}
	default: // unmapped, invalid, given up, too old: reported, never sent
		if o == domain.OutcomePlanned {
			return "will not transfer the timer: " + why
		}
		return "not transferred: " + why
	}
	return w.Reason(o, why)
}

// Planned is the action as a dry run stores it, with the Personio write calls apply
// makes for it (Calls: one per period created, patched or deleted).
func (a Action) Planned() domain.PlannedAction {
	return domain.PlannedAction{Kind: domain.KindTimer, Action: string(a.Kind), SourceID: a.TimerID,
		TargetID: strings.Join(a.Targets().IDs(), ","), Reason: a.Tell(domain.OutcomePlanned, a.Reason), Person: a.Person,
		Writes: a.Calls()}
}

// Plan is the ordered list of actions of one run.
type Plan struct {
	Actions []Action `json:"actions"`
	// SkipApproval is sent explicitly on every write (v2 defaults to false): true when only
	// verified timers move, i.e. Staffomatic is the approving system.
	SkipApproval bool `json:"skip_approval"`
	// Unchanged counts the timers compared that need nothing; Repeated those whose report
	// an earlier run wrote unchanged; OutOfWindow those given but outside the run's window.
	Unchanged   int `json:"unchanged,omitempty"`
	Repeated    int `json:"repeated,omitempty"`
	OutOfWindow int `json:"out_of_window,omitempty"`
}

// Writes counts the Personio write calls the plan makes when applied.
func (p Plan) Writes() int {
	n := 0
	for _, a := range p.Actions {
		n += a.Calls()
	}
	return n
}

// Count returns the number of actions per kind.
func (p Plan) Count() map[ActionKind]int {
	out := map[ActionKind]int{}
	for _, a := range p.Actions {
		out[a.Kind]++
	}
	return out
}

func fingerprint(a Action) string {
	return domain.ReportFingerprint(string(a.Kind), []string{a.TimerID, a.Hash}, a.Cause)
}

// Compute plans the run: every timer in scope, in order of start, then the deleted ones,
// less the reports already written unchanged.
func Compute(in Input) Plan {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	in.Location = loc
	p := Plan{SkipApproval: in.Settings.OnlyVerified}
	timers := append([]Timer(nil), in.Timers...)
	sort.SliceStable(timers, func(i, j int) bool {
		if !timers[i].StartsAt.Equal(timers[j].StartsAt) {
			return timers[i].StartsAt.Before(timers[j].StartsAt)
		}
		return timers[i].ID < timers[j].ID
	})
	gone := map[string]bool{}
	for _, d := range in.Deleted {
		gone[d.ID] = true
	}
	cutoff := in.Now.In(loc).AddDate(0, -DefaultLateMonths, 0)
	if in.Settings.LateWindow > 0 {
		cutoff = in.Now.Add(-in.Settings.LateWindow)
	}
	add := func(a Action) {
		if a.Kind.Reports() {
			a.Report = fingerprint(a)
			if in.Reported[a.TimerID] == a.Report {
				p.Repeated++
				return
			}
		}
		p.Actions = append(p.Actions, a)
	}
	seen := map[string]bool{}
	for _, t := range timers {
		if gone[t.ID] || seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		if in.Mode != domain.ModeTargeted && !in.Window.Zero() && !in.Window.contains(t.StartsAt) && !in.Window.contains(t.EndsAt) && !in.Window.contains(t.UpdatedAt) {
			p.OutOfWindow++
			continue
		}
		a, ok := planTimer(in, t, cutoff)
		if !ok {
			p.Unchanged++
			continue
		}
		add(a)
	}
	for _, d := range in.Deleted {
		if a, ok := planDeleted(in, d); ok {
			add(a)
		}
	}
	return p
}

// planTimer plans one timer; false means it is transferred and unchanged.
func planTimer(in Input, t Timer, cutoff time.Time) (Action, bool) {
	person := in.Persons[t.UserID]
	m, mapped := in.Mappings[t.ID]
	a := Action{TimerID: t.ID, UserID: t.UserID, PersonID: person, Person: strings.TrimSpace(in.Names[t.UserID]), Date: t.StartsAt.In(in.Location).Format(time.DateOnly)}
	subject := describeTimer(in, t)
	report := func(k ActionKind, cause string) (Action, bool) {
		a.Kind, a.Cause, a.Reason = k, cause, subject+": "+cause
		return a, true
	}
	switch {
	case !t.Finished():
		a.Hash = Hash(t, person, nil, nil)
		return report(ActSkip, "still running: sent once it is stopped")
	case in.Settings.OnlyVerified && t.State != StateVerified:
		a.Hash = Hash(t, person, nil, nil)
		return report(ActSkip, "not verified yet (only_verified_staffomatic_work_timers is on): sent once it is verified")
	}
	periods, err := Periods(t, in.Location)
	a.Hash = Hash(t, person, periods, err)
	if mapped && m.State == domain.StateTransferred && SameHash(m.Hash, a.Hash) {
		return restore(in, a, subject, periods, ParseTargets(m.TargetIDs))
	}
	if t.StartsAt.Before(cutoff) {
		return report(ActTooOld, fmt.Sprintf("started before %s, the oldest a timer may be when it is verified or changed (late-verification window): not transferred, enter it in Personio by hand",
			cutoff.In(in.Location).Format(time.DateOnly)))
	}
	failing := mapped && m.State == domain.StateFailed
	if person == "" {
		a.Kind, a.Reason = ActUnmapped, subject
		cause := causeUnmapped
		if failing || m.State == domain.StateGaveUp {
			cause = cmp.Or(m.LastError, causeUnmapped)
		}
		g := a.GiveUp(cause, m.FirstFailureAt)
		switch {
		case mapped && m.State == domain.StateGaveUp && in.Reported[t.ID] == g.Report:
			return g, true // given up and reported: Compute counts it repeated
		case failing && domain.RetryExpired(m.FirstFailureAt, in.Now, domain.RetryWindow):
			return g, true
		}
		a, _ = report(ActUnmapped, causeUnmapped)
		a.Reason += " (retried for " + retryDays + " from the first failure, then reported)"
		return a, true
	}
	if err != nil {
		return report(ActInvalid, "cannot be sent: "+err.Error())
	}
	targets := ParseTargets(m.TargetIDs)
	if !mapped || len(targets.Periods) == 0 {
		a.Kind, a.Create = ActCreate, periods
	} else {
		a.Kind = ActUpdate
		if targets.Person != "" && targets.Person != person { // the person cannot be PATCHed
			a.Delete = targets.IDs()
			a.Create = periods
		} else {
			want := map[string]bool{}
			// A period whose content is the one last transferred is kept, not PATCHed
			// again (when the mapping's stored hash carries the periods' prints).
			prev := storedPrints(m.Hash)
			for _, pd := range periods {
				want[pd.Key] = true
				id, ok := targets.Periods[pd.Key]
				switch {
				case !ok:
					a.Create = append(a.Create, pd)
				case prev[pd.Key] != "" && prev[pd.Key] == periodPrint(pd):
					if a.Keep == nil {
						a.Keep = map[string]string{}
					}
					a.Keep[pd.Key] = id
				default:
					a.Patch = append(a.Patch, PeriodWrite{ID: id, Period: pd})
				}
			}
			for _, k := range sortedKeys(targets.Periods) {
				if !want[k] {
					a.Delete = append(a.Delete, targets.Periods[k])
				}
			}
		}
	}
	a.Stored = StoredHash(a.Hash, periods)
	a.Reason = subject + ": " + describe(a.Kind) + summary(a)
	if failing || (mapped && m.State == domain.StateGaveUp) {
		g := a.GiveUp(m.LastError, m.FirstFailureAt)
		switch {
		case m.State == domain.StateGaveUp && in.Reported[t.ID] == g.Report:
			// given up on exactly this content: reported (Compute counts it repeated)
			return g, true
		case failing && domain.RetryExpired(m.FirstFailureAt, in.Now, domain.RetryWindow):
			return g, true
		case failing:
			a.Reason += fmt.Sprintf(" (retry %d of a failure first seen %s: %s)", m.Attempts+1, m.FirstFailureAt.UTC().Format(time.DateOnly), m.LastError)
		}
	}
	return a, true
}

// retryDays says domain.RetryWindow for the protocol.
var retryDays = fmt.Sprintf("%d days", domain.RetryWindow/(24*time.Hour))

// causeUnmapped is the cause of ActUnmapped; apply records it as the mapping's LastError.
const causeUnmapped = "the user has no Personio employee (no user mapping)"

// restore plans the writes that undo edits made in Personio to an unchanged timer's
// periods (in.Current), exactly the periods that differ; false when there are none.
func restore(in Input, a Action, subject string, periods []Period, targets Targets) (Action, bool) {
	if in.Current == nil {
		return Action{}, false
	}
	for _, pd := range periods {
		id, ok := targets.Periods[pd.Key]
		cur, found := in.Current[id]
		switch {
		case !ok || !found:
			a.Create = append(a.Create, pd)
		case cur.Type != pd.Type || cur.Start != pd.Start || cur.End != pd.End || cur.Comment != pd.Comment:
			a.Patch = append(a.Patch, PeriodWrite{ID: id, Period: pd})
		default:
			if a.Keep == nil {
				a.Keep = map[string]string{}
			}
			a.Keep[pd.Key] = id
		}
	}
	if a.Calls() == 0 {
		return Action{}, false
	}
	a.Kind, a.Stored = ActUpdate, StoredHash(a.Hash, periods)
	a.Reason = subject + ": edited or deleted in Personio, where Staffomatic leads: " + summary(a)
	return a, true
}

func planDeleted(in Input, d Deleted) (Action, bool) {
	m, ok := in.Mappings[d.ID]
	if !ok || m.State == domain.StateDeleted {
		return Action{}, false
	}
	targets := ParseTargets(m.TargetIDs)
	if len(targets.Periods) == 0 {
		return Action{}, false // nothing of it is in Personio
	}
	a := Action{TimerID: d.ID, UserID: d.UserID, PersonID: targets.Person, Person: strings.TrimSpace(in.Names[d.UserID]), Hash: m.Hash}
	subject := "timer " + d.ID
	if d.UserID != "" {
		subject += " of " + name(in, d.UserID)
	}
	if !d.StartsAt.IsZero() {
		lt := d.StartsAt.In(in.Location)
		a.Date = lt.Format(time.DateOnly)
		subject += " on " + lt.Format("Mon 2006-01-02 15:04")
	}
	if in.Settings.PropagateDeletions {
		a.Kind, a.Delete = ActDelete, targets.IDs()
		a.Reason = fmt.Sprintf("%s: deleted in Staffomatic: deleting its %d Personio periods (propagate_deletions is on)", subject, len(a.Delete))
		return a, true
	}
	a.Kind = ActDeletionKept
	a.Cause = fmt.Sprintf("deleted in Staffomatic: its %d Personio periods remain (propagate_deletions is off)", len(targets.Periods))
	a.Reason = subject + ": " + a.Cause
	return a, true
}

func describe(k ActionKind) string {
	switch k {
	case ActCreate:
		return "new finished timer: creating "
	case ActUpdate:
		return "changed in Staffomatic: "
	}
	return ""
}

func summary(a Action) string {
	var parts []string
	if len(a.Create) > 0 {
		parts = append(parts, fmt.Sprintf("create %s", countTypes(a.Create)))
	}
	if len(a.Patch) > 0 {
		ps := make([]Period, len(a.Patch))
		for i, p := range a.Patch {
			ps[i] = p.Period
		}
		parts = append(parts, fmt.Sprintf("update %s", countTypes(ps)))
	}
	if n := len(a.Delete); n > 0 {
		parts = append(parts, fmt.Sprintf("delete %d period(s)", n))
	}
	if a.Kind == ActCreate {
		return countTypes(a.Create)
	}
	return strings.Join(parts, ", ")
}

func countTypes(ps []Period) string {
	w, b := 0, 0
	for _, p := range ps {
		if p.Type == TypeWork {
			w++
		} else {
			b++
		}
	}
	return fmt.Sprintf("%d WORK and %d BREAK period(s)", w, b)
}

// head is the subject of a reason, before its first ": ".
func head(reason string) string {
	h, _, _ := strings.Cut(reason, ": ")
	return h
}

func describeTimer(in Input, t Timer) string {
	lt := t.StartsAt.In(in.Location)
	s := fmt.Sprintf("timer %s of %s on %s %s", t.ID, name(in, t.UserID), lt.Format("Mon"), lt.Format("2006-01-02 15:04"))
	if !t.EndsAt.IsZero() {
		s += "–" + t.EndsAt.In(in.Location).Format("15:04")
	}
	return s
}

func name(in Input, userID string) string {
	if n := strings.TrimSpace(in.Names[userID]); n != "" {
		return n + " (user " + userID + ")"
	}
	return "user " + userID
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
