package staffomaticsim

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPagerPageMatchesFilterThenSlice checks pagerPage against the definition it
// replaces (filter everything, then cut page p), for many collection sizes, densities
// of the filter, page sizes and orders of page requests.
func TestPagerPageMatchesFilterThenSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		n := rng.IntN(300)
		if round%50 == 0 {
			n = 0
		}
		items := make([]*int, n)
		for i := range items {
			items[i] = ptr(i)
		}
		density := []int{0, 1, 5, 50, 95, 100}[rng.IntN(6)]
		kept := map[int]bool{}
		for i := range n {
			kept[i] = rng.IntN(100) < density
		}
		keep := func(v *int) bool { return kept[*v] }
		size := []int{1, 2, 7, 50}[rng.IntN(4)]
		ref := filtered(items, keep)
		want := func(p int) []*int {
			start := (p - 1) * size
			if start >= len(ref) {
				return []*int{}
			}
			return ref[start:min(start+size, len(ref))]
		}
		pg := &pager{starts: []int{0}, total: -1}
		last := len(ref)/size + 3
		for range 3 * last {
			p := 1 + rng.IntN(last)
			if rng.IntN(3) == 0 && len(pg.starts) < last { // often the next unread page, as a sync reads
				p = len(pg.starts)
			}
			if got := pagerPage(pg, items, keep, p, size); !slices.Equal(got, want(p)) || got == nil {
				t.Fatalf("round %d (n=%d, density %d, size %d): page %d = %v, want %v", round, n, density, size, p, got, want(p))
			}
		}
		for _, p := range []int{1 << 62, int(^uint(0) >> 1)} {
			if got := pagerPage(pg, items, keep, p, size); len(got) != 0 || got == nil {
				t.Fatalf("page %d = %v, want an empty page", p, got)
			}
		}
	}
}
