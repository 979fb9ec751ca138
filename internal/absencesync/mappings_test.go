package absencesync_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// itemCounter counts the absence mappings DynamoDB answered from the mappings table
// (GetItem, Query, Scan, BatchGetItem), through a middleware on the client.
type itemCounter struct {
	table string
	mu    sync.Mutex
	n     int
}

func (c *itemCounter) add(out any) {
	var items []map[string]types.AttributeValue
	switch o := out.(type) {
	case *dynamodb.QueryOutput:
		items = o.Items
	case *dynamodb.BatchGetItemOutput:
		items = o.Responses[c.table]
	case *dynamodb.GetItemOutput:
		if o.Item != nil {
			items = append(items, o.Item)
		}
	case *dynamodb.ScanOutput:
		items = o.Items
	}
	k := 0
	for _, it := range items {
		if pk, ok := it[store.AttrPK].(*types.AttributeValueMemberS); ok && strings.HasSuffix(pk.Value, "#"+string(domain.KindAbsence)) {
			k++
		}
	}
	c.mu.Lock()
	c.n += k
	c.mu.Unlock()
}

func (c *itemCounter) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = 0
	return n
}

// tableOf names the table a request reads.
func tableOf(in any) string {
	switch i := in.(type) {
	case *dynamodb.QueryInput:
		return aws.ToString(i.TableName)
	case *dynamodb.GetItemInput:
		return aws.ToString(i.TableName)
	case *dynamodb.ScanInput:
		return aws.ToString(i.TableName)
	case *dynamodb.BatchGetItemInput:
		for t := range i.RequestItems {
			return t
		}
	}
	return ""
}

// countedWorld is the demo company after a users run, with an absences harness whose
// store counts the mapping items it reads.
func countedWorld(t *testing.T) (*world, *itemCounter) {
	t.Helper()
	db, _ := awstest.MiniDyn(t)
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true, DynamoDB: db})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := users.Run(context.Background(), env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	c := &itemCounter{table: env.Tables.Mappings}
	hooked := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && tableOf(in.Parameters) == c.table {
					c.add(out.Result)
				}
				return out, md, err
			}), middleware.After)
		})
	})
	st := store.New(hooked, env.Tables, store.WithClock(env.Clock))
	deps := env.HarnessDeps()
	deps.Store = st
	as := phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: st, Vendors: env.Vendors(), Now: env.Clock}), deps)
	return &world{env: env, as: as}, c
}

// seedHistory stores n mappings of absences removed years ago (their sources deleted in
// Personio, their copies removed): the history a tenant gathers.
func seedHistory(t *testing.T, w *world, n int) {
	t.Helper()
	old := w.env.Clock().AddDate(-3, 0, 0)
	ms := make([]domain.Mapping, n)
	for i := range ms {
		ms[i] = domain.Mapping{Tenant: synctest.TenantID, Kind: domain.KindAbsence, SourceID: absencesync.SourceKey(domain.SystemPersonio, fmt.Sprintf("history-%04d", i)),
			State: domain.StateDeleted, UpdatedAt: old}
	}
	if err := w.env.Store.PutMappings(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
}

// TestPartialAndTargetedRunsReadOnlyTheirMappings: with hundreds of absence mappings of
// earlier years stored, a partial run reads the mappings of the periods it read (and the
// few report keys), a targeted run those of its named period, a full run all of them; the
// partial run still creates the new absence's copy once, and nothing else.
func TestPartialAndTargetedRunsReadOnlyTheirMappings(t *testing.T) {
	ctx := context.Background()
	w, c := countedWorld(t)
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	const history = 400
	seedHistory(t, w, history)
	all, err := w.env.Store.LoadMappings(ctx, synctest.TenantID, domain.KindAbsence)
	if err != nil {
		t.Fatal(err)
	}
	w.env.Advance(time.Hour)
	var person int64
	for _, e := range w.env.P.Employees() {
		if e.Email != "" && e.Status == "active" {
			person = e.ID
			break
		}
	}
	var vacation personiosim.TimeOffType
	for _, ty := range w.env.P.TimeOffTypes() {
		if ty.Name == "Bezahlter Urlaub" {
			vacation = ty
		}
	}
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	w.env.P.AddAbsencePeriod(personiosim.AbsencePeriod{PersonID: person, TypeID: vacation.IDv2, Start: day, End: &day, Status: personiosim.StatusApproved})
	w.env.Advance(time.Minute)
	before := w.marked()
	c.take()
	w.resetCalls()
	sum, entries, err := w.run(t, ctx, domain.ModePartial, false)
	if err != nil || sum.Mode != domain.ModePartial {
		t.Fatalf("partial run: %v, mode %s (%q)", err, sum.Mode, sum.ModeReason)
	}
	n := c.take()
	t.Logf("partial run: %d absence mappings read of %d stored", n, len(all)+1)
	if n == 0 || n > 10 {
		t.Errorf("the partial run read %d absence mappings of %d stored, want the few of its records and report keys", n, len(all)+1)
	}
	if by := tally(entries); by["create_absence/created"] != 1 || len(entries) != 1 {
		t.Fatalf("partial run: %v %+v", by, entries)
	}
	after := w.marked()
	if len(after) != len(before)+1 {
		t.Errorf("%d marked records after the partial run, want %d", len(after), len(before)+1)
	}
	for k, n := range after {
		if n != 1 {
			t.Errorf("%d records with marker %s", n, k)
		}
	}

	w.env.Advance(time.Minute)
	c.take()
	if _, entries, err := w.run(t, ctx, domain.ModeTargeted, false, domain.Target{Kind: domain.KindAbsence, ID: w.env.Demo.HalfDayAbsenceID}); err != nil || len(entries) != 0 {
		t.Fatalf("targeted run: %v %+v", err, entries)
	}
	if n := c.take(); n == 0 || n > 10 {
		t.Errorf("the targeted run read %d absence mappings, want the few of its record and report keys", n)
	}

	w.env.Advance(time.Minute)
	c.take()
	w.resetCalls()
	if _, entries, err := w.run(t, ctx, domain.ModeFull, false); err != nil || len(entries) != 0 || w.writes() != 0 {
		t.Fatalf("full run: %v, %d writes, %+v", err, w.writes(), entries)
	}
	if n := c.take(); n < history {
		t.Errorf("the full run read %d absence mappings, want all (more than %d)", n, history)
	}
}
