package timesync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// Run windows (DESIGN §1.4). A full run (daily 05:30, and the first run of a tenant)
// reads the last FullWindow; a partial run (every 10 minutes) the timers that overlap the
// time since its cursor minus PartialOverlap. Staffomatic lists timers by the time they
// overlap and has no "verified since" filter, so a timer verified later than that is
// found by the late sweep: every full run also reads one SweepSlice of the
// late-verification window, a different slice each day, so a timer verified up to three
// months late is transferred within about two weeks and never dropped; an older one is
// reported (too_old).
const (
	FullWindow     = 7 * 24 * time.Hour
	PartialOverlap = time.Hour
	SweepSlice     = 7 * 24 * time.Hour
)

// Deps are what the timesheets phase needs besides the harness.
type Deps struct {
	Store   *store.Store
	Vendors *vendors.Builder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Concurrency bounds the timers applied at once (default 4): Personio's attendance
	// endpoints allow a few requests a second per credential.
	Concurrency int
}

// Phase is the timesheets phase (Staffomatic work timers → Personio attendance periods).
type Phase struct {
	deps Deps
	// zones are the accounts' time zones, for the targeted runs of the process.
	zones *zones
}

// NewPhase returns the timesheets phase. Run it with phase.New(timesync.NewPhase(deps), …).
func NewPhase(deps Deps) *Phase { return &Phase{deps: deps, zones: newZones(maxZones)} }

var _ phase.Phase[*Loaded, Planned] = (*Phase)(nil)

// Name implements phase.Phase.
func (p *Phase) Name() domain.Phase { return domain.PhaseTimesheets }

// periodWriter is what the phase needs of Personio (*personio.Client).
type periodWriter interface {
	AttendancePeriods(ctx context.Context, o personio.AttendancePeriodsOptions) ([]personio.AttendancePeriod, error)
	CreateAttendancePeriod(ctx context.Context, in personio.AttendancePeriodInput, skipApproval bool) (string, error)
	UpdateAttendancePeriod(ctx context.Context, id string, in personio.AttendancePeriodInput, skipApproval bool) error
	DeleteAttendancePeriod(ctx context.Context, id string) error
}

var _ periodWriter = (*personio.Client)(nil)

// Loaded is what a run read.
type Loaded struct {
	Input Input
	// Off says why the run does nothing (time tracking is off in the sources).
	Off string
	w   periodWriter
	st  *store.Store
	tid string
	now time.Time
	// concurrency bounds the timers applied at once.
	concurrency int
	// late, in a targeted run that is not a dry run, are the users' names being read
	// while the run writes (Input.Names is empty): apply names the protocol entries.
	late *late
}

// Planned is a run's plan with the state it was computed from.
type Planned struct {
	Plan  Plan
	state *Loaded
}

// Actions describes the plan for a dry run's protocol.
func (p Planned) Actions() []domain.PlannedAction {
	out := make([]domain.PlannedAction, 0, len(p.Plan.Actions))
	for _, a := range p.Plan.Actions {
		out = append(out, a.Planned())
	}
	return out
}

// Plan implements phase.Phase.
func (p *Phase) Plan(l *Loaded) (Planned, error) {
	if l.Off != "" {
		return Planned{state: l}, nil
	}
	return Planned{Plan: Compute(l.Input), state: l}, nil
}

// Apply implements phase.Phase.
func (p *Phase) Apply(ctx context.Context, run *phase.Run, pl Planned) error {
	if pl.state.Off != "" {
		// Said in the run's protocol, so the admin who wonders why nothing moved reads why.
		run.Log.InfoContext(ctx, "timesheets: "+pl.state.Off)
		return run.Record(context.WithoutCancel(ctx), domain.ProtocolEntry{Kind: domain.KindTenantSetting, SourceID: run.Tenant.ID,
			Action: "skip_run", Outcome: domain.OutcomeSkipped, Reason: pl.state.Off})
	}
	return apply(ctx, run, pl.state, pl.Plan)
}

