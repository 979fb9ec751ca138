package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/lambdahttp"
	"github.com/staffsync/staffsync/internal/phases"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
)

// published records what the API put on the bus.
type published struct {
	mu   sync.Mutex
	reqs []domain.SyncRequest
}

func (p *published) Publish(_ context.Context, reqs ...domain.SyncRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, reqs...)
	return nil
}

func (p *published) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reqs)
}

// FuzzAPIFunction feeds arbitrary API Gateway events to the API function as its main
// builds it (lambdahttp around the API, with the demo tenant set up in a world of both
// simulators and minidyn) from someone who holds no key: neither the operator key nor a
// tenant token, nor a webhook secret. Nothing panics, the invocation never fails (an error
// would be Lambda's 502), no answer is a 5xx, every error is the API's JSON error, and
// nothing is written: the tables are as before (every item), no run is queued and no
// vendor is written to. The seeds (every route, with forged keys, broken bodies and
// encodings) run in every plain go test.
func FuzzAPIFunction(f *testing.F) {
	env := synctest.New(f, synctest.Options{NoPersonioRateLimits: true})
	key := sha256.Sum256([]byte(fmt.Sprint("operator key unknown to the fuzzer ", time.Now().UnixNano())))
	hash := sha256.Sum256([]byte(hex.EncodeToString(key[:])))
	bus := &published{}
	api := httpapi.New(httpapi.Options{Logger: env.Log, Store: env.Store, Sealer: env.Sealer, Bus: bus, Location: time.UTC,
		Vendors: httpapi.NewVendors(env.Vendors()), OperatorKeyHash: hex.EncodeToString(hash[:]), Phases: phases.Names()})
	handler := lambdahttp.Handler(api)
	ctx := context.Background()
	// The tenant's webhook secrets exist (unknown to the fuzzer), so the webhook routes
	// check tokens and signatures instead of answering "no tenant".
	whs := sha256.Sum256(key[:])
	blob, err := env.Sealer.Seal(ctx, synctest.TenantID, whs[:])
	if err != nil {
		f.Fatal(err)
	}
	tok := sha256.Sum256(whs[:])
	if err := env.Store.PutWebhookSecrets(ctx, store.WebhookSecrets{Tenant: synctest.TenantID, PersonioTokenHash: hex.EncodeToString(tok[:]),
		StaffomaticSecret: domain.Sealed{Scheme: env.Sealer.Scheme(), Blob: blob}}); err != nil {
		f.Fatal(err)
	}
	db := dynamodb.NewFromConfig(awstest.Config(f), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(env.DynamoDBEndpoint)
		o.DisableValidateResponseChecksum = true
	})
	// snapshot is every item of the three tables, in a canonical form.
	snapshot := func(t testing.TB) string {
		var items []string
		for _, table := range []string{env.Tables.Tenants, env.Tables.Mappings, env.Tables.Protocol} {
			p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					b, err := json.Marshal(it)
					if err != nil {
						t.Fatal(err)
					}
					items = append(items, table+" "+string(b))
				}
			}
		}
		sort.Strings(items)
		b, _ := json.Marshal(items)
		return string(b)
	}

	tenant := "/v1/tenants/" + synctest.TenantID
	seed := func(method, path, body string, headers map[string]string) {
		path, query, _ := strings.Cut(path, "?")
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Headers: headers, Body: body,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, SourceIP: "203.0.113.9"}}}
		b, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	forged := map[string]string{"authorization": "Bearer " + hex.EncodeToString(key[:4]), "content-type": "application/json"}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/health", ""},
		{"POST", "/v1/tenants", `{"name":"Acme","owner":{"email":"a@b.c"}}`},
		{"GET", "/v1/tenants", ""},
		{"GET", tenant, ""},
		{"PUT", tenant + "/credentials", `{"personio":{"client_id":"a","client_secret":"b"}}`},
		{"PUT", tenant + "/settings", `{"enable_background_sync":true}`},
		{"PUT", tenant + "/sources", `{"timesheets":"off"}`},
		{"PUT", tenant + "/selection", `{"select":["1"]}`},
		{"POST", tenant + "/sync/users", `{"mode":"full"}`},
		{"POST", tenant + "/sync/all", `{}`},
		{"GET", tenant + "/runs", ""},
		{"GET", tenant + "/protocol?area=users", ""},
		{"POST", tenant + "/owner", `{"staffomatic":{"email":"x","password":"y"}}`},
		{"POST", "/v1/webhooks/personio/" + synctest.TenantID, `{"event_name":"person.updated","payload":{"id":"1"}}`},
		{"POST", "/v1/webhooks/staffomatic/" + synctest.TenantID, `{"kind":"work_timer","id":1}`},
		{"POST", tenant + "/webhook-secrets", ``},
		{"GET", tenant + "/checks", ""},
		{"GET", tenant + "/employees", ""},
		{"GET", tenant + "/runs/20260311T093000Z-users-x", ""},
		{"GET", "/v1/openapi.yaml", ""},
		{"DELETE", tenant, ""},
	} {
		seed(r.method, r.path, r.body, nil)
		seed(r.method, r.path, r.body, forged)
	}
	for _, s := range []string{`{}`, `{"rawPath":"/v1/tenants/%zz"}`, `{"rawPath":"/v1/tenants","body":"%%%","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`,
		`{"rawPath":"/v1/webhooks/staffomatic/demo-gastro","headers":{"x-staffomatic-signature":"sha256=00"},"body":"{\"kind\":\"user\",\"id\":1}","requestContext":{"http":{"method":"POST"}}}`,
		`{"rawPath":"/v1/tenants/demo-gastro/sync/users","headers":{"authorization":"Bearer "},"body":"{\"mode\":\"full\"}","requestContext":{"http":{"method":"POST"}}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &ev) != nil {
			return // the Lambda runtime refuses what is not an event
		}
		before, queued := snapshot(t), bus.count()
		env.P.ResetCalls()
		env.S.ResetCalls()
		res, err := handler(ctx, ev)
		if err != nil {
			t.Fatalf("invocation error: %v", err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", ev.RequestContext.HTTP.Method, ev.RawPath, res.StatusCode, res.Body)
		}
		if res.StatusCode >= 400 {
			var body struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal([]byte(res.Body), &body) != nil || body.Error.Code == "" || body.Error.Message == "" {
				t.Fatalf("%d without the API's JSON error: %q", res.StatusCode, res.Body)
			}
		}
		env.S.Quiesce()
		if after := snapshot(t); after != before {
			t.Fatalf("%s %s (%d) changed the tables", ev.RequestContext.HTTP.Method, ev.RawPath, res.StatusCode)
		}
		if n := bus.count() - queued; n != 0 {
			t.Fatalf("%s %s (%d) queued %d runs", ev.RequestContext.HTTP.Method, ev.RawPath, res.StatusCode, n)
		}
		if n := env.P.WriteCalls() + env.S.WriteCalls(); n != 0 {
			t.Fatalf("%s %s (%d) wrote to the vendors %d times", ev.RequestContext.HTTP.Method, ev.RawPath, res.StatusCode, n)
		}
	})
}
