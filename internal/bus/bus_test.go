package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
)

var at = time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)

func req(tenant string, p domain.Phase) domain.SyncRequest {
	return domain.SyncRequest{Tenant: tenant, Phase: p, Mode: domain.ModePartial, Trigger: domain.TriggerSchedule, RunID: domain.ScheduledRunID(p, at), ScheduledTime: at}
}

// mixed returns 25 requests: 10 users, 8 absences, 7 timesheets.
func mixed() []domain.SyncRequest {
	var out []domain.SyncRequest
	for i := range 25 {
		p := domain.PhaseUsers
		switch {
		case i >= 18:
			p = domain.PhaseTimesheets
		case i >= 10:
			p = domain.PhaseAbsences
		}
		out = append(out, req(fmt.Sprintf("tenant%02d", i), p))
	}
	return out
}

// fakeAPI records calls and fails entries as told.
type fakeAPI struct {
	mu    sync.Mutex
	calls [][]ebtypes.PutEventsRequestEntry
	// failTimes: tenant → how many more times its entry fails (-1: always).
	failTimes map[string]int
	callErr   error
}

func (f *fakeAPI) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in.Entries)
	if f.callErr != nil {
		return nil, f.callErr
	}
	if len(in.Entries) > bus.MaxEntries {
		return nil, errors.New("ValidationException: more than 10 entries")
	}
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		var r domain.SyncRequest
		_ = json.Unmarshal([]byte(*e.Detail), &r)
		if n := f.failTimes[r.Tenant]; n != 0 {
			f.failTimes[r.Tenant] = n - 1
			out.FailedEntryCount++
			out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")})
			continue
		}
		out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{EventId: aws.String("id")})
	}
	return out, nil
}

func fast(api bus.PutEventsAPI) *bus.EventBridge {
	return bus.NewFastEventBridge(api, "staffsync", 4, time.Millisecond, 2*time.Millisecond)
}

func TestPublishBatchingAndResend(t *testing.T) {
	ctx := context.Background()
	t.Run("25 events in 3 calls", func(t *testing.T) {
		f := &fakeAPI{}
		if err := fast(f).Publish(ctx, mixed()...); err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 3 || len(f.calls[0]) != 10 || len(f.calls[1]) != 10 || len(f.calls[2]) != 5 {
			t.Fatalf("calls %d", len(f.calls))
		}
		if aws.ToString(f.calls[0][0].EventBusName) != "staffsync" || aws.ToString(f.calls[0][0].Source) != bus.Source || aws.ToString(f.calls[0][0].DetailType) != bus.DetailType {
			t.Fatalf("entry %+v", f.calls[0][0])
		}
	})
	t.Run("256 KB per call", func(t *testing.T) {
		var reqs []domain.SyncRequest
		for i := range 4 {
			r := req(fmt.Sprintf("big%d", i), domain.PhaseAbsences)
			r.Mode, r.Trigger, r.ScheduledTime = domain.ModeTargeted, domain.TriggerWebhook, time.Time{}
			for j := range domain.MaxTargets {
				r.Targets = append(r.Targets, domain.Target{Kind: domain.KindAbsence, ID: fmt.Sprintf("%0*d", domain.MaxTargetIDLen, j)})
			}
			reqs = append(reqs, r)
		}
		f := &fakeAPI{}
		if err := fast(f).Publish(ctx, reqs...); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.calls {
			size := 0
			for _, e := range c {
				size += len(*e.Detail) + len(*e.Source) + len(*e.DetailType) + 14
			}
			if size > bus.MaxBatchSize {
				t.Fatalf("call of %d bytes", size)
			}
		}
		if len(f.calls) != 2 || len(f.calls[0]) != 3 {
			t.Fatalf("%d calls for 4 entries of ~80 KB (the largest events there can be), want 3 and 1", len(f.calls))
		}
	})
	t.Run("failed entries are re-sent", func(t *testing.T) {
		f := &fakeAPI{failTimes: map[string]int{"tenant03": 2, "tenant20": 1}}
		if err := fast(f).Publish(ctx, mixed()...); err != nil {
			t.Fatal(err)
		}
		// 3 calls, then one with both failures, then one with tenant03 alone.
		if len(f.calls) != 5 || len(f.calls[3]) != 2 || len(f.calls[4]) != 1 {
			t.Fatalf("calls: %d", len(f.calls))
		}
	})
	t.Run("persistent failure is returned", func(t *testing.T) {
		f := &fakeAPI{failTimes: map[string]int{"tenant07": -1}}
		err := fast(f).Publish(ctx, mixed()...)
		var pe *bus.PublishError
		if !errors.As(err, &pe) || len(pe.Failed) != 1 || pe.Failed[0].Request.Tenant != "tenant07" || pe.Failed[0].Code != "ThrottlingException" {
			t.Fatalf("error %v", err)
		}
		if got := bus.FailedRequests(err, mixed()); len(got) != 1 || got[0].Tenant != "tenant07" {
			t.Fatalf("FailedRequests %v", got)
		}
		if len(f.calls) != 3+3 {
			t.Fatalf("%d calls, want 3 + 3 re-sends", len(f.calls))
		}
	})
	t.Run("call failure reports every unsent entry", func(t *testing.T) {
		f := &fakeAPI{callErr: errors.New("AccessDeniedException")}
		err := fast(f).Publish(ctx, mixed()...)
		var pe *bus.PublishError
		if !errors.As(err, &pe) || len(pe.Failed) != 25 || !strings.Contains(err.Error(), "AccessDenied") || len(f.calls) != 1 {
			t.Fatalf("error %v after %d calls", err, len(f.calls))
		}
	})
	t.Run("invalid request is refused before sending", func(t *testing.T) {
		f := &fakeAPI{}
		bad := req("acme", domain.PhaseUsers)
		bad.Mode = "sometimes"
		if err := fast(f).Publish(ctx, req("ok", domain.PhaseUsers), bad); err == nil || !strings.Contains(err.Error(), "mode") || len(f.calls) != 0 {
			t.Fatalf("error %v, %d calls", err, len(f.calls))
		}
	})
}

