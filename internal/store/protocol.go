package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/staffsync/staffsync/internal/domain"
)

// timeKey is a fixed-width UTC time layout: keys built from it sort chronologically.
const timeKey = "2006-01-02T15:04:05.000000000Z"

// Item layout of the protocol table: partition <tenant>#<area>, sort key
// <time>#<run id>#<sequence><random>, so a time range is a key condition, entries never
// collide, and entries of one run written at the same instant (a dry run's plan) keep the
// order in which they were appended.
//
// protocolSeq numbers the entries this process appends.
var protocolSeq atomic.Uint64

func protocolPK(tenant string, area domain.Area) string { return tenant + "#" + string(area) }

type protocolItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	// TTL is the epoch-seconds TTL attribute; DynamoDB deletes the item some time after.
	TTL int64 `json:"expiresAt"`
	domain.ProtocolEntry
}

// AppendProtocol writes entries (batches of 25). Missing times are set to now; every
// entry expires after domain.ProtocolRetention.
func (s *Store) AppendProtocol(ctx context.Context, entries ...domain.ProtocolEntry) error {
	now := s.now().UTC()
	reqs := make([]types.WriteRequest, 0, len(entries))
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("append protocol: %w", err)
		}
		if e.Time.IsZero() {
			e.Time = now
		}
		e.Time = e.Time.UTC()
		e.ExpiresAt = now.Add(domain.ProtocolRetention).Truncate(time.Second)
		var r [4]byte
		_, _ = rand.Read(r[:])
		item, err := marshal(protocolItem{
			PK: protocolPK(e.Tenant, e.Area), SK: fmt.Sprintf("%s#%s#%016x%s", e.Time.Format(timeKey), e.RunID, protocolSeq.Add(1), hex.EncodeToString(r[:])),
			TTL: e.ExpiresAt.Unix(), ProtocolEntry: e,
		})
		if err != nil {
			return fmt.Errorf("append protocol: %w", err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := s.batchWrite(ctx, s.tables.Protocol, reqs); err != nil {
		return fmt.Errorf("append protocol: %w", err)
	}
	return nil
}

// protocolReadsPerPage bounds the Query requests per area behind one page of
// QueryProtocol, so a filter that matches little (a run's entries in a busy area, a range
// of expired entries) cannot turn one API call into a read of the whole partition.
const protocolReadsPerPage = 10

// ProtocolQuery selects protocol entries of one tenant in [From, To] (zero: unbounded),
// of one area or, when Area is "", of every area merged by time, optionally of one run.
type ProtocolQuery struct {
	Tenant   string
	Area     domain.Area
	From, To time.Time
	RunID    string
	// Limit is the page size (default 100).
	Limit int
	// Newest returns the newest entries first.
	Newest bool
	// Next is the page token of the previous page.
	Next string
}

// ProtocolPage is one page of entries; Next is "" on the last page. A page may hold fewer
// entries than the limit (even none) while Next is set: keep reading until Next is "".
type ProtocolPage struct {
	Entries []domain.ProtocolEntry
	Next    string
}

// protocolCursor is QueryProtocol's page token. It holds no table key, only per area the
// sort key after which the next page continues (absent: not read yet) and the areas read
// to the end, so a token cannot point into another tenant's partition, and one token
// serves a merged read of several areas.
type protocolCursor struct {
	After map[domain.Area]string `json:"a,omitempty"`
	Done  []domain.Area          `json:"d,omitempty"`
}

// areaRead is what one area's query returned for a page: its items in read order and
// the sort key to continue after ("" when the area is read to the end).
type areaRead struct {
	area  domain.Area
	items []protocolItem
	more  string
	taken int
}

// QueryProtocol returns one page of entries. Expired entries are filtered out on read:
// TTL deletion lags by up to days on AWS, and emulators never delete.
//
// Without an area, each area is read from its own position and the reads are merged by
// sort key (time first). An entry is only returned when no area that has more to read
// could still hold an entry that sorts before it; the rest waits for the next page.
func (s *Store) QueryProtocol(ctx context.Context, q ProtocolQuery) (ProtocolPage, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	areas := domain.Areas
	if q.Area != "" {
		areas = []domain.Area{q.Area}
	}
	lo, hi := "0", "~"
	if !q.From.IsZero() {
		lo = q.From.UTC().Format(timeKey)
	}
	if !q.To.IsZero() {
		hi = q.To.UTC().Format(timeKey) + "~"
	}
	cur, err := decodeProtocolCursor(q.Next, areas, lo, hi)
	if err != nil {
		return ProtocolPage{}, err
	}
	var reads []*areaRead
	for _, a := range areas {
		if slices.Contains(cur.Done, a) {
			continue
		}
		r := &areaRead{area: a}
		if r.items, r.more, err = s.queryProtocolArea(ctx, q, a, lo, hi, cur.After[a]); err != nil {
			return ProtocolPage{}, err
		}
		reads = append(reads, r)
	}
	// before reports whether sort key x comes before y in the page's order.
	before := func(x, y string) bool { return x > y == q.Newest && x != y }
	// cutoff: the furthest an area with more to read has got; past it, that area may
	// still hold entries, so nothing past it is returned on this page.
	cutoff := ""
	for _, r := range reads {
		if r.more != "" && (cutoff == "" || before(r.more, cutoff)) {
			cutoff = r.more
		}
	}
	var page ProtocolPage
	for len(page.Entries) < q.Limit {
		var next *areaRead
		for _, r := range reads {
			if r.taken < len(r.items) && (next == nil || before(r.items[r.taken].SK, next.items[next.taken].SK)) {
				next = r
			}
		}
		if next == nil || (cutoff != "" && before(cutoff, next.items[next.taken].SK)) {
			break
		}
		page.Entries = append(page.Entries, next.items[next.taken].ProtocolEntry)
		next.taken++
	}
	out := protocolCursor{After: map[domain.Area]string{}, Done: slices.Clone(cur.Done)}
	for a, sk := range cur.After {
		out.After[a] = sk
	}
	for _, r := range reads {
		switch {
		case r.taken == len(r.items) && r.more == "":
			out.Done = append(out.Done, r.area)
			delete(out.After, r.area)
		case r.taken == len(r.items):
			out.After[r.area] = r.more
		case r.taken > 0:
			out.After[r.area] = r.items[r.taken-1].SK
		}
	}
	if len(out.Done) < len(areas) {
		b, err := json.Marshal(out)
		if err != nil {
			return ProtocolPage{}, fmt.Errorf("encode page token: %w", err)
		}
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}

// decodeProtocolCursor reads a page token and checks it fits the query: known areas of
// the query and positions inside its time range (DynamoDB refuses a start key outside
// the key condition, which would otherwise surface as an internal error).
func decodeProtocolCursor(tok string, areas []domain.Area, lo, hi string) (protocolCursor, error) {
	var c protocolCursor
	if tok == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return c, ErrBadCursor
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&c) != nil {
		return c, ErrBadCursor
	}
	for a, sk := range c.After {
		if !slices.Contains(areas, a) || sk < lo || sk > hi {
			return c, ErrBadCursor
		}
	}
	for _, a := range c.Done {
		if !slices.Contains(areas, a) {
			return c, ErrBadCursor
		}
	}
	return c, nil
}

// queryProtocolArea reads up to q.Limit entries of one area after sort key after, with
// at most protocolReadsPerPage requests. It returns them with the sort key to continue
// after, or "" when the area has no more.
//
// Expired entries and other runs' entries are dropped here rather than by a
// FilterExpression: DynamoDB bills the items a Query reads, filtered or not, so this
// costs the same, and it keeps every last evaluated key inside the queried partition
// (minidyn counts other partitions' items against the Limit of a filtered Query). Each
// read asks for a full page, never the few entries missing, which would cost one request
// per item; entries beyond the page are cut, and the next page starts after the last one
// kept.
func (s *Store) queryProtocolArea(ctx context.Context, q ProtocolQuery, area domain.Area, lo, hi, after string) ([]protocolItem, string, error) {
	pk := protocolPK(q.Tenant, area)
	e, err := build(expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(pk)).
			And(expression.Key(AttrSK).Between(expression.Value(lo), expression.Value(hi)))), "query protocol")
	if err != nil {
		return nil, "", err
	}
	now := s.now().Unix()
	var start map[string]types.AttributeValue
	if after != "" {
		start = key(pk, after)
	}
	var items []protocolItem
	for reads := 1; ; reads++ {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.tables.Protocol), KeyConditionExpression: e.KeyCondition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
			ScanIndexForward: aws.Bool(!q.Newest), Limit: aws.Int32(int32(q.Limit)), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("query protocol of %s/%s: %w", q.Tenant, area, err)
		}
		start = out.LastEvaluatedKey
		for i, raw := range out.Items {
			var it protocolItem
			if err := unmarshal(raw, &it); err != nil {
				return nil, "", fmt.Errorf("decode protocol entry: %w", err)
			}
			if it.TTL <= now || (q.RunID != "" && it.RunID != q.RunID) {
				continue
			}
			items = append(items, it)
			if len(items) == q.Limit {
				if i < len(out.Items)-1 {
					start = key(it.PK, it.SK)
				}
				break
			}
		}
		if len(start) == 0 || len(items) >= q.Limit || reads >= protocolReadsPerPage {
			break
		}
	}
	if len(start) == 0 {
		return items, "", nil
	}
	var k struct {
		PK string `dynamodbav:"pk"`
		SK string `dynamodbav:"sk"`
	}
	if err := attributevalue.UnmarshalMap(start, &k); err != nil || k.SK == "" {
		return nil, "", fmt.Errorf("query protocol of %s/%s: unexpected last evaluated key", q.Tenant, area)
	}
	if k.PK != pk {
		return nil, "", fmt.Errorf("query protocol of %s/%s: last evaluated key outside the partition", q.Tenant, area)
	}
	return items, k.SK, nil
}
