package absencesync

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// Approval is a Personio period's approval status.
type Approval string

const (
	ApprovalApproved Approval = "APPROVED"
	ApprovalPending  Approval = "PENDING"
	ApprovalRejected Approval = "REJECTED"
)

// State is a Staffomatic absence's state.
type State string

const (
	StateNew      State = "new"
	StateApproved State = "approved"
	StateDeclined State = "declined"
)

// Period is a Personio v2 absence period. Start and End are wall-clock times (their
// location is ignored); End nil is open-ended.
type Period struct {
	ID       string
	PersonID string
	TypeID   string // v2 absence type UUID
	Start    time.Time
	// StartHalf and EndHalf are starts_from.type and ends_at.type ("" for none).
	StartHalf Half
	End       *time.Time
	EndHalf   Half
	// Status is approval.status; an unknown status counts as pending (never approved).
	Status Approval
}

// Absence is a Staffomatic absence; Start and End are instants.
type Absence struct {
	ID         string
	UserID     string // applicant
	CategoryID string // absence_type_id
	State      State
	Start, End time.Time
	AllDay     bool
	Paid       bool
	Vacation   bool
}

// Category is a Staffomatic absence category (absence type). Categories belong to one
// location, so a Personio type is matched within the user's location.
type Category struct {
	ID         string
	Name       string
	LocationID string
}

// Person is a selected employee with a Staffomatic user.
type Person struct {
	PersonioID string
	UserID     string
	Name       string
	// LocationID is the Staffomatic location whose categories the user's absences use.
	LocationID string
	// HalfDays are the hours of a half day from the employee's work schedule; zero uses
	// DefaultHalfDays.
	HalfDays HalfDays
}

// Input is everything Compute needs.
type Input struct {
	// Leading is the system absences come from (domain.Sources.Absences).
	Leading  domain.System
	Settings domain.Settings
	// Now is the run's clock; Location the Staffomatic account's time zone, in which the
	// current year and every day is read.
	Now      time.Time
	Location *time.Location
	// WindowEnd is the last day the run reads: an open-ended Personio period is shown up to
	// it (Dec 31 of the current year when zero). A window ending at a fixed boundary (a
	// month's or year's end) keeps such a period's hash, and so its copy, stable between
	// runs; a moving end recreates the copy whenever the end moves.
	WindowEnd time.Time
	// PruneBefore, in a full run (the nightly reconcile, which reads every mapping), is the
	// window's start: a mapping that counts for nothing (Prunable) and was last written
	// before it is removed (Plan.Prune). Zero: nothing is removed.
	PruneBefore time.Time
	// Full says Periods and Absences hold everything of the window (the nightly
	// reconcile): a mapped source missing beside a target that is present was deleted, and
	// a mapped target missing beside its source was deleted in the target system.
	Full bool
	// TargetsRead says the mapped targets of every source read were read as well, in the
	// whole window (a partial or targeted run reads the window's absences of the employees
	// its sources concern): a mapped target missing beside its source was deleted in the
	// target system, and is restored. A full run implies it.
	TargetsRead bool
	// People are the selected employees that have a Staffomatic user.
	People []Person
	// Types are the v2 absence types, TimeOffTypes the v1 ones (for the settings' ids).
	Types        []AbsenceType
	TimeOffTypes []TimeOffType
	Categories   []Category
	// Periods are the Personio periods read (sources when Personio leads, targets
	// otherwise), Absences the Staffomatic absences read (the other way round). The
	// targets should include the mapped targets of the sources read: a target not read is
	// taken for deleted only in a full run, and an approval is planned for it unseen.
	Periods  []Period
	Absences []Absence
	// Deleted are source keys (SourceKey) the run knows were deleted (webhooks).
	Deleted []string
	// Mappings are the tenant's absence mappings (kind domain.KindAbsence), keyed by SourceKey.
	Mappings []domain.Mapping
	// Reported holds the fingerprint last written per report key (Action.Source of a
	// report): an unchanged report is not planned again.
	Reported map[string]string
}

// SourceKey is the mapping source id of an absence: the leading system and its id, so a
// mapping says which way it was written and switching the leading system never confuses
// a Personio UUID with a Staffomatic id.
func SourceKey(sys domain.System, id string) string { return string(sys) + "/" + id }

// ActionKind names what an action does.
type ActionKind string

const (
	// ActCreate creates the target(s) of a source seen for the first time (Staffomatic:
	// each absence created, approved ones approved; Personio: each period created).
	ActCreate ActionKind = "create_absence"
	// ActApprove approves Staffomatic absences staffsync created as new, once the Personio
	// period is approved; nothing else changed.
	ActApprove ActionKind = "approve_absence"
	// ActRecreate deletes the old targets and creates the new ones: approved Staffomatic
	// absences are immutable, and Personio has no approval call, so a change is a delete
	// and a create.
	ActRecreate ActionKind = "recreate_absence"
	// ActRemove deletes the targets of a source that was deleted, rejected or declined.
	ActRemove ActionKind = "remove_absence"
	// ActForget marks the mapping of a source that is gone and has no target (no write).
	ActForget ActionKind = "forget_absence"
	// ActReport tells the admin what was not transferred and why (missing category, a
	// settings id naming no type, times a type cannot carry, a switch of the leading
	// system, a failure given up); nothing is written to a vendor.
	ActReport ActionKind = "report"
)

