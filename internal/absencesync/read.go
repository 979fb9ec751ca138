package absencesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// MaxNamed bounds the records a partial or targeted run reads one by one: changed
// Staffomatic absences named by the change feed, and the Personio employees concerned.
// Beyond it, listing (the window's absences, all employees) costs fewer calls.
const MaxNamed = 50

// parallel runs fns at once and returns the first error (after all ended).
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// reader collects the absences a run reads on both sides.
type reader struct {
	pc       *personio.Client
	sc       *staffomatic.Client
	lead     domain.System
	loc      *time.Location
	pWindow  personio.AbsencePeriodsOptions
	sWindow  staffomatic.AbsenceFilter
	mu       sync.Mutex
	periods  []personio.AbsencePeriod
	absences []staffomatic.Absence
	deleted  []string
	// gone are the source keys of changed sources the leading system no longer has that no
	// webhook named: deletions only when mapped (Load keeps those once it read the mappings).
	gone []string
}

func (r *reader) readPeriods(ctx context.Context, o personio.AbsencePeriodsOptions) error {
	ps, err := r.pc.AbsencePeriods(ctx, o)
	if err != nil {
		return fmt.Errorf("load Personio absence periods: %w", err)
	}
	r.mu.Lock()
	r.periods = append(r.periods, ps...)
	r.mu.Unlock()
	return nil
}

func (r *reader) readAbsences(ctx context.Context, f staffomatic.AbsenceFilter) error {
	xs, err := r.sc.ListAbsences(ctx, f)
	if err != nil {
		return fmt.Errorf("load Staffomatic absences: %w", err)
	}
	r.mu.Lock()
	r.absences = append(r.absences, xs...)
	r.mu.Unlock()
	return nil
}

// sources reads the sources of a partial run (changed since since) or a targeted one
// (named by targets).
func (r *reader) sources(ctx context.Context, mode domain.Mode, since time.Time, targets []domain.Target) error {
	if mode == domain.ModeTargeted {
		for _, t := range targets {
			if t.Kind != domain.KindAbsence {
				continue
			}
			// A Staffomatic hint about a copy names its source by the mapping's source
			// key (the API's reverse lookup); a bare id is the leading system's.
			if sys, id, ok := strings.Cut(t.ID, "/"); ok {
				if domain.System(sys) != r.lead {
					continue // a record of the other direction (before a switch): not a source now
				}
				t.ID = id
			}
			if err := r.one(ctx, t.ID, true); err != nil {
				return err
			}
		}
		return nil
	}
	if r.lead == domain.SystemPersonio {
		o := r.pWindow
		o.UpdatedFrom = since
		return r.readPeriods(ctx, o)
	}
	// Staffomatic's absences have no updated filter; its change feed names the absences
	// created, changed, approved, declined or deleted since the cursor.
	evs, err := r.sc.ListEvents(ctx, staffomatic.EventFilter{From: since, Types: []string{"absence"}})
	if err != nil {
		return fmt.Errorf("load Staffomatic absence events: %w", err)
	}
	var ids []int64
	for _, e := range evs {
		if strings.EqualFold(e.EventableType, "absence") && e.EventableID > 0 && !slices.Contains(ids, e.EventableID) {
			ids = append(ids, e.EventableID)
		}
	}
	if len(ids) > MaxNamed {
		return r.readAbsences(ctx, r.sWindow)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := r.one(ctx, strconv.FormatInt(id, 10), false); err != nil {
			return err
		}
	}
	return nil
}

