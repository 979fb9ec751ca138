package store

import (
	"context"
	"fmt"
	"slices"

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
func (s *Store) FindByTarget(ctx context.Context, tenant string, kind domain.RecordKind, targetID string) (domain.Mapping, error) {
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrReversePK).Equal(expression.Value(mappingPK(tenant, kind))).
		And(expression.Key(AttrReverseSK).Equal(expression.Value(targetID)))), "find by target")
	if err != nil {
		return domain.Mapping{}, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Mappings), IndexName: aws.String(MappingsReverseIndex),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil {
		return domain.Mapping{}, fmt.Errorf("find %s mapping by target %s: %w", kind, targetID, err)
	}
	if len(out.Items) == 0 {
		return domain.Mapping{}, fmt.Errorf("%s mapping with target %s of %s: %w", kind, targetID, tenant, ErrNotFound)
	}
	return decodeMapping(out.Items[0])
}

// DeleteMapping removes one mapping.
func (s *Store) DeleteMapping(ctx context.Context, tenant string, kind domain.RecordKind, sourceID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Mappings), Key: key(mappingPK(tenant, kind), sourceID)}); err != nil {
		return fmt.Errorf("delete %s mapping %s of %s: %w", kind, sourceID, tenant, err)
	}
	return nil
}
