package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
)

// failFirst is the bus with its first n publications refused, as when EventBridge is down.
type failFirst struct {
	next bus.Publisher
	n    atomic.Int32
}

func (f *failFirst) Publish(ctx context.Context, reqs ...domain.SyncRequest) error {
	if f.n.Add(-1) >= 0 {
		return errors.New("eventbridge unavailable")
	}
	return f.next.Publish(ctx, reqs...)
}

// TestPersonioDeliveriesDeduplicated: the same Personio event (name, record, occurred_at)
// queues one run however often and however concurrently it is delivered; the repeat is a
// 200 duplicate naming that run, so Personio stops retrying. Another event of the same
// record is queued. A delivery that failed (queue down) does not block Personio's retry.
func TestPersonioDeliveriesDeduplicated(t *testing.T) {
	flaky := &failFirst{}
	// The events below happened minutes before this clock's now.
	now := time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) { flaky.next = o.Bus; o.Bus = flaky; o.Now = func() time.Time { return now } })
	c := e.createDemo(t)
	path := "/v1/webhooks/personio/" + c.TenantID
	send := func(body string) (int, webhookAnswer) {
		r := e.do(t, "POST", path, "", body, "Authorization", c.WebhookSecrets.PersonioToken)
		var a webhookAnswer
		if r.Code < 300 {
			r.json(t, &a)
		}
		return r.Code, a
	}
	ev := `{"event_name":"person.updated","occurred_at":"2026-12-07T01:02:03Z","payload":{"id":"1016"}}`
	code, first := send(ev)
	if code != http.StatusAccepted || len(first.RunIDs) != 1 || first.Status != "queued" {
		t.Fatalf("first delivery: %d %+v", code, first)
	}
	for range 3 {
		code, again := send(ev)
		if code != http.StatusOK || again.Status != "duplicate" || len(again.RunIDs) != 1 || again.RunIDs[0] != first.RunIDs[0] || !strings.Contains(again.Reason, "delivered before") {
			t.Fatalf("repeat: %d %+v", code, again)
		}
	}
	// Delivered at once to several instances: one queues.
	concurrent := `{"event_name":"person.updated","occurred_at":"2026-12-07T01:05:00Z","payload":{"id":"1017"}}`
	var wg sync.WaitGroup
	var queued, dup atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", path, strings.NewReader(concurrent))
			req.Header.Set("Authorization", c.WebhookSecrets.PersonioToken)
			rec := httptest.NewRecorder()
			e.api.ServeHTTP(rec, req)
			switch {
			case rec.Code == http.StatusAccepted:
				queued.Add(1)
			case rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), `"duplicate"`):
				dup.Add(1)
			default:
				t.Errorf("concurrent delivery: %d %s", rec.Code, rec.Body)
			}
		}()
	}
	wg.Wait()
	if queued.Load() != 1 || dup.Load() != 7 {
		t.Fatalf("8 concurrent deliveries: %d queued, %d duplicates", queued.Load(), dup.Load())
	}
	// Another change of the same person is another event.
	if code, a := send(`{"event_name":"person.updated","occurred_at":"2026-12-07T01:09:00Z","payload":{"id":"1016"}}`); code != http.StatusAccepted || a.RunIDs[0] == first.RunIDs[0] {
		t.Fatalf("a later event of the same person: %d %+v", code, a)
	}
	// Without occurred_at the name and record identify the event for a minute.
	untimed := `{"event_name":"person.updated","payload":{"id":"1018"}}`
	if code, _ := send(untimed); code != http.StatusAccepted {
		t.Fatalf("untimed event: %d", code)
	}
	if code, a := send(untimed); code != http.StatusOK || a.Status != "duplicate" {
		t.Fatalf("untimed repeat: %d %+v", code, a)
	}
	if n := len(e.events()); n != 4 {
		t.Fatalf("%d runs published, want 4", n)
	}
	// An event dated far from now gets a run id of now, not of its date.
	code, future := send(`{"event_name":"person.updated","occurred_at":"2099-01-01T00:00:00Z","payload":{"id":"1019"}}`)
	if code != http.StatusAccepted || strings.HasPrefix(future.RunIDs[0], "2099") {
		t.Fatalf("an event dated 2099: %d %+v", code, future)
	}
	if code, again := send(`{"event_name":"person.updated","occurred_at":"2099-01-01T00:00:00Z","payload":{"id":"1019"}}`); code != http.StatusOK || again.Status != "duplicate" {
		t.Fatalf("its repeat: %d %+v", code, again)
	}
	// The queue is down for the first delivery: 503, and Personio's retry is processed.
	flaky.n.Store(1)
	retried := `{"event_name":"person.updated","occurred_at":"2026-12-07T01:20:00Z","payload":{"id":"1019"}}`
	if r := e.do(t, "POST", path, "", retried, "Authorization", c.WebhookSecrets.PersonioToken); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("delivery while the queue is down: %d %s", r.Code, r.Body)
	}
	if code, a := send(retried); code != http.StatusAccepted || a.Status != "queued" {
		t.Fatalf("Personio's retry after the failure: %d %+v", code, a)
	}
}