// NewAbsence is a Staffomatic absence to create.
type NewAbsence struct {
	UserID     string `json:"user_id"`
	LocationID string `json:"location_id"`
	CategoryID string `json:"category_id"`
	Span
	Paid     bool `json:"paid"`
	Vacation bool `json:"vacation"`
	// IncludeWeekends is set when the absence covers a Saturday or Sunday: Personio's
	// period covers every day of its range, so its copy must block the weekend's shifts
	// too, whatever the category's default (false when it covers weekdays only, so an
	// ordinary weekday absence is written as before).
	IncludeWeekends bool `json:"include_weekends,omitempty"`
	// Approve: approve it (do: approve) right after the create.
	Approve bool `json:"approve,omitempty"`
}

// NewPeriod is a Personio v2 absence period to create.
type NewPeriod struct {
	PersonID string `json:"person_id"`
	TypeID   string `json:"absence_type_id"`
	PeriodSpan
	// SkipApproval is the explicit skip_approval of the create (v2 defaults to false).
	SkipApproval bool `json:"skip_approval"`
}

// Action is one planned step for one source absence, with its reason. Its write calls are
// the deletes, then the creates (and approvals); the applier records the mapping of Source
// with Hash and the created ids as TargetIDs.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Source is the SourceKey of the source absence, or for a report that is about more
	// than one absence its report key: category|<location id>|<type id> (a Personio type
	// without a category there), type|<category id> (a category without a Personio type),
	// setting|<settings key>|<v1 id> (an id naming no type), switch|<leading system>. The
	// applier keeps a report's fingerprint under this key (for a report key, as a mapping
	// of kind absence with state reported and no target) and the loader hands it back in
	// Input.Reported.
	Source string `json:"source"`
	// To is the system written.
	To       domain.System `json:"to,omitempty"`
	Delete   []string      `json:"delete,omitempty"`
	Approve  []string      `json:"approve,omitempty"`
	Absences []NewAbsence  `json:"absences,omitempty"`
	Periods  []NewPeriod   `json:"periods,omitempty"`
	// Keep are targets that stay (an approve keeps its absences).
	Keep []string `json:"keep,omitempty"`
	// Hash is the content hash to record on success.
	Hash string `json:"hash,omitempty"`
	// Report is the fingerprint of a report (domain.ReportFingerprint).
	Report string `json:"report,omitempty"`
	// Person and AbsenceType name the employee and the absence's type or category beside
	// the ids (empty for a report about many absences or none).
	Person      string `json:"person,omitempty"`
	AbsenceType string `json:"absence_type,omitempty"`
	// Reason is why, without the verb: Tell puts what will happen (dry run) or what
	// happened (real run) in front of it.
	Reason string `json:"reason"`
}

// Calls is the number of vendor write calls the action makes: each delete, each create,
// each approval (of a created absence or an existing one).
func (a Action) Calls() int {
	n := len(a.Delete) + len(a.Approve) + len(a.Absences) + len(a.Periods)
	for _, x := range a.Absences {
		if x.Approve {
			n++
		}
	}
	return n
}

// Planned is the action as a dry run stores it and the admin reads it.
func (a Action) Planned() domain.PlannedAction {
	target := ""
	if len(a.Delete) > 0 {
		target = a.Delete[0]
	} else if len(a.Approve) > 0 {
		target = a.Approve[0]
	}
	return domain.PlannedAction{Kind: domain.KindAbsence, Action: string(a.Kind), SourceID: a.Source, TargetID: target,
		Reason: a.Tell(domain.OutcomePlanned, ""), Person: a.Person, AbsenceType: a.AbsenceType, Writes: a.Calls()}
}

// wording is an action's phrase in both tenses.
type wording struct{ do, done string }

// Wording is the action's phrase in both tenses: "create the Staffomatic absence" (will …
// in a dry run), "created the Staffomatic absence" (after it).
func (a Action) Wording() (do, done string) {
	var w wording
	n := len(a.Absences) + len(a.Periods)
	if a.Kind == ActApprove {
		n = len(a.Approve)
	} else if a.Kind == ActRemove {
		n = len(a.Delete)
	}
	what := "Staffomatic absence"
	if a.To == domain.SystemPersonio {
		what = "Personio absence period"
	}
	if n > 1 {
		what = fmt.Sprintf("%d %ss", n, what)
	} else {
		what = "the " + what
	}
	approve := ""
	if len(a.Absences) > 0 && a.Absences[0].Approve {
		approve = " and approve"
	}
	switch a.Kind {
	case ActCreate:
		w = wording{"create" + approve + " " + what, "created" + strings.Replace(approve, "approve", "approved", 1) + " " + what}
	case ActApprove:
		w = wording{"approve " + what, "approved " + what}
	case ActRecreate:
		w = wording{"replace the copy by " + what, "replaced the copy by " + what}
	case ActRemove:
		w = wording{"remove " + what, "removed " + what}
	case ActForget:
		w = wording{"forget the absence (no copy is left)", "forgot the absence (no copy was left)"}
	case ActReport:
		w = wording{"report", "reported"}
	default:
		w = wording{string(a.Kind), string(a.Kind)}
	}
	return w.do, w.done
}

