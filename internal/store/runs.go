package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/staffsync/staffsync/internal/domain"
)

// RunRetention is how long run summaries are kept: as long as the protocol they summarise.
// The tenants table has no TTL (its profiles must never expire, and the template ties
// retention to the absence of TTL), so PruneRuns removes older summaries instead.
const RunRetention = domain.ProtocolRetention

type runItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	domain.RunSummary
}

// encodeRun validates a run summary's keys and returns it as the item to write; errors
// name what (the operation).
//
// Empty counts and API-call maps are left out of the item. attributevalue writes an empty
// map as an empty M (it ignores omitempty on maps), and minidyn (`make run`, the tests)
// reads an empty M back as a copy of another map attribute of the item: a no-op run's
// empty counts came back as its API calls ({"personio":3,"staffomatic":8}) while the log
// said counts=map[]. An absent attribute reads back as a nil map, which is the same
// summary.
func encodeRun(what string, r domain.RunSummary) (map[string]types.AttributeValue, error) {
	if err := domain.ValidateTenantID(r.Tenant); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := domain.ValidateRunID(r.RunID); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(r.Counts) == 0 {
		r.Counts = nil
	}
	if len(r.APICalls) == 0 {
		r.APICalls = nil
	}
	item, err := marshal(runItem{PK: tenantPK(r.Tenant), SK: skRun + r.RunID, RunSummary: r})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, r.RunID, err)
	}
	return item, nil
}

// CreateRun stores a new run summary, failing with ErrExists when a run with this id is
// already stored. Dispatch uses it on the deterministic id of a scheduled run, so a
// schedule delivered twice creates one run.
func (s *Store) CreateRun(ctx context.Context, r domain.RunSummary) error {
	item, err := encodeRun("create run", r)
	if err != nil {
		return err
	}
	return s.putIf(ctx, s.tables.Tenants, item, expression.AttributeNotExists(expression.Name(AttrPK)), ErrExists,
		fmt.Sprintf("create run %s of %s", r.RunID, r.Tenant))
}

// PutRun writes a run summary, replacing what is stored under its id.
func (s *Store) PutRun(ctx context.Context, r domain.RunSummary) error {
	item, err := encodeRun("put run", r)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Tenants), Item: item}); err != nil {
		return fmt.Errorf("put run %s of %s: %w", r.RunID, r.Tenant, err)
	}
	return nil
}

// PutRunIfUnchanged writes a run summary only if the stored one is still the one the
// caller read (same status and start; read nil: none stored). ErrConflict otherwise: another
// delivery of the run has started or ended it since, and its summary must stay.
func (s *Store) PutRunIfUnchanged(ctx context.Context, r domain.RunSummary, read *domain.RunSummary) error {
	item, err := encodeRun("put run", r)
	if err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if read != nil {
		cond = expression.Name("status").Equal(expression.Value(read.Status)).
			And(expression.Name("started_at").Equal(expression.Value(read.StartedAt)))
	}
	return s.putIf(ctx, s.tables.Tenants, item, cond, ErrConflict, fmt.Sprintf("put run %s of %s", r.RunID, r.Tenant))
}

// FinishRun writes a run's final summary and releases the run's lease in one transaction:
// nobody can find the lease free while the summary still says "running", so a second
// delivery of the run, which checks the summary under the lease, never starts it again,
// and a run started right after the summary shows the end is not refused by the lease.
// When the lease was lost (expired and taken over), the summary is written alone and
// ErrLeaseLost is returned.
func (s *Store) FinishRun(ctx context.Context, l Lease, r domain.RunSummary) error {
	item, err := encodeRun("finish run", r)
	if err != nil {
		return err
	}
	e, err := build(expression.NewBuilder().WithCondition(heldBy(l)), "finish run")
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(l.Tenant), skLease+string(l.Phase)),
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		}},
		{Put: &types.Put{TableName: aws.String(s.tables.Tenants), Item: item}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		if err := s.PutRun(ctx, r); err != nil {
			return fmt.Errorf("finish run %s of %s: %w", r.RunID, r.Tenant, err)
		}
		return fmt.Errorf("finish run %s of %s: release %s lease: %w", r.RunID, r.Tenant, l.Phase, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("finish run %s of %s: %w", r.RunID, r.Tenant, err)
	}
	return nil
}

// DeleteRun removes a run summary (dispatch withdraws a claim whose event could not be
// sent, so that the schedule's retry dispatches it again).
func (s *Store) DeleteRun(ctx context.Context, tenant, runID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skRun+runID)}); err != nil {
		return fmt.Errorf("delete run %s of %s: %w", runID, tenant, err)
	}
	return nil
}

// GetRun reads one run summary.
func (s *Store) GetRun(ctx context.Context, tenant, runID string) (domain.RunSummary, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skRun+runID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.RunSummary{}, fmt.Errorf("get run %s of %s: %w", runID, tenant, err)
	}
	if out.Item == nil {
		return domain.RunSummary{}, fmt.Errorf("run %s of %s: %w", runID, tenant, ErrNotFound)
	}
	var it runItem
	if err := unmarshal(out.Item, &it); err != nil {
		return domain.RunSummary{}, fmt.Errorf("decode run %s: %w", runID, err)
	}
	return it.RunSummary, nil
}

