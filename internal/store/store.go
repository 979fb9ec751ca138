package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Errors callers branch on. They are wrapped with context; use errors.Is.
var (
	// ErrNotFound: the item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: an optimistic-lock check failed because someone saved in between;
	// reload and apply the change again.
	ErrConflict = errors.New("changed concurrently: reload and retry")
	// ErrExists: a create found the item already there (for runs: a duplicate delivery).
	ErrExists = errors.New("already exists")
	// ErrBadCursor: a page token this store did not issue for this query (altered, or
	// from another query); start again without it.
	ErrBadCursor = errors.New("page token: not a token this API returned for this query; start again without it")
)

// Store is the DynamoDB adapter. It is safe for concurrent use.
type Store struct {
	db     *dynamodb.Client
	tables Tables
	now    func() time.Time
	// retryBase and retryMax bound the backoff between rounds of unprocessed batch items.
	retryBase, retryMax time.Duration
	maxRounds           int
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, for tests of expiry (leases, protocol TTL).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithBatchRetry sets the backoff between rounds of unprocessed batch items and how many
// rounds are tried before the batch fails.
func WithBatchRetry(base, max time.Duration, rounds int) Option {
	return func(s *Store) { s.retryBase, s.retryMax, s.maxRounds = base, max, rounds }
}

// New returns a Store on the given client and tables.
func New(db *dynamodb.Client, tables Tables, opts ...Option) *Store {
	s := &Store{db: db, tables: tables, now: time.Now, retryBase: 25 * time.Millisecond, retryMax: 2 * time.Second, maxRounds: 10}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewClient returns a DynamoDB client for cfg. A non-empty endpoint (local runs, tests)
// overrides the AWS endpoint and switches off response checksum validation, because
// minidyn sends no X-Amz-Crc32 header and the SDK would warn on every call.
func NewClient(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.DisableValidateResponseChecksum = true
		}
	})
}

// Tables returns the table names the store uses.
func (s *Store) Tables() Tables { return s.tables }

// Now returns the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Items use the domain types' JSON names as attribute names, so the table and the API
// speak the same vocabulary.
//
// Empty lists and maps are left out at every depth: an empty slice or map reads back as
// the zero value anyway, and minidyn (make run's embedded DynamoDB) reads an empty L or M
// back as another type, which made every later read of the item fail to decode.
func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		return nil, err
	}
	pruneEmpty(m)
	return m, nil
}

// pruneEmpty removes the empty lists and maps of m and of the maps and lists inside it.
func pruneEmpty(m map[string]types.AttributeValue) {
	for k, v := range m {
		if empty(v) {
			delete(m, k)
		}
	}
}

// empty prunes v's members and reports whether nothing is left of a list or map.
func empty(v types.AttributeValue) bool {
	switch t := v.(type) {
	case *types.AttributeValueMemberM:
		pruneEmpty(t.Value)
		return len(t.Value) == 0
	case *types.AttributeValueMemberL:
		kept := t.Value[:0]
		for _, e := range t.Value {
			// A list keeps its positions: an empty element stays (as NULL), it is not dropped.
			if empty(e) {
				e = &types.AttributeValueMemberNULL{Value: true}
			}
			kept = append(kept, e)
		}
		t.Value = kept
		return len(t.Value) == 0
	}
	return false
}

func unmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(item, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// backoff returns the wait before round n (from 1): exponential with full jitter.
func (s *Store) backoff(n int) time.Duration {
	d := s.retryBase << min(n, 16)
	if d > s.retryMax || d <= 0 {
		d = s.retryMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// encodeCursor turns a LastEvaluatedKey into an opaque page token for the API; all keys
// of every table and index are strings.
func encodeCursor(lek map[string]types.AttributeValue) (string, error) {
	if len(lek) == 0 {
		return "", nil
	}
	m := map[string]string{}
	if err := attributevalue.UnmarshalMap(lek, &m); err != nil {
		return "", fmt.Errorf("encode page token: %w", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode page token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor reads a page token of encodeCursor and checks it is a key of the query
// being continued (valid gets its pk and sk): DynamoDB refuses a start key outside the
// key condition, which would otherwise surface as an internal error.
func decodeCursor(tok string, valid func(pk, sk string) bool) (map[string]types.AttributeValue, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, ErrBadCursor
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 2 || !valid(m[AttrPK], m[AttrSK]) {
		return nil, ErrBadCursor
	}
	return attributevalue.MarshalMap(m)
}

// putIf writes item to table if cond holds. A failed condition is reported as onFail
// (ErrExists for a create, ErrConflict for an optimistic update); every error names what.
func (s *Store) putIf(ctx context.Context, table string, item map[string]types.AttributeValue, cond expression.ConditionBuilder, onFail error, what string) error {
	e, err := build(expression.NewBuilder().WithCondition(cond), what)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table), Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("%s: %w", what, onFail)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// build wraps expression.Builder.Build with context in the error.
func build(b expression.Builder, what string) (expression.Expression, error) {
	e, err := b.Build()
	if err != nil {
		return e, fmt.Errorf("%s: build expression: %w", what, err)
	}
	return e, nil
}