// Tell words the action for a protocol entry with outcome o, followed by its reason and
// extra: what will happen in a dry run (OutcomePlanned: "will create and approve the
// Staffomatic absence: Ada Lovelace's …"), what happened after it ("created and approved
// …"), or what could not be done ("could not create …; failed: …").
func (a Action) Tell(o domain.Outcome, extra string) string {
	do, done := a.Wording()
	var s string
	switch o {
	case domain.OutcomePlanned:
		s = "will " + do
	case domain.OutcomeFailed:
		s = "could not " + do
	default:
		s = done
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s + extra
}

// Plan is the ordered list of actions of one run.
type Plan struct {
	Actions []Action `json:"actions"`
	// Unchanged counts the source absences compared that need nothing; Repeated the
	// reports an earlier run wrote unchanged (not planned again); Foreign the records
	// staffsync wrote itself (targets of a mapping), never read back as sources.
	Unchanged int `json:"unchanged,omitempty"`
	Repeated  int `json:"repeated,omitempty"`
	Foreign   int `json:"foreign,omitempty"`
	// Skipped counts source absences outside the run's scope (another year, an employee
	// without a user): no action, no report.
	Skipped int `json:"skipped,omitempty"`
	// Prune are the source keys of the mappings the run removes after its writes
	// (Prunable; only in a full run with Input.PruneBefore, never a source it acts on).
	// They are staffsync's bookkeeping, not vendor writes, so a dry run does not list them.
	Prune []string `json:"prune,omitempty"`
}

// Writes counts exactly the vendor write calls the plan makes when applied.
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

// Compute plans one run in the leading direction, less the reports already written
// unchanged, so a run without changes writes nothing.
func Compute(in Input) Plan {
	if in.Location == nil {
		in.Location = time.UTC
	}
	if in.WindowEnd.IsZero() {
		in.WindowEnd = time.Date(in.Now.In(in.Location).Year(), time.December, 31, 0, 0, 0, 0, in.Location)
	}
	pl := newPlanner(in)
	switch in.Leading {
	case domain.SystemStaffomatic:
		pl.fromStaffomatic()
	default:
		pl.fromPersonio()
	}
	pl.flushMissing()
	pl.switched()
	p := pl.plan
	kept := p.Actions[:0]
	for _, a := range p.Actions {
		if a.Kind == ActReport {
			a.Report = domain.ReportFingerprint(string(a.Kind), nil, a.Reason)
			if in.Reported[a.Source] == a.Report {
				p.Repeated++
				continue
			}
		}
		kept = append(kept, a)
	}
	p.Actions = kept
	p.Prune = pl.prune()
	return p
}

// Prunable reports whether m counts for nothing any more, so removing it changes no plan
// of any later run: the source was deleted (or rejected, declined) and its copies removed
// (state deleted, no target named), no report fingerprint is kept on it, no failure is
// counted, and it was last written before before. Every planner path treats such a
// mapping as no mapping: a source read again is created anew either way (decide), a
// removal of a source that is gone again finds nothing to do either way (remove,
// deletions), and only pending or failed mappings adopt marked copies (Load). A mapping
// that still names a copy, or may stand for one (pending, failed, given up, transferred),
// or holds a report, is kept for as long as it exists.
func Prunable(m domain.Mapping, before time.Time) bool {
	return m.State == domain.StateDeleted && len(m.TargetIDs) == 0 && m.Hash == "" && m.Reported == "" &&
		m.Attempts == 0 && m.FirstFailureAt.IsZero() && m.LastError == "" && !before.IsZero() && m.UpdatedAt.Before(before)
}

// prune lists the Prunable mappings of a full run, less the sources it plans an action for.
func (pl *planner) prune() []string {
	if !pl.in.Full || pl.in.PruneBefore.IsZero() {
		return nil
	}
	acted := map[string]bool{}
	for _, a := range pl.plan.Actions {
		acted[a.Source] = true
	}
	var out []string
	for _, m := range pl.in.Mappings {
		if Prunable(m, pl.in.PruneBefore) && !acted[m.SourceID] {
			out = append(out, m.SourceID)
		}
	}
	slices.Sort(out)
	return out
}

type planner struct {
	in        Input
	plan      Plan
	mappings  map[string]*domain.Mapping
	targetOf  map[string]string // target id → source key, of every mapping
	people    map[string]Person // by Personio id
	byUser    map[string]Person // by Staffomatic user id
	types     map[string]AbsenceType
	cats      map[string]Category
	catsByLoc map[string][]Category
	vacation  map[string]bool
	paid      map[string]bool
	periods   map[string]Period
	absences  map[string]Absence
	deleted   map[string]bool
	seen      map[string]bool
	// person and typ name the source being planned (Action.Person, Action.AbsenceType).
	person, typ string
	// missingOf collects, per report key, the reason and the absences a missing category
	// (or type) holds back: one report per category, listing them.
	missingOf map[string]*missing
}

type missing struct {
	reason string
	descs  []string
}

func (pl *planner) missing(key, reason, desc string) {
	if pl.missingOf == nil {
		pl.missingOf = map[string]*missing{}
	}
	m := pl.missingOf[key]
	if m == nil {
		m = &missing{reason: reason}
		pl.missingOf[key] = m
	}
	m.descs = append(m.descs, desc)
}

// flushMissing plans one report per missing category or type, listing the absences it
// holds back (at most 5 by name), so the protocol says it once and again only when the set
// changes.
func (pl *planner) flushMissing() {
	keys := make([]string, 0, len(pl.missingOf))
	for k := range pl.missingOf {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m := pl.missingOf[k]
		slices.Sort(m.descs)
		list := m.descs
		more := ""
		if len(list) > 5 {
			list, more = list[:5], fmt.Sprintf("; and %d more", len(m.descs)-5)
		}
		held := fmt.Sprintf("%d absences held back", len(m.descs))
		if len(m.descs) == 1 {
			held = "1 absence held back"
		}
		pl.add(Action{Kind: ActReport, Source: k, Reason: fmt.Sprintf("%s; %s: %s%s", m.reason, held, strings.Join(list, "; "), more)})
	}
}

func newPlanner(in Input) *planner {
	pl := &planner{in: in, mappings: map[string]*domain.Mapping{}, targetOf: map[string]string{}, people: map[string]Person{},
		byUser: map[string]Person{}, types: map[string]AbsenceType{}, cats: map[string]Category{}, catsByLoc: map[string][]Category{},
		periods: map[string]Period{}, absences: map[string]Absence{}, deleted: map[string]bool{}, seen: map[string]bool{}}
	for i := range in.Mappings {
		m := &in.Mappings[i]
		pl.mappings[m.SourceID] = m
		for _, t := range m.TargetIDs {
			pl.targetOf[targetKey(otherOf(m.SourceID), t)] = m.SourceID
		}
	}
	for _, p := range in.People {
		pl.people[p.PersonioID] = p
		if p.UserID != "" {
			pl.byUser[p.UserID] = p
		}
	}
	for _, t := range in.Types {
		pl.types[t.ID] = t
	}
	for _, c := range in.Categories {
		pl.cats[c.ID] = c
		pl.catsByLoc[c.LocationID] = append(pl.catsByLoc[c.LocationID], c)
	}
	for _, p := range in.Periods {
		pl.periods[p.ID] = p
	}
	for _, a := range in.Absences {
		pl.absences[a.ID] = a
	}
	for _, d := range in.Deleted {
		pl.deleted[d] = true
	}
	var vp, pp []BridgeProblem
	pl.vacation, vp = BridgeTypeIDs(SettingVacation, in.Settings.PersonioTimeOffTypeIDsForVacationDaysDeduction, in.TimeOffTypes, in.Types)
	pl.paid, pp = BridgeTypeIDs(SettingPaid, in.Settings.PersonioTimeOffTypeIDsForPaidVacations, in.TimeOffTypes, in.Types)
	if in.Leading != domain.SystemStaffomatic { // the flags matter only when Staffomatic absences are written
		for _, b := range append(vp, pp...) {
			pl.add(Action{Kind: ActReport, Source: fmt.Sprintf("setting|%s|%d", b.Setting, b.ID), Reason: b.Reason})
		}
	}
	return pl
}

// otherOf returns the system a mapping's targets live in.
func otherOf(sourceKey string) domain.System {
	if strings.HasPrefix(sourceKey, string(domain.SystemStaffomatic)+"/") {
		return domain.SystemPersonio
	}
	return domain.SystemStaffomatic
}

func targetKey(sys domain.System, id string) string { return string(sys) + "/" + id }

func (pl *planner) add(a Action) {
	if a.Person == "" && a.AbsenceType == "" && a.Source != "" && !strings.Contains(a.Source, "|") {
		a.Person, a.AbsenceType = pl.person, pl.typ
	}
	pl.plan.Actions = append(pl.plan.Actions, a)
}

// naming sets the names of the source planned next ("" "": none).
func (pl *planner) naming(person, typ string) { pl.person, pl.typ = person, strings.TrimSpace(typ) }

// foreign reports whether a record of sys was written by staffsync (a target of a mapping).
func (pl *planner) foreign(sys domain.System, id string) bool {
	_, ok := pl.targetOf[targetKey(sys, id)]
	return ok
}

func hashOf(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:12])
}

