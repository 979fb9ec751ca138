package usersync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
)

// ErrRequiredAttributes is wrapped by Apply when the Personio credential hides required
// attributes: the run fails and nothing is changed.
var ErrRequiredAttributes = errors.New("required Personio attributes are not readable")

// applier carries one apply call's shared state.
type applier struct {
	r      *job
	l      *Loaded
	mu     sync.Mutex
	failed int
	err    error // first protocol write error
}

// apply carries out the plan: employees concurrently (at most r.Concurrency at once), the
// steps of one employee's action in order. Each Staffomatic write is followed by its
// mapping write (a create's mapping immediately, so a crash never leads to a second
// create), and each employee's action by one protocol entry. Unchanged conflicts and skips are
// not reported again, so a run without changes writes nothing but its summary. When every
// action succeeded, the run's start becomes the cursor of the next partial run; a failed
// action leaves the cursor, so the next partial run reads the employee again.
func apply(ctx context.Context, l *Loaded, p Plan) error {
	r := l.job
	a := &applier{r: r, l: l}
	if len(p.Actions) == 1 && p.Actions[0].Kind == ActFail {
		act := p.Actions[0]
		a.record(ctx, act, "", domain.OutcomeFailed, act.Tell(domain.OutcomeFailed, len(act.Steps), nil))
		if a.err != nil {
			return a.err
		}
		return fmt.Errorf("%w: %s", ErrRequiredAttributes, strings.Join(l.Input.MissingAttributes, ", "))
	}

	acted := make(map[string]bool, len(p.Actions))
	for _, act := range p.Actions {
		acted[act.PersonioID] = true
	}
	// The employees compared that need no action are counted without a protocol entry:
	// as skipped when the planner left out their report because an earlier run wrote it
	// unchanged, else as unchanged.
	repeated := map[string]bool{}
	for _, id := range p.Repeated {
		repeated[id] = true
	}
	for _, e := range l.Input.Employees {
		switch {
		case acted[e.PersonioID]:
		case repeated[e.PersonioID]:
			r.rec.Count(domain.OutcomeSkipped, 1)
		default:
			r.rec.Count(domain.OutcomeUnchanged, 1)
		}
	}
	n := r.Concurrency
	if n <= 0 {
		n = 8
	}
	// A failed action is recorded by employee and is no error here; a panic in one
	// employee becomes the run's error instead of ending the process.
	err := phase.ForEach(ctx, n, p.Actions, func(ctx context.Context, act Action) error {
		a.employee(ctx, act)
		return nil
	})
	if a.err != nil {
		return a.err
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("apply users: %w", err)
	}
	if a.failed == 0 && l.Mode != domain.ModeTargeted {
		r.rec.SetCursor(r.Now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// employee applies the steps of one employee's action in order and records the action
// as one protocol entry. The first failure ends the steps, because the later ones (lock,
// invite) assume the earlier ones (create, update) happened; the entry then says which
// steps were done, which failed and which were not tried. An action stopped with the run
// before its first step is not told (nothing happened); one stopped midway is a failure.
func (a *applier) employee(ctx context.Context, act Action) {
	link, linked := a.l.links[act.PersonioID]
	if !linked {
		link = domain.Link{PersonioID: act.PersonioID}
	}
	done := 0
	var err error
	for _, st := range act.Steps {
		if cerr := ctx.Err(); cerr != nil {
			if done == 0 {
				return
			}
			err = fmt.Errorf("the run was stopped: %w", cerr)
			break
		}
		var next domain.Link
		if next, err = a.one(ctx, st, link); err != nil {
			a.r.log().WarnContext(ctx, "user action failed", "action", st.Kind, "personio_id", act.PersonioID, "user_id", st.UserID, "error", err)
			if next.UserID != "" {
				link = next
			}
			break
		}
		link = next
		done++
	}
	o := act.Outcome()
	if err != nil {
		o = domain.OutcomeFailed
		a.mu.Lock()
		a.failed++
		a.mu.Unlock()
	}
	a.record(ctx, act, link.UserID, o, act.Tell(o, done, err))
}

// one applies one step and returns the employee's link after it.
func (a *applier) one(ctx context.Context, act Step, link domain.Link) (domain.Link, error) {
	s := a.r.writer
	switch act.Kind {
	case ActCreate:
		// A user that exists in Staffomatic is mapped even when the run is being stopped,
		// or the next run depends on the custom_id match alone.
		uid, err := phase.CreateThenMap(ctx, func(ctx context.Context) (string, error) {
			return s.CreateUser(ctx, *act.Fields, act.Invite)
		}, func(mctx context.Context, uid string) error {
			link = domain.Link{PersonioID: act.PersonioID, UserID: uid, Invited: act.Invite, LockedBySync: act.LockedBySync}
			return a.putLink(mctx, link)
		})
		if errors.Is(err, phase.ErrNotMapped) {
			return link, fmt.Errorf("user %s created, its mapping not stored (the next run matches it by custom_id): %w", uid, err)
		}
		if err != nil {
			return link, fmt.Errorf("create user: %w", err)
		}
		if act.Lock {
			if err := s.LockUser(ctx, uid); err != nil {
				return link, fmt.Errorf("user %s created, lock failed (the next run locks it): %w", uid, err)
			}
		}
		return link, nil
	case ActLink:
		next := link
		next.PersonioID, next.UserID = act.PersonioID, act.UserID
		if act.MarkInvited {
			next.Invited = true
		}
		if next.UserID != link.UserID {
			// A new user for this employee: flags about the previous one do not carry over.
			next.Invited, next.LockedBySync = act.MarkInvited, false
		}
		if err := a.putLink(ctx, next); err != nil {
			return link, err
		}
		return next, nil
	case ActUpdate:
		if err := s.UpdateUser(ctx, act.UserID, *act.Fields); err != nil {
			return link, fmt.Errorf("update user: %w", err)
		}
		return link, nil
	case ActLock, ActUnlock, ActInvite:
		var err error
		next := link
		switch act.Kind {
		case ActLock:
			err = s.LockUser(ctx, act.UserID)
			next.LockedBySync = true
		case ActUnlock:
			err = s.UnlockUser(ctx, act.UserID)
			next.LockedBySync = false
		case ActInvite:
			err = s.SendInvitation(ctx, act.UserID)
			next.Invited = true
		}
		if err != nil {
			return link, fmt.Errorf("%s: %w", act.Kind, err)
		}
		if next != link {
			if err := a.putLink(ctx, next); err != nil {
				return link, fmt.Errorf("%s done, mapping not stored: %w", act.Kind, err)
			}
		}
		return next, nil
	case ActConflict, ActSkip:
		// The planner left out what was reported unchanged before: each report here is
		// new, written to the protocol and remembered by its fingerprint.
		if act.PersonioID == "" || act.Report == "" {
			return link, nil
		}
		if link.UserID != "" {
			// A mapped employee's conflict (a new e-mail taken by another user) or skip (a
			// leaver whose user an admin deleted) is remembered in its mapping, which keeps
			// its user and flags (also a link made earlier in this run).
			next := link
			next.Reported = act.Report
			if err := a.putLink(ctx, next); err != nil {
				return link, fmt.Errorf("store reported conflict: %w", err)
			}
			return next, nil
		}
		m := domain.Mapping{Tenant: a.r.Tenant.ID, Kind: domain.KindUser, SourceID: act.PersonioID, Reported: act.Report,
			State: domain.StateReported, LastError: act.Reason, UpdatedAt: a.r.Now}
		if err := a.r.Store.PutMapping(ctx, m); err != nil {
			return link, fmt.Errorf("store reported %s: %w", act.Kind, err)
		}
		return link, nil
	}
	return link, fmt.Errorf("unknown action %q", act.Kind)
}

func (a *applier) putLink(ctx context.Context, l domain.Link) error {
	m := domain.Mapping{Tenant: a.r.Tenant.ID, Kind: domain.KindUser, SourceID: l.PersonioID, TargetIDs: []string{l.UserID},
		Invited: l.Invited, LockedBySync: l.LockedBySync, Reported: l.Reported, State: domain.StateTransferred, UpdatedAt: a.r.Now}
	if err := a.r.Store.PutMapping(ctx, m); err != nil {
		return fmt.Errorf("store user mapping: %w", err)
	}
	return nil
}

// record writes the action's protocol entry (counted by the harness). It uses a context
// detached from cancellation: what was done must be told even when the run is being
// stopped.
func (a *applier) record(ctx context.Context, act Action, userID string, o domain.Outcome, reason string) {
	e := domain.ProtocolEntry{Kind: domain.KindUser, SourceID: act.PersonioID, TargetID: act.target(userID), Action: string(act.Kind),
		Outcome: o, Reason: reason, Person: act.Person, Changes: act.Changes}
	if err := a.r.rec.Record(context.WithoutCancel(ctx), e); err != nil {
		a.mu.Lock()
		if a.err == nil {
			a.err = fmt.Errorf("write protocol: %w", err)
		}
		a.mu.Unlock()
	}
}