// Load reads the run's timers with their breaks, the user and timer mappings and, in a
// full run, Personio's periods of the window (to restore edits made there and to find
// timers deleted in Staffomatic).
func (p *Phase) Load(ctx context.Context, run *phase.Run) (*Loaded, error) {
	now := time.Now
	if p.deps.Now != nil {
		now = p.deps.Now
	}
	l := &Loaded{st: p.deps.Store, tid: run.Tenant.ID, now: now().UTC(), concurrency: p.deps.Concurrency}
	if !run.Tenant.Sources.TimeTracking {
		l.Off = "time tracking is off in the tenant's sources (PUT /v1/tenants/{id}/sources {\"timesheets\":\"staffomatic\"} turns it on): no timer is transferred"
		return l, nil
	}
	creds, err := run.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("open credentials: %w", err)
	}
	pc, sc, err := p.deps.Vendors.Connect(ctx, run.Tenant, creds, run.CountAPICall)
	if err != nil {
		return nil, err
	}
	l.w = pc
	// A targeted run (a webhook's) reads the time zone beside its timers and mappings
	// (targeted); the other runs read it first, as their windows need it.
	var tr *targetedReads
	var loc *time.Location
	if run.Request.Mode == domain.ModeTargeted {
		if tr, err = l.targeted(ctx, run, p.zones, pc, sc); err != nil {
			return nil, err
		}
		loc = tr.loc
	} else if loc, err = sc.TimeZone(ctx); err != nil {
		return nil, fmt.Errorf("load Staffomatic time zone: %w", err)
	} else {
		p.zones.put(run.Tenant, loc, l.now)
	}
	s := run.Tenant.Settings
	in := Input{Settings: Settings{OnlyVerified: s.OnlyVerifiedStaffomaticWorkTimers, PropagateDeletions: s.PropagateDeletions},
		Mode: run.Request.Mode, Now: l.now, Location: loc, Mappings: map[string]domain.Mapping{}, Persons: map[string]string{},
		Names: map[string]string{}, Reported: map[string]string{}}

	// The windows to read: a partial run without a usable cursor runs full.
	var windows []Window
	switch in.Mode {
	case domain.ModePartial:
		since, perr := time.Parse(time.RFC3339Nano, run.Cursor)
		if run.Cursor == "" || perr != nil || l.now.Sub(since) > FullWindow {
			in.Mode = domain.ModeFull
			run.SetMode(domain.ModeFull, "no usable cursor of an earlier run (or it is older than 7 days): full run over the last 7 days instead of partial")
		} else {
			in.Window = Window{From: since.Add(-PartialOverlap), Until: l.now.Add(time.Second)}
			windows = []Window{in.Window}
		}
	}
	if in.Mode == domain.ModeFull {
		windows = fullWindows(l.now, in.Settings.LateWindow)
		if run.Cursor == "" {
			// The first run after set-up transfers the last 7 days only (as the vendor's
			// integration does); the late sweep starts with the next full run.
			windows = windows[:1]
		}
		in.Window = Window{} // every timer read is in scope; unchanged ones plan nothing
	}

	var timers []staffomatic.WorkTimer
	breaks := map[int64][]staffomatic.BreakTimer{}
	var missing []string     // targeted timers Staffomatic no longer has
	restoreTargeted := false // a Personio period was named: compare the timers' periods
	if in.Mode == domain.ModeTargeted {
		restoreTargeted, timers, breaks, missing = tr.restore, tr.timers, tr.breaks, tr.missing
	} else {
		seen := map[int64]bool{}
		for _, w := range windows {
			if w.Zero() {
				continue
			}
			ts, lerr := sc.ListWorkTimers(ctx, staffomatic.TimerFilter{From: w.From, Until: w.Until})
			if lerr != nil {
				return nil, fmt.Errorf("load Staffomatic work timers: %w", lerr)
			}
			bs, berr := sc.ListBreakTimers(ctx, staffomatic.TimerFilter{From: w.From.Add(-MaxPeriod), Until: w.Until.Add(MaxPeriod)})
			if berr != nil {
				return nil, fmt.Errorf("load Staffomatic break timers: %w", berr)
			}
			for _, b := range bs {
				if !containsBreak(breaks[b.WorkTimerID], b.ID) {
					breaks[b.WorkTimerID] = append(breaks[b.WorkTimerID], b)
				}
			}
			for _, t := range ts {
				if !seen[t.ID] {
					seen[t.ID] = true
					timers = append(timers, t)
				}
			}
		}
	}
	// A failed or cut-short timer is retried by every full run until it is given up, a
	// RetryWindow after its first failure (DESIGN §1.3) — also once it has left the full
	// window, which it does before then. The retry span before the full window is read
	// for those timers only; the others there are the late sweep's.
	retrying := map[string]bool{}
	if in.Mode == domain.ModeFull && run.Cursor != "" {
		rt, rb, err := l.retrySpan(ctx, sc, windows[0].From)
		if err != nil {
			return nil, err
		}
		listed := make(map[int64]bool, len(timers))
		for _, t := range timers {
			listed[t.ID] = true
		}
		for _, t := range rt {
			if !listed[t.ID] {
				timers, breaks[t.ID] = append(timers, t), rb[t.ID]
				retrying[strconv.FormatInt(t.ID, 10)] = true
			}
		}
	}
	ids := make([]string, 0, len(timers)+len(missing))
	for _, t := range timers {
		in.Timers = append(in.Timers, toTimer(t, breaks[t.ID]))
		ids = append(ids, in.Timers[len(in.Timers)-1].ID)
	}
	ids = append(ids, missing...)

	// User mappings: Staffomatic user → Personio person.
	var users []domain.Mapping
	if tr != nil {
		users = tr.users
	} else if users, err = l.st.LoadMappings(ctx, l.tid, domain.KindUser); err != nil {
		return nil, fmt.Errorf("load user mappings: %w", err)
	}
	in.Persons = persons(users)

	// Personio's periods of a full run's windows: edits made there are restored, and a
	// marked period whose timer Staffomatic no longer lists was deleted there.
	var current map[string]personio.AttendancePeriod
	if in.Mode == domain.ModeFull {
		current = map[string]personio.AttendancePeriod{}
		in.Current = map[string]Period{}
		for _, w := range windows {
			if w.Zero() {
				continue
			}
			ps, perr := pc.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{
				StartFrom: personio.NewLocalDateTime(w.From.Add(-MaxPeriod).In(loc)), StartTo: personio.NewLocalDateTime(w.Until.In(loc))})
			if perr != nil {
				return nil, fmt.Errorf("load Personio attendance periods: %w", perr)
			}
			for _, ap := range ps {
				if _, key, ok := ParseMarker(ap.Comment); ok {
					current[ap.ID] = ap
					in.Current[ap.ID] = toPeriod(ap, key)
				}
			}
		}
		listed := map[string]bool{}
		for _, id := range ids {
			listed[id] = true
		}
		for _, ap := range current {
			// Periods are read from MaxPeriod before a window, to see those of timers that
			// began before it; but Staffomatic lists a timer only when it overlaps the
			// window, so a period that ends before it belongs to a timer that merely left
			// the window: not a deletion (with propagate_deletions on it would be deleted).
			if !overlapsAny(ap, loc, windows) {
				continue
			}
			if timerID, _, _ := ParseMarker(ap.Comment); !listed[timerID] {
				listed[timerID] = true
				missing = append(missing, timerID)
				ids = append(ids, timerID)
			}
		}
	}

	var maps map[string]domain.Mapping
	if tr != nil {
		maps = tr.maps // read by target id: a targeted run's ids are its targets
	} else if maps, err = l.st.GetMappings(ctx, l.tid, domain.KindTimer, ids); err != nil {
		return nil, fmt.Errorf("load timer mappings: %w", err)
	}
	for id, m := range maps {
		in.Mappings[id] = m
		if m.Reported != "" {
			in.Reported[id] = m.Reported
		}
	}
	if restoreTargeted {
		// Personio said a period changed: read the named timers' periods as Personio has
		// them, so an edit there is set back (Staffomatic leads) as in a full run.
		in.Current = map[string]Period{}
		for _, t := range in.Timers {
			person := ParseTargets(in.Mappings[t.ID].TargetIDs).Person
			if person == "" || t.EndsAt.IsZero() {
				continue
			}
			ps, perr := pc.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PersonIDs: []string{person},
				StartFrom: personio.NewLocalDateTime(t.StartsAt.Add(-MaxPeriod).In(loc)), StartTo: personio.NewLocalDateTime(t.EndsAt.In(loc))})
			if perr != nil {
				return nil, fmt.Errorf("load the Personio periods of work timer %s: %w", t.ID, perr)
			}
			for _, ap := range ps {
				if id, key, ok := ParseMarker(ap.Comment); ok && id == t.ID {
					in.Current[ap.ID] = toPeriod(ap, key)
				}
			}
		}
	}
	// A timer whose last attempt was cut short (its intent is recorded, State pending) or
	// failed (a POST may have landed although its answer was lost) may have periods in
	// Personio its mapping does not name: they are found by their marker and adopted, so
	// nothing is created twice (Personio's POST is not idempotent).
	for id, m := range in.Mappings {
		if m.State != domain.StatePending && m.State != domain.StateFailed {
			continue
		}
		found := current
		if retrying[id] {
			found = nil // the full run's periods do not reach back to it: read the person's
		}
		if err := adopt(ctx, pc, loc, &in, id, found); err != nil {
			return nil, err
		}
	}
	for _, id := range missing {
		m, ok := in.Mappings[id]
		if !ok || m.State == domain.StateDeleted {
			continue
		}
		d := Deleted{ID: id}
		tg := ParseTargets(m.TargetIDs)
		for uid, pid := range in.Persons {
			if pid == tg.Person {
				d.UserID = uid
				break
			}
		}
		if ap, ok := current[tg.Periods[KeyWork]]; ok {
			d.StartsAt = ap.Start.In(loc)
		}
		in.Deleted = append(in.Deleted, d)
	}
	if in.Mode == domain.ModeTargeted && !run.Request.DryRun {
		// The names are for the protocol only: a webhook's run reads them beside its
		// writes instead of before them (a latency less), and names its entries after.
		// A dry run waits for them, so its plan reads as the real run's protocol.
		l.late = lateNames(ctx, sc, run.Log, wanted(in))
	} else if err := names(ctx, sc, wanted(in), in.Names); err != nil {
		return nil, err
	}
	l.Input = in
	run.Log.InfoContext(ctx, "timesheets: loaded", "mode", in.Mode, "timers", len(in.Timers), "deleted", len(in.Deleted), "mappings", len(in.Mappings))
	return l, nil
}

