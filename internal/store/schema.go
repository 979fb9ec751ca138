// Package store is the DynamoDB adapter of staffsync: tenants (settings, sealed
// credentials, selection, cursors, leases, run summaries), mappings (source id ↔ target id
// per record kind) and the protocol (per-record outcomes that expire after two months).
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key schema of the three tables. template.yaml declares the same names; a test reads the
// template and fails when one side changes alone.
const (
	// AttrPK and AttrSK are the partition and sort key of every table.
	AttrPK = "pk"
	AttrSK = "sk"

	// TenantsBackgroundIndex is a sparse GSI on the tenants table: only tenant items with
	// background sync on carry AttrBackground, so dispatch queries it instead of scanning.
	TenantsBackgroundIndex = "background"
	AttrBackground         = "bgsync"

	// TenantsListIndex is a sparse GSI on the tenants table holding only the tenant
	// profiles (AttrTenantList is set on them alone), so listing tenants reads one item
	// per tenant instead of scanning every lease, cursor and run summary of the table.
	TenantsListIndex = "list"
	AttrTenantList   = "tlist"

	// MappingsReverseIndex is the GSI on the mappings table that finds the source record of
	// a target id (for example the Personio employee of a Staffomatic user).
	MappingsReverseIndex = "reverse"
	AttrReversePK        = "rpk"
	AttrReverseSK        = "rsk"

	// AttrExpiresAt is the TTL attribute of the protocol table (epoch seconds).
	AttrExpiresAt = "expiresAt"
)

// Tables names the three tables of one deployment.
type Tables struct {
	Tenants  string
	Mappings string
	Protocol string
}

// Index is a global secondary index with a string partition and sort key, projecting all
// attributes.
type Index struct {
	Name     string
	PK, SK   string
	Sparse   bool
	Describe string
}

// TableSpec is the key schema of one table.
type TableSpec struct {
	// Logical is the table's logical id in template.yaml.
	Logical string
	Name    string
	Indexes []Index
	TTL     string
}

// Specs returns the key schema of each table, named as in t.
func (t Tables) Specs() []TableSpec {
	return []TableSpec{
		{Logical: "TenantsTable", Name: t.Tenants, Indexes: []Index{
			{Name: TenantsBackgroundIndex, PK: AttrBackground, SK: AttrPK, Sparse: true},
			{Name: TenantsListIndex, PK: AttrTenantList, SK: AttrPK, Sparse: true},
		}},
		{Logical: "MappingsTable", Name: t.Mappings, Indexes: []Index{{Name: MappingsReverseIndex, PK: AttrReversePK, SK: AttrReverseSK}}},
		{Logical: "ProtocolTable", Name: t.Protocol, TTL: AttrExpiresAt},
	}
}

// CreateInput returns the CreateTable request for a spec: on-demand billing, string keys.
func (s TableSpec) CreateInput() *dynamodb.CreateTableInput {
	attrs := map[string]bool{AttrPK: true, AttrSK: true}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(s.Name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
	}
	for _, ix := range s.Indexes {
		attrs[ix.PK], attrs[ix.SK] = true, true
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	for _, name := range []string{AttrPK, AttrSK, AttrBackground, AttrTenantList, AttrReversePK, AttrReverseSK} {
		if attrs[name] {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
				AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS,
			})
		}
	}
	return in
}

// CreateTables creates the tables for local runs and tests, from the same key schema as
// template.yaml. Existing tables are left alone. TTL is switched on where the server
// supports it: minidyn answers UpdateTimeToLive with a raw 400, which is tolerated because
// reads filter expired items anyway (TTL deletion lags on AWS too).
func CreateTables(ctx context.Context, db *dynamodb.Client, t Tables) error {
	for _, spec := range t.Specs() {
		_, err := db.CreateTable(ctx, spec.CreateInput())
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", spec.Name, err)
		}
		if spec.TTL != "" && err == nil {
			// Best effort: emulators without TTL support still work, see above.
			_, _ = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName: aws.String(spec.Name),
				TimeToLiveSpecification: &types.TimeToLiveSpecification{
					AttributeName: aws.String(spec.TTL), Enabled: aws.Bool(true),
				},
			})
		}
	}
	return nil
}
