package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	miniserver "github.com/truora/minidyn/server"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

// backend is one DynamoDB-protocol server the suite runs against.
type backend struct {
	db   *dynamodb.Client
	mini *miniserver.Server // nil on moto: it cannot inject unprocessed keys
}

// TestStoreMiniDyn runs the suite against minidyn in-process.
func TestStoreMiniDyn(t *testing.T) {
	db, srv := awstest.MiniDyn(t)
	runSuite(t, backend{db: db, mini: srv})
}

// TestStoreMoto runs the same suite against moto_server.
func TestStoreMoto(t *testing.T) {
	m := awstest.StartMoto(t)
	runSuite(t, backend{db: m.DynamoDB()})
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var tableSeq atomic.Int64

// newStore creates fresh tables (unique names, so subtests never see each other's items).
func newStore(t *testing.T, b backend) (*store.Store, *clock) {
	t.Helper()
	n := tableSeq.Add(1)
	tables := store.Tables{Tenants: fmt.Sprintf("tenants%d", n), Mappings: fmt.Sprintf("mappings%d", n), Protocol: fmt.Sprintf("protocol%d", n)}
	if err := store.CreateTables(context.Background(), b.db, tables); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	return store.New(b.db, tables, store.WithClock(c.Now), store.WithBatchRetry(time.Millisecond, 5*time.Millisecond, 10)), c
}

func tenant(id string, background bool) *domain.Tenant {
	t := &domain.Tenant{ID: id, Owner: domain.Owner{Email: "owner@" + id + ".example"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
	t.Settings.EnableBackgroundSync = background
	return t
}

// recording returns a client on db that records the input of every request it sends, and
// a function returning (and forgetting) the inputs recorded so far.
func recording(db *dynamodb.Client) (*dynamodb.Client, func() []any) {
	var mu sync.Mutex
	var ins []any
	c := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				ins = append(ins, in.Parameters)
				mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	return c, func() []any {
		mu.Lock()
		defer mu.Unlock()
		out := ins
		ins = nil
		return out
	}
}

// beforeEach returns a client on db that calls fn with the input of every request
// before sending it.
func beforeEach(db *dynamodb.Client, fn func(in any)) *dynamodb.Client {
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("before", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				fn(in.Parameters)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
}

func runSuite(t *testing.T, b backend) {
	ctx := context.Background()

	t.Run("empty lists in settings and tenants read back (minidyn read an empty list as a bool)", func(t *testing.T) {
		s, _ := newStore(t, b)
		tn := tenant("acme", false)
		tn.Settings.PersonioTimeOffTypeIDsForPaidVacations = []int64{}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		a, err := s.GetTenant(ctx, "acme")
		if err != nil {
			t.Fatalf("tenant created with an empty list: %v", err)
		}
		cases := []domain.Settings{a.Settings, {}}
		cases[0].PersonioTimeOffTypeIDsForVacationDaysDeduction = []int64{}
		cases[0].FallbackPersonioTimeOffTypeIDsForEntitlements = []int64{}
		for i, set := range cases {
			v, err := s.UpdateSettings(ctx, "acme", a.Version, set)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			got, err := s.GetTenant(ctx, "acme")
			if err != nil || got.Version != v {
				t.Fatalf("case %d: tenant unreadable after settings with empty lists: %v", i, err)
			}
			if len(got.Settings.PersonioTimeOffTypeIDsForVacationDaysDeduction) != 0 || got.Settings.EnableBackgroundSync != set.EnableBackgroundSync {
				t.Fatalf("case %d: settings read back as %+v", i, got.Settings)
			}
			a = got
		}
	})

	t.Run("a selection stored before match existed keeps combining its rules with or", func(t *testing.T) {
		s, _ := newStore(t, b)
		rules := []domain.AutoInclude{{Field: domain.RuleStatus, Values: []string{"active"}}, {Field: domain.RuleOffice, Values: []string{"Berlin"}}}
		old := domain.Selection{Tenant: "acme", Employees: map[string]bool{}, Rules: rules}
		if err := s.SaveSelection(ctx, &old); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetSelection(ctx, "acme"); err != nil || got.Match != domain.MatchAnyRule {
			t.Fatalf("old selection: %v %+v", err, got)
		}
		got, _ := s.GetSelection(ctx, "acme")
		got.Match = domain.MatchAllRules
		if err := s.SaveSelection(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if again, err := s.GetSelection(ctx, "acme"); err != nil || again.Match != domain.MatchAllRules {
			t.Fatalf("explicit match: %v %+v", err, again)
		}
	})

	t.Run("mappings stored in the earlier packed form are read typed", func(t *testing.T) {
		s, _ := newStore(t, b)
		old := []domain.Mapping{
			{Tenant: "acme", Kind: domain.KindUser, SourceID: "1", TargetIDs: []string{"u1"}, State: domain.StateTransferred,
				Hash: "invited=true;locked_by_sync=true;reported=report:0011223344556677"},
			{Tenant: "acme", Kind: domain.KindUser, SourceID: "2", TargetIDs: []string{"u2"}, State: domain.StateTransferred, Hash: "invited=false;locked_by_sync=false"},
			{Tenant: "acme", Kind: domain.KindUser, SourceID: "3", State: domain.StateFailed, Hash: "report:8899aabbccddeeff", LastError: "conflict"},
			{Tenant: "acme", Kind: domain.KindLocation, SourceID: "o1", TargetIDs: []string{"L1"}, State: domain.StateTransferred, Hash: "report:0123456789abcdef"},
			{Tenant: "acme", Kind: domain.KindTimer, SourceID: "t1", TargetIDs: []string{"p1"}, State: domain.StateTransferred, Hash: "sha:feed"},
		}
		if err := s.PutMappings(ctx, old); err != nil {
			t.Fatal(err)
		}
		want := map[string]domain.Mapping{
			"1":  {Invited: true, LockedBySync: true, Reported: "report:0011223344556677", State: domain.StateTransferred},
			"2":  {State: domain.StateTransferred},
			"3":  {Reported: "report:8899aabbccddeeff", State: domain.StateReported},
			"o1": {Reported: "report:0123456789abcdef", State: domain.StateTransferred},
			"t1": {Hash: "sha:feed", State: domain.StateTransferred},
		}
		check := func(m domain.Mapping) {
			t.Helper()
			w := want[m.SourceID]
			if m.Hash != w.Hash || m.Invited != w.Invited || m.LockedBySync != w.LockedBySync || m.Reported != w.Reported || m.State != w.State {
				t.Errorf("mapping %s read as %+v, want %+v", m.SourceID, m, w)
			}
		}
		users, err := s.LoadMappings(ctx, "acme", domain.KindUser)
		if err != nil || len(users) != 3 {
			t.Fatalf("load: %v %+v", err, users)
		}
		for _, m := range users {
			check(m)
		}
		got, err := s.GetMappings(ctx, "acme", domain.KindUser, []string{"1", "3"})
		if err != nil || len(got) != 2 {
			t.Fatalf("batch get: %v %+v", err, got)
		}
		check(got["1"])
		check(got["3"])
		for _, k := range []struct {
			kind domain.RecordKind
			id   string
		}{{domain.KindLocation, "o1"}, {domain.KindTimer, "t1"}} {
			m, err := s.GetMapping(ctx, "acme", k.kind, k.id)
			if err != nil {
				t.Fatal(err)
			}
			check(m)
		}
		m, err := s.FindByTarget(ctx, "acme", domain.KindUser, "u1")
		if err != nil {
			t.Fatal(err)
		}
		check(m)
		// The next write stores the typed form.
		if err := s.PutMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
		if again, err := s.GetMapping(ctx, "acme", domain.KindUser, "1"); err != nil || again.Hash != "" || !again.Invited {
			t.Fatalf("rewritten: %v %+v", err, again)
		}
	})

	t.Run("tenant create, get, duplicate", func(t *testing.T) {
		s, _ := newStore(t, b)
		tn := tenant("acme", true)
		tn.Settings.PersonioTimeOffTypeIDsForPaidVacations = []int64{11, 12}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(ctx, tenant("acme", false)); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate create: %v, want ErrExists", err)
		}
		got, err := s.GetTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 || !got.Settings.EnableBackgroundSync || len(got.Settings.PersonioTimeOffTypeIDsForPaidVacations) != 2 || got.Owner.Email != "owner@acme.example" {
			t.Fatalf("round trip: %+v", got)
		}
		if _, err := s.GetTenant(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing tenant: %v", err)
		}
	})

	t.Run("optimistic lock conflict on settings", func(t *testing.T) {
		s, _ := newStore(t, b)
		if err := s.CreateTenant(ctx, tenant("acme", false)); err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetTenant(ctx, "acme")
		c, _ := s.GetTenant(ctx, "acme")
		a.Settings.InviteStaffomaticUsers = true
		if err := s.SaveTenant(ctx, &a); err != nil {
			t.Fatal(err)
		}
		c.Settings.PropagateDeletions = true
		if err := s.SaveTenant(ctx, &c); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale save: %v, want ErrConflict", err)
		}
		if _, err := s.UpdateSettings(ctx, "acme", 1, domain.DefaultSettings()); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale UpdateSettings: %v, want ErrConflict", err)
		}
		v, err := s.UpdateSettings(ctx, "acme", a.Version, a.Settings)
		if err != nil || v != a.Version+1 {
			t.Fatalf("UpdateSettings at current version: v=%d err=%v", v, err)
		}
		got, _ := s.GetTenant(ctx, "acme")
		if !got.Settings.InviteStaffomaticUsers || got.Settings.PropagateDeletions || got.Version != v {
			t.Fatalf("stored %+v", got)
		}
	})

	t.Run("background tenants via sparse index, paginated", func(t *testing.T) {
		s, _ := newStore(t, b)
		for i, on := range []bool{true, false, true, true} {
			if err := s.CreateTenant(ctx, tenant(fmt.Sprintf("t%d", i), on)); err != nil {
				t.Fatal(err)
			}
		}
		t3, _ := s.GetTenant(ctx, "t3")
		off := t3.Settings
		off.EnableBackgroundSync = false
		if _, err := s.UpdateSettings(ctx, "t3", t3.Version, off); err != nil {
			t.Fatal(err)
		}
		t1, _ := s.GetTenant(ctx, "t1")
		t1.Settings.EnableBackgroundSync = true
		if err := s.SaveTenant(ctx, &t1); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := s.BackgroundTenants(ctx, 1, func(tn domain.Tenant) error { got = append(got, tn.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[t0 t1 t2]" {
			t.Fatalf("background tenants %v, want [t0 t1 t2]", got)
		}
	})

	t.Run("list tenants reads the profiles through the list index, never a scan", func(t *testing.T) {
		s0, c := newStore(t, b)
		counted, calls := recording(b.db)
		s := store.New(counted, s0.Tables(), store.WithClock(c.Now))
		for _, id := range []string{"zeta", "alpha", "mid"} {
			if err := s.CreateTenant(ctx, tenant(id, id == "mid")); err != nil {
				t.Fatal(err)
			}
			// What makes up most of the table: leases, cursors, run summaries.
			if _, err := s.AcquireLease(ctx, id, domain.PhaseUsers, "run1", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.SetCursor(ctx, id, domain.PhaseUsers, "c"); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				r := domain.RunSummary{Tenant: id, RunID: domain.NewRunID(domain.PhaseUsers, c.Now().Add(time.Duration(i)*time.Minute)), Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual, Status: domain.RunSucceeded}
				if err := s.PutRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		mid, _ := s.GetTenant(ctx, "mid")
		mid.Name = "Middle"
		if err := s.SaveTenant(ctx, &mid); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateSettings(ctx, "mid", mid.Version, mid.Settings); err != nil {
			t.Fatal(err)
		}
		calls()
		var got []string
		if err := s.ListTenants(ctx, func(tn domain.Tenant) error { got = append(got, tn.ID+"/"+tn.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[alpha/ mid/Middle zeta/]" {
			t.Fatalf("tenants %v, want alpha, mid (saved, then its settings updated) and zeta, in id order", got)
		}
		for _, in := range calls() {
			q, ok := in.(*dynamodb.QueryInput)
			if !ok || aws.ToString(q.IndexName) != store.TenantsListIndex {
				t.Fatalf("listing made a %T request (index %q), want Query requests on the list index only", in, aws.ToString(q.IndexName))
			}
		}
		if err := s.DeleteTenant(ctx, "zeta"); err != nil {
			t.Fatal(err)
		}
		got = nil
		if err := s.ListTenants(ctx, func(tn domain.Tenant) error { got = append(got, tn.ID); return nil }); err != nil || fmt.Sprint(got) != "[alpha mid]" {
			t.Fatalf("after deleting zeta: %v %v", got, err)
		}
		// A listing page starts after its cursor, and the callback can stop it early.
		got = nil
		if err := s.ListTenantsAfter(ctx, "alpha", func(tn domain.Tenant) error { got = append(got, tn.ID); return nil }); err != nil || fmt.Sprint(got) != "[mid]" {
			t.Fatalf("after alpha: %v %v", got, err)
		}
		stop := errors.New("stop")
		got = nil
		if err := s.ListTenantsAfter(ctx, "", func(tn domain.Tenant) error { got = append(got, tn.ID); return stop }); !errors.Is(err, stop) || fmt.Sprint(got) != "[alpha]" {
			t.Fatalf("early stop: %v %v", got, err)
		}
	})

	t.Run("lease contention: exactly one of 10 wins", func(t *testing.T) {
		s, _ := newStore(t, b)
		var wg sync.WaitGroup
		var wins atomic.Int32
		errs := make([]error, 10)
		start := make(chan struct{})
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, fmt.Sprintf("run%d", i), time.Minute)
				if err == nil {
					wins.Add(1)
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d winners, want exactly 1: %v", wins.Load(), errs)
		}
		cur, err := s.GetLease(ctx, "acme", domain.PhaseUsers)
		if err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			var held *store.LeaseHeldError
			if err != nil && (!errors.As(err, &held) || held.Holder != cur.Holder) {
				t.Errorf("loser %d: %v, want LeaseHeldError naming %s", i, err, cur.Holder)
			}
		}
		// Another phase has its own lease.
		if _, err := s.AcquireLease(ctx, "acme", domain.PhaseAbsences, "other", time.Minute); err != nil {
			t.Fatalf("absences lease blocked by users lease: %v", err)
		}
	})

	t.Run("lease takeover after expiry, release, no re-entry", func(t *testing.T) {
		s, c := newStore(t, b)
		old, err := s.AcquireLease(ctx, "acme", domain.PhaseTimesheets, "run-old", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcquireLease(ctx, "acme", domain.PhaseTimesheets, "run-new", time.Minute); err == nil {
			t.Fatal("second holder got a live lease")
		}
		var held *store.LeaseHeldError
		if _, err := s.AcquireLease(ctx, "acme", domain.PhaseTimesheets, "run-old", time.Minute); !errors.As(err, &held) || held.Holder != "run-old" {
			t.Fatalf("same holder acquired twice: %v", err)
		}
		c.Advance(61 * time.Second)
		nl, err := s.AcquireLease(ctx, "acme", domain.PhaseTimesheets, "run-new", time.Minute)
		if err != nil {
			t.Fatalf("takeover of an expired lease refused: %v", err)
		}
		if err := s.ReleaseLease(ctx, old); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("release by the old holder: %v, want ErrLeaseLost", err)
		}
		if err := s.ExtendLease(ctx, &old, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("extend by the old holder: %v, want ErrLeaseLost", err)
		}
		if err := s.ExtendLease(ctx, &nl, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, nl); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcquireLease(ctx, "acme", domain.PhaseTimesheets, "run-third", time.Minute); err != nil {
			t.Fatalf("acquire after release: %v", err)
		}
	})

	t.Run("lease: Lambda's retry of a dead attempt takes it over at once, nobody else does", func(t *testing.T) {
		s, _ := newStore(t, b)
		dead, err := s.AcquireLeaseFor(ctx, "acme", domain.PhaseUsers, "run-1", "req-A", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var held *store.LeaseHeldError
		for _, c := range []struct{ holder, invocation string }{
			{"run-1", "req-B"}, // a second delivery of the run: another invocation
			{"run-1", ""},      // outside Lambda
			{"run-2", "req-A"}, // another run
		} {
			if _, err := s.AcquireLeaseFor(ctx, "acme", domain.PhaseUsers, c.holder, c.invocation, time.Hour); !errors.As(err, &held) || held.Holder != "run-1" {
				t.Fatalf("%+v took a live lease: %v", c, err)
			}
		}
		retry, err := s.AcquireLeaseFor(ctx, "acme", domain.PhaseUsers, "run-1", "req-A", time.Hour)
		if err != nil {
			t.Fatalf("retry of the same invocation refused: %v", err)
		}
		if err := s.ReleaseLease(ctx, dead); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("release by the dead attempt: %v, want ErrLeaseLost", err)
		}
		if got, err := s.GetLease(ctx, "acme", domain.PhaseUsers); err != nil || got.Token != retry.Token || got.Invocation != "req-A" {
			t.Fatalf("stored lease %+v %v", got, err)
		}
		if err := s.ReleaseLease(ctx, retry); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a lease released between the refused write and the holder's read is taken", func(t *testing.T) {
		s, c := newStore(t, b)
		held, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, "run-a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		released := false
		hs := store.New(beforeEach(b.db, func(in any) {
			if g, ok := in.(*dynamodb.GetItemInput); ok && !released && g.TableName != nil && *g.TableName == s.Tables().Tenants {
				released = true
				if err := s.ReleaseLease(ctx, held); err != nil {
					t.Errorf("release by run-a: %v", err)
				}
			}
		}), s.Tables(), store.WithClock(c.Now))
		l, err := hs.AcquireLease(ctx, "acme", domain.PhaseUsers, "run-b", time.Minute)
		if err != nil || !released {
			t.Fatalf("acquire after the holder released in between: %v (released: %v), want the lease", err, released)
		}
		if cur, err := s.GetLease(ctx, "acme", domain.PhaseUsers); err != nil || cur.Holder != "run-b" || cur.Token != l.Token {
			t.Fatalf("stored lease %+v %v, want run-b's", cur, err)
		}
	})

	t.Run("a redelivery of the same run that took over the expired lease keeps it", func(t *testing.T) {
		s, c := newStore(t, b)
		first, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, "run-a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(61 * time.Second)
		second, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, "run-a", time.Minute)
		if err != nil {
			t.Fatalf("takeover of the expired lease by a redelivery: %v", err)
		}
		// The first delivery, late, must touch neither the expiry nor the lease itself.
		if err := s.ExtendLease(ctx, &first, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("extend by the first acquisition: %v, want ErrLeaseLost", err)
		}
		if err := s.ReleaseLease(ctx, first); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("release by the first acquisition: %v, want ErrLeaseLost", err)
		}
		cur, err := s.GetLease(ctx, "acme", domain.PhaseUsers)
		if err != nil || cur.UntilMs != second.UntilMs {
			t.Fatalf("lease after the first acquisition's release/extend: %+v %v, want the second's (until %d)", cur, err, second.UntilMs)
		}
		var held *store.LeaseHeldError
		if _, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, "run-b", time.Minute); !errors.As(err, &held) || held.Holder != "run-a" {
			t.Fatalf("another run while the redelivery holds the lease: %v, want LeaseHeldError", err)
		}
		if err := s.ReleaseLease(ctx, second); err != nil {
			t.Fatalf("release by the holding acquisition: %v", err)
		}
	})

	t.Run("batch reads of 250 mappings", func(t *testing.T) {
		s, _ := newStore(t, b)
		var ms []domain.Mapping
		var ids []string
		for i := range 250 {
			id := fmt.Sprintf("emp%04d", i)
			ids = append(ids, id)
			ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: id, TargetIDs: []string{fmt.Sprintf("u%d", i)}, Hash: "h", State: domain.StateTransferred})
		}
		var injected atomic.Int32
		var mu sync.Mutex
		failed := map[string]bool{}
		if b.mini != nil {
			// Leave every 7th key of a call unprocessed once, so the retry loop must
			// re-request them; remembering the failed keys keeps the rule from being
			// sticky on retries.
			b.mini.EmulateUnprocessedItems(s.Tables().Mappings, func(n int, raw map[string]*miniserver.AttributeValue) bool {
				mu.Lock()
				defer mu.Unlock()
				k := *raw["sk"].S
				if n%7 != 0 || failed[k] {
					return false
				}
				failed[k] = true
				injected.Add(1)
				return true
			})
			t.Cleanup(b.mini.ClearUnprocessedItems)
		}
		if err := s.PutMappings(ctx, ms); err != nil {
			t.Fatal(err)
		}
		if b.mini != nil && injected.Load() == 0 {
			t.Fatal("no unprocessed items were injected into the batch writes")
		}
		// Count the reads' unprocessed keys apart from the writes'.
		mu.Lock()
		clear(failed)
		mu.Unlock()
		injected.Store(0)
		got, err := s.GetMappings(ctx, "acme", domain.KindUser, append(ids, "unknown1", "unknown2", ids[0]))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 250 {
			t.Fatalf("%d mappings, want 250", len(got))
		}
		if got["emp0123"].TargetID() != "u123" || got["emp0123"].State != domain.StateTransferred {
			t.Fatalf("emp0123 = %+v", got["emp0123"])
		}
		// 250 keys are 3 calls (100, 100, 50; minidyn refuses more than 100), keys 0, 7, …
		// of each call left unprocessed once: 15 + 15 + 8 keys re-requested.
		if b.mini != nil && injected.Load() != 38 {
			t.Fatalf("%d keys were left unprocessed by BatchGetItem, want 38", injected.Load())
		}
		all, err := s.LoadMappings(ctx, "acme", domain.KindUser)
		if err != nil || len(all) != 250 {
			t.Fatalf("LoadMappings: %d, %v", len(all), err)
		}
		if other, _ := s.LoadMappings(ctx, "acme", domain.KindAbsence); len(other) != 0 {
			t.Fatalf("absence mappings leak users: %d", len(other))
		}
		m, err := s.FindByTarget(ctx, "acme", domain.KindUser, "u77")
		if err != nil || m.SourceID != "emp0077" {
			t.Fatalf("FindByTarget u77: %+v, %v", m, err)
		}
		if _, err := s.FindByTarget(ctx, "other", domain.KindUser, "u77"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FindByTarget across tenants: %v", err)
		}
	})

	t.Run("FindByTargets returns the live mapping of each target, skipping deleted ones and other tenants", func(t *testing.T) {
		s, _ := newStore(t, b)
		user := func(tenant, src, target string, st domain.TransferState) domain.Mapping {
			return domain.Mapping{Tenant: tenant, Kind: domain.KindUser, SourceID: src, TargetIDs: []string{target}, State: st}
		}
		ms := []domain.Mapping{
			// u1: an old employee's mapping deleted, its user since linked to a rehire.
			user("acme", "emp0001", "u1", domain.StateDeleted), user("acme", "emp0900", "u1", domain.StateTransferred),
			// u2: only a deleted mapping.
			user("acme", "emp0002", "u2", domain.StateDeleted),
			// u3: two live mappings; the greater source id is the one LoadMappings keyed by target keeps.
			user("acme", "emp0300", "u3", domain.StateTransferred), user("acme", "emp0030", "u3", domain.StateFailed),
			user("acme", "emp0004", "u4", domain.StatePending),
			user("other", "emp0005", "u5", domain.StateTransferred),
			{Tenant: "acme", Kind: domain.KindAbsence, SourceID: "a1", TargetIDs: []string{"u4"}, State: domain.StateTransferred},
		}
		for i := range 40 {
			ms = append(ms, user("acme", fmt.Sprintf("bulk%03d", i), fmt.Sprintf("b%d", i), domain.StateTransferred))
		}
		if err := s.PutMappings(ctx, ms); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindByTargets(ctx, "acme", domain.KindUser, []string{"u1", "u2", "u3", "u4", "u5", "u4", "", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"u1": "emp0900", "u3": "emp0300", "u4": "emp0004"}
		if len(got) != len(want) {
			t.Fatalf("FindByTargets = %+v, want the sources %v", got, want)
		}
		for target, src := range want {
			if m := got[target]; m.SourceID != src || m.Kind != domain.KindUser || m.Tenant != "acme" {
				t.Errorf("target %s: %+v, want source %s", target, m, src)
			}
		}
		// The same choice as a full load keyed by target (the timesheets phase reads either way).
		all, err := s.LoadMappings(ctx, "acme", domain.KindUser)
		if err != nil {
			t.Fatal(err)
		}
		byTarget := map[string]string{}
		for _, m := range all {
			if m.State != domain.StateDeleted {
				byTarget[m.TargetID()] = m.SourceID
			}
		}
		for target, m := range got {
			if byTarget[target] != m.SourceID {
				t.Errorf("target %s: FindByTargets %s, the full load %s", target, m.SourceID, byTarget[target])
			}
		}
		// FindByTarget (one target: a Staffomatic hint) chooses the same live mapping, never
		// the deleted one beside it; a target with deleted mappings only still finds one.
		for target, src := range map[string]string{"u1": "emp0900", "u2": "emp0002", "u3": "emp0300", "u4": "emp0004"} {
			if m, err := s.FindByTarget(ctx, "acme", domain.KindUser, target); err != nil || m.SourceID != src {
				t.Errorf("FindByTarget %s: %+v %v, want source %s", target, m, err, src)
			}
		}
		if _, err := s.FindByTarget(ctx, "acme", domain.KindUser, "u5"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindByTarget of another tenant's target: %v, want ErrNotFound", err)
		}
		if none, err := s.FindByTargets(ctx, "acme", domain.KindUser, nil); err != nil || len(none) != 0 {
			t.Fatalf("no targets: %+v, %v", none, err)
		}
		many := make([]string, store.MaxFindByTargets+1)
		for i := range many {
			many[i] = fmt.Sprintf("b%d", i)
		}
		if _, err := s.FindByTargets(ctx, "acme", domain.KindUser, many); err == nil || !strings.Contains(err.Error(), "LoadMappings") {
			t.Fatalf("%d targets: %v, want an error naming LoadMappings", len(many), err)
		}
		// Duplicates count once: the bound is on distinct ids.
		if got, err := s.FindByTargets(ctx, "acme", domain.KindUser, append(many[:store.MaxFindByTargets:store.MaxFindByTargets], many[0], many[1])); err != nil || len(got) != 40 {
			t.Fatalf("%d distinct targets: %d found, %v", store.MaxFindByTargets, len(got), err)
		}
	})

	if b.mini != nil {
		t.Run("keys that stay unprocessed fail the batch, not vanish", func(t *testing.T) {
			s, _ := newStore(t, b)
			var ms []domain.Mapping
			var ids []string
			for i := range 30 {
				id := fmt.Sprintf("emp%02d", i)
				ids = append(ids, id)
				ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: id, TargetIDs: []string{"u" + id}})
			}
			b.mini.EmulateUnprocessedItems(s.Tables().Mappings, func(_ int, raw map[string]*miniserver.AttributeValue) bool {
				return *raw["sk"].S == "emp17"
			})
			t.Cleanup(b.mini.ClearUnprocessedItems)
			if err := s.PutMappings(ctx, ms); err == nil || !strings.Contains(err.Error(), "1 items still unprocessed") {
				t.Fatalf("write with a key throttled for good: %v, want an error", err)
			}
			b.mini.ClearUnprocessedItems()
			if err := s.PutMappings(ctx, ms); err != nil {
				t.Fatal(err)
			}
			b.mini.EmulateUnprocessedItems(s.Tables().Mappings, func(_ int, raw map[string]*miniserver.AttributeValue) bool {
				return *raw["sk"].S == "emp17"
			})
			got, err := s.GetMappings(ctx, "acme", domain.KindUser, ids)
			if err == nil || !strings.Contains(err.Error(), "1 keys still unprocessed") {
				t.Fatalf("read with a key throttled for good: %d mappings, %v; want an error", len(got), err)
			}
		})
	}

	t.Run("batch write of mappings with a source id twice: the last one wins", func(t *testing.T) {
		s, _ := newStore(t, b)
		rc, sent := recording(b.db)
		rs := store.New(rc, s.Tables())
		var ms []domain.Mapping
		for i := range 30 {
			ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: fmt.Sprintf("emp%02d", i), TargetIDs: []string{"old"}, State: domain.StateTransferred})
		}
		// emp03 and emp28 again, later in the list (emp03 in the same chunk of 25).
		ms = append(ms[:10], append([]domain.Mapping{{Tenant: "acme", Kind: domain.KindUser, SourceID: "emp03", TargetIDs: []string{"new3"}, State: domain.StateTransferred}}, ms[10:]...)...)
		ms = append(ms, domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: "emp28", TargetIDs: []string{"new28"}, State: domain.StateTransferred})
		if err := rs.PutMappings(ctx, ms); err != nil {
			t.Fatalf("put mappings with a duplicate source id: %v", err)
		}
		for _, in := range sent() {
			bw, ok := in.(*dynamodb.BatchWriteItemInput)
			if !ok {
				continue
			}
			seen := map[string]bool{}
			for _, reqs := range bw.RequestItems {
				for _, r := range reqs {
					k := fmt.Sprint(r.PutRequest.Item[store.AttrPK], r.PutRequest.Item[store.AttrSK])
					if seen[k] {
						t.Fatalf("one BatchWriteItem holds a key twice (DynamoDB rejects the call): %s", k)
					}
					seen[k] = true
				}
			}
		}
		got, err := s.LoadMappings(ctx, "acme", domain.KindUser)
		if err != nil || len(got) != 30 {
			t.Fatalf("%d mappings, %v; want 30", len(got), err)
		}
		for _, m := range got {
			want := "old"
			switch m.SourceID {
			case "emp03":
				want = "new3"
			case "emp28":
				want = "new28"
			}
			if m.TargetID() != want {
				t.Errorf("%s → %s, want %s", m.SourceID, m.TargetID(), want)
			}
		}
	})

	t.Run("mapping retry bookkeeping round trip", func(t *testing.T) {
		s, c := newStore(t, b)
		m := domain.Mapping{Tenant: "acme", Kind: domain.KindTimer, SourceID: "timer1", State: domain.StatePending}
		m.RecordFailure(c.Now(), "personio 500", 0)
		if err := s.PutMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMapping(ctx, "acme", domain.KindTimer, "timer1")
		if err != nil || !got.FirstFailureAt.Equal(c.Now()) || got.Attempts != 1 || got.LastError != "personio 500" || got.State != domain.StateFailed {
			t.Fatalf("%+v %v", got, err)
		}
		if err := s.DeleteMapping(ctx, "acme", domain.KindTimer, "timer1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMapping(ctx, "acme", domain.KindTimer, "timer1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("protocol TTL attribute and read-side filtering", func(t *testing.T) {
		s, c := newStore(t, b)
		t0 := c.Now()
		if err := s.AppendProtocol(ctx, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaTimesheets, RunID: "r1", Kind: domain.KindTimer, SourceID: "1", Action: "create_attendance", Outcome: domain.OutcomeCreated}); err != nil {
			t.Fatal(err)
		}
		out, err := b.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.Tables().Protocol)})
		if err != nil || len(out.Items) != 1 {
			t.Fatalf("scan: %v %d", err, len(out.Items))
		}
		ttl, ok := out.Items[0][store.AttrExpiresAt].(*types.AttributeValueMemberN)
		if !ok || ttl.Value != fmt.Sprint(t0.Add(62*24*time.Hour).Unix()) {
			t.Fatalf("TTL attribute %#v, want number %d", out.Items[0][store.AttrExpiresAt], t0.Add(62*24*time.Hour).Unix())
		}
		c.Advance(61 * 24 * time.Hour)
		if err := s.AppendProtocol(ctx, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaTimesheets, RunID: "r2", Kind: domain.KindTimer, SourceID: "2", Action: "create_attendance", Outcome: domain.OutcomeFailed, Reason: "personio 422"}); err != nil {
			t.Fatal(err)
		}
		page, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaTimesheets})
		if err != nil || len(page.Entries) != 2 {
			t.Fatalf("before expiry: %d entries, %v", len(page.Entries), err)
		}
		c.Advance(2 * 24 * time.Hour) // the first entry is now 63 days old; nothing deleted it
		page, err = s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaTimesheets})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].RunID != "r2" || page.Entries[0].Reason != "personio 422" {
			t.Fatalf("after expiry: %+v, %v", page.Entries, err)
		}
	})

	t.Run("protocol pagination of 1000 entries", func(t *testing.T) {
		s, c := newStore(t, b)
		base := c.Now()
		var es []domain.ProtocolEntry
		for i := range 1000 {
			es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaAbsences, Time: base.Add(time.Duration(i) * time.Second), RunID: "r1", Kind: domain.KindAbsence, SourceID: fmt.Sprint(i), Action: "create_absence", Outcome: domain.OutcomeCreated})
		}
		es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaUsers, RunID: "r1", Kind: domain.KindUser, Action: "lock_user", Outcome: domain.OutcomeUpdated})
		if err := s.AppendProtocol(ctx, es...); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var last time.Time
		next, pages := "", 0
		for {
			page, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaAbsences, Limit: 100, Next: next})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range page.Entries {
				if seen[e.SourceID] {
					t.Fatalf("entry %s returned twice", e.SourceID)
				}
				if e.Time.Before(last) {
					t.Fatalf("entries out of order at %s", e.SourceID)
				}
				seen[e.SourceID], last = true, e.Time
			}
			if next = page.Next; next == "" {
				break
			}
			if pages > 20 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 1000 || pages < 10 {
			t.Fatalf("%d entries over %d pages, want 1000 over at least 10", len(seen), pages)
		}
		rng, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaAbsences, From: base.Add(100 * time.Second), To: base.Add(149 * time.Second), Limit: 500, Newest: true})
		if err != nil || len(rng.Entries) != 50 || rng.Entries[0].SourceID != "149" || rng.Next != "" {
			t.Fatalf("time range: %d entries (first %v), next %q, %v", len(rng.Entries), rng.Entries[0].SourceID, rng.Next, err)
		}
		if _, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaAbsences, Next: "garbage!"}); err == nil {
			t.Fatal("garbage page token accepted")
		}
	})

	t.Run("protocol pages read full pages, a bounded number of times", func(t *testing.T) {
		counted, calls := recording(b.db)
		s0, c := newStore(t, b)
		s := store.New(counted, s0.Tables(), store.WithClock(c.Now))
		// A run's plan (run "plan") among many entries of other runs: 9 at the start, 3
		// a little later, 1 at the very end after 300 others.
		base := c.Now()
		var es []domain.ProtocolEntry
		var want []string
		add := func(run string, n int) {
			for range n {
				i := len(es)
				es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaUsers, Time: base.Add(time.Duration(i) * time.Second), RunID: run,
					Kind: domain.KindUser, SourceID: fmt.Sprint(i), Action: "update_user", Outcome: domain.OutcomeUpdated})
				if run == "plan" {
					want = append(want, fmt.Sprint(i))
				}
			}
		}
		add("plan", 9)
		add("other", 5)
		add("plan", 3)
		add("other", 300)
		add("plan", 1)
		if err := s.AppendProtocol(ctx, es...); err != nil {
			t.Fatal(err)
		}
		var got []string
		q := store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers, RunID: "plan", Limit: 10}
		for pages := 1; ; pages++ {
			calls()
			page, err := s.QueryProtocol(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var limits []int32
			for _, in := range calls() {
				if qi, ok := in.(*dynamodb.QueryInput); ok {
					limits = append(limits, aws.ToInt32(qi.Limit))
				}
			}
			if len(limits) == 0 || len(limits) > 10 {
				t.Fatalf("page %d took %d Query requests, want 1 to 10", pages, len(limits))
			}
			for _, l := range limits {
				if l != 10 {
					t.Fatalf("page %d read with Limit %d, want full pages of 10: %v", pages, l, limits)
				}
			}
			if len(page.Entries) > 10 {
				t.Fatalf("page %d has %d entries, limit 10", pages, len(page.Entries))
			}
			for _, e := range page.Entries {
				got = append(got, e.SourceID)
			}
			if q.Next = page.Next; q.Next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("plan entries %v, want %v (each once, in order)", got, want)
		}
	})

	t.Run("protocol of every area merged by time, page by page", func(t *testing.T) {
		s, c := newStore(t, b)
		base := c.Now().Add(-time.Hour)
		// 150 entries spread over the areas at interleaved times (the setup area gets
		// none), with runs of bursts in one area, and another tenant's entries between.
		areas := []domain.Area{domain.AreaUsers, domain.AreaWorkspaces, domain.AreaTimesheets, domain.AreaAbsences}
		var es []domain.ProtocolEntry
		x := uint32(7)
		for i := range 150 {
			x = x*1103515245 + 12345
			a := areas[(x>>16)%4]
			if i%10 < 4 { // bursts: four in a row in the same area
				a = areas[(i/10)%4]
			}
			es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: a, Time: base.Add(time.Duration(i) * time.Second), RunID: "r" + fmt.Sprint(i%3),
				Kind: domain.KindUser, SourceID: fmt.Sprint(i), Action: "update_user", Outcome: domain.OutcomeUpdated},
				domain.ProtocolEntry{Tenant: "other", Area: a, Time: base.Add(time.Duration(i) * time.Second), RunID: "r0",
					Kind: domain.KindUser, SourceID: "other" + fmt.Sprint(i), Action: "update_user", Outcome: domain.OutcomeUpdated})
		}
		if err := s.AppendProtocol(ctx, es...); err != nil {
			t.Fatal(err)
		}
		read := func(q store.ProtocolQuery) []string {
			var got []string
			for pages := 1; ; pages++ {
				page, err := s.QueryProtocol(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Entries) > q.Limit {
					t.Fatalf("page of %d entries, limit %d", len(page.Entries), q.Limit)
				}
				for _, e := range page.Entries {
					if e.Tenant != "acme" {
						t.Fatalf("another tenant's entry %+v", e)
					}
					got = append(got, e.SourceID)
				}
				if q.Next = page.Next; q.Next == "" {
					return got
				}
				if pages > 200 {
					b, _ := base64.RawURLEncoding.DecodeString(q.Next)
					t.Fatalf("pagination does not end: %+v, token %s, last page %d entries", q, b, len(page.Entries))
				}
			}
		}
		want := func(newest bool, keep func(i int) bool) []string {
			var ids []string
			for i := range 150 {
				if keep(i) {
					ids = append(ids, fmt.Sprint(i))
				}
			}
			if newest {
				slices.Reverse(ids)
			}
			return ids
		}
		all := func(int) bool { return true }
		for _, c := range []struct {
			name string
			q    store.ProtocolQuery
			keep func(int) bool
		}{
			{"oldest first", store.ProtocolQuery{Tenant: "acme", Limit: 7}, all},
			{"newest first", store.ProtocolQuery{Tenant: "acme", Limit: 7, Newest: true}, all},
			{"one page", store.ProtocolQuery{Tenant: "acme", Limit: 500, Newest: true}, all},
			{"time range", store.ProtocolQuery{Tenant: "acme", Limit: 4, Newest: true, From: base.Add(40 * time.Second), To: base.Add(99 * time.Second)},
				func(i int) bool { return i >= 40 && i <= 99 }},
			{"one run", store.ProtocolQuery{Tenant: "acme", Limit: 5, RunID: "r1"}, func(i int) bool { return i%3 == 1 }},
		} {
			if got, w := read(c.q), want(c.q.Newest, c.keep); !slices.Equal(got, w) {
				t.Errorf("%s: got %v\nwant %v", c.name, got, w)
			}
		}
		// A token only continues the query it came from.
		page, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers, Limit: 3})
		if err != nil || page.Next == "" {
			t.Fatalf("first page: %v", err)
		}
		if _, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaAbsences, Next: page.Next}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("a users token for the absences area: %v", err)
		}
		if _, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers, From: c.Now(), Next: page.Next}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("a token outside the time range: %v", err)
		}
		if _, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Next: "eyJwayI6Im90aGVyI3VzZXJzIiwic2siOiJ4In0"}); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("a raw table key as token: %v", err)
		}
	})

	t.Run("protocol keeps append order at one instant (a dry run's plan)", func(t *testing.T) {
		s, _ := newStore(t, b)
		var es []domain.ProtocolEntry
		for i := range 60 {
			es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: domain.AreaUsers, RunID: "plan1", Kind: domain.KindUser,
				SourceID: fmt.Sprintf("p%02d", i), Action: "create_user", Outcome: domain.OutcomePlanned})
		}
		// Two calls with the clock standing still, as the harness flushes batches.
		if err := s.AppendProtocol(ctx, es[:30]...); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendProtocol(ctx, es[30:]...); err != nil {
			t.Fatal(err)
		}
		var got []string
		for next := ""; ; {
			page, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers, RunID: "plan1", Limit: 25, Next: next})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				got = append(got, e.SourceID)
			}
			if next = page.Next; next == "" {
				break
			}
		}
		if len(got) != 60 {
			t.Fatalf("%d entries", len(got))
		}
		for i, id := range got {
			if id != fmt.Sprintf("p%02d", i) {
				t.Fatalf("entry %d is %s: append order lost: %v", i, id, got)
			}
		}
	})

	t.Run("runs: create once, list newest first, prune", func(t *testing.T) {
		s, c := newStore(t, b)
		sched := c.Now()
		req := domain.SyncRequest{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerSchedule, RunID: domain.ScheduledRunID(domain.PhaseUsers, sched), ScheduledTime: sched}
		if err := s.CreateRun(ctx, req.Summary(c.Now())); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRun(ctx, req.Summary(c.Now())); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		later := domain.RunSummary{Tenant: "acme", RunID: domain.NewRunID(domain.PhaseAbsences, sched.Add(time.Hour)), Phase: domain.PhaseAbsences, Mode: domain.ModePartial, Trigger: domain.TriggerManual, Status: domain.RunSucceeded,
			Counts: map[domain.Outcome]int{domain.OutcomeCreated: 3}, APICalls: map[domain.System]int{domain.SystemPersonio: 7}}
		if err := s.PutRun(ctx, later); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListRuns(ctx, "acme", 1, "")
		if err != nil || len(page.Runs) != 1 || page.Runs[0].RunID != later.RunID || page.Next == "" {
			t.Fatalf("first page %+v %v", page, err)
		}
		if page.Runs[0].Counts[domain.OutcomeCreated] != 3 || page.Runs[0].APICalls[domain.SystemPersonio] != 7 {
			t.Fatalf("counts lost: %+v", page.Runs[0])
		}
		page, err = s.ListRuns(ctx, "acme", 1, page.Next)
		if err != nil || len(page.Runs) != 1 || page.Runs[0].RunID != req.RunID || page.Runs[0].Status != domain.RunQueued {
			t.Fatalf("second page %+v %v", page, err)
		}
		n, err := s.PruneRuns(ctx, "acme", sched.Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		if _, err := s.GetRun(ctx, "acme", req.RunID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pruned run still there: %v", err)
		}
		if _, err := s.GetRun(ctx, "acme", later.RunID); err != nil {
			t.Fatalf("newer run pruned: %v", err)
		}
	})

	t.Run("runs of one second sorted by start, pages never split a second", func(t *testing.T) {
		s, c := newStore(t, b)
		s1, s0 := c.Now().Truncate(time.Second), c.Now().Truncate(time.Second).Add(-time.Second)
		run := func(p domain.Phase, queued time.Time, started time.Duration) domain.RunSummary {
			r := domain.RunSummary{Tenant: "acme", RunID: domain.NewRunID(p, queued), Phase: p, Mode: domain.ModeFull, Trigger: domain.TriggerManual, Status: domain.RunQueued, QueuedAt: queued}
			if started > 0 {
				r.Status, r.StartedAt = domain.RunRunning, queued.Add(started)
			}
			if err := s.PutRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		// Newest first: not started yet (later phases first), then by start.
		newer := []domain.RunSummary{
			run(domain.PhaseAbsences, s1, 0), run(domain.PhaseTimesheets, s1, 0),
			run(domain.PhaseUsers, s1, 900*time.Millisecond), run(domain.PhaseWorkspaces, s1, 300*time.Millisecond),
		}
		older := []domain.RunSummary{run(domain.PhaseWorkspaces, s0, 800*time.Millisecond), run(domain.PhaseUsers, s0, 100*time.Millisecond)}
		ids := func(rs []domain.RunSummary) string {
			var out []string
			for _, r := range rs {
				out = append(out, string(r.Phase))
			}
			return strings.Join(out, ",")
		}
		for _, tc := range []struct {
			limit int32
			pages []string
		}{
			{10, []string{ids(append(append([]domain.RunSummary{}, newer...), older...))}},
			{5, []string{ids(newer), ids(older)}}, // stops before the second the 5th run belongs to
			{3, []string{ids(newer), ids(older)}}, // one second holds more than a page: all of it
			{1, []string{ids(newer), ids(older)}},
		} {
			var got []string
			next := ""
			for {
				page, err := s.ListRuns(ctx, "acme", tc.limit, next)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page.Runs))
				if next = page.Next; next == "" {
					break
				}
				if len(got) > 10 {
					t.Fatalf("limit %d: pages do not end: %v", tc.limit, got)
				}
			}
			if strings.Join(got, " | ") != strings.Join(tc.pages, " | ") {
				t.Errorf("limit %d: pages %v, want %v", tc.limit, got, tc.pages)
			}
		}
	})

	t.Run("put run only over the summary read", func(t *testing.T) {
		s, c := newStore(t, b)
		r := domain.RunSummary{Tenant: "acme", RunID: domain.NewRunID(domain.PhaseUsers, c.Now()), Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual, Status: domain.RunSkipped}
		if err := s.PutRunIfUnchanged(ctx, r, nil); err != nil {
			t.Fatalf("first summary: %v", err)
		}
		if err := s.PutRunIfUnchanged(ctx, r, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("over a summary read as absent: %v, want ErrConflict", err)
		}
		read, err := s.GetRun(ctx, "acme", r.RunID)
		if err != nil {
			t.Fatal(err)
		}
		// Another delivery starts the run (new status and start, with nanoseconds).
		running := read
		running.Status, running.StartedAt = domain.RunRunning, c.Now().Add(1234567*time.Nanosecond)
		if err := s.PutRunIfUnchanged(ctx, running, &read); err != nil {
			t.Fatalf("over the summary read: %v", err)
		}
		if err := s.PutRunIfUnchanged(ctx, r, &read); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("over a summary changed since it was read: %v, want ErrConflict", err)
		}
		again, err := s.GetRun(ctx, "acme", r.RunID)
		if err != nil || again.Status != domain.RunRunning {
			t.Fatalf("stored %+v %v, want the running summary", again, err)
		}
		failed := again
		failed.Status = domain.RunFailed
		if err := s.PutRunIfUnchanged(ctx, failed, &again); err != nil {
			t.Fatalf("over the summary read back (start time round trip): %v", err)
		}
	})

	t.Run("finish run: final summary and lease release in one write", func(t *testing.T) {
		s, c := newStore(t, b)
		runID := domain.NewRunID(domain.PhaseUsers, c.Now())
		l, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, runID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		sum := domain.RunSummary{Tenant: "acme", RunID: runID, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual, Status: domain.RunRunning}
		if err := s.PutRun(ctx, sum); err != nil {
			t.Fatal(err)
		}
		sum.Status, sum.Counts = domain.RunSucceeded, map[domain.Outcome]int{domain.OutcomeCreated: 2}
		if err := s.FinishRun(ctx, l, sum); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetRun(ctx, "acme", runID); err != nil || got.Status != domain.RunSucceeded || got.Counts[domain.OutcomeCreated] != 2 {
			t.Fatalf("summary after finish: %+v %v", got, err)
		}
		if _, err := s.GetLease(ctx, "acme", domain.PhaseUsers); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lease after finish: %v, want released", err)
		}
		// A run whose lease expired and was taken over: its summary is still written, the
		// other run's lease stays.
		l, err = s.AcquireLease(ctx, "acme", domain.PhaseUsers, runID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(2 * time.Minute)
		other, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, "other-run", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		sum.Status, sum.Error = domain.RunFailed, "too slow"
		if err := s.FinishRun(ctx, l, sum); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("finish with a lost lease: %v, want ErrLeaseLost", err)
		}
		if got, err := s.GetRun(ctx, "acme", runID); err != nil || got.Status != domain.RunFailed || got.Error != "too slow" {
			t.Fatalf("summary after finish with a lost lease: %+v %v", got, err)
		}
		if cur, err := s.GetLease(ctx, "acme", domain.PhaseUsers); err != nil || cur.Token != other.Token {
			t.Fatalf("the other run's lease: %+v %v", cur, err)
		}
	})

	t.Run("run summary: empty counts read back empty, API calls apart", func(t *testing.T) {
		// A no-op run has no record outcome but API calls. minidyn read an empty counts
		// map back as a copy of api_calls; every run write must keep the two apart.
		s, c := newStore(t, b)
		calls := map[domain.System]int{domain.SystemPersonio: 3, domain.SystemStaffomatic: 8}
		check := func(what, runID string) {
			t.Helper()
			got, err := s.GetRun(ctx, "acme", runID)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if len(got.Counts) != 0 || got.APICalls[domain.SystemPersonio] != 3 || got.APICalls[domain.SystemStaffomatic] != 8 || len(got.APICalls) != 2 {
				t.Fatalf("%s: counts %v api_calls %v, want no counts and 3+8 calls", what, got.Counts, got.APICalls)
			}
			page, err := s.ListRuns(ctx, "acme", 10, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Runs {
				if r.RunID == runID && len(r.Counts) != 0 {
					t.Fatalf("%s: listed counts %v", what, r.Counts)
				}
			}
		}
		for i, write := range []struct {
			name string
			put  func(r domain.RunSummary) error
		}{
			{"put run", func(r domain.RunSummary) error { return s.PutRun(ctx, r) }},
			{"create run", func(r domain.RunSummary) error { return s.CreateRun(ctx, r) }},
			{"put run if unchanged", func(r domain.RunSummary) error { return s.PutRunIfUnchanged(ctx, r, nil) }},
			{"finish run", func(r domain.RunSummary) error {
				l, err := s.AcquireLease(ctx, "acme", domain.PhaseUsers, r.RunID, time.Minute)
				if err != nil {
					return err
				}
				return s.FinishRun(ctx, l, r)
			}},
		} {
			r := domain.RunSummary{Tenant: "acme", RunID: domain.NewRunID(domain.PhaseUsers, c.Now().Add(time.Duration(i)*time.Second)),
				Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual, Status: domain.RunSucceeded,
				Counts: map[domain.Outcome]int{}, APICalls: calls}
			if err := write.put(r); err != nil {
				t.Fatalf("%s: %v", write.name, err)
			}
			check(write.name, r.RunID)
		}
	})

	t.Run("cursor and selection", func(t *testing.T) {
		s, _ := newStore(t, b)
		if c, err := s.GetCursor(ctx, "acme", domain.PhaseTimesheets); err != nil || c != "" {
			t.Fatalf("initial cursor %q %v", c, err)
		}
		if err := s.SetCursor(ctx, "acme", domain.PhaseTimesheets, "2026-03-01T09:00:00Z"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.GetCursor(ctx, "acme", domain.PhaseTimesheets); c != "2026-03-01T09:00:00Z" {
			t.Fatalf("cursor %q", c)
		}
		sel, err := s.GetSelection(ctx, "acme")
		if err != nil || sel.Version != 0 {
			t.Fatal(sel, err)
		}
		stale := sel
		sel.Employees["101"] = true
		sel.Rules = []domain.AutoInclude{{Field: domain.RuleAttribute, Attribute: "shift_planning", Values: []string{"yes"}}}
		if err := s.SaveSelection(ctx, &sel); err != nil {
			t.Fatal(err)
		}
		stale.Employees = map[string]bool{"102": true}
		if err := s.SaveSelection(ctx, &stale); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale selection save: %v", err)
		}
		got, _ := s.GetSelection(ctx, "acme")
		if !got.Employees["101"] || got.Employees["102"] || len(got.Rules) != 1 || got.Version != 1 {
			t.Fatalf("selection %+v", got)
		}
		// Rules without any explicit switch (the auto-include-only set-up) round-trip too.
		rulesOnly := domain.Selection{Tenant: "rules-only", Employees: map[string]bool{},
			Rules: []domain.AutoInclude{{Field: domain.RuleStatus, Values: []string{"active"}}}}
		if err := s.SaveSelection(ctx, &rulesOnly); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetSelection(ctx, "rules-only"); err != nil || got.Employees == nil || len(got.Employees) != 0 || len(got.Rules) != 1 {
			t.Fatalf("rules-only selection %+v %v", got, err)
		}
		if err := s.DeleteTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.GetCursor(ctx, "acme", domain.PhaseTimesheets); c != "" {
			t.Fatalf("cursor survived tenant deletion: %q", c)
		}
	})
}