// targetedReads is what a targeted run reads before it plans.
type targetedReads struct {
	loc *time.Location
	// restore: a Personio period was named, so the timers' periods are compared.
	restore bool
	timers  []staffomatic.WorkTimer
	breaks  map[int64][]staffomatic.BreakTimer
	missing []string // targeted timers Staffomatic no longer has
	users   []domain.Mapping
	maps    map[string]domain.Mapping // the timer mappings of the targets
}

// targetedTimers bounds the timers a targeted run reads at once (each is two calls).
const targetedTimers = 4

// targeted makes a targeted run's reads, which do not depend on each other, at once: the
// account's time zone (unless the process read it less than ZoneTTL ago), each timer with
// its breaks and the targets' timer mappings; then the mappings of the timers' users
// (timerUsers). A webhook's run waited for them one after the other (four vendor
// latencies and the DynamoDB reads before its first write); now it waits for the
// slowest. The timer mappings are read by target id, which is every id such a run
// compares: the timers found and those Staffomatic no longer has.
func (l *Loaded) targeted(ctx context.Context, run *phase.Run, zs *zones, pc *personio.Client, sc *staffomatic.Client) (*targetedReads, error) {
	targets, err := timerTargets(ctx, pc, l, run.Request.Targets)
	if err != nil {
		return nil, err
	}
	tr := &targetedReads{breaks: map[int64][]staffomatic.BreakTimer{}}
	var ids []int64
	seen := map[int64]bool{}
	for _, t := range targets {
		if t.Kind == domain.KindAttendance {
			tr.restore = true
		}
		id, perr := strconv.ParseInt(t.ID, 10, 64)
		if perr != nil || id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strconv.FormatInt(id, 10)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel() // the run fails: the other reads need not finish
		}
	}
	if tr.loc = zs.get(run.Tenant, l.now); tr.loc == nil {
		wg.Go(func() {
			loc, err := sc.TimeZone(ctx)
			if err != nil {
				fail(fmt.Errorf("load Staffomatic time zone: %w", err))
				return
			}
			tr.loc = loc
			zs.put(run.Tenant, loc, l.now)
		})
	}
	if !run.Request.DryRun {
		wg.Go(func() {
			// Personio's token (shared by the tenant's runs; fetched again about hourly and
			// by a new process) is fetched beside the reads instead of in front of the
			// first POST. Not getting it fails nothing here: the POST fetches it and tells.
			if err := pc.PrefetchV2Token(ctx); err != nil && ctx.Err() == nil {
				run.Log.WarnContext(ctx, "timesheets: the Personio token was not fetched ahead; the first write fetches it", "error", err)
			}
		})
	}
	wg.Go(func() {
		maps, err := l.st.GetMappings(ctx, l.tid, domain.KindTimer, keys)
		if err != nil {
			fail(fmt.Errorf("load timer mappings: %w", err))
		}
		tr.maps = maps
	})
	found := make([]*staffomatic.WorkTimer, len(ids))
	bs := make([][]staffomatic.BreakTimer, len(ids))
	gone := make([]bool, len(ids))
	slots := make(chan struct{}, targetedTimers)
	for i, id := range ids {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			var tw sync.WaitGroup
			tw.Go(func() {
				wt, err := sc.GetWorkTimer(ctx, id)
				switch {
				case staffomatic.IsNotFound(err):
					gone[i] = true
				case err != nil:
					fail(fmt.Errorf("load Staffomatic work timer %d: %w", id, err))
				default:
					found[i] = &wt
				}
			})
			b, err := sc.ListWorkTimerBreaks(ctx, id)
			tw.Wait()
			// The breaks of a timer Staffomatic no longer has do not matter (its answer
			// may be a 404 as well).
			if err != nil && !gone[i] {
				fail(fmt.Errorf("load the breaks of work timer %d: %w", id, err))
			}
			bs[i] = b
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	for i, id := range ids {
		switch {
		case gone[i]:
			tr.missing = append(tr.missing, keys[i])
		case found[i] != nil:
			tr.timers, tr.breaks[id] = append(tr.timers, *found[i]), bs[i]
		}
	}
	if tr.users, err = l.timerUsers(ctx, tr.timers); err != nil {
		return nil, err
	}
	return tr, nil
}

