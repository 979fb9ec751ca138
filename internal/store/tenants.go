package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/staffsync/staffsync/internal/domain"
)

// Item layout of the tenants table: everything of one tenant shares the partition
// TENANT#<id>, so one Query reads it and no scan crosses tenants.
const (
	tenantPrefix  = "TENANT#"
	skProfile     = "PROFILE"
	skSelection   = "SELECTION"
	skCursor      = "CURSOR#"
	skLease       = "LEASE#"
	skRun         = "RUN#"
	backgroundOn  = "on"
	listed        = "tenant"
	attrVersion   = "version"
	attrUpdatedAt = "updated_at"
)

func tenantPK(id string) string { return tenantPrefix + id }

type tenantItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	// BG is set only while background sync is on: the sparse index holds exactly the
	// tenants dispatch must fan out to.
	BG string `json:"bgsync,omitempty"`
	// TL puts the profile (and nothing else of the tenant) into the list index.
	TL string `json:"tlist"`
	domain.Tenant
}

// CreateTenant stores a new tenant (version 1). ErrExists if the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t *domain.Tenant) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	now := s.now().UTC()
	c := *t
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	item, err := marshal(tenantItem{PK: tenantPK(c.ID), SK: skProfile, BG: bg(c.Settings), TL: listed, Tenant: c})
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", t.ID, err)
	}
	if err := s.putIf(ctx, s.tables.Tenants, item, expression.AttributeNotExists(expression.Name(AttrPK)), ErrExists, "create tenant "+t.ID); err != nil {
		return err
	}
	*t = c
	return nil
}

func bg(s domain.Settings) string {
	if s.EnableBackgroundSync {
		return backgroundOn
	}
	return ""
}

// GetTenant reads a tenant (strongly consistent: settings were perhaps just saved).
func (s *Store) GetTenant(ctx context.Context, id string) (domain.Tenant, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(id), skProfile), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.Tenant{}, fmt.Errorf("get tenant %s: %w", id, err)
	}
	if out.Item == nil {
		return domain.Tenant{}, fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	var it tenantItem
	if err := unmarshal(out.Item, &it); err != nil {
		return domain.Tenant{}, fmt.Errorf("decode tenant %s: %w", id, err)
	}
	return it.Tenant, nil
}

// SaveTenant writes t if the stored version is still t.Version (optimistic locking) and
// increments the version. ErrConflict when someone saved in between.
func (s *Store) SaveTenant(ctx context.Context, t *domain.Tenant) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("save tenant: %w", err)
	}
	c := *t
	c.Version = t.Version + 1
	c.UpdatedAt = s.now().UTC()
	item, err := marshal(tenantItem{PK: tenantPK(c.ID), SK: skProfile, BG: bg(c.Settings), TL: listed, Tenant: c})
	if err != nil {
		return fmt.Errorf("save tenant %s: %w", t.ID, err)
	}
	if err := s.putIf(ctx, s.tables.Tenants, item, expression.Name(attrVersion).Equal(expression.Value(t.Version)), ErrConflict,
		fmt.Sprintf("save tenant %s (version %d)", t.ID, t.Version)); err != nil {
		return err
	}
	*t = c
	return nil
}

// UpdateSettings replaces the settings of a tenant read at version and keeps the sparse
// background index in step. ErrConflict when the tenant changed since it was read.
func (s *Store) UpdateSettings(ctx context.Context, id string, version int64, settings domain.Settings) (int64, error) {
	if err := settings.Validate(); err != nil {
		return 0, fmt.Errorf("update settings: %w", err)
	}
	av, err := marshal(struct {
		S domain.Settings `json:"s"`
	}{settings})
	if err != nil {
		return 0, fmt.Errorf("update settings %s: %w", id, err)
	}
	sv, ok := av["s"]
	if !ok { // every setting at its zero value: nothing is left of the map
		sv = &types.AttributeValueMemberNULL{Value: true}
	}
	upd := expression.Set(expression.Name("settings"), expression.Value(sv)).
		Set(expression.Name(attrVersion), expression.Value(version+1)).
		Set(expression.Name(attrUpdatedAt), expression.Value(s.now().UTC()))
	if settings.EnableBackgroundSync {
		upd = upd.Set(expression.Name(AttrBackground), expression.Value(backgroundOn))
	} else {
		upd = upd.Remove(expression.Name(AttrBackground))
	}
	e, err := build(expression.NewBuilder().WithUpdate(upd).WithCondition(
		expression.Name(attrVersion).Equal(expression.Value(version))), "update settings")
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(id), skProfile),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if isConditionFailed(err) {
		return 0, fmt.Errorf("update settings of %s (version %d): %w", id, version, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("update settings of %s: %w", id, err)
	}
	return version + 1, nil
}

