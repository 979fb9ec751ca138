package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

// callRecorder is an HTTP transport that notes every DynamoDB request as IAM sees it.
type callRecorder struct {
	mu     sync.Mutex
	tables map[string]string // table name → logical id
	calls  []DynamoDBCall
	// refuse, when set, fails the requests it matches after noting them, as DynamoDB
	// does when it is unavailable, so that a scenario reaches the code's error paths.
	refuse func(op string, body []byte) bool
}

// awsRequest returns the operation of an AWS JSON request (X-Amz-Target) and its body,
// leaving the body readable for the request itself.
func awsRequest(req *http.Request) (op string, body []byte, err error) {
	if body, err = io.ReadAll(req.Body); err != nil {
		return "", nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	_, op, _ = strings.Cut(req.Header.Get("X-Amz-Target"), ".")
	return op, body, nil
}

func (r *callRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op, body, err := awsRequest(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		TableName, IndexName string
		RequestItems         map[string]json.RawMessage
		TransactItems        []map[string]struct{ TableName string }
	}
	_ = json.Unmarshal(body, &in)
	r.mu.Lock()
	add := func(action, table, index string) {
		r.calls = append(r.calls, DynamoDBCall{Action: "dynamodb:" + action, Table: r.tables[table], Index: index})
	}
	switch {
	case in.TableName != "":
		add(op, in.TableName, in.IndexName)
	case in.RequestItems != nil:
		for table := range in.RequestItems {
			add(op, table, "")
		}
	case in.TransactItems != nil:
		actions := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		for _, it := range in.TransactItems {
			for kind, v := range it {
				add(actions[kind], v.TableName, "")
			}
		}
	}
	refused := r.refuse != nil && r.refuse(op, body)
	r.mu.Unlock()
	if refused {
		return nil, errors.New("recorder: DynamoDB unavailable for this request")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *callRecorder) recorded() []DynamoDBCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]DynamoDBCall(nil), r.calls...)
}

// recordingStore returns a store on the DynamoDB at endpoint whose requests rec notes.
func recordingStore(t *testing.T, endpoint string, tables store.Tables, rec *callRecorder, opts ...store.Option) *store.Store {
	t.Helper()
	rec.tables = map[string]string{}
	for _, s := range tables.Specs() {
		rec.tables[s.Name] = s.Logical
	}
	cfg := awstest.Config(t)
	cfg.HTTPClient = &http.Client{Transport: rec}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.DisableValidateResponseChecksum = true
	})
	return store.New(db, tables, opts...)
}

// flakyBus is a Publisher that fails the tenants in fail.
type flakyBus struct{ fail map[string]bool }

func (b flakyBus) Publish(_ context.Context, reqs ...domain.SyncRequest) error {
	var pe bus.PublishError
	for _, q := range reqs {
		if b.fail[q.Tenant] {
			pe.Failed = append(pe.Failed, bus.FailedEntry{Request: q, Code: "InternalFailure"})
		}
	}
	if len(pe.Failed) > 0 {
		return &pe
	}
	return nil
}

// TestDispatchPolicyCoversItsCalls runs dispatch through every path that touches
// DynamoDB (first delivery, duplicate delivery, a claim waiting past RequeueAfter, an
// event that could not be sent) and checks that DispatchFunction's policies allow exactly
// the requests it made.
func TestDispatchPolicyCoversItsCalls(t *testing.T) {
	db, _ := awstest.MiniDyn(t)
	tables := store.Tables{Tenants: "t", Mappings: "m", Protocol: "p"}
	ctx := context.Background()
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	plain := store.New(db, tables)
	for _, id := range []string{"on-1", "on-2", "off-1"} {
		tn := &domain.Tenant{ID: id, Owner: domain.Owner{Email: "o@x.example"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
		tn.Settings.EnableBackgroundSync = id != "off-1"
		if err := plain.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	rec := &callRecorder{}
	st := recordingStore(t, *db.Options().BaseEndpoint, tables, rec, store.WithClock(func() time.Time { return now }))
	log := obs.NewLogger(io.Discard, true, nil)
	in := dispatch.Input{Phase: domain.PhaseUsers, Mode: domain.ModePartial, ScheduledTime: "2026-11-25T04:00:00Z"}

	ok := dispatch.New(st, flakyBus{}, log, nil)
	if res, err := ok.Dispatch(ctx, in); err != nil || res.Published != 2 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	if res, err := ok.Dispatch(ctx, in); err != nil || res.Duplicates != 2 {
		t.Fatalf("duplicate delivery: %+v %v", res, err)
	}
	in.ScheduledTime = "2026-11-25T08:00:00Z"
	failing := dispatch.New(st, flakyBus{fail: map[string]bool{"on-1": true}}, log, nil)
	if res, err := failing.Dispatch(ctx, in); err == nil || res.Failed != 1 {
		t.Fatalf("delivery with an unsent event: %+v %v", res, err)
	}
	if res, err := ok.Dispatch(ctx, in); err != nil || res.Published != 1 || res.Duplicates != 1 {
		t.Fatalf("retry after an unsent event: %+v %v", res, err)
	}

	calls := rec.recorded()
	for _, want := range []DynamoDBCall{
		{"dynamodb:Query", "TenantsTable", store.TenantsBackgroundIndex},
		{"dynamodb:PutItem", "TenantsTable", ""},
		{"dynamodb:GetItem", "TenantsTable", ""},
		{"dynamodb:DeleteItem", "TenantsTable", ""},
	} {
		found := false
		for _, c := range calls {
			found = found || c == want
		}
		if !found {
			t.Fatalf("the scenario never made %s; recorded %v", want, calls)
		}
	}
	tpl := load(t)
	for _, p := range CheckDynamoDBAccess(tpl, DispatchFunction, calls, true) {
		t.Error(p)
	}
	// The check sees a grant the code does not use.
	st0 := asMap(asSlice(asMap(asSlice(tpl.Resources[DispatchFunction].Properties["Policies"])[0])["Statement"])[1])
	st0["Action"] = append(asSlice(st0["Action"]), "dynamodb:Scan")
	if got := CheckDynamoDBAccess(tpl, DispatchFunction, calls, true); len(got) != 1 || !strings.Contains(got[0], "dynamodb:Scan on TenantsTable, which the code never calls") {
		t.Errorf("an unused Scan grant gave %v", got)
	}
}