// persons maps Staffomatic user ids to Personio person ids by the user mappings. Keyed
// by target in source id order (LoadMappings' order), the last live mapping of a user
// wins: the one store.FindByTargets returns too, so a hint's run maps a user as a full
// run does.
func persons(users []domain.Mapping) map[string]string {
	out := make(map[string]string, len(users))
	for _, m := range users {
		if t := m.TargetID(); t != "" && m.State != domain.StateDeleted {
			out[t] = m.SourceID
		}
	}
	return out
}

// timerUsers reads the user mappings of the users whose timers a targeted run read: by
// their Staffomatic user ids through the reverse index (store.FindByTargets), not the
// tenant's whole list (about 1.5 MB at 5,000 users, for every hint). It runs once the
// timers are read, as they name the users: one DynamoDB round trip after the vendor
// reads. More users than store.MaxFindByTargets load the whole list, one paginated query.
// Both choose the same mapping for a user (persons).
func (l *Loaded) timerUsers(ctx context.Context, timers []staffomatic.WorkTimer) ([]domain.Mapping, error) {
	var uids []string
	seen := map[int64]bool{}
	for _, t := range timers {
		if !seen[t.UserID] {
			seen[t.UserID] = true
			uids = append(uids, strconv.FormatInt(t.UserID, 10))
		}
	}
	switch {
	case len(uids) == 0:
		return nil, nil
	case len(uids) > store.MaxFindByTargets:
		users, err := l.st.LoadMappings(ctx, l.tid, domain.KindUser)
		if err != nil {
			return nil, fmt.Errorf("load user mappings: %w", err)
		}
		return users, nil
	}
	found, err := l.st.FindByTargets(ctx, l.tid, domain.KindUser, uids)
	if err != nil {
		return nil, fmt.Errorf("load the user mappings of %d Staffomatic users: %w", len(uids), err)
	}
	users := make([]domain.Mapping, 0, len(found))
	for _, m := range found {
		users = append(users, m)
	}
	return users, nil
}

