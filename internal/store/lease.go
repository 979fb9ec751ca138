package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/domain"
)

// Lease is the right of one run to work on one phase of one tenant until Until. It is a
// conditional write, so of any number of concurrent runs exactly one holds it; a lease
// whose holder crashed expires and can then be taken over.
type Lease struct {
	Tenant string       `json:"tenant_id"`
	Phase  domain.Phase `json:"phase"`
	Holder string       `json:"holder"`
	// UntilMs is the expiry in Unix milliseconds (a number, so the condition compares it).
	UntilMs    int64  `json:"until"`
	AcquiredAt string `json:"acquired_at"`
	// Token is random per acquisition. Release and extend check it besides the holder:
	// a run whose lease expired and was taken over by a redelivery of the same run (same
	// holder) must not release or extend the lease that delivery now holds.
	Token string `json:"token"`
	// Invocation is the Lambda request id of the invocation that took the lease ("" outside
	// Lambda). Lambda retries a failed or timed-out asynchronous invocation with the same
	// request id, and only after the attempt has ended, so a holder with the same run and
	// the same invocation is a dead attempt whose lease its retry may take over at once.
	Invocation string `json:"invocation,omitempty"`
}

// Until returns the expiry time.
func (l Lease) Until() time.Time { return time.UnixMilli(l.UntilMs) }

// LeaseHeldError says who holds a lease that could not be taken.
type LeaseHeldError struct {
	Holder string
	Until  time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("%s: run %s holds the lease until %s", domain.ReasonPreviousRunActive, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

// ErrLeaseLost is returned when releasing or extending a lease another run has taken
// over after it expired.
var ErrLeaseLost = errors.New("lease lost: it expired and another run took it over")

type leaseItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	Lease
}

// AcquireLease takes the lease of a tenant's phase for run holder for ttl. It succeeds
// when nobody holds it or the current lease has expired. Otherwise it returns a
// *LeaseHeldError — also to the holder itself, because a second delivery of the same
// run's event must not run alongside the first.
func (s *Store) AcquireLease(ctx context.Context, tenant string, phase domain.Phase, holder string, ttl time.Duration) (Lease, error) {
	return s.AcquireLeaseFor(ctx, tenant, phase, holder, "", ttl)
}

// AcquireLeaseFor is AcquireLease for the Lambda invocation with request id invocation:
// besides a free or expired lease it also takes one held by the same run and the same
// invocation, which only Lambda's retry of a failed or timed-out attempt can find (see
// Lease.Invocation). Without it, such a retry would be refused as a duplicate until the
// dead attempt's lease expired, and the run would stay "running" for good.
func (s *Store) AcquireLeaseFor(ctx context.Context, tenant string, phase domain.Phase, holder, invocation string, ttl time.Duration) (Lease, error) {
	now := s.now()
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	l := Lease{Tenant: tenant, Phase: phase, Holder: holder, UntilMs: now.Add(ttl).UnixMilli(), AcquiredAt: now.UTC().Format(timeKey),
		Token: hex.EncodeToString(tok[:]), Invocation: invocation}
	item, err := marshal(leaseItem{PK: tenantPK(tenant), SK: skLease + string(phase), Lease: l})
	if err != nil {
		return Lease{}, fmt.Errorf("acquire lease: %w", err)
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name("until").LessThan(expression.Value(now.UnixMilli())))
	if invocation != "" {
		cond = cond.Or(expression.Name("holder").Equal(expression.Value(holder)).
			And(expression.Name("invocation").Equal(expression.Value(invocation))))
	}
	e, err := build(expression.NewBuilder().WithCondition(cond), "acquire lease")
	if err != nil {
		return Lease{}, err
	}
	// The holder may release the lease between the refused write and the read of who
	// holds it; then the lease is free and the write is tried again (a few times, as
	// other runs may take and release it in between too).
	for attempt := 1; ; attempt++ {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.tables.Tenants), Item: item,
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		})
		if err == nil {
			return l, nil
		}
		if !isConditionFailed(err) {
			return Lease{}, fmt.Errorf("acquire %s lease of %s: %w", phase, tenant, err)
		}
		cur, gerr := s.getLease(ctx, tenant, phase)
		if errors.Is(gerr, ErrNotFound) && attempt < 3 {
			continue
		}
		if gerr != nil {
			return Lease{}, fmt.Errorf("acquire %s lease of %s: held, and reading the holder failed: %w", phase, tenant, gerr)
		}
		return Lease{}, &LeaseHeldError{Holder: cur.Holder, Until: cur.Until()}
	}
}

func (s *Store) getLease(ctx context.Context, tenant string, phase domain.Phase) (Lease, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skLease+string(phase)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Lease{}, err
	}
	if out.Item == nil {
		return Lease{}, ErrNotFound
	}
	var it leaseItem
	if err := unmarshal(out.Item, &it); err != nil {
		return Lease{}, err
	}
	return it.Lease, nil
}

// GetLease returns the current lease of a tenant's phase, expired or not (ErrNotFound when
// none is stored).
func (s *Store) GetLease(ctx context.Context, tenant string, phase domain.Phase) (Lease, error) {
	l, err := s.getLease(ctx, tenant, phase)
	if err != nil {
		return Lease{}, fmt.Errorf("get %s lease of %s: %w", phase, tenant, err)
	}
	return l, nil
}

// heldBy is the condition that the stored lease is still the one l's acquisition took.
func heldBy(l Lease) expression.ConditionBuilder {
	return expression.Name("holder").Equal(expression.Value(l.Holder)).And(expression.Name("token").Equal(expression.Value(l.Token)))
}

// ReleaseLease deletes the lease if l's acquisition still holds it. ErrLeaseLost otherwise.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	e, err := build(expression.NewBuilder().WithCondition(heldBy(l)), "release lease")
	if err != nil {
		return err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(l.Tenant), skLease+string(l.Phase)),
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("release %s lease of %s by %s: %w", l.Phase, l.Tenant, l.Holder, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("release %s lease of %s: %w", l.Phase, l.Tenant, err)
	}
	return nil
}

// ExtendLease moves the expiry of a held lease to now+ttl, for runs that outgrow it.
func (s *Store) ExtendLease(ctx context.Context, l *Lease, ttl time.Duration) error {
	until := s.now().Add(ttl).UnixMilli()
	e, err := build(expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("until"), expression.Value(until))).
		WithCondition(heldBy(*l)), "extend lease")
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(l.Tenant), skLease+string(l.Phase)),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("extend %s lease of %s: %w", l.Phase, l.Tenant, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("extend %s lease of %s: %w", l.Phase, l.Tenant, err)
	}
	l.UntilMs = until
	return nil
}
