package staffomaticsim

import (
	"cmp"
	"slices"
)

// memo holds derived views of an account (records sorted by id, reverse indexes for
// the fields that are computed from other collections). Without it, every list page
// re-sorted the whole collection and every rendered user scanned all absences, every
// timer all break timers, every department all users: a page cost O(records × records)
// and a 2,000-user account took minutes to list. The memo is built lazily and dropped
// on every change: by seeding (Account.lock), by every write request and by
// reqCtx.changed. It lives under Server.mu like the account itself.
type memo struct {
	users       []*User
	absences    []*Absence
	workTimers  []*WorkTimer
	breakTimers []*BreakTimer
	workReports []*WorkReport
	events      []*Event

	approvedSecs map[int64]int64         // user id → seconds of approved absences
	breaksOf     map[int64][]*BreakTimer // work timer id → its break timers
	timersOf     map[int64][]*WorkTimer  // work report id → its work timers
	deptMembers  map[int64][]int64       // department id → user ids, sorted
	locMembers   map[int64][]int64       // location id → user ids, sorted
	locDepts     map[int64]int           // location id → number of departments

	timersByUser   map[int64][]*WorkTimer  // user id → work timers, by id
	breaksByUser   map[int64][]*BreakTimer // user id → break timers, by id
	absencesByUser map[int64][]*Absence    // applicant id → absences, by id
	pagers         map[string]*pager       // list request without page → its page starts (paging.go)
}

func (a *account) m() *memo {
	if a.memo == nil {
		a.memo = &memo{}
	}
	return a.memo
}

// invalidate drops every derived view; call it after any change to the records.
func (a *account) invalidate() { a.memo = nil }

// sortedOf returns the values of m sorted by id, cached in *cache until invalidated.
// The slice is shared: callers must not modify it.
func sortedOf[T any](cache *[]*T, m map[int64]*T, id func(*T) int64) []*T {
	if *cache == nil {
		out := make([]*T, 0, len(m))
		for _, v := range m {
			out = append(out, v)
		}
		slices.SortFunc(out, func(x, y *T) int { return cmp.Compare(id(x), id(y)) })
		*cache = out
	}
	return *cache
}

// filtered returns the items kept by keep (all when keep is nil), in order.
func filtered[T any](items []*T, keep func(*T) bool) []*T {
	if keep == nil {
		return items
	}
	out := make([]*T, 0, len(items))
	for _, v := range items {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

func (a *account) sortedUsers() []*User {
	return sortedOf(&a.m().users, a.users, func(u *User) int64 { return u.ID })
}

func (a *account) sortedAbsences() []*Absence {
	return sortedOf(&a.m().absences, a.absences, func(x *Absence) int64 { return x.ID })
}

func (a *account) sortedWorkTimers() []*WorkTimer {
	return sortedOf(&a.m().workTimers, a.workTimers, func(t *WorkTimer) int64 { return t.ID })
}

func (a *account) sortedBreakTimers() []*BreakTimer {
	return sortedOf(&a.m().breakTimers, a.breakTimers, func(b *BreakTimer) int64 { return b.ID })
}

func (a *account) sortedWorkReports() []*WorkReport {
	return sortedOf(&a.m().workReports, a.workReports, func(r *WorkReport) int64 { return r.ID })
}

func (a *account) sortedEvents() []*Event {
	return sortedOf(&a.m().events, a.events, func(e *Event) int64 { return e.ID })
}

// approvedSeconds is the sum of a user's approved absences in seconds (one pass over
// the absences per change, not one per rendered user).
func (a *account) approvedSeconds(uid int64) int64 {
	m := a.m()
	if m.approvedSecs == nil {
		m.approvedSecs = map[int64]int64{}
		for _, x := range a.absences {
			if x.State == StateApproved {
				m.approvedSecs[x.ApplicantID] += a.absenceDuration(x)
			}
		}
	}
	return m.approvedSecs[uid]
}

// breaksOf returns the break timers of a work timer.
func (a *account) breaksOf(wid int64) []*BreakTimer {
	m := a.m()
	if m.breaksOf == nil {
		m.breaksOf = map[int64][]*BreakTimer{}
		for _, b := range a.sortedBreakTimers() {
			m.breaksOf[b.WorkTimerID] = append(m.breaksOf[b.WorkTimerID], b)
		}
	}
	return m.breaksOf[wid]
}

// timersOf returns the work timers of a work report.
func (a *account) timersOf(rid int64) []*WorkTimer {
	m := a.m()
	if m.timersOf == nil {
		m.timersOf = map[int64][]*WorkTimer{}
		for _, t := range a.sortedWorkTimers() {
			m.timersOf[t.WorkReportID] = append(m.timersOf[t.WorkReportID], t)
		}
	}
	return m.timersOf[rid]
}

func (a *account) buildMembers() {
	m := a.m()
	if m.deptMembers != nil {
		return
	}
	m.deptMembers, m.locMembers, m.locDepts = map[int64][]int64{}, map[int64][]int64{}, map[int64]int{}
	for _, u := range a.sortedUsers() {
		for _, d := range slices.Compact(slices.Sorted(slices.Values(u.DepartmentIDs))) {
			m.deptMembers[d] = append(m.deptMembers[d], u.ID)
		}
		for _, l := range slices.Compact(slices.Sorted(slices.Values(u.LocationIDs))) {
			m.locMembers[l] = append(m.locMembers[l], u.ID)
		}
	}
	for _, d := range a.departments {
		m.locDepts[d.LocationID]++
	}
}

// departmentMemberIDs returns the sorted ids of a department's members.
func (a *account) departmentMemberIDs(did int64) []int64 {
	a.buildMembers()
	return a.m().deptMembers[did]
}