// RunPage is one page of run summaries, newest first; Next is "" on the last page.
type RunPage struct {
	Runs []domain.RunSummary
	Next string
}

// ListRuns returns a tenant's runs newest first, limit per page, continuing after the page
// token next. Run ids begin with the second they were queued in, which orders the runs of
// different seconds; runs of the same second (Sync Now of all phases queues four at once)
// are ordered by start, newest first (runs not started yet first, later phases of the
// timetable before earlier ones, as they will run in its order). A page therefore never ends inside a second: it
// stops before the second the next run belongs to, or, when a single second holds more
// than limit runs, takes that whole second.
func (s *Store) ListRuns(ctx context.Context, tenant string, limit int32, next string) (RunPage, error) {
	start, err := decodeCursor(next, func(pk, sk string) bool { return pk == tenantPK(tenant) && strings.HasPrefix(sk, skRun) })
	if err != nil {
		return RunPage{}, err
	}
	if limit < 1 {
		limit = 1
	}
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(tenantPK(tenant))).
		And(expression.Key(AttrSK).BeginsWith(skRun))), "list runs")
	if err != nil {
		return RunPage{}, err
	}
	var runs []domain.RunSummary
	// read adds up to n runs after start; more says whether any follow.
	more := true
	read := func(n int32) error {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.tables.Tenants), KeyConditionExpression: e.KeyCondition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(n), ExclusiveStartKey: start,
		})
		if err != nil {
			return fmt.Errorf("list runs of %s: %w", tenant, err)
		}
		for _, raw := range out.Items {
			var it runItem
			if err := unmarshal(raw, &it); err != nil {
				return fmt.Errorf("decode run: %w", err)
			}
			runs = append(runs, it.RunSummary)
		}
		start, more = out.LastEvaluatedKey, len(out.LastEvaluatedKey) > 0
		return nil
	}
	// The page and one run beyond it, which tells whether the page's last second goes on.
	for more && int32(len(runs)) <= limit {
		if err := read(limit + 1 - int32(len(runs))); err != nil {
			return RunPage{}, err
		}
	}
	cut := len(runs)
	if int32(len(runs)) > limit {
		cut = int(limit)
		for cut > 0 && runSecond(runs[cut-1]) == runSecond(runs[limit]) {
			cut--
		}
		if cut == 0 {
			// One second holds more than a page: take all of it.
			sec := runSecond(runs[0])
			for more && runSecond(runs[len(runs)-1]) == sec {
				if err := read(limit); err != nil {
					return RunPage{}, err
				}
			}
			for cut < len(runs) && runSecond(runs[cut]) == sec {
				cut++
			}
		}
	}
	var page RunPage
	if cut < len(runs) || more {
		// The key order's last run of the page, before the page is sorted by start.
		if page.Next, err = encodeCursor(key(tenantPK(tenant), skRun+runs[cut-1].RunID)); err != nil {
			return RunPage{}, err
		}
	}
	page.Runs = runs[:cut]
	slices.SortStableFunc(page.Runs, newerRun)
	return page, nil
}

// runSecond is the second a run was queued in, the start of its id.
func runSecond(r domain.RunSummary) string {
	t, _, _ := strings.Cut(r.RunID, "-")
	return t
}

// newerRun orders runs newest first: by the second of their id, then by start (a run not
// started yet starts after every one that has), then later phases of the timetable first
// (a chain of Sync Now runs in that order), then by id.
func newerRun(a, b domain.RunSummary) int {
	at := func(r domain.RunSummary) time.Time {
		if r.StartedAt.IsZero() {
			return time.Unix(1<<40, 0)
		}
		return r.StartedAt
	}
	return cmp.Or(
		cmp.Compare(runSecond(b), runSecond(a)),
		at(b).Compare(at(a)),
		cmp.Compare(slices.Index(domain.Phases, b.Phase), slices.Index(domain.Phases, a.Phase)),
		cmp.Compare(b.RunID, a.RunID),
	)
}

// PruneRuns deletes a tenant's run summaries that started before cutoff and returns how
// many it deleted. Run ids begin with their UTC time, so the old ones are one key range;
// a tenant accumulates about 150 runs a day, which makes pruning necessary.
func (s *Store) PruneRuns(ctx context.Context, tenant string, cutoff time.Time) (int, error) {
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(tenantPK(tenant))).
		And(expression.Key(AttrSK).Between(expression.Value(skRun), expression.Value(skRun+cutoff.UTC().Format("20060102T150405Z"))))).
		WithProjection(expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))), "prune runs")
	if err != nil {
		return 0, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Tenants), KeyConditionExpression: e.KeyCondition(), ProjectionExpression: e.Projection(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var reqs []types.WriteRequest
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("prune runs of %s: %w", tenant, err)
		}
		for _, k := range page.Items {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
	}
	if err := s.batchWrite(ctx, s.tables.Tenants, reqs); err != nil {
		return 0, fmt.Errorf("prune runs of %s: %w", tenant, err)
	}
	return len(reqs), nil
}
