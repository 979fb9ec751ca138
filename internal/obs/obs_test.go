package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoggerCarriesRunAndRedactsSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, true, slog.LevelDebug).With("client_secret", "s3cr3t-with")
	ctx := WithRun(context.Background(), RunInfo{Tenant: "t1", Phase: "users", RunID: "r1"})
	log.InfoContext(ctx, "auth", "password", "hunter2", "Authorization", "Bearer abc",
		slog.Group("personio", slog.String("client_id", "cid"), slog.String("client_secret", "pp")),
		"count", 3)

	out := buf.String()
	for _, secret := range []string{"s3cr3t-with", "hunter2", "Bearer abc", "\"pp\""} {
		if strings.Contains(out, secret) {
			t.Errorf("log line contains secret %q: %s", secret, out)
		}
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	want := map[string]any{"tenant": "t1", "phase": "users", "run_id": "r1", "count": float64(3), "password": Redacted}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if g, _ := line["personio"].(map[string]any); g["client_id"] != "cid" || g["client_secret"] != Redacted {
		t.Errorf("group not redacted field-wise: %v", line["personio"])
	}
}

func TestIsSecretKey(t *testing.T) {
	cases := map[string]bool{
		"client_secret": true, "password": true, "admin_token": true, "Authorization": true,
		"webhook_secrets": true, "X-Staffsync-Signature": true, "tenant": false, "email": false, "client_id": false,
	}
	for k, want := range cases {
		if got := IsSecretKey(k); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestEMFLine(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "usersync")
	m.now = func() time.Time { return time.UnixMilli(1700000000000) }
	if err := m.Emit("users", "t1", Metric{Name: "Created", Value: 3}, Metric{Name: "DurationMs", Unit: UnitMilliseconds, Value: 12.5}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Service, Phase, Tenant string
		Created, DurationMs    float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != 1700000000000 || cw.Namespace != Namespace || len(cw.Dimensions) != 1 ||
		strings.Join(cw.Dimensions[0], ",") != "Service,Phase" {
		t.Fatalf("bad _aws block: %+v", doc.AWS)
	}
	if doc.Service != "usersync" || doc.Phase != "users" || doc.Tenant != "t1" || doc.Created != 3 || doc.DurationMs != 12.5 {
		t.Fatalf("bad values: %+v", doc)
	}
	if cw.Metrics[0].Name != "Created" || cw.Metrics[0].Unit != "Count" || cw.Metrics[1].Unit != "Milliseconds" {
		t.Fatalf("bad metric defs: %+v", cw.Metrics)
	}
	if err := m.Emit("users", "t1", Metric{Name: "Phase", Value: 1}); err == nil {
		t.Fatal("clash with dimension accepted")
	}
}
