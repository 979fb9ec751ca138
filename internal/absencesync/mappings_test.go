package absencesync_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
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

// TestFullRunPrunesOnlyWhatCountsForNothing: the nightly full run removes the mappings of
// absences removed before the window (source and copies gone, nothing else kept on
// them), in both directions, and keeps every other: one deleted this year, one holding a
// report, one with a failure counted, one pending (a create may have landed), one given
// up with a copy named, every transferred one (here one written before a switch, which the
// run reports once as such). The run writes nothing to the vendors; after
// it a full and a partial run write nothing and every copy exists once.
func TestFullRunPrunesOnlyWhatCountsForNothing(t *testing.T) {
	ctx := context.Background()
	w, c := countedWorld(t)
	if _, _, err := w.run(t, ctx, domain.ModeFull, false); err != nil {
		t.Fatal(err)
	}
	// A period deleted in Personio now: its copy is removed and its mapping deleted this year.
	if err := w.env.P.RemoveAbsencePeriod(w.env.Demo.HalfDayAbsenceID); err != nil {
		t.Fatal(err)
	}
	w.env.Advance(time.Hour)
	if _, entries, err := w.run(t, ctx, domain.ModeFull, false); err != nil || tally(entries)["remove_absence/deleted"] != 1 {
		t.Fatalf("deletion run: %v %+v", err, entries)
	}
	const history = 300
	seedHistory(t, w, history)
	old := w.env.Clock().AddDate(-2, 0, 0)
	tenant := synctest.TenantID
	keep := []domain.Mapping{
		{SourceID: "personio/reported", State: domain.StateDeleted, Reported: "fp"},
		{SourceID: "personio/failed-then-forgotten", State: domain.StateDeleted, Attempts: 2, LastError: "HTTP 500"},
		{SourceID: "personio/pending", State: domain.StatePending},
		{SourceID: "personio/gave-up", State: domain.StateGaveUp, TargetIDs: []string{"999999"}, Hash: "removal", Attempts: 9, LastError: "HTTP 500"},
		{SourceID: "staffomatic/424242", State: domain.StateTransferred, TargetIDs: []string{"no-such-period"}, Hash: "h.approved"},
	}
	for i := range keep {
		keep[i].Tenant, keep[i].Kind, keep[i].UpdatedAt = tenant, domain.KindAbsence, old
	}
	gone := domain.Mapping{Tenant: tenant, Kind: domain.KindAbsence, SourceID: "staffomatic/31337", State: domain.StateDeleted, UpdatedAt: old}
	if err := w.env.Store.PutMappings(ctx, append(slices.Clone(keep), gone)); err != nil {
		t.Fatal(err)
	}
	before, err := w.env.Store.LoadMappings(ctx, tenant, domain.KindAbsence)
	if err != nil {
		t.Fatal(err)
	}
	marked := w.marked()

	w.env.Advance(time.Hour)
	w.resetCalls()
	_, entries, err := w.run(t, ctx, domain.ModeFull, false)
	if err != nil || w.writes() != 0 {
		t.Fatalf("pruning run: %v, %d writes, %+v", err, w.writes(), entries)
	}
	after, err := w.env.Store.LoadMappings(ctx, tenant, domain.KindAbsence)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]domain.Mapping{}
	for _, m := range after {
		left[m.SourceID] = m
	}
	// The transferred mapping of the other direction is a copy made before a switch: the
	// run reports it once (switch|personio, a report key, so one mapping more).
	if len(entries) != 1 || entries[0].SourceID != "switch|personio" {
		t.Errorf("pruning run protocol: %+v", entries)
	}
	if len(after) != len(before)-history-1+1 {
		t.Errorf("%d mappings after pruning, want %d of %d", len(after), len(before)-history, len(before))
	}
	for _, m := range before {
		_, kept := left[m.SourceID]
		pruned := strings.HasPrefix(m.SourceID, "personio/history-") || m.SourceID == gone.SourceID
		if kept && !pruned && !reflect.DeepEqual(left[m.SourceID].TargetIDs, m.TargetIDs) {
			t.Errorf("mapping %s changed: %+v, was %+v", m.SourceID, left[m.SourceID], m)
		}
		if kept == pruned {
			t.Errorf("mapping %s (%s, targets %q): kept %t", m.SourceID, m.State, m.TargetIDs, kept)
		}
	}
	if m := left[absencesync.SourceKey(domain.SystemPersonio, w.env.Demo.HalfDayAbsenceID)]; m.State != domain.StateDeleted {
		t.Errorf("the mapping deleted this year: %+v", m)
	}

	for _, mode := range []domain.Mode{domain.ModeFull, domain.ModePartial, domain.ModeFull} {
		w.env.Advance(time.Hour)
		w.resetCalls()
		c.take()
		sum, entries, err := w.run(t, ctx, mode, false)
		if err != nil || sum.Mode != mode || w.writes() != 0 || len(entries) != 0 {
			t.Fatalf("%s run after pruning: %v, mode %s, %d writes, %+v", mode, err, sum.Mode, w.writes(), entries)
		}
		if now, err := w.env.Store.LoadMappings(ctx, tenant, domain.KindAbsence); err != nil || len(now) != len(after) {
			t.Fatalf("%s run after pruning: %d mappings, want %d (%v)", mode, len(now), len(after), err)
		}
	}
	got := w.marked()
	if len(got) != len(marked) {
		t.Errorf("%d marked records, want %d", len(got), len(marked))
	}
	for k, n := range got {
		if n != 1 || marked[k] != 1 {
			t.Errorf("marker %s on %d records (before: %d)", k, n, marked[k])
		}
	}
}