// overlapsAny reports whether period ap (an open one reaches into the future) overlaps one
// of the windows whose timers Staffomatic listed.
func overlapsAny(ap personio.AttendancePeriod, loc *time.Location, windows []Window) bool {
	start := ap.Start.In(loc)
	for _, w := range windows {
		if w.Zero() {
			continue
		}
		if start.Before(w.Until) && (ap.End == nil || ap.End.In(loc).After(w.From)) {
			return true
		}
	}
	return false
}

// RetrySpan is how far before the full window a full run looks for failing timers: the
// retry window and the day until the next full run, which gives them up.
const RetrySpan = domain.RetryWindow + 24*time.Hour

// retrySpan returns the timers of the RetrySpan before the full window that starts at
// from whose mapping is failed or pending (an attempt cut short), with their breaks.
func (l *Loaded) retrySpan(ctx context.Context, sc *staffomatic.Client, from time.Time) ([]staffomatic.WorkTimer, map[int64][]staffomatic.BreakTimer, error) {
	ts, err := sc.ListWorkTimers(ctx, staffomatic.TimerFilter{From: from.Add(-RetrySpan), Until: from})
	if err != nil {
		return nil, nil, fmt.Errorf("load the Staffomatic work timers of the retry span: %w", err)
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = strconv.FormatInt(t.ID, 10)
	}
	maps, err := l.st.GetMappings(ctx, l.tid, domain.KindTimer, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("load the timer mappings of the retry span: %w", err)
	}
	var out []staffomatic.WorkTimer
	breaks := map[int64][]staffomatic.BreakTimer{}
	for i, t := range ts {
		if m, ok := maps[ids[i]]; !ok || (m.State != domain.StateFailed && m.State != domain.StatePending) {
			continue
		}
		bs, err := sc.ListWorkTimerBreaks(ctx, t.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("load the breaks of work timer %d: %w", t.ID, err)
		}
		out, breaks[t.ID] = append(out, t), bs
	}
	return out, breaks, nil
}

