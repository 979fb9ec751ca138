package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/sandbox/demo"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
)

const operatorKey = "op-test-key"

var tableSeq atomic.Int64

// env is the API wired to real adapters: the store on minidyn in-process, the local
// sealer, the in-process bus and both simulators seeded with the demo company.
type env struct {
	api      *API
	store    *store.Store
	bus      *bus.Local
	psim     *personiosim.Server
	ssim     *staffomaticsim.Server
	demo     demo.Info
	pURL     string
	sURL     string
	logs     *bytes.Buffer
	now      time.Time
	mu       sync.Mutex
	received []domain.SyncRequest
	// queries counts the DynamoDB Query requests of the env's store (reads of a list).
	queries *atomic.Int64
}

type envOption func(*Options)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	mini, _ := awstest.MiniDyn(t)
	queries := new(atomic.Int64)
	db := dynamodb.New(mini.Options(), awstest.OnRequest(func(in any) {
		if _, ok := in.(*dynamodb.QueryInput); ok {
			queries.Add(1)
		}
	}))
	n := tableSeq.Add(1)
	tables := store.Tables{Tenants: fmt.Sprintf("tenants%d", n), Mappings: fmt.Sprintf("mappings%d", n), Protocol: fmt.Sprintf("protocol%d", n)}
	if err := store.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	e := &env{store: store.New(db, tables), logs: &bytes.Buffer{}, now: time.Now(), queries: queries}
	e.psim = personiosim.New(personiosim.Config{NoRateLimits: true})
	e.ssim = staffomaticsim.New(staffomaticsim.Config{})
	ps, ss := httptest.NewServer(e.psim), httptest.NewServer(e.ssim)
	t.Cleanup(ps.Close)
	t.Cleanup(ss.Close)
	e.pURL, e.sURL = ps.URL, ss.URL+"/v3"
	var err error
	if e.demo, err = demo.Seed(e.psim, e.ssim, e.now); err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	logw := &lockedBuffer{b: e.logs}
	log := obs.NewLogger(logw, true, slog.LevelDebug)
	// A failing test shows what the API logged: an "internal" 500 says no more.
	t.Cleanup(func() {
		if t.Failed() {
			logw.mu.Lock()
			defer logw.mu.Unlock()
			t.Logf("API log:\n%s", logw.b.String())
		}
	})
	e.bus = bus.NewLocal(log)
	for _, p := range domain.Phases {
		e.bus.Subscribe(p, func(_ context.Context, raw json.RawMessage) error {
			r, err := bus.Parse(raw)
			if err != nil {
				return err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			e.received = append(e.received, r)
			return nil
		})
	}
	o := Options{Logger: log, Store: e.store, Sealer: sealer, Bus: e.bus, OperatorKeyHash: OperatorKeyHash(operatorKey),
		Vendors: NewVendors(vendors.New(vendors.Options{Policy: vendors.Policy{Open: true}, Log: log, PersonioBaseURL: e.pURL, StaffomaticBaseURL: e.sURL, MaxRetries: -1}))}
	for _, f := range opts {
		f(&o)
	}
	e.api = New(o)
	return e
}

// lockedBuffer lets the test read the log while handlers write it.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events returns the requests the bus delivered so far.
func (e *env) events() []domain.SyncRequest {
	e.bus.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]domain.SyncRequest(nil), e.received...)
}

type resp struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Code, err, r.Body)
	}
}

func (r resp) errCode(t testing.TB) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message, Field string }
	}
	r.json(t, &b)
	if b.Error.Message == "" {
		t.Fatalf("error response without message: %s", r.Body)
	}
	return b.Error.Code
}

// do sends a request through the API and checks request and response against the
// OpenAPI document.
func (e *env) do(t testing.TB, method, path, token string, body any, header ...string) resp {
	t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	r := resp{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	conform(t, method, path, raw, req.Header, r)
	return r
}

// demoInput is the creation body of the demo company, against the simulators.
func (e *env) demoInput() map[string]any {
	return map[string]any{
		"name":        "Demo Gastro GmbH",
		"personio":    map[string]any{"client_id": e.demo.PersonioClientID, "client_secret": e.demo.PersonioClientSecret},
		"staffomatic": map[string]any{"subdomain": e.demo.StaffomaticSubdomain, "email": e.demo.StaffomaticEmail, "password": e.demo.StaffomaticPassword},
	}
}

// createDemo creates the demo tenant through the API.
func (e *env) createDemo(t testing.TB) TenantCreated {
	t.Helper()
	r := e.do(t, "POST", "/v1/tenants", operatorKey, e.demoInput())
	if r.Code != http.StatusCreated {
		t.Fatalf("create demo tenant: %d %s", r.Code, r.Body)
	}
	var c TenantCreated
	r.json(t, &c)
	return c
}

// noSecrets fails when any of the secrets appears in s.
func noSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%.6s…)", what, sec)
		}
	}
}
