package timesync

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
)

// apply carries out the plan, timers concurrently (at most Loaded.concurrency at once), the
// writes of one timer in order: deletes, patches, then its creates at once. Nothing is created twice, even
// when the process dies between a POST and the mapping write: before the first create of
// a timer its intent is stored (the mapping in state pending), and the next run looks for
// the periods of a pending timer by the marker in their comment and adopts them (Load).
// Every action is told in the protocol; a failed write is retried by later runs for
// domain.RetryWindow from its first failure, then given up and reported. The cursor
// advances also when some timers failed: their mappings say so, and the daily full run,
// which reads the last 7 days, retries them.
func apply(ctx context.Context, rec phase.Recorder, l *Loaded, p Plan) error {
	rec.Count(domain.OutcomeUnchanged, p.Unchanged)
	rec.Count(domain.OutcomeSkipped, p.Repeated)
	n := l.concurrency
	if n <= 0 {
		n = 4
	}
	err := phase.RecordEach(ctx, rec, n, p.Actions, func(ctx context.Context, a Action) (domain.ProtocolEntry, error) {
		outcome, targets, reason, err := one(ctx, l, p.SkipApproval, a)
		if l.late != nil {
			a, reason = l.late.name(a, reason)
		}
		return domain.ProtocolEntry{Kind: domain.KindTimer, SourceID: a.TimerID, TargetID: strings.Join(targets, ","),
			Action: string(a.Kind), Outcome: outcome, Reason: a.Tell(outcome, reason), Person: a.Person}, err
	})
	if err != nil {
		return fmt.Errorf("apply timesheets: %w", err)
	}
	if l.Input.Mode != domain.ModeTargeted {
		rec.SetCursor(l.now.Format(time.RFC3339Nano))
	}
	return nil
}

// one applies one action and returns its outcome, the timer's period ids and the reason
// to record; an error is a failed mapping write (the run's problem, not the timer's).
func one(ctx context.Context, l *Loaded, skipApproval bool, a Action) (domain.Outcome, []string, string, error) {
	m, mapped := l.Input.Mappings[a.TimerID]
	if !mapped {
		m = domain.Mapping{Tenant: l.tid, Kind: domain.KindTimer, SourceID: a.TimerID}
	}
	m.Tenant, m.Kind, m.SourceID, m.UpdatedAt = l.tid, domain.KindTimer, a.TimerID, l.now
	put := func(m domain.Mapping) error {
		if err := phase.Detached(ctx, func(ctx context.Context) error { return l.st.PutMapping(ctx, m) }); err != nil {
			return fmt.Errorf("store the mapping of work timer %s: %w", a.TimerID, err)
		}
		return nil
	}
	if !a.Kind.Writes() {
		return report(l, m, mapped, a, put)
	}

	tg := ParseTargets(m.TargetIDs)
	if tg.Periods == nil {
		tg.Periods = map[string]string{}
	}
	if len(a.Create) > 0 {
		// The intent: a run cut short after a POST leaves the mapping pending, and the next
		// run adopts what it finds by marker instead of creating it again.
		intent := m
		intent.State = domain.StatePending
		if err := put(intent); err != nil {
			return "", nil, "", err
		}
	}
	byID := map[string]string{} // period id → key, of the periods known before
	for k, id := range tg.Periods {
		byID[id] = k
	}
	fail := func(cause error) (domain.Outcome, []string, string, error) {
		msg := cause.Error()
		m.TargetIDs = EncodeTargets(tg)
		reason := a.Reason + "; failed: " + msg
		if ctx.Err() != nil {
			// The run is being stopped, the timer did not fail: the mapping stays pending
			// (a write may have landed unanswered), and the next run adopts what it finds.
			m.State = domain.StatePending
			if err := put(m); err != nil {
				return "", nil, "", err
			}
			return domain.OutcomeFailed, tg.IDs(), a.Reason + "; stopped before it ended: " + msg, nil
		}
		if !m.RecordFailure(l.now, msg, domain.RetryWindow) {
			g := a.GiveUp(msg, m.FirstFailureAt)
			m.Reported, reason = g.Report, g.Reason
		}
		if err := put(m); err != nil {
			return "", nil, "", err
		}
		return domain.OutcomeFailed, tg.IDs(), reason, nil
	}
	for _, id := range a.Delete {
		if err := l.w.DeleteAttendancePeriod(ctx, id); err != nil && !personio.IsNotFound(err) {
			return fail(fmt.Errorf("delete period %s: %w", id, err))
		}
		delete(tg.Periods, byID[id])
	}
	person := a.PersonID
	for _, pw := range a.Patch {
		in, err := input(person, pw.Period)
		if err != nil {
			return fail(err)
		}
		if err := l.w.UpdateAttendancePeriod(ctx, pw.ID, in, skipApproval); err != nil {
			return fail(fmt.Errorf("update period %s (%s): %w", pw.ID, pw.Key, err))
		}
		tg.Periods[pw.Key] = pw.ID
	}
	for k, id := range a.Keep {
		tg.Periods[k] = id
	}
	if err := create(ctx, l.w, person, skipApproval, a.Create, tg.Periods); err != nil {
		return fail(err)
	}
	if person != "" {
		tg.Person = person
	}
	m.Hash, m.State = cmp.Or(a.Stored, a.Hash), domain.StateTransferred
	if a.Kind == ActDelete {
		tg.Periods = map[string]string{}
		m.State = domain.StateDeleted
	}
	m.TargetIDs = EncodeTargets(tg)
	m.FirstFailureAt, m.Attempts, m.LastError, m.Reported = time.Time{}, 0, "", ""
	if err := put(m); err != nil {
		return "", nil, "", err
	}
	return a.Kind.Outcome(), tg.IDs(), a.Reason, nil
}