// timerTargets resolves a targeted run's targets to work timers: a timer target as it is;
// an attendance period (a Personio webhook) to the timer its marker names, or, when
// Personio no longer has the period, to the timer whose mapping names it as WORK period.
// Periods staffsync did not write are not its business.
func timerTargets(ctx context.Context, pc *personio.Client, l *Loaded, targets []domain.Target) ([]domain.Target, error) {
	var out []domain.Target
	for _, t := range targets {
		switch t.Kind {
		case domain.KindTimer:
			out = append(out, t)
		case domain.KindAttendance:
			ap, err := pc.AttendancePeriod(ctx, t.ID)
			switch {
			case err == nil:
				if id, _, ok := ParseMarker(ap.Comment); ok {
					out = append(out, domain.Target{Kind: domain.KindAttendance, ID: id})
				}
			case personio.IsNotFound(err):
				m, ferr := l.st.FindByTarget(ctx, l.tid, domain.KindTimer, KeyWork+"="+t.ID)
				if ferr == nil {
					out = append(out, domain.Target{Kind: domain.KindAttendance, ID: m.SourceID})
				} else if !errors.Is(ferr, store.ErrNotFound) {
					return nil, fmt.Errorf("find the timer of Personio period %s: %w", t.ID, ferr)
				}
			default:
				return nil, fmt.Errorf("load Personio attendance period %s: %w", t.ID, err)
			}
		}
	}
	return out, nil
}

// fullWindows are the windows of a full run: the last FullWindow, and today's slice of the
// late-verification window (LateWindow, default three months, before the full window).
func fullWindows(now time.Time, late time.Duration) []Window {
	if late <= 0 {
		late = now.Sub(now.AddDate(0, -DefaultLateMonths, 0))
	}
	out := []Window{{From: now.Add(-FullWindow), Until: now.Add(time.Second)}}
	n := int((late - FullWindow + SweepSlice - 1) / SweepSlice)
	if n <= 0 {
		return out
	}
	k := int(now.Unix()/86400) % n
	until := now.Add(-FullWindow - time.Duration(k)*SweepSlice)
	return append(out, Window{From: until.Add(-SweepSlice), Until: until})
}

// adopt adds to timer id's mapping the periods a cut-short attempt created, found in
// current (a full run's read) or by reading the person's periods around the timer.
func adopt(ctx context.Context, pc periodWriter, loc *time.Location, in *Input, id string, current map[string]personio.AttendancePeriod) error {
	m := in.Mappings[id]
	tg := ParseTargets(m.TargetIDs)
	var t *Timer
	for i := range in.Timers {
		if in.Timers[i].ID == id {
			t = &in.Timers[i]
		}
	}
	person := tg.Person
	if t != nil && person == "" {
		person = in.Persons[t.UserID]
	}
	found := current
	if found == nil && t != nil && person != "" {
		found = map[string]personio.AttendancePeriod{}
		ps, err := pc.AttendancePeriods(ctx, personio.AttendancePeriodsOptions{PersonIDs: []string{person},
			StartFrom: personio.NewLocalDateTime(t.StartsAt.Add(-MaxPeriod).In(loc)), StartTo: personio.NewLocalDateTime(t.EndsAt.Add(MaxPeriod).In(loc))})
		if err != nil {
			return fmt.Errorf("look for the periods of work timer %s created before an interruption: %w", id, err)
		}
		for _, ap := range ps {
			found[ap.ID] = ap
		}
	}
	changed := false
	for pid, ap := range found {
		timerID, key, ok := ParseMarker(ap.Comment)
		if !ok || timerID != id || tg.Periods[key] == pid {
			continue
		}
		if tg.Periods[key] == "" {
			tg.Periods[key] = pid
			if tg.Person == "" {
				tg.Person = ap.PersonID
			}
			changed = true
		}
	}
	if changed {
		m.TargetIDs = EncodeTargets(tg)
		in.Mappings[id] = m
	}
	return nil
}

