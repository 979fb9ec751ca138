package store

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/staffsync/staffsync/internal/domain"
)

// Item layout of the mappings table: partition <tenant>#<kind>, sort key the source id;
// the reverse index has the same partition and the primary target id as sort key, and
// only mappings with a target are in it.
func mappingPK(tenant string, kind domain.RecordKind) string { return tenant + "#" + string(kind) }

type mappingItem struct {
	PK  string `json:"pk"`
	SK  string `json:"sk"`
	RPK string `json:"rpk,omitempty"`
	RSK string `json:"rsk,omitempty"`
	domain.Mapping
}

func (s *Store) mappingItem(m domain.Mapping) (map[string]types.AttributeValue, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = s.now().UTC()
	}
	if len(m.TargetIDs) == 0 {
		// An empty, non-nil list would be stored in a form decodeMapping cannot read back
		// (a mapping whose targets were all deleted); no targets is no attribute.
		m.TargetIDs = nil
	}
	it := mappingItem{PK: mappingPK(m.Tenant, m.Kind), SK: m.SourceID, Mapping: m}
	if t := m.TargetID(); t != "" {
		it.RPK, it.RSK = it.PK, t
	}
	return marshal(it)
}

// decodeMapping reads a stored mapping, in its current form whatever form it was
// written in (domain.Mapping.Upgrade).
func decodeMapping(raw map[string]types.AttributeValue) (domain.Mapping, error) {
	var it mappingItem
	if err := unmarshal(raw, &it); err != nil {
		return domain.Mapping{}, fmt.Errorf("decode mapping: %w", err)
	}
	it.Mapping.Upgrade()
	return it.Mapping, nil
}

// PutMapping writes one mapping, replacing the stored one.
func (s *Store) PutMapping(ctx context.Context, m domain.Mapping) error {
	item, err := s.mappingItem(m)
	if err != nil {
		return fmt.Errorf("put mapping: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Mappings), Item: item}); err != nil {
		return fmt.Errorf("put %s mapping %s of %s: %w", m.Kind, m.SourceID, m.Tenant, err)
	}
	return nil
}

// PutMappings writes many mappings in batches of 25, re-sending unprocessed items. A
// mapping given twice (same tenant, kind and source id) is written once, as its last
// occurrence: DynamoDB rejects a BatchWriteItem that holds a key twice, which would
// fail the whole chunk.
func (s *Store) PutMappings(ctx context.Context, ms []domain.Mapping) error {
	type mkey struct{ pk, sk string }
	last := make(map[mkey]int, len(ms))
	for i, m := range ms {
		last[mkey{mappingPK(m.Tenant, m.Kind), m.SourceID}] = i
	}
	reqs := make([]types.WriteRequest, 0, len(last))
	for i, m := range ms {
		if last[mkey{mappingPK(m.Tenant, m.Kind), m.SourceID}] != i {
			continue
		}
		item, err := s.mappingItem(m)
		if err != nil {
			return fmt.Errorf("put mappings: %w", err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.batchWrite(ctx, s.tables.Mappings, reqs)
}

// GetMapping reads one mapping (ErrNotFound when the source was never seen).
func (s *Store) GetMapping(ctx context.Context, tenant string, kind domain.RecordKind, sourceID string) (domain.Mapping, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Mappings), Key: key(mappingPK(tenant, kind), sourceID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.Mapping{}, fmt.Errorf("get %s mapping %s: %w", kind, sourceID, err)
	}
	if out.Item == nil {
		return domain.Mapping{}, fmt.Errorf("%s mapping %s of %s: %w", kind, sourceID, tenant, ErrNotFound)
	}
	return decodeMapping(out.Item)
}

// GetMappings reads the mappings of the given source ids with BatchGetItem (100 keys a
// call, unprocessed keys re-requested). Sources without a mapping are absent from the map.
func (s *Store) GetMappings(ctx context.Context, tenant string, kind domain.RecordKind, sourceIDs []string) (map[string]domain.Mapping, error) {
	ids := slices.Clone(sourceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, key(mappingPK(tenant, kind), id))
		}
	}
	out := make(map[string]domain.Mapping, len(keys))
	err := s.batchGet(ctx, s.tables.Mappings, keys, func(raw map[string]types.AttributeValue) error {
		m, err := decodeMapping(raw)
		if err != nil {
			return err
		}
		out[m.SourceID] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %s mappings of %s: %w", kind, tenant, err)
	}
	return out, nil
}

// LoadMappings reads every mapping of a kind for a tenant, page by page.
func (s *Store) LoadMappings(ctx context.Context, tenant string, kind domain.RecordKind) ([]domain.Mapping, error) {
	return s.queryMappings(ctx, tenant, kind, "")
}

// FindByTarget finds the mapping whose primary target is targetID (for example the
// Personio employee of a Staffomatic user) through the reverse index. ErrNotFound if none.
// Where several mappings share the target, it returns the live one FindByTargets would
// (never a deleted one while a live one exists, whose target may since belong to another
// source); only a target with deleted mappings alone gets the first of those, which is how
// a caller learns of a deleted record's mapping.
func (s *Store) FindByTarget(ctx context.Context, tenant string, kind domain.RecordKind, targetID string) (domain.Mapping, error) {
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrReversePK).Equal(expression.Value(mappingPK(tenant, kind))).
		And(expression.Key(AttrReverseSK).Equal(expression.Value(targetID)))), "find by target")
	if err != nil {
		return domain.Mapping{}, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Mappings), IndexName: aws.String(MappingsReverseIndex),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var first, live domain.Mapping
	seen, found := false, false
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return domain.Mapping{}, fmt.Errorf("find %s mapping by target %s: %w", kind, targetID, err)
		}
		for _, raw := range page.Items {
			m, err := decodeMapping(raw)
			if err != nil {
				return domain.Mapping{}, err
			}
			if !seen {
				first, seen = m, true
			}
			if m.State != domain.StateDeleted && (!found || m.SourceID > live.SourceID) {
				live, found = m, true
			}
		}
	}
	switch {
	case found:
		return live, nil
	case seen:
		return first, nil
	}
	return domain.Mapping{}, fmt.Errorf("%s mapping with target %s of %s: %w", kind, targetID, tenant, ErrNotFound)
}

