package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

// kmsRecorder is an HTTP transport that notes every KMS request as IAM sees it: the
// action and the encryption context it carries.
type kmsRecorder struct {
	mu    sync.Mutex
	calls []KMSCall
}

func (r *kmsRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op, body, err := awsRequest(req)
	if err != nil {
		return nil, err
	}
	var in struct{ EncryptionContext map[string]string }
	_ = json.Unmarshal(body, &in)
	r.mu.Lock()
	r.calls = append(r.calls, KMSCall{Action: "kms:" + op, Context: in.EncryptionContext})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *kmsRecorder) recorded() []KMSCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]KMSCall(nil), r.calls...)
}

// recordingSealer is a KMS sealer on moto under keyID whose requests rec notes.
func recordingSealer(t *testing.T, moto *awstest.Moto, keyID string, rec *kmsRecorder) seal.Sealer {
	client := kms.NewFromConfig(moto.Config(), func(o *kms.Options) {
		o.BaseEndpoint = aws.String(moto.URL)
		o.HTTPClient = &http.Client{Transport: rec}
	})
	s, err := seal.NewKMS(client, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// switchBus is the event bus, refusing publications while down is set.
type switchBus struct {
	down      atomic.Bool
	published atomic.Int32
}

func (b *switchBus) Publish(_ context.Context, reqs ...domain.SyncRequest) error {
	if b.down.Load() {
		return errors.New("eventbridge unavailable")
	}
	b.published.Add(int32(len(reqs)))
	return nil
}

// TestAPIPolicyCoversItsCalls sends a request to every /v1 route the template gives
// ApiFunction (a new route fails the test until the scenario reaches it), through the paths that touch DynamoDB or KMS differently (set-up, a refused
// change, a dry run and its plan, Sync Now of all, a run in progress, webhooks queued,
// repeated, replayed and failed, rotation, hand-over), with the store on minidyn and the
// sealer on KMS (moto), and checks that ApiFunction's policies allow exactly the DynamoDB
// requests it made and every KMS request, whose encryption context meets the policy's
// conditions.
func TestAPIPolicyCoversItsCalls(t *testing.T) {
	ctx := context.Background()
	db, _ := awstest.MiniDyn(t)
	tables := store.Tables{Tenants: "t", Mappings: "m", Protocol: "p"}
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	rec := &callRecorder{}
	st := recordingStore(t, *db.Options().BaseEndpoint, tables, rec)
	plain := store.New(db, tables)

	moto := awstest.StartMoto(t)
	key, err := moto.KMS().CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("staffsync api test")})
	if err != nil {
		t.Fatal(err)
	}
	kmsRec := &kmsRecorder{}
	sealer := recordingSealer(t, moto, *key.KeyMetadata.KeyId, kmsRec)

	psim := personiosim.New(personiosim.Config{NoRateLimits: true})
	ssim := staffomaticsim.New(staffomaticsim.Config{})
	ps, ss := httptest.NewServer(psim), httptest.NewServer(ssim)
	t.Cleanup(ps.Close)
	t.Cleanup(ss.Close)
	info, err := demo.Seed(psim, ssim, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := obs.NewLogger(io.Discard, true, nil)
	bus := &switchBus{}
	const opKey = "op-iam-test-key"
	api := httpapi.New(httpapi.Options{Logger: log, Store: st, Sealer: sealer, Bus: bus, OperatorKeyHash: httpapi.OperatorKeyHash(opKey),
		Vendors: httpapi.NewVendors(vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Log: log, PersonioBaseURL: ps.URL, StaffomaticBaseURL: ss.URL + "/v3", MaxRetries: -1}))})

	tpl := load(t)
	routes := http.NewServeMux()
	var declared []string
	for _, ev := range asMap(tpl.Resources["ApiFunction"].Properties["Events"]) {
		em := asMap(ev)
		if str(em["Type"]) != "HttpApi" {
			continue
		}
		p := asMap(em["Properties"])
		pattern := str(p["Method"]) + " " + str(p["Path"])
		declared = append(declared, pattern)
		routes.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
	}
	reached := map[string]bool{}
	send := func(method, path, token, body string, want int, header ...string) []byte {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, w.Code, w.Body, want)
		}
		if _, pattern := routes.Handler(req); pattern != "" && w.Code < 300 {
			reached[pattern] = true
		}
		return w.Body.Bytes()
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}

	send("GET", "/v1/health", "", "", 200)
	send("GET", "/v1/openapi.yaml", "", "", 200)
	creds := `"personio":{"client_id":"` + info.PersonioClientID + `","client_secret":"` + info.PersonioClientSecret + `"},` +
		`"staffomatic":{"subdomain":"` + info.StaffomaticSubdomain + `","email":"` + info.StaffomaticEmail + `","password":"` + info.StaffomaticPassword + `"}`
	var created httpapi.TenantCreated
	decode(send("POST", "/v1/tenants", opKey, `{"name":"Demo Gastro",`+creds+`}`, 201), &created)
	id, tok := created.TenantID, created.AdminToken
	// Storing the webhook secrets fails: the half-created tenant is removed again.
	rec.mu.Lock()
	rec.refuse = func(op string, body []byte) bool {
		return op == "PutItem" && bytes.Contains(body, []byte(`"WEBHOOKS"`))
	}
	rec.mu.Unlock()
	send("POST", "/v1/tenants", opKey, `{"name":"Half Made",`+creds+`}`, 500)
	rec.mu.Lock()
	rec.refuse = nil
	rec.mu.Unlock()
	base := "/v1/tenants/" + id
	send("GET", "/v1/tenants?limit=5", opKey, "", 200)
	send("GET", base, tok, "", 200)
	send("PUT", base+"/credentials", tok, `{`+creds+`}`, 200)
	send("PUT", base+"/sources", tok, `{"timesheets":"staffomatic","absences":"personio"}`, 200)
	send("GET", base+"/employees?limit=5", tok, "", 200)
	send("GET", base+"/checks", tok, "", 200)
	send("PUT", base+"/selection", tok, `{"select":["1016"],"auto_include":{"statuses":["active"]}}`, 200)
	send("PUT", base+"/selection", tok, `{"select":["424242"]}`, 422)
	send("GET", base+"/selection", tok, "", 200)
	send("PUT", base+"/settings", tok, `{"enable_background_sync":true}`, 200)
	var dry struct {
		RunIDs []string `json:"run_ids"`
	}
	decode(send("POST", base+"/sync/users", tok, `{"dry_run":true}`, 202), &dry)
	send("GET", base+"/runs/"+dry.RunIDs[0], tok, "", 200)
	send("POST", base+"/sync/all", tok, `{"mode":"partial"}`, 202)
	// A users run in progress: Sync Now of users names it instead of queuing.
	running := domain.NewRunID(domain.PhaseUsers, time.Now())
	if _, err := plain.AcquireLease(ctx, id, domain.PhaseUsers, running, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := plain.PutRun(ctx, domain.RunSummary{Tenant: id, RunID: running, Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerManual,
		Status: domain.RunRunning, QueuedAt: time.Now(), StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	send("POST", base+"/sync/users", tok, "", 409)
	send("GET", base+"/runs?limit=10", tok, "", 200)
	send("GET", base+"/protocol?area=setup", tok, "", 200)
	send("GET", base+"/protocol", tok, "", 200)

	// Webhooks: Personio queued, repeated, and failed while the queue is down (the claim is
	// released); Staffomatic queued and replayed.
	personio := "/v1/webhooks/personio/" + id
	event := func(person string) string {
		return `{"event_name":"person.updated","occurred_at":"` + time.Now().UTC().Add(-time.Minute).Truncate(time.Second).Format(time.RFC3339) + `","payload":{"id":"` + person + `"}}`
	}
	ev := event("1016")
	send("POST", personio, "", ev, 202, "Authorization", created.WebhookSecrets.PersonioToken)
	send("POST", personio, "", ev, 200, "Authorization", created.WebhookSecrets.PersonioToken)
	bus.down.Store(true)
	send("POST", personio, "", event("1017"), 503, "Authorization", created.WebhookSecrets.PersonioToken)
	bus.down.Store(false)
	hint := []byte(`{"kind":"user","id":` + jsonInt(info.StaffomaticAdminID) + `}`)
	sig := staffomatic.Sign([]byte(created.WebhookSecrets.StaffomaticSecret), time.Now(), hint)
	send("POST", "/v1/webhooks/staffomatic/"+id, "", string(hint), 202, staffomatic.SignatureHeader, sig)
	send("POST", "/v1/webhooks/staffomatic/"+id, "", string(hint), 409, staffomatic.SignatureHeader, sig)

	send("POST", base+"/webhook-secrets", tok, "", 200)
	send("POST", base+"/owner", tok, `{"staffomatic":{"email":"`+demo.SecondAdminEmail+`","password":"`+demo.SecondAdminPassword+`"}}`, 200)

	for _, r := range declared {
		// The API's routes are under /v1; anything else the function serves (static
		// pages) reaches no AWS service.
		if _, path, _ := strings.Cut(r, " "); !strings.HasPrefix(path, "/v1/") {
			continue
		}
		if !reached[r] {
			t.Errorf("the scenario never reached %s with a success; add it", r)
		}
	}
	if bus.published.Load() == 0 {
		t.Error("nothing was published")
	}
	for _, p := range CheckDynamoDBAccess(tpl, "ApiFunction", rec.recorded(), true) {
		t.Error(p)
	}
	kmsCalls := kmsRec.recorded()
	for _, want := range []string{"kms:Encrypt", "kms:Decrypt"} {
		if !slices.ContainsFunc(kmsCalls, func(c KMSCall) bool { return c.Action == want }) {
			t.Errorf("the scenario never made %s", want)
		}
	}
	for _, p := range CheckKMSAccess(tpl, "ApiFunction", kmsCalls, seal.EncryptionContextKey) {
		t.Error(p)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestCheckKMSAccess: the KMS check sees a call without the tenant context, a call with
// another context key, a grant without the context condition or on every key, a grant the
// code never uses, and a condition operator it cannot evaluate.
func TestCheckKMSAccess(t *testing.T) {
	tenant := map[string]string{seal.EncryptionContextKey: "acme"}
	both := []KMSCall{{"kms:Encrypt", tenant}, {"kms:Decrypt", tenant}}
	statement := func(tpl *Template) map[string]any {
		for _, pol := range asSlice(tpl.Resources["ApiFunction"].Properties["Policies"]) {
			for _, st := range asSlice(asMap(pol)["Statement"]) {
				if str(asMap(st)["Sid"]) == "SealTenantSecrets" {
					return asMap(st)
				}
			}
		}
		t.Fatal("ApiFunction has no SealTenantSecrets statement")
		return nil
	}
	for _, c := range []struct {
		name   string
		mutate func(st map[string]any, tpl *Template)
		calls  []KMSCall
		want   string
	}{
		{"as deployed", func(map[string]any, *Template) {}, both, ""},
		{"a call without context", func(map[string]any, *Template) {}, append(both, KMSCall{"kms:Decrypt", nil}), "calls kms:Decrypt with encryption context {}, which its policies do not allow"},
		{"a call with another key", func(map[string]any, *Template) {},
			append(both, KMSCall{"kms:Decrypt", map[string]string{seal.EncryptionContextKey: "acme", "aws:dynamodb:tableName": "t"}}), "which its policies do not allow"},
		{"no condition", func(st map[string]any, _ *Template) { delete(st, "Condition") }, both, "without requiring kms:EncryptionContext:tenant_id"},
		{"every key", func(st map[string]any, _ *Template) { st["Resource"] = "*" }, both, "on every key (*)"},
		{"unused grant", func(st map[string]any, _ *Template) {
			st["Action"] = []any{"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom"}
		}, both, "allows kms:ReEncryptFrom, which the code never calls"},
		{"unknown operator", func(st map[string]any, _ *Template) {
			asMap(st["Condition"])["DateGreaterThan"] = map[string]any{"kms:EncryptionContext:tenant_id": "x"}
		}, both, "condition operator DateGreaterThan is not checked here"},
		{"SAM template", func(_ map[string]any, tpl *Template) {
			fn := tpl.Resources["ApiFunction"].Properties
			fn["Policies"] = append(asSlice(fn["Policies"]), map[string]any{"KMSDecryptPolicy": map[string]any{"KeyId": map[string]any{"Ref": "DataKey"}}})
		}, both, "KMSDecryptPolicy allows kms:Decrypt without requiring kms:EncryptionContext:tenant_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tpl := load(t)
			c.mutate(statement(tpl), tpl)
			got := strings.Join(CheckKMSAccess(tpl, "ApiFunction", c.calls, "tenant_id"), "\n")
			if c.want == "" && got != "" || !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}
