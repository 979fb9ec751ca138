package staffomaticsim

import (
	"cmp"
	"slices"
	"strconv"
)

// Paging of filtered lists.
//
// Staffomatic pages by number (?page=N, 50 records a page, an empty page after the
// last), so page N of a filtered list is records (N-1)·50 … N·50-1 of the filtered,
// id-ordered collection. Filtering the whole collection for every page made a full read
// of 100,000 work timers cost 2,000 × 100,000 filter checks. Instead a pager remembers,
// per list request (path and query without page), where in the candidate slice each
// page starts; a page request resumes from the nearest known start before it, so a read
// page by page checks every candidate once, and a page costs what it returns plus what
// it skips. The common user_ids filter narrows the candidates to that user's records
// through a per-user index first. Pagers live in the memo: every change drops them with
// the other derived views, so a page always reflects the current records.

// maxPagers bounds the pagers an account keeps; beyond it an arbitrary one is dropped
// (it is rebuilt, at the cost of one scan, when its list is read again).
const maxPagers = 64

// pager holds the page starts of one filtered list.
type pager struct {
	items any // []*T: the id-ordered candidates the filter runs over
	// starts[k] is the index in items right after the (k·size)-th kept item: where the
	// scan for page k+1 begins. starts[0] = 0.
	starts []int
	total  int // number of kept items, once a scan reached the end; -1 before
}

// pageNumber is the 1-based ?page= of the request (1 when absent or invalid).
func (rc *reqCtx) pageNumber() int {
	p, err := strconv.Atoi(rc.query().Get("page"))
	if err != nil || p < 1 {
		p = 1
	}
	return p
}

// pagerKey identifies a list request up to its page: the path and the remaining query
// (url.Values.Encode sorts the keys, so equal filters give equal keys).
func (rc *reqCtx) pagerKey() string {
	q := rc.query()
	q.Del("page")
	return rc.r.URL.Path + "?" + q.Encode()
}

// pageOf returns page ?page= of the candidates kept by keep: exactly what
// page(rc, filtered(candidates(), keep)) returns. keep must depend only on the request's
// path and query and on the records (not on state a GET changes), since its page starts
// are reused by later requests until the next change. candidates is called once per
// pager and must return an id-ordered slice the caller does not modify.
func pageOf[T any](rc *reqCtx, candidates func() []*T, keep func(*T) bool) []*T {
	if keep == nil {
		return page(rc, candidates())
	}
	m := rc.a.m()
	key := rc.pagerKey()
	pg := m.pagers[key]
	if pg == nil {
		if m.pagers == nil {
			m.pagers = map[string]*pager{}
		}
		if len(m.pagers) >= maxPagers {
			for k := range m.pagers {
				delete(m.pagers, k)
				break
			}
		}
		pg = &pager{items: candidates(), starts: []int{0}, total: -1}
		m.pagers[key] = pg
	}
	return pagerPage(pg, pg.items.([]*T), keep, rc.pageNumber(), rc.s.cfg.PageSize)
}

// pagerPage returns page p (1-based, size records a page) of the items kept by keep,
// using and extending pg's page starts.
func pagerPage[T any](pg *pager, items []*T, keep func(*T) bool, p, size int) []*T {
	// At most len(items) records are kept: a page beyond that is empty (and its
	// offset is not computed, so that a huge page number cannot overflow).
	if p-1 > len(items)/size || (pg.total >= 0 && (p-1)*size >= pg.total) {
		return []*T{}
	}
	k := min(p-1, len(pg.starts)-1)
	i := pg.starts[k]
	for ; k < p-1; k++ { // skip pages k+1 … p-1, remembering where each next one starts
		n := 0
		for ; i < len(items) && n < size; i++ {
			if keep(items[i]) {
				n++
			}
		}
		if n < size {
			pg.total = k*size + n
			return []*T{}
		}
		pg.starts = append(pg.starts, i) // len(pg.starts) was k+1
	}
	out := make([]*T, 0, size)
	for ; i < len(items) && len(out) < size; i++ {
		if keep(items[i]) {
			out = append(out, items[i])
		}
	}
	switch {
	case len(out) < size:
		pg.total = (p-1)*size + len(out)
		if len(out) == 0 {
			return []*T{}
		}
	case len(pg.starts) == p:
		pg.starts = append(pg.starts, i)
	}
	return out
}

// groupByUser returns the id-ordered items of each user, cached in *cache until
// invalidated.
func groupByUser[T any](cache *map[int64][]*T, sorted []*T, user func(*T) int64) map[int64][]*T {
	if *cache == nil {
		idx := map[int64][]*T{}
		for _, v := range sorted {
			idx[user(v)] = append(idx[user(v)], v)
		}
		*cache = idx
	}
	return *cache
}

// ofUsers returns the id-ordered items of the given users from a per-user index. The
// slice of a single user is the index's own: callers must not modify it.
func ofUsers[T any](idx map[int64][]*T, users map[int64]bool, id func(*T) int64) []*T {
	if len(users) == 1 {
		for u := range users {
			return idx[u]
		}
	}
	var out []*T
	for u := range users {
		out = append(out, idx[u]...)
	}
	slices.SortFunc(out, func(x, y *T) int { return cmp.Compare(id(x), id(y)) })
	return out
}

func (a *account) workTimersOf(users map[int64]bool) []*WorkTimer {
	idx := groupByUser(&a.m().timersByUser, a.sortedWorkTimers(), func(t *WorkTimer) int64 { return t.UserID })
	return ofUsers(idx, users, func(t *WorkTimer) int64 { return t.ID })
}

func (a *account) breakTimersOf(users map[int64]bool) []*BreakTimer {
	idx := groupByUser(&a.m().breaksByUser, a.sortedBreakTimers(), func(b *BreakTimer) int64 { return b.UserID })
	return ofUsers(idx, users, func(b *BreakTimer) int64 { return b.ID })
}

func (a *account) absencesOf(users map[int64]bool) []*Absence {
	idx := groupByUser(&a.m().absencesByUser, a.sortedAbsences(), func(x *Absence) int64 { return x.ApplicantID })
	return ofUsers(idx, users, func(x *Absence) int64 { return x.ID })
}