// DeleteMapping removes one mapping.
func (s *Store) DeleteMapping(ctx context.Context, tenant string, kind domain.RecordKind, sourceID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Mappings), Key: key(mappingPK(tenant, kind), sourceID)}); err != nil {
		return fmt.Errorf("delete %s mapping %s of %s: %w", kind, sourceID, tenant, err)
	}
	return nil
}

// MaxFindByTargets bounds the target ids FindByTargets takes in one call: each is a query
// of the reverse index, so a caller with more (a run about many users) reads the whole
// kind with LoadMappings instead, one paginated query.
const MaxFindByTargets = 50

// findByTargetsAtOnce bounds the reverse-index queries FindByTargets has in flight.
const findByTargetsAtOnce = 8

// FindByTargets returns the live mapping of each of the given primary target ids (for
// example the user mappings of a few Staffomatic users), keyed by target id, reading only
// those through the reverse index instead of the kind's whole list. Targets without a
// live mapping are absent from the map.
//
// Several mappings can share a target, which FindByTarget does not tell apart (it returns
// the index's first): a mapping in StateDeleted (a source deleted and handled, whose
// target may since belong to another source) is never returned; of several live ones
// (two sources linked to one target) the one with the greatest source id is, which is the
// one a caller keying LoadMappings' list (in source id order) by target keeps, so a
// run reading either way maps the same. At most MaxFindByTargets distinct ids (after
// dropping duplicates and empty ones) a call; more is an error that changes nothing.
func (s *Store) FindByTargets(ctx context.Context, tenant string, kind domain.RecordKind, targetIDs []string) (map[string]domain.Mapping, error) {
	ids := slices.Clone(targetIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && ids[0] == "" {
		ids = ids[1:]
	}
	if len(ids) > MaxFindByTargets {
		return nil, fmt.Errorf("find %s mappings of %s by %d targets: at most %d a call; read more with LoadMappings", kind, tenant, len(ids), MaxFindByTargets)
	}
	out := make(map[string]domain.Mapping, len(ids))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, findByTargetsAtOnce)
	for _, id := range ids {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			m, ok, err := s.liveByTarget(ctx, tenant, kind, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && first == nil:
				first = err
				cancel() // the call fails: the other queries need not finish
			case ok:
				out[id] = m
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// liveByTarget queries the reverse index for every mapping whose primary target is
// targetID and picks the live one as FindByTargets says.
func (s *Store) liveByTarget(ctx context.Context, tenant string, kind domain.RecordKind, targetID string) (domain.Mapping, bool, error) {
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrReversePK).Equal(expression.Value(mappingPK(tenant, kind))).
		And(expression.Key(AttrReverseSK).Equal(expression.Value(targetID)))), "find by targets")
	if err != nil {
		return domain.Mapping{}, false, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Mappings), IndexName: aws.String(MappingsReverseIndex),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var live domain.Mapping
	found := false
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return domain.Mapping{}, false, fmt.Errorf("find %s mappings by target %s of %s: %w", kind, targetID, tenant, err)
		}
		for _, raw := range page.Items {
			m, err := decodeMapping(raw)
			if err != nil {
				return domain.Mapping{}, false, err
			}
			if m.State == domain.StateDeleted || m.TargetID() != targetID {
				continue
			}
			if !found || m.SourceID > live.SourceID {
				live, found = m, true
			}
		}
	}
	return live, found, nil
}