// hash joins the content hash (what the targets look like) and the approval part, so a
// change of approval alone is told apart from a change of content.
func hash(content, approval string) string { return content + "." + approval }

func splitHash(h string) (content, approval string) {
	c, a, _ := strings.Cut(h, ".")
	return c, a
}

// fmtSpan describes a range for reasons: dates, and times when not all day.
func fmtSpan(s Span, loc *time.Location) string {
	a, b := s.Start.In(loc), s.End.In(loc)
	if s.AllDay {
		if dateOf(a) == dateOf(b) {
			return a.Format(time.DateOnly)
		}
		return a.Format(time.DateOnly) + " to " + b.Format(time.DateOnly)
	}
	if dateOf(a) == dateOf(b) {
		return a.Format("2006-01-02 15:04") + "–" + b.Format("15:04")
	}
	return a.Format("2006-01-02 15:04") + " to " + b.Format("2006-01-02 15:04")
}

func fmtPeriod(start time.Time, sh Half, end *time.Time, eh Half) string {
	s := start.Format(time.DateOnly)
	if sh != "" {
		s += " (" + halfName(sh) + ")"
	}
	if end == nil {
		return s + " open-ended"
	}
	e := end.Format(time.DateOnly)
	if clock(start) != 0 || clock(*end) != 0 {
		s, e = start.Format("2006-01-02 15:04"), end.Format("2006-01-02 15:04")
	}
	if eh != "" {
		e += " (" + halfName(eh) + ")"
	}
	if e == s {
		return s
	}
	return s + " to " + e
}