// BackgroundTenants calls fn for every tenant with background sync on, page by page
// through the sparse index (never a scan of the table). Returning an error from fn stops
// the walk and returns that error. The index is eventually consistent: a switch flipped
// a moment ago may be seen at the next schedule.
func (s *Store) BackgroundTenants(ctx context.Context, pageSize int32, fn func(domain.Tenant) error) error {
	e, err := build(expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrBackground).Equal(expression.Value(backgroundOn))), "background tenants")
	if err != nil {
		return err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Tenants), IndexName: aws.String(TenantsBackgroundIndex),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		Limit: aws.Int32(pageSize),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query background tenants: %w", err)
		}
		for _, raw := range page.Items {
			var it tenantItem
			if err := unmarshal(raw, &it); err != nil {
				return fmt.Errorf("decode tenant: %w", err)
			}
			// The index entry carries the whole item; trust its settings over its key,
			// because minidyn keeps an index entry after its key attribute is removed.
			if !it.Settings.EnableBackgroundSync {
				continue
			}
			if err := fn(it.Tenant); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListTenants calls fn for every tenant (operator listing), in the order of their ids,
// page by page through the sparse list index: it reads the profiles only, never the
// leases, cursors and run summaries that make up most of the table.
func (s *Store) ListTenants(ctx context.Context, fn func(domain.Tenant) error) error {
	return s.ListTenantsAfter(ctx, "", fn)
}

// ListTenantsAfter is ListTenants starting after the tenant id after ("" from the
// start), so a listing page reads from its cursor on, not from the first tenant. fn may
// return an error to stop early; ListTenantsAfter returns it as it is.
func (s *Store) ListTenantsAfter(ctx context.Context, after string, fn func(domain.Tenant) error) error {
	kc := expression.Key(AttrTenantList).Equal(expression.Value(listed))
	if after != "" {
		kc = kc.And(expression.Key(AttrPK).GreaterThan(expression.Value(tenantPK(after))))
	}
	e, err := build(expression.NewBuilder().WithKeyCondition(kc), "list tenants")
	if err != nil {
		return err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Tenants), IndexName: aws.String(TenantsListIndex),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		for _, raw := range page.Items {
			var it tenantItem
			if err := unmarshal(raw, &it); err != nil {
				return fmt.Errorf("decode tenant: %w", err)
			}
			if err := fn(it.Tenant); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteTenant removes every item of a tenant from the tenants table (profile, selection,
// cursors, leases, runs). Mappings and protocol expire or are removed separately.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	e, err := build(expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(tenantPK(id)))).
		WithProjection(expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))), "delete tenant")
	if err != nil {
		return err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Tenants), KeyConditionExpression: e.KeyCondition(),
		ProjectionExpression: e.Projection(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var keys []map[string]types.AttributeValue
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		keys = append(keys, page.Items...)
	}
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
	}
	if err := s.batchWrite(ctx, s.tables.Tenants, reqs); err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	return nil
}

type selectionItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	domain.Selection
}

// GetSelection reads a tenant's employee selection; a tenant without one gets an empty
// selection at version 0 (everyone "no").
func (s *Store) GetSelection(ctx context.Context, tenant string) (domain.Selection, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skSelection), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.Selection{}, fmt.Errorf("get selection of %s: %w", tenant, err)
	}
	if out.Item == nil {
		return domain.Selection{Tenant: tenant, Employees: map[string]bool{}}, nil
	}
	var it selectionItem
	if err := unmarshal(out.Item, &it); err != nil {
		return domain.Selection{}, fmt.Errorf("decode selection of %s: %w", tenant, err)
	}
	if it.Employees == nil {
		it.Employees = map[string]bool{}
	}
	if it.Match == "" && len(it.Rules) > 1 {
		// Stored before the rules' combination was explicit, when they combined with or:
		// such a tenant keeps selecting whom it selected. New rules are stored with it.
		it.Match = domain.MatchAnyRule
	}
	return it.Selection, nil
}

// SaveSelection writes sel if the stored version is still sel.Version (0: none stored).
func (s *Store) SaveSelection(ctx context.Context, sel *domain.Selection) error {
	if err := sel.Validate(); err != nil {
		return fmt.Errorf("save selection: %w", err)
	}
	c := *sel
	c.Version, c.UpdatedAt = sel.Version+1, s.now().UTC()
	stored := c
	if len(stored.Employees) == 0 {
		// An empty map would be written as an empty M, which minidyn reads back as a list;
		// leaving it out is the same selection (GetSelection restores the empty map).
		stored.Employees = nil
	}
	item, err := marshal(selectionItem{PK: tenantPK(c.Tenant), SK: skSelection, Selection: stored})
	if err != nil {
		return fmt.Errorf("save selection of %s: %w", sel.Tenant, err)
	}
	var cond expression.ConditionBuilder
	if sel.Version == 0 {
		cond = expression.AttributeNotExists(expression.Name(AttrPK))
	} else {
		cond = expression.Name(attrVersion).Equal(expression.Value(sel.Version))
	}
	if err := s.putIf(ctx, s.tables.Tenants, item, cond, ErrConflict, fmt.Sprintf("save selection of %s (version %d)", sel.Tenant, sel.Version)); err != nil {
		return err
	}
	*sel = c
	return nil
}

type cursorItem struct {
	PK        string `json:"pk"`
	SK        string `json:"sk"`
	Cursor    string `json:"cursor"`
	UpdatedAt string `json:"updated_at"`
}

// GetCursor returns a phase's cursor for a tenant ("" before the first run). The value is
// the phase's own (typically an RFC 3339 time).
func (s *Store) GetCursor(ctx context.Context, tenant string, phase domain.Phase) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Tenants), Key: key(tenantPK(tenant), skCursor+string(phase)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("get %s cursor of %s: %w", phase, tenant, err)
	}
	var it cursorItem
	if out.Item != nil {
		if err := unmarshal(out.Item, &it); err != nil {
			return "", fmt.Errorf("decode %s cursor of %s: %w", phase, tenant, err)
		}
	}
	return it.Cursor, nil
}

// SetCursor stores a phase's cursor for a tenant.
func (s *Store) SetCursor(ctx context.Context, tenant string, phase domain.Phase, cursor string) error {
	item, err := marshal(cursorItem{PK: tenantPK(tenant), SK: skCursor + string(phase), Cursor: cursor, UpdatedAt: s.now().UTC().Format(timeKey)})
	if err != nil {
		return fmt.Errorf("set %s cursor of %s: %w", phase, tenant, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Tenants), Item: item}); err != nil {
		return fmt.Errorf("set %s cursor of %s: %w", phase, tenant, err)
	}
	return nil
}