// countingAPI counts PutEvents calls to a real client.
type countingAPI struct {
	*eventbridge.Client
	mu    sync.Mutex
	calls int
}

func (c *countingAPI) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Client.PutEvents(ctx, in, opts...)
}

// TestRoutingOnMoto puts 25 events on a custom bus whose rules use the template's
// patterns, each targeting an SQS queue, and checks every queue receives exactly its
// phase's events.
func TestRoutingOnMoto(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMoto(t)
	eb, q := m.EventBridge(), m.SQS()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("staffsync-test")}); err != nil {
		t.Fatal(err)
	}
	queues := map[domain.Phase]string{}
	for _, p := range []domain.Phase{domain.PhaseUsers, domain.PhaseAbsences} {
		cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q-" + string(p))})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: cq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		queues[p] = *cq.QueueUrl
		rule := "rule-" + string(p)
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String("staffsync-test"), EventPattern: aws.String(bus.RulePattern(p))}); err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String("staffsync-test"),
			Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
			t.Fatal(err)
		}
	}
	api := &countingAPI{Client: eb}
	reqs := mixed()
	if err := bus.NewEventBridge(api, "staffsync-test").Publish(ctx, reqs...); err != nil {
		t.Fatal(err)
	}
	if api.calls != 3 {
		t.Fatalf("%d PutEvents calls for 25 events, want 3", api.calls)
	}
	for p, url := range queues {
		var want []string
		for _, r := range reqs {
			if r.Phase == p {
				want = append(want, r.Tenant)
			}
		}
		got := receive(t, q, url, len(want))
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("queue %s got %v, want %v", p, got, want)
		}
	}
}

