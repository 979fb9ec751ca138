package usersync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// ErrRequiredAttributes is wrapped by Apply when the Personio credential hides required
// attributes: the run fails and nothing is changed.
var ErrRequiredAttributes = errors.New("required Personio attributes are not readable")

// linkHash encodes the flags of a user mapping in the mapping's Hash. The user sync
// compares live Staffomatic data with Personio instead of a content hash (so admin edits
// in Staffomatic are seen and overwritten), which leaves Hash free to carry what must
// survive between runs: the invitation was sent, the lock is staffsync's.
func linkHash(l Link) string {
	h := "invited=" + strconv.FormatBool(l.Invited) + ";locked_by_sync=" + strconv.FormatBool(l.LockedBySync)
	if l.Reported != "" {
		h += ";reported=" + l.Reported
	}
	return h
}

func decodeLink(m domain.Mapping) Link {
	l := Link{PersonioID: m.SourceID, UserID: m.TargetID()}
	for _, part := range strings.Split(m.Hash, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "invited":
			l.Invited = v == "true"
		case "locked_by_sync":
			l.LockedBySync = v == "true"
		case "reported":
			l.Reported = v
		}
	}
	return l
}

// reportHash identifies a conflict or skip as reported, so the next run reports it again
// only when it changed.
func reportHash(a Action) string {
	sum := sha256.Sum256([]byte(string(a.Kind) + "|" + strings.Join(a.UserIDs, ",") + "|" + a.Reason))
	return "report:" + hex.EncodeToString(sum[:8])
}

// applier carries one apply call's shared state.
type applier struct {
	r      *job
	l      *Loaded
	mu     sync.Mutex
	failed int
	err    error // first protocol write error
}

