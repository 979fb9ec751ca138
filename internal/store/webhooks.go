package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/domain"
)

// skWebhooks is the tenants-table item holding a tenant's webhook credentials. It is kept
// apart from the profile so that reading a tenant for display never touches them, and
// DeleteTenant removes it with the rest of the partition.
const skWebhooks = "WEBHOOKS"

// replayPrefix starts the protocol-table partition of seen webhook signatures. Tenant ids
// are lower-case, so it never collides with a protocol partition "<tenant>#<area>".
const replayPrefix = "REPLAY#"

// WebhookSecrets are a tenant's credentials for the two webhook receivers. Personio sends
// its token verbatim, so only its SHA-256 is kept; the Staffomatic secret keys an HMAC and
// must be usable, so it is kept sealed.
type WebhookSecrets struct {
	Tenant string `json:"tenant_id"`
	// PersonioTokenHash is the hex SHA-256 of the token Personio sends in Authorization.
	PersonioTokenHash string `json:"personio_token_hash"`
	// StaffomaticSecret is the sealed HMAC key of signed Staffomatic notifications.
	StaffomaticSecret domain.Sealed `json:"staffomatic_secret"`
	// PersonioWebhookID is the id Personio gave our registration ("" when not registered).
	PersonioWebhookID string    `json:"personio_webhook_id,omitempty"`
	RotatedAt         time.Time `json:"rotated_at"`
}

type webhooksItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	WebhookSecrets
}

// PutWebhookSecrets stores (or replaces, on rotation) a tenant's webhook secrets.
func (s *Store) PutWebhookSecrets(ctx context.Context, w WebhookSecrets) error {
	if err := domain.ValidateTenantID(w.Tenant); err != nil {
		return fmt.Errorf("put webhook secrets: %w", err)
	}
	if w.RotatedAt.IsZero() {
		w.RotatedAt = s.now().UTC()
	}
	item, err := marshal(webhooksItem{PK: tenantPK(w.Tenant), SK: skWebhooks, WebhookSecrets: w})
	if err != nil {
		return fmt.Errorf("put webhook secrets of %s: %w", w.Tenant, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Tenants), Item: item}); err != nil {
		return fmt.Errorf("put webhook secrets of %s: %w", w.Tenant, err)
	}
	return nil
}

// GetWebhookSecrets reads a tenant's webhook secrets (ErrNotFound when none are stored).
func (s *Store) GetWebhookSecrets(ctx context.Context, tenant string) (WebhookSecrets, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skWebhooks), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return WebhookSecrets{}, fmt.Errorf("get webhook secrets of %s: %w", tenant, err)
	}
	if out.Item == nil {
		return WebhookSecrets{}, fmt.Errorf("webhook secrets of %s: %w", tenant, ErrNotFound)
	}
	var it webhooksItem
	if err := unmarshal(out.Item, &it); err != nil {
		return WebhookSecrets{}, fmt.Errorf("decode webhook secrets of %s: %w", tenant, err)
	}
	return it.WebhookSecrets, nil
}

// ClaimOnce records that key was seen for tenant and keeps the record for ttl. It is a
// conditional put, so of any number of concurrent claims of one key exactly one succeeds;
// the others, and every later claim before the record expires, get ErrExists. Webhook
// receivers use it to refuse a replayed signature. The record lives in the protocol table
// because that table's TTL removes it; expired records are overwritten, as TTL lags.
func (s *Store) ClaimOnce(ctx context.Context, tenant, claim string, ttl time.Duration) error {
	if claim == "" {
		return fmt.Errorf("claim once: empty key")
	}
	now := s.now()
	item, err := marshal(struct {
		PK  string `json:"pk"`
		SK  string `json:"sk"`
		TTL int64  `json:"expiresAt"`
	}{replayPrefix + tenant, claim, now.Add(ttl).Unix()})
	if err != nil {
		return fmt.Errorf("claim once: %w", err)
	}
	return s.putIf(ctx, s.tables.Protocol, item, expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name(AttrExpiresAt).LessThanEqual(expression.Value(now.Unix()))), ErrExists, fmt.Sprintf("claim %q of %s", claim, tenant))
}

// ReleaseClaim removes a claim ClaimOnce recorded, so that the key can be claimed again at
// once. A webhook receiver releases its claim when the delivery failed after claiming
// (the queue was down): the sender's retry must then be processed, not taken for a
// repeat. Releasing a claim that is not there is no error.
func (s *Store) ReleaseClaim(ctx context.Context, tenant, claim string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Protocol), Key: key(replayPrefix+tenant, claim)}); err != nil {
		return fmt.Errorf("release claim %q of %s: %w", claim, tenant, err)
	}
	return nil
}
