package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/dispatch"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/lambdatest"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/store"
)

// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie against moto_server:
// 3 tenants, 2 with background sync on. Each events/DispatchFunction-*.json schedule of a
// registered phase yields exactly 2 events on the bus, and delivering it again yields
// none; a schedule of a phase without code (SYNC_PHASES defaults to the registered phases)
// yields none at all.
func TestLambdaRuntime(t *testing.T) {
	ctx := context.Background()
	m := awstest.StartMoto(t)
	tables := store.Tables{Tenants: "staffsync-test-tenants", Mappings: "staffsync-test-mappings", Protocol: "staffsync-test-protocol"}
	if err := store.CreateTables(ctx, m.DynamoDB(), tables); err != nil {
		t.Fatal(err)
	}
	st := store.New(m.DynamoDB(), tables)
	for id, on := range map[string]bool{"alpha": true, "beta": false, "gamma": true} {
		tn := &domain.Tenant{ID: id, Owner: domain.Owner{Email: "owner@" + id + ".example"}, Settings: domain.DefaultSettings(), Sources: domain.DefaultSources()}
		tn.Settings.EnableBackgroundSync = on
		if err := st.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	queueURL := busToQueue(t, m)

	bootstrap := lambdatest.Build(t, "./functions/dispatch")
	emu := lambdatest.Start(t, bootstrap, map[string]string{
		"AWS_ENDPOINT_URL": m.URL, "EVENT_BUS_NAME": "staffsync-test",
		"TENANTS_TABLE": tables.Tenants, "MAPPINGS_TABLE": tables.Mappings, "PROTOCOL_TABLE": tables.Protocol,
	})
	evs := lambdatest.Events(t, "DispatchFunction")
	if len(evs) == 0 {
		t.Fatal("no dispatch events")
	}
	for name, payload := range evs {
		t.Run(name, func(t *testing.T) {
			var in dispatch.Input
			if err := json.Unmarshal(payload, &in); err != nil {
				t.Fatal(err)
			}
			wants, events := []dispatch.Result{{Tenants: 2, Published: 2}, {Tenants: 2, Duplicates: 2}}, 2
			if !slices.Contains(phases.Names(), in.Phase) {
				wants, events = []dispatch.Result{{NotDeployed: true}, {NotDeployed: true}}, 0
			}
			for i, want := range wants {
				status, body := emu.Invoke(t, payload)
				var res dispatch.Result
				if status != 200 || json.Unmarshal(body, &res) != nil {
					t.Fatalf("invoke %d: %d %s", i+1, status, body)
				}
				want.RunID = res.RunID
				if res != want || res.RunID == "" {
					t.Fatalf("invoke %d: %+v, want %+v", i+1, res, want)
				}
			}
			got := drain(t, m.SQS(), queueURL, events)
			if len(got) != events {
				t.Fatalf("%d events on the bus, want %d", len(got), events)
			}
			for _, r := range got {
				if r.Phase != in.Phase || r.Mode != in.Mode || r.Tenant == "beta" {
					t.Errorf("event %+v for input %+v", r, in)
				}
			}
		})
	}
}

// busToQueue creates the bus and a rule forwarding every SyncRequested event to a queue.
func busToQueue(t *testing.T, m *awstest.Moto) string {
	ctx := context.Background()
	eb, q := m.EventBridge(), m.SQS()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("staffsync-test")}); err != nil {
		t.Fatal(err)
	}
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("all-events")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: cq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	pattern := `{"source":["` + bus.Source + `"],"detail-type":["` + bus.DetailType + `"]}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("staffsync-test"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("staffsync-test"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return *cq.QueueUrl
}

// drain reads the queue until at least n events arrived and two polls in a row are empty.
func drain(t *testing.T, q *sqs.Client, url string, n int) []domain.SyncRequest {
	t.Helper()
	var out []domain.SyncRequest
	deadline := time.Now().Add(20 * time.Second)
	for empty := 0; empty < 2 || len(out) < n; {
		res, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			time.Sleep(50 * time.Millisecond)
		}
		for _, msg := range res.Messages {
			r, err := bus.Parse([]byte(*msg.Body))
			if err != nil {
				t.Fatalf("not a SyncRequested event: %v", err)
			}
			out = append(out, r)
			_, _ = q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle})
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events arrived", len(out), n)
		}
	}
	return out
}