// apply carries out the plan: employees concurrently (at most r.Concurrency at once), the
// actions of one employee in order. Each Staffomatic write is followed by its mapping
// write (a create's mapping immediately, so a crash never leads to a second create), and
// each change, conflict and skip by one protocol entry. Unchanged conflicts and skips are
// not reported again, so a run without changes writes nothing but its summary. When every
// action succeeded, the run's start becomes the cursor of the next partial run; a failed
// action leaves the cursor, so the next partial run reads the employee again.
func apply(ctx context.Context, l *Loaded, p Plan) error {
	r := l.job
	a := &applier{r: r, l: l}
	if len(p.Actions) == 1 && p.Actions[0].Kind == ActFail {
		act := p.Actions[0]
		a.record(ctx, act, "", domain.OutcomeFailed, act.Reason)
		if a.err != nil {
			return a.err
		}
		return fmt.Errorf("%w: %s", ErrRequiredAttributes, strings.Join(l.Input.MissingAttributes, ", "))
	}

	var order []string
	groups := map[string][]Action{}
	for _, act := range p.Actions {
		if _, ok := groups[act.PersonioID]; !ok {
			order = append(order, act.PersonioID)
		}
		groups[act.PersonioID] = append(groups[act.PersonioID], act)
	}
	// The employees compared that need no action are counted without a protocol entry.
	for _, e := range l.Input.Employees {
		if _, acted := groups[e.PersonioID]; !acted {
			r.run.Count(domain.OutcomeUnchanged, 1)
		}
	}
	n := r.Concurrency
	if n <= 0 {
		n = 8
	}
	// A failed action is recorded by employee and is no error here; a panic in one
	// employee becomes the run's error instead of ending the process.
	err := phase.ForEach(ctx, n, order, func(ctx context.Context, pid string) error {
		a.employee(ctx, groups[pid])
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
		r.run.SetCursor(r.Now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// employee applies the actions of one employee in order; the first failure ends them,
// because the later ones (lock, invite) assume the earlier ones (create, update) happened.
func (a *applier) employee(ctx context.Context, acts []Action) {
	link, linked := a.l.links[acts[0].PersonioID]
	if !linked {
		link = Link{PersonioID: acts[0].PersonioID}
	}
	for _, act := range acts {
		if ctx.Err() != nil {
			return
		}
		next, outcome, err := a.one(ctx, act, link)
		if err != nil {
			a.r.log().WarnContext(ctx, "user action failed", "action", act.Kind, "personio_id", act.PersonioID, "user_id", act.UserID, "error", err)
			a.record(ctx, act, next.UserID, domain.OutcomeFailed, act.Reason+"; failed: "+err.Error())
			a.mu.Lock()
			a.failed++
			a.mu.Unlock()
			return
		}
		link = next
		if outcome != "" {
			a.record(ctx, act, link.UserID, outcome, act.Reason)
		} else {
			a.r.run.Count(domain.OutcomeSkipped, 1) // a conflict or skip reported by an earlier run
		}
	}
}

// one applies one action and returns the employee's link after it, and the outcome to
// record ("" when nothing is to be reported).
func (a *applier) one(ctx context.Context, act Action, link Link) (Link, domain.Outcome, error) {
	s := a.r.Staffomatic
	switch act.Kind {
	case ActCreate:
		f := act.Fields
		nu := staffomatic.NewUser{FirstName: f.FirstName, LastName: f.LastName, Email: f.Email, CustomID: f.CustomID,
			MaxVacationDays: f.VacationDays, Invite: act.Invite}
		if f.WeeklyHours != nil {
			h := monthlyHours(*f.WeeklyHours)
			nu.MaxHoursPerMonth = &h
		}
		ids, err := parseIDs(f.DepartmentIDs)
		if err != nil {
			return link, "", err
		}
		nu.DepartmentIDs = ids
		var lid int64
		if f.LocationID != "" {
			if lid, err = strconv.ParseInt(f.LocationID, 10, 64); err != nil {
				return link, "", fmt.Errorf("location id %q: %w", f.LocationID, err)
			}
		}
		// A user that exists in Staffomatic is mapped even when the run is being stopped,
		// or the next run depends on the custom_id match alone.
		u, err := phase.CreateThenMap(ctx, func(ctx context.Context) (staffomatic.User, error) {
			return s.CreateUser(ctx, lid, nu)
		}, func(mctx context.Context, u staffomatic.User) error {
			link = Link{PersonioID: act.PersonioID, UserID: strconv.FormatInt(u.ID, 10), Invited: act.Invite, LockedBySync: act.LockedBySync}
			return a.putLink(mctx, link)
		})
		if errors.Is(err, phase.ErrNotMapped) {
			return link, "", fmt.Errorf("user %d created, its mapping not stored (the next run matches it by custom_id): %w", u.ID, err)
		}
		if err != nil {
			return link, "", fmt.Errorf("create user: %w", err)
		}
		if act.Lock {
			if _, err := s.LockUser(ctx, u.ID); err != nil {
				return link, "", fmt.Errorf("user %d created, lock failed (the next run locks it): %w", u.ID, err)
			}
		}
		return link, domain.OutcomeCreated, nil
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
			return link, "", err
		}
		return next, domain.OutcomeUpdated, nil
	case ActUpdate:
		id, err := strconv.ParseInt(act.UserID, 10, 64)
		if err != nil {
			return link, "", fmt.Errorf("user id %q: %w", act.UserID, err)
		}
		up, err := userUpdate(*act.Fields)
		if err != nil {
			return link, "", err
		}
		if _, err := s.UpdateUser(ctx, id, up); err != nil {
			return link, "", fmt.Errorf("update user: %w", err)
		}
		return link, domain.OutcomeUpdated, nil
	case ActLock, ActUnlock, ActInvite:
		id, err := strconv.ParseInt(act.UserID, 10, 64)
		if err != nil {
			return link, "", fmt.Errorf("user id %q: %w", act.UserID, err)
		}
		next := link
		switch act.Kind {
		case ActLock:
			_, err = s.LockUser(ctx, id)
			next.LockedBySync = true
		case ActUnlock:
			_, err = s.UnlockUser(ctx, id)
			next.LockedBySync = false
		case ActInvite:
			_, err = s.SendInvitation(ctx, id)
			next.Invited = true
		}
		if err != nil {
			return link, "", fmt.Errorf("%s: %w", act.Kind, err)
		}
		if next != link {
			if err := a.putLink(ctx, next); err != nil {
				return link, "", fmt.Errorf("%s done, mapping not stored: %w", act.Kind, err)
			}
		}
		return next, domain.OutcomeUpdated, nil
	case ActConflict, ActSkip:
		h := reportHash(act)
		if act.PersonioID == "" {
			return link, domain.OutcomeSkipped, nil
		}
		if a.l.reported[act.PersonioID] == h {
			return link, "", nil // reported earlier, unchanged
		}
		_, mapped := a.l.links[act.PersonioID]
		if mapped && link.UserID != "" {
			// A mapped employee's conflict (a new e-mail taken by another user) or skip (a
			// leaver whose user an admin deleted) is remembered in its mapping, which keeps
			// its user and flags.
			next := link
			next.Reported = h
			if err := a.putLink(ctx, next); err != nil {
				return link, "", fmt.Errorf("store reported conflict: %w", err)
			}
			return next, domain.OutcomeSkipped, nil
		}
		if !mapped {
			// Remember what was reported (a mapping without a target) so that an unchanged
			// conflict is not reported again at every run. A mapped employee keeps its link.
			m := domain.Mapping{Tenant: a.r.Tenant.ID, Kind: domain.KindUser, SourceID: act.PersonioID, Hash: h,
				State: domain.StateFailed, LastError: act.Reason, UpdatedAt: a.r.Now}
			if err := a.r.Store.PutMapping(ctx, m); err != nil {
				return link, "", fmt.Errorf("store reported %s: %w", act.Kind, err)
			}
		}
		return link, domain.OutcomeSkipped, nil
	}
	return link, "", fmt.Errorf("unknown action %q", act.Kind)
}

func (a *applier) putLink(ctx context.Context, l Link) error {
	m := domain.Mapping{Tenant: a.r.Tenant.ID, Kind: domain.KindUser, SourceID: l.PersonioID, TargetIDs: []string{l.UserID},
		Hash: linkHash(l), State: domain.StateTransferred, UpdatedAt: a.r.Now}
	if err := a.r.Store.PutMapping(ctx, m); err != nil {
		return fmt.Errorf("store user mapping: %w", err)
	}
	return nil
}

// userUpdate turns the changed fields into a partial update: only they are sent.
func userUpdate(f Fields) (staffomatic.UserUpdate, error) {
	var up staffomatic.UserUpdate
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	up.FirstName, up.LastName, up.Email, up.CustomID = str(f.FirstName), str(f.LastName), str(f.Email), str(f.CustomID)
	if f.DepartmentIDs != nil {
		ids, err := parseIDs(f.DepartmentIDs)
		if err != nil {
			return up, err
		}
		up.DepartmentIDs = &ids
	}
	if f.WeeklyHours != nil {
		h := monthlyHours(*f.WeeklyHours)
		up.MaxHoursPerMonth = &h
	}
	up.MaxVacationDays = f.VacationDays
	return up, nil
}

func parseIDs(ss []string) ([]int64, error) {
	var out []int64
	for _, s := range ss {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("Staffomatic id %q: %w", s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// record writes one protocol entry (counted by the harness). It uses a context detached
// from cancellation: what was done must be told even when the run is being stopped.
func (a *applier) record(ctx context.Context, act Action, userID string, o domain.Outcome, reason string) {
	if userID == "" {
		userID = act.UserID
		if userID == "" && len(act.UserIDs) > 0 {
			userID = strings.Join(act.UserIDs, ",")
		}
	}
	e := domain.ProtocolEntry{Kind: domain.KindUser, SourceID: act.PersonioID, TargetID: userID, Action: string(act.Kind), Outcome: o, Reason: reason}
	if err := a.r.run.Record(context.WithoutCancel(ctx), e); err != nil {
		a.mu.Lock()
		if a.err == nil {
			a.err = fmt.Errorf("write protocol: %w", err)
		}
		a.mu.Unlock()
	}
}