func fmtPeriodSpan(p PeriodSpan) string {
	e := p.End
	return fmtPeriod(p.Start, p.StartHalf, &e, p.EndHalf)
}

// coversWeekend reports whether a span touches a Saturday or a Sunday in loc.
func coversWeekend(s Span, loc *time.Location) bool {
	last := dateOf(s.End.In(loc))
	for d := dateOf(s.Start.In(loc)); !last.before(d); d = d.add(1) {
		switch d.at(0, time.UTC).Weekday() {
		case time.Saturday, time.Sunday:
			return true
		}
	}
	return false
}

func halfName(h Half) string {
	if h == FirstHalf {
		return "first half"
	}
	return "second half"
}

func (pl *planner) personName(p Person) string {
	if strings.TrimSpace(p.Name) != "" {
		return strings.TrimSpace(p.Name)
	}
	return "employee " + p.PersonioID
}

// decide turns the wanted targets of one source into its action. m is its mapping (nil
// when new); content and approval make its hash; create builds the new targets; onlyApprove
// lists the existing targets to approve when only the approval changed; drift says the
// targets no longer show the source although the hash is unchanged.
func (pl *planner) decide(key string, to domain.System, m *domain.Mapping, content, approval string, desc string,
	build func(a *Action), onlyApprove func() ([]string, bool), drift string) {
	var approveIDs []string
	approveOK := false
	if onlyApprove != nil && m != nil && m.State == domain.StateTransferred && drift == "" {
		if c, _ := splitHash(m.Hash); c == content {
			approveIDs, approveOK = onlyApprove()
		}
	}
	h := hash(content, approval)
	var targets []string
	if m != nil && m.State != domain.StateDeleted {
		targets = slices.Clone(m.TargetIDs)
	}
	retry := ""
	if m != nil && (m.State == domain.StateFailed || m.State == domain.StateGaveUp) {
		if m.State == domain.StateGaveUp && m.Hash == h {
			pl.add(Action{Kind: ActReport, Source: key, Reason: fmt.Sprintf("%s: given up after %d attempts since %s; the last answer was: %s; change the absence to try again",
				desc, m.Attempts, m.FirstFailureAt.In(pl.in.Location).Format(time.DateOnly), m.LastError)})
			return
		}
		if m.State == domain.StateFailed {
			retry = fmt.Sprintf(" (retry %d since %s; the last answer was: %s)", m.Attempts+1, m.FirstFailureAt.In(pl.in.Location).Format(time.DateOnly), m.LastError)
		}
	}
	if m != nil && m.State == domain.StateTransferred && m.Hash == h && drift == "" && len(approveIDs) == 0 {
		pl.plan.Unchanged++
		return
	}
	a := Action{Source: key, To: to, Hash: h}
	switch {
	case len(targets) == 0:
		a.Kind = ActCreate
		a.Reason = desc + ": new" + retry
	case approveOK:
		a.Kind, a.Approve, a.Keep = ActApprove, approveIDs, targets
		a.Reason = desc + ": approved in Personio; its Staffomatic absences are approved" + retry
		pl.add(a)
		return
	default:
		a.Kind, a.Delete = ActRecreate, targets
		why := "changed"
		if drift != "" {
			why = drift
		} else if m.State != domain.StateTransferred {
			why = "not fully transferred before"
		}
		a.Reason = desc + ": " + why + "; the old one is deleted and created again" + retry
	}
	build(&a)
	pl.add(a)
}

// removalHash is the hash a removal's mapping carries when the removal failed (the
// applier records Action.Hash on failure), so a removal given up is told apart from a
// create given up, whose leftover copies are still removed once the source goes.
const removalHash = "removal"

