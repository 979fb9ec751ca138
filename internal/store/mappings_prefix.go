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

// LoadMappingsWithPrefix reads the mappings of a kind whose source id begins with prefix
// (a key condition on the sort key, so only those items are read), page by page. A run
// that concerns a few records reads their group of mappings this way (for example the
// absence mappings of one direction, or the report keys) instead of the whole kind.
func (s *Store) LoadMappingsWithPrefix(ctx context.Context, tenant string, kind domain.RecordKind, prefix string) ([]domain.Mapping, error) {
	if prefix == "" {
		return nil, fmt.Errorf("load %s mappings by prefix: the prefix is empty (use LoadMappings for all)", kind)
	}
	return s.queryMappings(ctx, tenant, kind, prefix)
}

// queryMappings reads the mappings of a kind whose source id begins with prefix (all of
// the kind when prefix is empty), page by page.
func (s *Store) queryMappings(ctx context.Context, tenant string, kind domain.RecordKind, prefix string) ([]domain.Mapping, error) {
	cond := expression.Key(AttrPK).Equal(expression.Value(mappingPK(tenant, kind)))
	if prefix != "" {
		cond = cond.And(expression.Key(AttrSK).BeginsWith(prefix))
	}
	e, err := build(expression.NewBuilder().WithKeyCondition(cond), "load mappings")
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Mappings), KeyConditionExpression: e.KeyCondition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var out []domain.Mapping
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("load %s mappings %s* of %s: %w", kind, prefix, tenant, err)
		}
		for _, raw := range page.Items {
			m, err := decodeMapping(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// DeleteMappings removes the mappings of the given source ids with BatchWriteItem (25 a
// call, unprocessed ones sent again); ids without a mapping are no error. The caller
// decides that nothing will read them again (absencesync's pruning in the nightly run).
func (s *Store) DeleteMappings(ctx context.Context, tenant string, kind domain.RecordKind, sourceIDs []string) error {
	ids := slices.Clone(sourceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids) // a key twice fails the whole batch
	reqs := make([]types.WriteRequest, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(mappingPK(tenant, kind), id)}})
		}
	}
	if err := s.batchWrite(ctx, s.tables.Mappings, reqs); err != nil {
		return fmt.Errorf("delete %s mappings of %s: %w", kind, tenant, err)
	}
	return nil
}