// receive reads messages until n arrived (delivery is asynchronous on AWS) and then
// drains once more to catch extras; it returns the tenants of the parsed events.
func receive(t *testing.T, q *sqs.Client, url string, n int) []string {
	t.Helper()
	var tenants []string
	deadline := time.Now().Add(20 * time.Second)
	for extra := 0; ; {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range out.Messages {
			r, err := bus.Parse([]byte(*msg.Body))
			if err != nil {
				t.Fatalf("message is not a valid SyncRequested event: %v: %s", err, *msg.Body)
			}
			tenants = append(tenants, r.Tenant)
			_, _ = q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle})
		}
		if len(tenants) >= n && len(out.Messages) == 0 {
			if extra++; extra > 1 {
				return tenants
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages arrived", len(tenants), n)
		}
		if len(out.Messages) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestLocalBusRoutesByPhase(t *testing.T) {
	l := bus.NewLocal(nil)
	var mu sync.Mutex
	got := map[domain.Phase][]string{}
	for _, p := range domain.Phases {
		l.Subscribe(p, func(ctx context.Context, ev json.RawMessage) error {
			r, err := bus.Parse(ev)
			if err != nil {
				return err
			}
			if r.Phase != p {
				t.Errorf("%s handler got a %s event", p, r.Phase)
			}
			// The delivery's context logs as the run it carries.
			if run, _ := obs.RunFrom(ctx); run != (obs.RunInfo{Tenant: r.Tenant, Phase: string(r.Phase), RunID: r.RunID}) {
				t.Errorf("delivery of %s %s has run context %+v", r.Tenant, r.RunID, run)
			}
			mu.Lock()
			got[p] = append(got[p], r.Tenant)
			mu.Unlock()
			return nil
		})
	}
	var audit []string
	if err := l.Rule("audit", `{"source":["staffsync"],"detail":{"tenant_id":["tenant00","tenant24"]}}`, func(_ context.Context, ev json.RawMessage) error {
		r, _ := bus.Parse(ev)
		mu.Lock()
		audit = append(audit, r.Tenant)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(context.Background(), mixed()...); err != nil {
		t.Fatal(err)
	}
	l.Wait()
	counts := map[domain.Phase]int{domain.PhaseUsers: 10, domain.PhaseAbsences: 8, domain.PhaseTimesheets: 7, domain.PhaseWorkspaces: 0}
	for p, n := range counts {
		if len(got[p]) != n {
			t.Errorf("%s handler got %d events, want %d", p, len(got[p]), n)
		}
	}
	slices.Sort(audit)
	if fmt.Sprint(audit) != "[tenant00 tenant24]" {
		t.Errorf("audit rule got %v", audit)
	}
	if err := l.Rule("prefix", `{"source":[{"prefix":"staff"}]}`, nil); err == nil {
		t.Error("unsupported pattern accepted")
	}
	bad := req("acme", domain.PhaseUsers)
	bad.RunID = ""
	if err := l.Publish(context.Background(), bad); err == nil {
		t.Error("invalid request published")
	}
}

func TestParse(t *testing.T) {
	r := req("acme", domain.PhaseUsers)
	d, _ := bus.Detail(r)
	env := func(src, dt string, detail []byte) []byte {
		b, _ := json.Marshal(bus.Envelope{Source: src, DetailType: dt, Detail: detail})
		return b
	}
	got, err := bus.Parse(env(bus.Source, bus.DetailType, d))
	if err != nil || got.RunID != r.RunID || !got.ScheduledTime.Equal(at) {
		t.Fatalf("%+v %v", got, err)
	}
	cases := map[string][]byte{
		"other source":      env("aws.events", bus.DetailType, d),
		"other detail-type": env(bus.Source, "SyncDone", d),
		"invalid detail":    env(bus.Source, bus.DetailType, []byte(`{"tenant_id":"acme","phase":"users"}`)),
		"not JSON":          []byte(`{`),
	}
	for name, raw := range cases {
		if _, err := bus.Parse(raw); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestLocalBusCloseEndsDeliveries: a delivery has a deadline (the handler timeout, as
// Lambda's function timeout), outlives the publisher's cancelled context, and ends when
// the bus closes, so a run stuck waiting cannot hold `staffsync dev` open at Ctrl-C.
func TestLocalBusCloseEndsDeliveries(t *testing.T) {
	l := bus.NewLocal(nil).WithHandlerTimeout(time.Hour)
	started := make(chan time.Time, 1)
	ended := make(chan error, 1)
	l.Subscribe(domain.PhaseUsers, func(ctx context.Context, _ json.RawMessage) error {
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("a delivery without a deadline")
		}
		started <- dl
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	})
	pctx, cancel := context.WithCancel(context.Background())
	at := time.Date(2026, 1, 1, 4, 0, 0, 0, time.UTC)
	if err := l.Publish(pctx, domain.SyncRequest{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual,
		RunID: domain.NewRunID(domain.PhaseUsers, at)}); err != nil {
		t.Fatal(err)
	}
	cancel() // the publisher's request ends; the delivery goes on
	dl := <-started
	if until := time.Until(dl); until < 59*time.Minute || until > time.Hour {
		t.Errorf("deadline in %v, want the handler timeout of an hour", until)
	}
	select {
	case err := <-ended:
		t.Fatalf("the delivery ended with the publisher's context: %v", err)
	default:
	}
	l.Close()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("delivery ended with %v, want context.Canceled", err)
	}
}
