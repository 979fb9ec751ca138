package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// protocolReadsPerPage bounds the Query requests behind one page of QueryProtocol, so a
// filter that matches little (a run's entries in a busy area, a range of expired entries)
// cannot turn one API call into a read of the whole partition.
const protocolReadsPerPage = 10

// ProtocolQuery selects protocol entries of one tenant and area in [From, To] (zero:
// unbounded), optionally of one run.
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

// QueryProtocol returns one page of entries. Expired entries are filtered out on read:
// TTL deletion lags by up to days on AWS, and emulators never delete.
func (s *Store) QueryProtocol(ctx context.Context, q ProtocolQuery) (ProtocolPage, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	start, err := decodeCursor(q.Next)
	if err != nil {
		return ProtocolPage{}, err
	}
	lo, hi := "0", "~"
	if !q.From.IsZero() {
		lo = q.From.UTC().Format(timeKey)
	}
	if !q.To.IsZero() {
		hi = q.To.UTC().Format(timeKey) + "~"
	}
	filter := expression.Name(AttrExpiresAt).GreaterThan(expression.Value(s.now().Unix()))
	if q.RunID != "" {
		filter = filter.And(expression.Name("run_id").Equal(expression.Value(q.RunID)))
	}
	e, err := build(expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(protocolPK(q.Tenant, q.Area))).
			And(expression.Key(AttrSK).Between(expression.Value(lo), expression.Value(hi)))).
		WithFilter(filter), "query protocol")
	if err != nil {
		return ProtocolPage{}, err
	}
	var page ProtocolPage
	// Limit counts items before the filter (expired entries, other runs), so a page may
	// take several reads. Each read asks for a full page, never the few entries missing,
	// which would cost one request per item; entries beyond the page are cut and the next
	// page starts after the last one kept. At most protocolReadsPerPage reads are made:
	// a page can come back short, or empty, with a Next token, as DynamoDB's own pages do.
	for reads := 1; ; reads++ {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.tables.Protocol), KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
			ScanIndexForward: aws.Bool(!q.Newest), Limit: aws.Int32(int32(q.Limit)), ExclusiveStartKey: start,
		})
		if err != nil {
			return ProtocolPage{}, fmt.Errorf("query protocol of %s/%s: %w", q.Tenant, q.Area, err)
		}
		start = out.LastEvaluatedKey
		for i, raw := range out.Items {
			var it protocolItem
			if err := unmarshal(raw, &it); err != nil {
				return ProtocolPage{}, fmt.Errorf("decode protocol entry: %w", err)
			}
			page.Entries = append(page.Entries, it.ProtocolEntry)
			if len(page.Entries) == q.Limit {
				if i < len(out.Items)-1 {
					start = key(it.PK, it.SK)
				}
				break
			}
		}
		if len(start) == 0 || len(page.Entries) >= q.Limit || reads >= protocolReadsPerPage {
			break
		}
	}
	page.Next, err = encodeCursor(start)
	return page, err
}