// remove plans the removal of a source's targets (or forgets a mapping without targets).
// A removal given up after domain.RetryWindow is reported once instead of being tried
// again by every run (and its window starting anew each time).
func (pl *planner) remove(key string, to domain.System, m *domain.Mapping, why string) {
	if m == nil || m.State == domain.StateDeleted {
		pl.plan.Unchanged++ // never transferred, or removed before
		return
	}
	if len(m.TargetIDs) == 0 {
		pl.add(Action{Kind: ActForget, Source: key, Reason: why})
		return
	}
	if m.State == domain.StateGaveUp && m.Hash == removalHash {
		pl.add(Action{Kind: ActReport, Source: key, Reason: fmt.Sprintf("%s; but the copy (%s %s) could not be removed: given up after %d attempts since %s; the last answer was: %s; remove it by hand",
			why, to, strings.Join(m.TargetIDs, ", "), m.Attempts, m.FirstFailureAt.In(pl.in.Location).Format(time.DateOnly), m.LastError)})
		return
	}
	retry := ""
	if m.State == domain.StateFailed {
		retry = fmt.Sprintf(" (retry %d; the last answer was: %s)", m.Attempts+1, m.LastError)
	}
	pl.add(Action{Kind: ActRemove, Source: key, To: to, Delete: slices.Clone(m.TargetIDs), Hash: removalHash, Reason: why + retry})
}

// ---- Personio leading ----------------------------------------------------------------

func (pl *planner) fromPersonio() {
	in := pl.in
	periods := slices.Clone(in.Periods)
	slices.SortFunc(periods, func(a, b Period) int { return cmp.Compare(a.ID, b.ID) })
	for _, p := range periods {
		if pl.foreign(domain.SystemPersonio, p.ID) {
			pl.plan.Foreign++ // staffsync wrote it while Staffomatic led: never read back
			continue
		}
		key := SourceKey(domain.SystemPersonio, p.ID)
		pl.seen[key] = true
		m := pl.mappings[key]
		person, ok := pl.people[p.PersonID]
		if !ok || person.UserID == "" {
			pl.plan.Skipped++ // not selected or no user yet: the user sync reports why
			continue
		}
		name := pl.personName(person)
		typ, ok := pl.types[p.TypeID]
		typeName := typ.Name
		if !ok {
			typeName = "type " + p.TypeID
		}
		desc := fmt.Sprintf("%s's %s %s", name, strings.TrimSpace(typeName), fmtPeriod(p.Start, p.StartHalf, p.End, p.EndHalf))
		pl.naming(name, typeName)
		if pl.deleted[key] {
			pl.remove(key, domain.SystemStaffomatic, m, desc+": deleted in Personio; removed from Staffomatic")
			continue
		}
		if p.Status == ApprovalRejected {
			pl.remove(key, domain.SystemStaffomatic, m, desc+": rejected in Personio; removed from Staffomatic")
			continue
		}
		if !ok {
			pl.add(Action{Kind: ActReport, Source: key, Reason: desc + ": Personio absence type " + p.TypeID + " is unknown (not in /v2/absence-types); not transferred"})
			continue
		}
		if person.LocationID == "" {
			pl.add(Action{Kind: ActReport, Source: key, Reason: desc + ": the Staffomatic user has no location, so no category can be matched; not transferred (the workspace sync reports why)"})
			continue
		}
		cat, ok := domain.CategoryFor(typ.Name, pl.catsByLoc[person.LocationID], func(c Category) string { return c.Name })
		if !ok {
			pl.missing("category|"+person.LocationID+"|"+typ.ID, fmt.Sprintf(
				"Personio absence type %q has no Staffomatic category of the same name in location %s (or more than one), so its absences there are not transferred: create the category in Staffomatic",
				strings.TrimSpace(typ.Name), person.LocationID), desc)
			continue
		}
		spans, err := ToStaffomatic(p.Start, p.StartHalf, p.End, p.EndHalf, typ.Unit, person.HalfDays, in.Location, in.WindowEnd)
		if err != nil {
			pl.add(Action{Kind: ActReport, Source: key, Reason: desc + ": not transferred: " + err.Error()})
			continue
		}
		approved := p.Status == ApprovalApproved
		vac, paid := pl.vacation[typ.ID], pl.paid[typ.ID]
		content := hashOf(person.UserID, person.LocationID, cat.ID, vac, paid, spans)
		weekends := make([]bool, len(spans))
		for i, sp := range spans {
			weekends[i] = coversWeekend(sp, in.Location)
		}
		if slices.Contains(weekends, true) {
			// Copies written before include_weekends was set are recreated once.
			content = hashOf(person.UserID, person.LocationID, cat.ID, vac, paid, spans, weekends)
		}
		approval := "pending"
		if approved {
			approval = "approved"
		}
		status := "pending"
		if approved {
			status = "approved"
		}
		desc += " (" + status + " in Personio)"
		drift := pl.staffomaticDrift(m, spans, approved)
		pl.decide(key, domain.SystemStaffomatic, m, content, approval, desc, func(a *Action) {
			for i, s := range spans {
				a.Absences = append(a.Absences, NewAbsence{UserID: person.UserID, LocationID: person.LocationID, CategoryID: cat.ID,
					Span: s, Paid: paid, Vacation: vac, IncludeWeekends: weekends[i], Approve: approved})
			}
			parts := make([]string, len(spans))
			for i, s := range spans {
				parts[i] = fmtSpan(s, in.Location)
			}
			a.Reason += fmt.Sprintf("; in Staffomatic %s as %q (vacation %t, paid %t)", strings.Join(parts, " + "), cat.Name, vac, paid)
			if approved {
				a.Reason += ", approved"
			} else {
				a.Reason += ", as new"
			}
		}, func() ([]string, bool) {
			if !approved {
				return nil, false
			}
			var ids []string
			_, was := splitHash(m.Hash)
			for _, t := range m.TargetIDs {
				x, ok := pl.absences[t]
				switch {
				case ok && x.State == StateApproved:
					continue
				case ok && x.State == StateDeclined:
					return nil, false
				case !ok && was == "approved":
					continue // approved by an earlier run and not read now: nothing to do
				}
				ids = append(ids, t)
			}
			return ids, true
		}, drift)
	}
	pl.naming("", "")
	pl.deletions(domain.SystemPersonio, domain.SystemStaffomatic, "Personio", func(id string) bool { _, ok := pl.absences[id]; return ok })
}

