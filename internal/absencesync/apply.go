package absencesync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// applyPlan carries out the plan, sources concurrently (at most Loaded.concurrency at once),
// the writes of one source in the order Action documents: its deletes, then its creates
// (a Staffomatic absence to approve is approved right after its create), then the
// approvals of existing absences. Nothing is created twice, even when the process dies
// between a create and the mapping write: before the first create of a source its intent
// is stored (the mapping in state pending), every created record carries Marker in its
// justification or comment, and the next run adopts what it finds by that marker (Load),
// so the planner deletes it rather than a second copy being made. Every action is told in
// the protocol; a failed write is the source's failure (the vendor's sanitised message),
// retried by later runs for domain.RetryWindow from its first failure, then given up and
// reported; it never fails the run.
func applyPlan(ctx context.Context, rec phase.Recorder, l *Loaded, p Plan) error {
	rec.Count(domain.OutcomeUnchanged, p.Unchanged)
	rec.Count(domain.OutcomeSkipped, p.Repeated)
	n := l.concurrency
	if n <= 0 {
		n = 4
	}
	err := phase.RecordEach(ctx, rec, n, p.Actions, func(ctx context.Context, a Action) (domain.ProtocolEntry, error) {
		outcome, targets, extra, err := one(ctx, l, a)
		return domain.ProtocolEntry{Kind: domain.KindAbsence, SourceID: a.Source, TargetID: strings.Join(targets, ","),
			Action: string(a.Kind), Outcome: outcome, Reason: a.Tell(outcome, extra), Person: a.Person, AbsenceType: a.AbsenceType}, err
	})
	if err != nil {
		return fmt.Errorf("apply absences: %w", err)
	}
	// Every action started, but the run was stopped (the deadline's margin) while some
	// were under way: they are failed records "stopped before it ended", not written. The
	// run fails and the cursor stays, so the next partial run reads those sources again
	// instead of leaving them to the nightly full run.
	if ctx.Err() != nil {
		return fmt.Errorf("apply absences: stopped while writing: %w", context.Cause(ctx))
	}
	l.prune(ctx, p.Prune)
	if l.mode != domain.ModeTargeted {
		rec.SetCursor(l.now.Format(time.RFC3339Nano))
	}
	return nil
}

// prune removes the mappings that count for nothing any more (Plan.Prune), after every
// write of the run. A failure is logged and left to the next full run: the mappings are
// as harmless as before, and the run's writes stand.
func (l *Loaded) prune(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	log := l.log
	if log == nil {
		log = slog.Default()
	}
	if err := l.st.DeleteMappings(ctx, l.tid, domain.KindAbsence, keys); err != nil {
		log.WarnContext(ctx, "absences: pruning mappings failed; the next full run tries again", "mappings", len(keys), "error", err)
		return
	}
	log.InfoContext(ctx, "absences: pruned mappings of absences removed before the window", "mappings", len(keys))
}

