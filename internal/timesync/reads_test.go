package timesync_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
)

// mappingReads counts the queries a run makes of the mappings table: full lists (the
// table itself, every mapping of a kind) and reverse-index lookups, by the kind's
// partition they read.
type mappingReads struct {
	mu      sync.Mutex
	table   string
	full    map[string]int
	reverse map[string]int
}

func (r *mappingReads) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.full, r.reverse = map[string]int{}, map[string]int{}
}

func (r *mappingReads) counts() (full, reverse map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.full, r.reverse
}

// count records one request's input, if it is a query of the mappings table.
func (r *mappingReads) count(in any) {
	q, ok := in.(*dynamodb.QueryInput)
	if !ok || q.TableName == nil || *q.TableName != r.table {
		return
	}
	part := ""
	for _, v := range q.ExpressionAttributeValues {
		if sv, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(sv.Value, "#") {
			part = sv.Value
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q.IndexName == nil {
		r.full[part]++
	} else {
		r.reverse[part]++
	}
}

// TestTargetedRunReadsOnlyItsUsersMappings: a webhook's run over one timer reads the
// mapping of that timer's user through the reverse index and no full list of mappings
// (about 1.5 MB at 5,000 users, for every hint); it still maps the user to the person a
// full run does. The full run before it, counted the same way, does load the list.
func TestTargetedRunReadsOnlyItsUsersMappings(t *testing.T) {
	ctx := context.Background()
	db, _ := awstest.MiniDyn(t)
	reads := &mappingReads{table: "mappings"}
	reads.reset()
	env := synctest.New(t, synctest.Options{NoPersonioRateLimits: true, DynamoDB: dynamodb.New(db.Options(), awstest.OnRequest(reads.count))})
	if reads.table != env.Tables.Mappings {
		t.Fatalf("the world's mappings table is %q", env.Tables.Mappings)
	}
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding", "inactive", "leave"}})
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	if _, err := users.Run(ctx, env.Request(domain.PhaseUsers, domain.ModeFull, false)); err != nil {
		t.Fatal(err)
	}
	ts := phase.New[*timesync.Loaded, timesync.Planned](timesync.NewPhase(timesync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	userPart := synctest.TenantID + "#" + string(domain.KindUser)

	reads.reset()
	dryReq := env.Request(domain.PhaseTimesheets, domain.ModeFull, true)
	if sum, err := ts.Run(ctx, dryReq); err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("full dry run: %v %+v", err, sum)
	}
	if full, _ := reads.counts(); full[userPart] != 1 {
		t.Fatalf("the full run read the user mappings' list %d times, want 1 (the hook sees it): %v", full[userPart], full)
	}
	id, person := "", ""
	for _, e := range env.Protocol(t, domain.AreaOf(domain.PhaseTimesheets), dryReq.RunID) {
		if e.Action == string(timesync.ActCreate) && e.Person != "" {
			id, person = e.SourceID, e.Person
			break
		}
	}
	if id == "" {
		t.Fatal("the full dry run plans no timer of a mapped user")
	}

	reads.reset()
	req := env.Request(domain.PhaseTimesheets, domain.ModeTargeted, false, domain.Target{Kind: domain.KindTimer, ID: id})
	if sum, err := ts.Run(ctx, req); err != nil || sum.Status != domain.RunSucceeded {
		t.Fatalf("targeted run of timer %s: %v %+v", id, err, sum)
	}
	full, reverse := reads.counts()
	if len(full) != 0 {
		t.Errorf("the targeted run read full mapping lists: %v", full)
	}
	if reverse[userPart] != 1 {
		t.Errorf("the targeted run looked up %d user mappings by Staffomatic user, want 1 (its timer's user): %v", reverse[userPart], reverse)
	}
	entries := env.Protocol(t, domain.AreaOf(domain.PhaseTimesheets), req.RunID)
	if len(entries) != 1 || entries[0].Outcome != domain.OutcomeCreated || entries[0].Person != person {
		t.Fatalf("the targeted run recorded %+v, want timer %s created for person %s as the full run planned", entries, id, person)
	}
}