// staffomaticDrift says why the mapped Staffomatic absences no longer show the source
// although the hash is unchanged: deleted in Staffomatic (when the targets were read), or declined or
// approved there against Personio (Personio leads; edits in Staffomatic are overwritten).
func (pl *planner) staffomaticDrift(m *domain.Mapping, spans []Span, approved bool) string {
	if m == nil || m.State != domain.StateTransferred || len(m.TargetIDs) == 0 {
		return ""
	}
	for _, t := range m.TargetIDs {
		x, ok := pl.absences[t]
		switch {
		case !ok && (pl.in.Full || pl.in.TargetsRead):
			return "deleted in Staffomatic"
		case !ok:
		case x.State == StateDeclined:
			return "declined in Staffomatic"
		case x.State == StateApproved && !approved:
			return "approved in Staffomatic though pending in Personio"
		}
	}
	return ""
}

// deletions removes the targets of mapped sources that are gone: named as deleted, or (in
// a full run) missing from the sources read while one of their targets is present, so a
// source merely outside the window is never taken for deleted.
func (pl *planner) deletions(from, to domain.System, fromName string, present func(id string) bool) {
	keys := make([]string, 0)
	for k := range pl.mappings {
		if strings.HasPrefix(k, string(from)+"/") && !pl.seen[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		m := pl.mappings[k]
		if m.State == domain.StateDeleted {
			continue
		}
		gone := pl.deleted[k]
		if !gone && pl.in.Full {
			for _, t := range m.TargetIDs {
				if present(t) {
					gone = true
				}
			}
		}
		if gone {
			what := fromName + " absence " + strings.TrimPrefix(k, string(from)+"/")
			d, name, typ := pl.describeTargets(to, m.TargetIDs)
			if d != "" {
				what = d
			}
			pl.naming(name, typ)
			pl.remove(k, to, m, fmt.Sprintf("%s: deleted in %s; its copy in %s is removed", what, fromName, to))
			pl.naming("", "")
		}
	}
}

// describeTargets names a gone source by its copies that were read: the employee, the
// type and the dates ("" when none was read), and the employee's and type's names.
func (pl *planner) describeTargets(sys domain.System, ids []string) (desc, person, typeName string) {
	var parts []string
	name, typ := "", ""
	for _, id := range ids {
		if sys == domain.SystemStaffomatic {
			x, ok := pl.absences[id]
			if !ok {
				continue
			}
			if p, ok := pl.byUser[x.UserID]; ok {
				name = pl.personName(p)
			}
			typ = strings.TrimSpace(pl.cats[x.CategoryID].Name)
			parts = append(parts, fmtSpan(Span{x.Start, x.End, x.AllDay}, pl.in.Location))
			continue
		}
		x, ok := pl.periods[id]
		if !ok {
			continue
		}
		if p, ok := pl.people[x.PersonID]; ok {
			name = pl.personName(p)
		}
		typ = strings.TrimSpace(pl.types[x.TypeID].Name)
		parts = append(parts, fmtPeriod(x.Start, x.StartHalf, x.End, x.EndHalf))
	}
	if len(parts) == 0 {
		return "", "", ""
	}
	who := name
	if who == "" {
		who = "an employee"
	}
	return fmt.Sprintf("%s's %s %s", who, typ, strings.Join(parts, " + ")), name, typ
}

// ---- Staffomatic leading ---------------------------------------------------------------

func (pl *planner) fromStaffomatic() {
	in := pl.in
	year := in.Now.In(in.Location).Year()
	yearStart := time.Date(year, time.January, 1, 0, 0, 0, 0, in.Location)
	yearEnd := time.Date(year+1, time.January, 1, 0, 0, 0, 0, in.Location)
	absences := slices.Clone(in.Absences)
	slices.SortFunc(absences, func(a, b Absence) int { return cmp.Compare(a.ID, b.ID) })
	only := in.Settings.OnlyApprovedStaffomaticAbsences
	for _, x := range absences {
		if pl.foreign(domain.SystemStaffomatic, x.ID) {
			pl.plan.Foreign++ // staffsync wrote it while Personio led: never read back
			continue
		}
		key := SourceKey(domain.SystemStaffomatic, x.ID)
		pl.seen[key] = true
		m := pl.mappings[key]
		person, ok := pl.byUser[x.UserID]
		if !ok {
			pl.plan.Skipped++
			continue
		}
		if !x.Start.Before(yearEnd) || !x.End.After(yearStart) {
			pl.plan.Skipped++ // only absences of the current year move (DESIGN §1.3)
			continue
		}
		name := pl.personName(person)
		cat, ok := pl.cats[x.CategoryID]
		catName := cat.Name
		if !ok {
			catName = "category " + x.CategoryID
		}
		desc := fmt.Sprintf("%s's %s %s (%s in Staffomatic)", name, strings.TrimSpace(catName), fmtSpan(Span{x.Start, x.End, x.AllDay}, in.Location), x.State)
		pl.naming(name, catName)
		if pl.deleted[key] {
			pl.remove(key, domain.SystemPersonio, m, desc+": deleted in Staffomatic; removed from Personio")
			continue
		}
		var skip bool
		switch {
		case x.State == StateDeclined:
			pl.remove(key, domain.SystemPersonio, m, desc+": declined in Staffomatic; removed from Personio")
			continue
		case x.State == StateApproved:
			skip = true
		case only:
			// A request still open: with only_approved_staffomatic_absences it moves once approved.
			pl.plan.Skipped++
			continue
		}
		if !ok {
			pl.add(Action{Kind: ActReport, Source: key, Reason: desc + ": Staffomatic category " + x.CategoryID + " is unknown; not transferred"})
			continue
		}
		typ, ok := domain.CategoryFor(cat.Name, in.Types, func(t AbsenceType) string { return t.Name })
		if !ok {
			pl.missing("type|"+cat.ID, fmt.Sprintf(
				"Staffomatic category %q (location %s) has no Personio absence type of the same name (or more than one), so its absences are not transferred: rename the category or the type",
				strings.TrimSpace(cat.Name), cat.LocationID), desc)
			continue
		}
		parts, err := ToPersonio(Span{x.Start, x.End, x.AllDay}, typ.Unit, person.HalfDays, in.Location)
		if err != nil {
			pl.add(Action{Kind: ActReport, Source: key, Reason: fmt.Sprintf("%s: not transferred: %s for Personio type %q (%s unit)", desc, err, typ.Name, typ.Unit)})
			continue
		}
		content := hashOf(person.PersonioID, typ.ID, parts)
		approval := "pending"
		if skip {
			approval = "approved"
		}
		drift := ""
		if m != nil && m.State == domain.StateTransferred && (in.Full || in.TargetsRead) {
			for _, t := range m.TargetIDs {
				if _, ok := pl.periods[t]; !ok {
					drift = "deleted in Personio"
				}
			}
		}
		pl.decide(key, domain.SystemPersonio, m, content, approval, desc, func(a *Action) {
			texts := make([]string, len(parts))
			for i, p := range parts {
				a.Periods = append(a.Periods, NewPeriod{PersonID: person.PersonioID, TypeID: typ.ID, PeriodSpan: p, SkipApproval: skip})
				texts[i] = fmtPeriodSpan(p)
			}
			a.Reason += fmt.Sprintf("; in Personio %s as %q", strings.Join(texts, " + "), typ.Name)
			if len(parts) > 1 {
				a.Reason += " (split at the year boundary)"
			}
			if skip {
				a.Reason += ", approval skipped"
			} else {
				a.Reason += ", pending approval"
			}
		}, nil, drift)
	}
	pl.naming("", "")
	pl.deletions(domain.SystemStaffomatic, domain.SystemPersonio, "Staffomatic", func(id string) bool { _, ok := pl.periods[id]; return ok })
}

// switched reports, once per leading system, the absences staffsync copied in the other
// direction before the admin switched: they stay as they are in both systems, nothing is
// transferred back, and changes to them in the new leading system are not copied (they
// are staffsync's own records there).
func (pl *planner) switched() {
	lead := pl.in.Leading
	if lead != domain.SystemStaffomatic {
		lead = domain.SystemPersonio
	}
	n := 0
	for k, m := range pl.mappings {
		if !strings.HasPrefix(k, string(lead)+"/") && m.State == domain.StateTransferred && len(m.TargetIDs) > 0 {
			n++
		}
	}
	if n == 0 {
		return
	}
	other := domain.SystemPersonio
	if lead == domain.SystemPersonio {
		other = domain.SystemStaffomatic
	}
	pl.add(Action{Kind: ActReport, Source: "switch|" + string(lead), Reason: fmt.Sprintf(
		"absences are led by %s now: %d absences staffsync copied from %s to %s earlier stay as they are in both systems; nothing is transferred back, their copies in %s are not read as new absences, and changes or deletions of their originals in %s are no longer copied",
		lead, n, other, lead, lead, other)})
}