// namesByID is the most users names reads one by one; more are read as the user list.
const namesByID = 5

// wanted are the users whose timers are in the run: their names are read.
func wanted(in Input) map[string]bool {
	want := map[string]bool{}
	for _, t := range in.Timers {
		want[t.UserID] = true
	}
	for _, d := range in.Deleted {
		if d.UserID != "" {
			want[d.UserID] = true
		}
	}
	return want
}

// names fills out with the display names of the users in want, for readable reasons.
// A run about a few users (a webhook's targeted run) reads each of them at once instead
// of every page of the account's users, which for 5,000 users were 101 calls one after
// the other in front of every hint's writes.
func names(ctx context.Context, sc *staffomatic.Client, want map[string]bool, out map[string]string) error {
	if len(want) == 0 {
		return nil
	}
	name := func(u staffomatic.User) string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }
	if len(want) <= namesByID {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var first error
		for id := range want {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := sc.GetUser(ctx, n)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					out[id] = name(u)
				case staffomatic.IsNotFound(err): // deleted: the reason names the id
				case first == nil:
					first = fmt.Errorf("load Staffomatic user %s: %w", id, err)
				}
			}()
		}
		wg.Wait()
		return first
	}
	err := sc.EachUser(ctx, staffomatic.UserFilter{}, func(u staffomatic.User) error {
		if id := strconv.FormatInt(u.ID, 10); want[id] {
			out[id] = name(u)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load Staffomatic users: %w", err)
	}
	return nil
}

func containsBreak(bs []staffomatic.BreakTimer, id int64) bool {
	for _, b := range bs {
		if b.ID == id {
			return true
		}
	}
	return false
}

// toTimer converts a Staffomatic work timer and its break timers.
func toTimer(t staffomatic.WorkTimer, bs []staffomatic.BreakTimer) Timer {
	out := Timer{ID: strconv.FormatInt(t.ID, 10), UserID: strconv.FormatInt(t.UserID, 10), State: State(t.State),
		StartsAt: t.StartsAt, BreakSeconds: t.BreakDuration, NetSeconds: t.NetDuration, UpdatedAt: t.UpdatedAt}
	if t.EndsAt != nil {
		out.EndsAt = *t.EndsAt
	}
	for _, b := range bs {
		br := Break{ID: strconv.FormatInt(b.ID, 10), StartsAt: b.StartsAt}
		if b.EndsAt != nil {
			br.EndsAt = *b.EndsAt
		}
		out.Breaks = append(out.Breaks, br)
	}
	return out
}

// toPeriod converts a Personio period to the planner's form, for comparing.
func toPeriod(ap personio.AttendancePeriod, key string) Period {
	p := Period{Key: key, Type: PeriodType(ap.Type), Start: ap.Start.String(), Comment: ap.Comment}
	if ap.End != nil {
		p.End = ap.End.String()
	}
	return p
}

// input converts a planned period for Personio.
func input(person string, p Period) (personio.AttendancePeriodInput, error) {
	start, err := personio.ParseLocalDateTime(p.Start)
	if err != nil {
		return personio.AttendancePeriodInput{}, fmt.Errorf("period %s start %q: %w", p.Key, p.Start, err)
	}
	end, err := personio.ParseLocalDateTime(p.End)
	if err != nil {
		return personio.AttendancePeriodInput{}, fmt.Errorf("period %s end %q: %w", p.Key, p.End, err)
	}
	return personio.AttendancePeriodInput{PersonID: person, Type: string(p.Type), Start: start, End: &end, Comment: p.Comment}, nil
}
