package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's per-call batch limits.
const (
	maxBatchWrite = 25
	maxBatchGet   = 100
)

// batchWrite sends reqs in chunks of 25 and re-sends unprocessed items with backoff until
// all are written or the rounds are used up.
func (s *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), maxBatchWrite)
		chunk := reqs[:n]
		reqs = reqs[n:]
		for round := 1; len(chunk) > 0; round++ {
			if round > s.maxRounds {
				return fmt.Errorf("batch write to %s: %d items still unprocessed after %d rounds (throttled)", table, len(chunk), s.maxRounds)
			}
			if round > 1 {
				if err := sleep(ctx, s.backoff(round)); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: chunk}})
			if err != nil {
				return fmt.Errorf("batch write to %s: %w", table, err)
			}
			chunk = out.UnprocessedItems[table]
		}
	}
	return nil
}

// batchGet reads keys in chunks of 100 and re-requests unprocessed keys with backoff.
func (s *Store) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue, fn func(map[string]types.AttributeValue) error) error {
	for len(keys) > 0 {
		n := min(len(keys), maxBatchGet)
		chunk := keys[:n]
		keys = keys[n:]
		for round := 1; len(chunk) > 0; round++ {
			if round > s.maxRounds {
				return fmt.Errorf("batch get from %s: %d keys still unprocessed after %d rounds (throttled)", table, len(chunk), s.maxRounds)
			}
			if round > 1 {
				if err := sleep(ctx, s.backoff(round)); err != nil {
					return err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				table: {Keys: chunk, ConsistentRead: new(true)},
			}})
			if err != nil {
				return fmt.Errorf("batch get from %s: %w", table, err)
			}
			for _, item := range out.Responses[table] {
				if err := fn(item); err != nil {
					return err
				}
			}
			chunk = out.UnprocessedKeys[table].Keys
		}
	}
	return nil
}
