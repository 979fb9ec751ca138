package personio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestTokenWaiterOutlivesCancelledLeader: the caller whose request fetches the shared
// token gives up; a caller waiting for that token with a live context must not inherit
// the cancellation but fetch the token itself.
func TestTokenWaiterOutlivesCancelledLeader(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	emp := e.sim.AddEmployee(personiosim.Employee{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"})
	e.sim.SetLatency(personiosim.FamilyAuthV1, 400*time.Millisecond)

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() { _, err := e.cl.Employee(leaderCtx, emp.ID); leaderDone <- err }()
	time.Sleep(100 * time.Millisecond) // the leader's auth request is in flight
	waiterDone := make(chan error, 1)
	var got personio.Employee
	go func() {
		var err error
		got, err = e.cl.Employee(context.Background(), emp.ID)
		waiterDone <- err
	}()
	time.Sleep(100 * time.Millisecond) // the waiter waits for the leader's fetch
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: want context.Canceled, got %v", err)
	}
	if err := <-waiterDone; err != nil {
		t.Fatalf("waiter inherited the leader's failure: %v", err)
	}
	if got.ID != emp.ID || got.FirstName != "Ada" {
		t.Fatalf("waiter got %+v", got)
	}
}

// TestAuthRetriedOn5xx: the auth endpoints create nothing, so a 500 on them (Personio
// answers fast auth calls with 500s now and then) is retried like a read, unlike a
// POST of a period.
func TestAuthRetriedOn5xx(t *testing.T) {
	e := newEnv(t, personiosim.Config{}, nil)
	emp := e.sim.AddEmployee(personiosim.Employee{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"})
	e.sim.InjectFault("POST /v1/auth", 2, personiosim.Fault{Status: http.StatusInternalServerError})
	e.sim.InjectFault("POST /v2/auth/token", 1, personiosim.Fault{Status: http.StatusBadGateway})
	if _, err := e.cl.Employee(context.Background(), emp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.AbsencePeriods(context.Background(), personio.AbsencePeriodsOptions{}); err != nil {
		t.Fatal(err)
	}
	if v1, v2 := e.sim.CallCount("POST /v1/auth"), e.sim.CallCount("POST /v2/auth/token"); v1 != 3 || v2 != 2 {
		t.Fatalf("auth calls v1 %d (want 3), v2 %d (want 2)", v1, v2)
	}
}

// authedServer is a hand-written Personio for shapes the simulator never produces: it
// grants every v1 token request and answers everything else with h.
func authedServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth" {
			fmt.Fprint(w, `{"success":true,"data":{"token":"papi-x","expires_in":86400}}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// offsetIgnoringServer answers /v1/company/employees with the first page whatever the
// offset, without metadata: a client trusting only page length would loop forever.
func offsetIgnoringServer(t *testing.T, perPage int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var listCalls atomic.Int64
	srv := authedServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/company/employees":
			if listCalls.Add(1) > 50 {
				http.Error(w, "loop", http.StatusTeapot)
				return
			}
			var data []any
			for i := range perPage {
				data = append(data, map[string]any{"type": "Employee", "attributes": map[string]any{
					"id":    map[string]any{"label": "ID", "value": i + 1, "type": "integer", "universal_id": "id"},
					"email": map[string]any{"label": "Email", "value": fmt.Sprintf("e%d@example.com", i+1), "type": "standard", "universal_id": "email"},
				}})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"success":false,"error":{"code":0,"message":"Es ist ein Problem aufgetreten"}}`)
		}
	})
	return srv, &listCalls
}

func TestEmployeesLoopGuard(t *testing.T) {
	newClient := func(url string) *personio.Client {
		cl, err := personio.New(personio.Config{BaseURL: url, ClientID: testID, ClientSecret: testSecret, Limits: unlimited(), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	t.Run("offset ignored: an error, not a partial company", func(t *testing.T) {
		srv, calls := offsetIgnoringServer(t, 100)
		list, err := newClient(srv.URL).Employees(context.Background(), personio.EmployeesOptions{})
		if !errors.Is(err, personio.ErrPaginationLoop) || list != nil {
			t.Fatalf("want ErrPaginationLoop, got %v, %v", list, err)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d list calls, want 2 (the repeat is detected on the second page)", n)
		}
	})
	t.Run("limit ignored: everything at once is complete", func(t *testing.T) {
		srv, calls := offsetIgnoringServer(t, 150)
		list, err := newClient(srv.URL).Employees(context.Background(), personio.EmployeesOptions{})
		if err != nil || len(list.Employees) != 150 || !strings.HasPrefix(list.Employees[149].Email, "e150@") {
			t.Fatalf("got %v, %v", list, err)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d list calls, want 2", n)
		}
	})
}

// TestNonFiniteNumbers: "NaN", "Inf" and out-of-range numbers are no values (JSON cannot
// carry them, so every write with one would fail); an absence entitlement out of range
// fails the read with the employee named instead of turning into +Inf.
func TestNonFiniteNumbers(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want float64
		ok   bool
	}{
		{`"40"`, 40, true}, {`37.5`, 37.5, true}, {`"38,5"`, 38.5, true},
		{`"NaN"`, 0, false}, {`"Inf"`, 0, false}, {`"-infinity"`, 0, false}, {`"1e400"`, 0, false}, {`""`, 0, false},
	} {
		f, ok := personio.Attribute{Value: json.RawMessage(c.raw)}.Float()
		if ok != c.ok || (ok && f != c.want) {
			t.Errorf("Float(%s) = %v, %v; want %v, %v", c.raw, f, ok, c.want, c.ok)
		}
	}
	srv := authedServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/company/employees":
			fmt.Fprint(w, `{"success":true,"metadata":{"total_elements":1,"current_page":0,"total_pages":1},"data":[{"type":"Employee","attributes":{`+
				`"id":{"label":"ID","value":7,"type":"integer","universal_id":"id"},`+
				`"absence_entitlement":{"label":"Absence entitlement","type":"standard","universal_id":"absence_entitlement","value":[`+
				`{"type":"TimeOffType","attributes":{"id":1,"name":"Urlaub","category":"paid_vacation","entitlement":1e400}}]}}}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	cl, err := personio.New(personio.Config{BaseURL: srv.URL, ClientID: testID, ClientSecret: testSecret, Limits: unlimited(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Employees(context.Background(), personio.EmployeesOptions{}); err == nil || !strings.Contains(err.Error(), "employee 7 absence_entitlement") {
		t.Fatalf("entitlement 1e400: %v", err)
	}
}

// TestRateLimitWaitPastDeadline: when the gateway's headers ask for a wait that ends
// after the caller's deadline, the call fails at once, saying so, instead of sleeping
// until the deadline.
func TestRateLimitWaitPastDeadline(t *testing.T) {
	var calls atomic.Int64
	srv := authedServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("x-ratelimit-replenish-rate", "0.001") // one token in 1,000 s
		w.Header().Set("x-ratelimit-remaining", "0")
		w.Header().Set("x-ratelimit-requested-tokens", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"success":false,"error":{"code":429,"message":"Too Many Requests"}}`)
	})
	cl, err := personio.New(personio.Config{BaseURL: srv.URL, ClientID: testID, ClientSecret: testSecret, Limits: unlimited()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = cl.Employee(ctx, 7)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after the deadline of this call") || ctx.Err() != nil {
		t.Fatalf("got %v (context %v)", err, ctx.Err())
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
