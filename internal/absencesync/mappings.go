package absencesync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// MaxMappingKeys bounds the absence mappings a partial or targeted run reads by source key
// (BatchGetItem, 100 keys a call). Beyond it the run reads all of the tenant's absence
// mappings, as a full run does: a few pages of a query cost less than that many keys.
const MaxMappingKeys = 1000

// reportPrefixes are the source-id prefixes of the planner's report keys (Action.Source
// of a report that is not about one absence): a few per tenant, read whole by every run
// so an unchanged report is never written again.
var reportPrefixes = []string{"setting|", "category|", "type|", "switch|"}

// mappingKeys returns the source keys of the absence mappings of the leading direction a
// partial or targeted run needs: the mapping of every source read, of every source named
// by the marker of a record read (the adoption of a copy whose create was cut short), and
// of every source known or suspected deleted.
func mappingKeys(lead domain.System, periods []personio.AbsencePeriod, absences []staffomatic.Absence, deleted ...[]string) []string {
	var keys []string
	own := func(sys domain.System, id, text string) {
		if sys == lead {
			keys = append(keys, SourceKey(lead, id))
		}
		if k, ok := ParseMarker(text); ok && otherOf(k) != lead {
			keys = append(keys, k)
		}
	}
	for _, ap := range periods {
		own(domain.SystemPersonio, ap.ID, ap.Comment)
	}
	for _, x := range absences {
		own(domain.SystemStaffomatic, strconv.FormatInt(x.ID, 10), x.Justification)
	}
	for _, ks := range deleted {
		keys = append(keys, ks...)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// mappingStore is what loading the absence mappings needs of the store (*store.Store).
type mappingStore interface {
	LoadMappings(ctx context.Context, tenant string, kind domain.RecordKind) ([]domain.Mapping, error)
	LoadMappingsWithPrefix(ctx context.Context, tenant string, kind domain.RecordKind, prefix string) ([]domain.Mapping, error)
	GetMappings(ctx context.Context, tenant string, kind domain.RecordKind, sourceIDs []string) (map[string]domain.Mapping, error)
}

var _ mappingStore = (*store.Store)(nil)

// loadMappings reads the absence mappings a run needs, sorted by source key. A full run
// (all) reads every one. A partial or targeted run plans only the sources it read, so it
// reads (up to MaxMappingKeys) the mappings of keys by key, and whole only the groups the
// planner consults beyond them: the mappings of the other direction (written before a
// switch of the leading system; their copies in the leading system are staffsync's own
// records, never read back as sources, and the switch report counts them), and the report
// keys. The plan is the same as with every mapping loaded, at a cost that does not grow
// with the years of absences behind the tenant.
func loadMappings(ctx context.Context, st mappingStore, tenant string, lead domain.System, all bool, keys []string) (ms []domain.Mapping, narrowed bool, err error) {
	if all || len(keys) > MaxMappingKeys {
		if ms, err = st.LoadMappings(ctx, tenant, domain.KindAbsence); err != nil {
			return nil, false, fmt.Errorf("load absence mappings: %w", err)
		}
		return ms, false, nil
	}
	other := domain.SystemStaffomatic
	if lead == domain.SystemStaffomatic {
		other = domain.SystemPersonio
	}
	for _, prefix := range append([]string{string(other) + "/"}, reportPrefixes...) {
		got, err := st.LoadMappingsWithPrefix(ctx, tenant, domain.KindAbsence, prefix)
		if err != nil {
			return nil, false, fmt.Errorf("load absence mappings: %w", err)
		}
		ms = append(ms, got...)
	}
	if len(keys) > 0 {
		byKey, err := st.GetMappings(ctx, tenant, domain.KindAbsence, keys)
		if err != nil {
			return nil, false, fmt.Errorf("load absence mappings: %w", err)
		}
		for _, m := range byKey {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b domain.Mapping) int { return cmp.Compare(a.SourceID, b.SourceID) })
	return slices.CompactFunc(ms, func(a, b domain.Mapping) bool { return a.SourceID == b.SourceID }), true, nil
}