// one reads one source of the leading system by id; one it no longer has is a deletion
// (told only when mapped, or when named: a webhook about it deserves its protocol entry;
// an unnamed one is kept in gone until the mappings are read).
func (r *reader) one(ctx context.Context, id string, named bool) error {
	key := SourceKey(r.lead, id)
	if r.lead == domain.SystemPersonio {
		ap, err := r.pc.AbsencePeriod(ctx, id)
		switch {
		case personio.IsNotFound(err):
			r.deleted = append(r.deleted, key)
		case err != nil:
			return fmt.Errorf("load Personio absence period %s: %w", id, err)
		default:
			r.periods = append(r.periods, ap)
		}
		return nil
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	x, err := r.sc.GetAbsence(ctx, n)
	switch {
	case staffomatic.IsNotFound(err):
		if named {
			r.deleted = append(r.deleted, key)
		} else {
			r.gone = append(r.gone, key)
		}
	case err != nil:
		return fmt.Errorf("load Staffomatic absence %d: %w", n, err)
	default:
		r.absences = append(r.absences, x)
	}
	return nil
}

// widen extends a Personio window to the days of the Staffomatic absences read: an
// absence across New Year overlaps the current year, but its copy's part in the other
// year lies outside it, and a copy not read would be taken for deleted (and created
// again, which Personio refuses as a conflict).
func (r *reader) widen(o personio.AbsencePeriodsOptions) personio.AbsencePeriodsOptions {
	for _, x := range r.absences {
		s := x.StartsAt.In(r.loc)
		first := personio.NewLocalDateTime(time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC))
		if first.In(time.UTC).Before(o.OverlapFrom.In(time.UTC)) {
			o.OverlapFrom = first
		}
		e := x.EndsAt.In(r.loc)
		after := personio.NewLocalDateTime(time.Date(e.Year(), e.Month(), e.Day()+1, 0, 0, 0, 0, time.UTC))
		if after.In(time.UTC).After(o.OverlapTo.In(time.UTC)) {
			o.OverlapTo = after
		}
	}
	return o
}

// targets reads the window's absences in the target system of the employees whose sources
// were read (by the user mappings, so no employee list is needed for it); when more than
// MaxNamed employees are concerned, the window's whole list instead: it costs fewer calls,
// and every id would go into one request's URL (the notes keep id lists to about 50).
func (r *reader) targets(ctx context.Context, userOf, personOf map[string]string) error {
	if r.lead == domain.SystemPersonio {
		ids := map[int64]bool{}
		for _, ap := range r.periods {
			if u, err := strconv.ParseInt(userOf[ap.PersonID], 10, 64); err == nil {
				ids[u] = true
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if len(ids) > MaxNamed {
			return r.readAbsences(ctx, r.sWindow)
		}
		f := r.sWindow
		for u := range ids {
			f.UserIDs = append(f.UserIDs, u)
		}
		slices.Sort(f.UserIDs)
		return r.readAbsences(ctx, f)
	}
	persons := map[string]bool{}
	for _, x := range r.absences {
		if pid := personOf[strconv.FormatInt(x.ApplicantID, 10)]; pid != "" {
			persons[pid] = true
		}
	}
	if len(persons) == 0 {
		return nil
	}
	o := r.widen(r.pWindow)
	if len(persons) > MaxNamed {
		return r.readPeriods(ctx, o)
	}
	for pid := range persons {
		o.PersonIDs = append(o.PersonIDs, pid)
	}
	slices.Sort(o.PersonIDs)
	return r.readPeriods(ctx, o)
}

// employees reads the Personio employees a partial or targeted run's sources concern: one
// by one up to MaxNamed (an employee Personio no longer has is left out), else the list.
func (r *reader) employees(ctx context.Context, personOf map[string]string) ([]personio.Employee, error) {
	ids := map[int64]bool{}
	for _, ap := range r.periods {
		if n, err := strconv.ParseInt(ap.PersonID, 10, 64); err == nil {
			ids[n] = true
		}
	}
	for _, x := range r.absences {
		if n, err := strconv.ParseInt(personOf[strconv.FormatInt(x.ApplicantID, 10)], 10, 64); err == nil {
			ids[n] = true
		}
	}
	if len(ids) > MaxNamed {
		list, err := r.pc.Employees(ctx, personio.EmployeesOptions{})
		if err != nil {
			return nil, fmt.Errorf("load Personio employees: %w", err)
		}
		return list.Employees, nil
	}
	sorted := make([]int64, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	out := make([]personio.Employee, 0, len(sorted))
	for _, id := range sorted {
		e, err := r.pc.Employee(ctx, id)
		switch {
		case personio.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("load Personio employee %d: %w", id, err)
		default:
			out = append(out, e)
		}
	}
	return out, nil
}
