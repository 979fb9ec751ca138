package dispatch_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/staffsync/staffsync/internal/dispatch"
)

// FuzzDispatch decodes arbitrary bytes as the Lambda runtime decodes a ScheduleV2 input
// and dispatches them for two tenants (one with background sync on). Nothing panics. An
// input that is refused names a field and changes nothing: no run is claimed and no event
// sent. An accepted input requests exactly one valid run for the enabled tenant (a repeat
// of the same schedule is a duplicate) and never reports a failure as success.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		`{"phase":"users","mode":"full","scheduled_time":"2026-03-01T04:00:00Z"}`,
		`{"phase":"timesheets","mode":"partial","scheduled_time":"2026-03-01T05:10:00+01:00"}`,
		`{"phase":"users","mode":"targeted","scheduled_time":"2026-03-01T04:00:00Z"}`,
		`{"phase":"users","mode":"full","scheduled_time":"<aws.scheduler.scheduled-time>"}`,
		`{"phase":"users","mode":"full","scheduled_time":"0000-01-01T00:00:00+01:00"}`,
		`{"phase":"users","mode":"full","scheduled_time":"9999-12-31T23:59:59-01:00"}`,
		`{"phase":"payroll"}`, `{}`, `null`, `{"phase":1}`,
	} {
		f.Add([]byte(s))
	}
	st := setup(f, map[string]bool{"on": true, "off": false})
	rec := &recorder{}
	d := dispatch.New(st, rec, slog.New(slog.DiscardHandler), nil)
	ctx := context.Background()
	runs := func(tenant string) int {
		page, err := st.ListRuns(ctx, tenant, 1000, "")
		if err != nil {
			f.Fatal(err)
		}
		return len(page.Runs)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in dispatch.Input
		if json.Unmarshal(raw, &in) != nil {
			return // the Lambda runtime refuses it before dispatch is called
		}
		before, sent := runs("on"), len(rec.got)
		res, err := d.Dispatch(ctx, in)
		if _, verr := in.Validate(); verr != nil {
			if err == nil || res.RunID != "" {
				t.Fatalf("%s: invalid input (%v) dispatched: %+v %v", raw, verr, res, err)
			}
			if runs("on") != before || len(rec.got) != sent || runs("off") != 0 {
				t.Fatalf("%s: refused input changed something", raw)
			}
			return
		}
		if err != nil || res.Failed != 0 || res.Tenants != 1 || res.Published+res.Duplicates != 1 {
			t.Fatalf("%s: %+v %v", raw, res, err)
		}
		if _, err := st.GetRun(ctx, "on", res.RunID); err != nil {
			t.Fatalf("%s: run %s not claimed: %v", raw, res.RunID, err)
		}
		if _, err := st.GetRun(ctx, "off", res.RunID); err == nil {
			t.Fatalf("%s: run claimed for a tenant with background sync off", raw)
		}
		for _, r := range rec.got[sent:] {
			if err := r.Validate(); err != nil || r.RunID != res.RunID {
				t.Fatalf("%s: sent %+v: %v", raw, r, err)
			}
		}
	})
}