// create POSTs a timer's new periods at once and adds the ids Personio gave them to
// periods (key → id), also when another of them failed; the error is the first failed
// period's, in plan order. They go at once because none depends on another: Personio
// checks a period only against the person's periods of its own type (the notes: WORK
// periods must not overlap; a BREAK lies inside its WORK in the UI model, and no rule
// asks for the WORK to exist first), the deletes and patches that free their time are
// done before, and one timer's breaks do not overlap each other. A webhook's timer
// waited for its WORK period's answer before its BREAK was sent: one latency more.
func create(ctx context.Context, w periodWriter, person string, skipApproval bool, ps []Period, periods map[string]string) error {
	ins := make([]personio.AttendancePeriodInput, len(ps))
	for i, pd := range ps {
		in, err := input(person, pd)
		if err != nil {
			return err
		}
		ins[i] = in
	}
	ids := make([]string, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, pd := range ps {
		wg.Go(func() {
			id, err := w.CreateAttendancePeriod(ctx, ins[i], skipApproval)
			if err != nil {
				errs[i] = fmt.Errorf("create the %s period %s: %w", strings.ToLower(string(pd.Type)), pd.Key, err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	var first error
	for i, pd := range ps {
		if errs[i] == nil {
			periods[pd.Key] = ids[i]
		} else if first == nil {
			first = errs[i]
		}
	}
	return first
}

// report remembers a report action in the timer's mapping (its fingerprint, and the
// retry bookkeeping of a failure) and returns its outcome. A transferred timer keeps its
// state and periods beside the report.
func report(l *Loaded, m domain.Mapping, mapped bool, a Action, put func(domain.Mapping) error) (domain.Outcome, []string, string, error) {
	reason := a.Reason
	switch a.Kind {
	case ActUnmapped:
		// Retried while the retry window lasts; the planner gives up after it.
		m.RecordFailure(l.now, a.Cause, domain.RetryWindow)
	case ActGiveUp:
		m.State, m.LastError = domain.StateGaveUp, a.Cause
		if m.FirstFailureAt.IsZero() {
			m.FirstFailureAt = l.now
		}
	case ActInvalid:
		m.LastError = a.Cause
		if !mapped || m.State == "" {
			m.State = domain.StateFailed
			m.FirstFailureAt = l.now
		}
	default:
		if !mapped || m.State == "" {
			m.State = domain.StateReported
		}
	}
	m.Reported = a.Report
	if err := put(m); err != nil {
		return "", nil, "", err
	}
	return a.Kind.Outcome(), ParseTargets(m.TargetIDs).IDs(), reason, nil
}
