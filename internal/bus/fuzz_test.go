package bus_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
)

// FuzzParse feeds arbitrary bytes to the parser phase functions run on what their rule
// delivers: it never panics, what it accepts is a valid request, and sending that request
// again (Detail) and parsing it gives the same request.
func FuzzParse(f *testing.F) {
	at := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	good := domain.SyncRequest{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeFull, Trigger: domain.TriggerSchedule,
		RunID: domain.ScheduledRunID(domain.PhaseUsers, at), ScheduledTime: at}
	targeted := domain.SyncRequest{Tenant: "acme", Phase: domain.PhaseUsers, Mode: domain.ModeTargeted, Trigger: domain.TriggerWebhook,
		RunID: domain.NewRunID(domain.PhaseUsers, at), Targets: []domain.Target{{Kind: domain.KindUser, ID: "101"}},
		Then: []domain.Step{{Phase: domain.PhaseWorkspaces, RunID: domain.NewRunID(domain.PhaseWorkspaces, at)}}}
	for _, r := range []domain.SyncRequest{good, targeted} {
		d, err := bus.Detail(r)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(bus.Envelope{Version: "0", ID: "1", Source: bus.Source, DetailType: bus.DetailType, Time: at, Region: "eu-central-1", Detail: d})
		f.Add(b)
	}
	for _, s := range []string{`{}`, `null`, `[]`, `{"source":"staffsync","detail-type":"SyncRequested"}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":null}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":{"tenant_id":"acme","phase":"users","mode":"full","trigger":"manual","run_id":"20260301T040000Z-users-abc","targets":[{}]}}`,
		`{"source":"staffsync","detail-type":"SyncRequested","detail":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := bus.Parse(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid request %+v: %v", r, err)
		}
		d, err := bus.Detail(r)
		if err != nil {
			t.Fatalf("accepted %+v, which cannot be sent again: %v", r, err)
		}
		b, _ := json.Marshal(bus.Envelope{Source: bus.Source, DetailType: bus.DetailType, Detail: d})
		again, err := bus.Parse(b)
		if err != nil {
			t.Fatalf("re-sent %s does not parse: %v", d, err)
		}
		if !again.ScheduledTime.Equal(r.ScheduledTime) {
			t.Fatalf("scheduled time %v became %v", r.ScheduledTime, again.ScheduledTime)
		}
		again.ScheduledTime, r.ScheduledTime = time.Time{}, time.Time{}
		for _, q := range []*domain.SyncRequest{&r, &again} { // [] and null are both "none"
			if len(q.Then) == 0 {
				q.Then = nil
			}
			if len(q.Targets) == 0 {
				q.Targets = nil
			}
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, again)
		}
	})
}