// one applies one action and returns its outcome, the source's target ids and what to add
// to its reason (why it failed); an error is a failed mapping write (the run's problem, not
// the absence's).
func one(ctx context.Context, l *Loaded, a Action) (domain.Outcome, []string, string, error) {
	l0, mapped := l.mappings[a.Source]
	m := l0
	m.TargetIDs = slices.Clone(l0.TargetIDs)
	m.Tenant, m.Kind, m.SourceID, m.UpdatedAt = l.tid, domain.KindAbsence, a.Source, l.now
	put := func(m domain.Mapping) error {
		if err := phase.Detached(ctx, func(ctx context.Context) error { return l.st.PutMapping(ctx, m) }); err != nil {
			return fmt.Errorf("store the mapping of absence %s: %w", a.Source, err)
		}
		return nil
	}
	switch a.Kind {
	case ActReport:
		if !mapped || m.State == "" {
			m.State = domain.StateReported
		}
		m.Reported = a.Report
		if err := put(m); err != nil {
			return "", nil, "", err
		}
		return domain.OutcomeReported, m.TargetIDs, "", nil
	case ActForget:
		m.State, m.TargetIDs, m.Hash = domain.StateDeleted, nil, ""
		if err := put(m); err != nil {
			return "", nil, "", err
		}
		return domain.OutcomeSkipped, nil, "", nil
	}

	targets := slices.Clone(m.TargetIDs)
	if a.Kind == ActApprove && len(a.Keep) > 0 {
		targets = slices.Clone(a.Keep)
	}
	fail := func(cause error) (domain.Outcome, []string, string, error) {
		msg := cause.Error()
		m.TargetIDs = targets
		if ctx.Err() != nil {
			// The run is being stopped, the absence did not fail: the mapping stays
			// pending (a create may have landed unanswered), and the next run adopts it.
			m.State = domain.StatePending
			if err := put(m); err != nil {
				return "", nil, "", err
			}
			return domain.OutcomeFailed, targets, "; stopped before it ended: " + msg, nil
		}
		if a.Hash != "" {
			m.Hash = a.Hash
		}
		reason := "; failed: " + msg
		if !m.RecordFailure(l.now, msg, domain.RetryWindow) {
			reason += fmt.Sprintf("; given up after %d attempts since %s", m.Attempts, m.FirstFailureAt.Format(time.DateOnly))
		}
		if err := put(m); err != nil {
			return "", nil, "", err
		}
		return domain.OutcomeFailed, targets, reason, nil
	}

	for _, id := range a.Delete {
		if err := l.delete(ctx, a.To, id); err != nil {
			return fail(fmt.Errorf("delete %s %s: %w", a.To, id, err))
		}
		targets = slices.DeleteFunc(targets, func(t string) bool { return t == id })
	}
	if len(a.Absences) > 0 || len(a.Periods) > 0 {
		// The intent: a run cut short after a create leaves the mapping pending, and the
		// next run adopts what it finds by marker instead of creating it again.
		intent := m
		intent.State, intent.TargetIDs = domain.StatePending, targets
		if err := put(intent); err != nil {
			return "", nil, "", err
		}
	}
	for i, x := range a.Absences {
		id, err := l.createAbsence(ctx, a.Source, i, x)
		if err != nil {
			return fail(fmt.Errorf("create the Staffomatic absence %s: %w", fmtSpan(x.Span, l.Input.Location), err))
		}
		targets = append(targets, id)
		if x.Approve {
			if err := l.approve(ctx, id); err != nil {
				return fail(fmt.Errorf("approve Staffomatic absence %s: %w", id, err))
			}
		}
	}
	for i, pd := range a.Periods {
		id, err := l.createPeriod(ctx, a.Source, i, pd)
		if err != nil {
			return fail(fmt.Errorf("create the Personio absence period %s: %w", fmtPeriodSpan(pd.PeriodSpan), err))
		}
		targets = append(targets, id)
	}
	for _, id := range a.Approve {
		if err := l.approve(ctx, id); err != nil {
			return fail(fmt.Errorf("approve Staffomatic absence %s: %w", id, err))
		}
	}

	outcome := domain.OutcomeCreated
	m.State, m.Hash, m.TargetIDs = domain.StateTransferred, a.Hash, targets
	switch a.Kind {
	case ActRecreate, ActApprove:
		outcome = domain.OutcomeUpdated
		if len(a.Absences) == 0 && len(a.Periods) == 0 && a.Kind == ActRecreate {
			outcome = domain.OutcomeDeleted
		}
	case ActRemove:
		outcome = domain.OutcomeDeleted
		m.State, m.Hash, m.TargetIDs = domain.StateDeleted, "", nil
	}
	m.FirstFailureAt, m.Attempts, m.LastError, m.Reported = time.Time{}, 0, "", ""
	if err := put(m); err != nil {
		return "", nil, "", err
	}
	return outcome, targets, "", nil
}

// delete deletes one target; one already gone counts as deleted.
func (l *Loaded) delete(ctx context.Context, sys domain.System, id string) error {
	if sys == domain.SystemPersonio {
		if err := l.pw.DeleteAbsencePeriod(ctx, id); err != nil && !personio.IsNotFound(err) {
			return err
		}
		return nil
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid Staffomatic absence id %q", id)
	}
	if err := l.sw.DeleteAbsence(ctx, n); err != nil && !staffomatic.IsNotFound(err) {
		return err
	}
	return nil
}

func (l *Loaded) approve(ctx context.Context, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid Staffomatic absence id %q", id)
	}
	_, err = l.sw.ApproveAbsence(ctx, n, false)
	return err
}

func (l *Loaded) createAbsence(ctx context.Context, key string, i int, x NewAbsence) (string, error) {
	user, err1 := strconv.ParseInt(x.UserID, 10, 64)
	cat, err2 := strconv.ParseInt(x.CategoryID, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return "", fmt.Errorf("invalid user or category id: %w", err)
	}
	locID, _ := strconv.ParseInt(x.LocationID, 10, 64)
	created, err := l.sw.CreateAbsence(ctx, staffomatic.NewAbsence{LocationID: locID, ApplicantID: user, AbsenceTypeID: cat,
		StartsAt: x.Start, EndsAt: x.End, AllDay: x.AllDay, IncludeWeekends: x.IncludeWeekends, Paid: x.Paid, Vacation: x.Vacation,
		Justification: Marker(key, i)})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(created.ID, 10), nil
}

func (l *Loaded) createPeriod(ctx context.Context, key string, i int, p NewPeriod) (string, error) {
	end := personio.NewLocalDateTime(p.End)
	return l.pw.CreateAbsencePeriod(ctx, personio.AbsencePeriodInput{PersonID: p.PersonID, AbsenceTypeID: p.TypeID,
		Start: personio.NewLocalDateTime(p.Start), StartHalf: string(p.StartHalf), End: &end, EndHalf: string(p.EndHalf),
		Comment: Marker(key, i)}, p.SkipApproval)
}
