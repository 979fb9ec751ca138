package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// downBus is the real bus behind a switch that makes publishing fail, as EventBridge
// does during an outage.
type downBus struct {
	bus.Publisher
	down atomic.Bool
}

func (b *downBus) Publish(ctx context.Context, reqs ...domain.SyncRequest) error {
	if b.down.Load() {
		return errors.New("eventbridge: service unavailable")
	}
	return b.Publisher.Publish(ctx, reqs...)
}

// TestWebhookNotLostWhenQueueDown: a delivery that arrives while the queue is down is
// answered 503 with nothing stored, and its resend (the same signed request) is
// processed, not refused as a replay; only a resend of a processed delivery is.
func TestWebhookNotLostWhenQueueDown(t *testing.T) {
	var db *downBus
	e := newEnv(t, func(o *Options) { db = &downBus{Publisher: o.Bus}; o.Bus = db })
	clock := time.Now()
	e.api.now = func() time.Time { return clock }
	c := e.createDemo(t)
	path := "/v1/webhooks/staffomatic/" + c.TenantID
	body := `{"kind":"work_timer","id":901}`
	sig := staffomatic.Sign([]byte(c.WebhookSecrets.StaffomaticSecret), clock, []byte(body))
	send := func() resp { return e.do(t, "POST", path, "", body, staffomatic.SignatureHeader, sig) }

	db.down.Store(true)
	before := e.snapshot(t, c.TenantID)
	if r := send(); r.Code != http.StatusServiceUnavailable || r.errCode(t) != "queue_unavailable" {
		t.Fatalf("queue down: %d %s", r.Code, r.Body)
	}
	if e.snapshot(t, c.TenantID) != before || len(e.events()) != 0 {
		t.Fatal("a refused delivery left a run or an event")
	}
	// Personio's deliveries are refused the same way and can be resent.
	pbody := `{"event_name":"person.updated","payload":{"id":"5"}}`
	if r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", pbody, "Authorization", c.WebhookSecrets.PersonioToken); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("personio, queue down: %d %s", r.Code, r.Body)
	}

	db.down.Store(false)
	r := send()
	var ans webhookAnswer
	r.json(t, &ans)
	if r.Code != http.StatusAccepted || len(ans.RunIDs) != 1 {
		t.Fatalf("resend after the outage: %d %s", r.Code, r.Body)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].RunID != ans.RunIDs[0] || evs[0].Targets[0] != (domain.Target{Kind: domain.KindTimer, ID: "901"}) {
		t.Fatalf("events %+v", evs)
	}
	if run, err := e.store.GetRun(t.Context(), c.TenantID, ans.RunIDs[0]); err != nil || run.Status != domain.RunQueued || run.Trigger != domain.TriggerWebhook {
		t.Fatalf("run %+v %v", run, err)
	}
	if r := send(); r.Code != http.StatusConflict || r.errCode(t) != "replayed" {
		t.Fatalf("resend of a processed delivery: %d %s", r.Code, r.Body)
	}
	if r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", pbody, "Authorization", c.WebhookSecrets.PersonioToken); r.Code != http.StatusAccepted {
		t.Fatalf("personio resend: %d %s", r.Code, r.Body)
	}
	if n := len(e.events()); n != 2 {
		t.Fatalf("%d events, want the timer and the person once each", n)
	}
	// A resent hint that is ignored stays refused as a replay; a body that is not a hint
	// is refused as such each time, and leaves no replay claim behind.
	for i, c2 := range []struct {
		body          string
		first, second int
	}{{`{"kind":"shift","id":3}`, http.StatusOK, http.StatusConflict}, {`{"id":"x"}`, http.StatusBadRequest, http.StatusBadRequest}} {
		at := clock.Add(time.Duration(i+1) * time.Second)
		s := staffomatic.Sign([]byte(c.WebhookSecrets.StaffomaticSecret), at, []byte(c2.body))
		first := e.do(t, "POST", path, "", c2.body, staffomatic.SignatureHeader, s)
		again := e.do(t, "POST", path, "", c2.body, staffomatic.SignatureHeader, s)
		if first.Code != c2.first || again.Code != c2.second {
			t.Errorf("%s: %d then %d, want %d then %d", c2.body, first.Code, again.Code, c2.first, c2.second)
		}
	}
}

// TestRequestLogsCarryTheTenant: the log lines of a tenant's request carry the tenant as
// the run logs do ("tenant"), and the lines about a run its phase and run id too, so one
// query finds a run's history from the webhook that queued it to its end.
func TestRequestLogsCarryTheTenant(t *testing.T) {
	var db *downBus
	e := newEnv(t, func(o *Options) { db = &downBus{Publisher: o.Bus}; o.Bus = db })
	c := e.createDemo(t)
	db.down.Store(true)
	pbody := `{"event_name":"person.updated","payload":{"id":"5"}}`
	if r := e.do(t, "POST", "/v1/webhooks/personio/"+c.TenantID, "", pbody, "Authorization", c.WebhookSecrets.PersonioToken); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("queue down: %d %s", r.Code, r.Body)
	}
	var webhook, publish map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch m["msg"] {
		case "personio webhook":
			webhook = m
		case "could not publish sync requests":
			publish = m
		}
	}
	if webhook == nil || webhook["tenant"] != c.TenantID {
		t.Fatalf("webhook line %v", webhook)
	}
	if publish == nil || publish["tenant"] != c.TenantID || publish["phase"] != "users" || !strings.Contains(fmt.Sprint(publish["run_id"]), "-users-") {
		t.Fatalf("publish line %v", publish)
	}
}
