package main

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/staffsync/staffsync/internal/lambdatest"
)

// TestLambdaRuntime runs the real bootstrap under aws-lambda-rie with every
// events/ApiFunction-*.json payload.
func TestLambdaRuntime(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/api")
	emu := lambdatest.Start(t, bootstrap, nil)
	want := map[string]struct {
		status int
		check  func(t *testing.T, body string)
	}{
		"health": {200, func(t *testing.T, body string) {
			if body != "{\"status\":\"ok\"}\n" {
				t.Errorf("health body %q", body)
			}
		}},
		"not-found": {404, func(t *testing.T, body string) {
			var e struct{ Error struct{ Code string } }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "not_found" {
				t.Errorf("not-found body %q", body)
			}
		}},
	}
	evs := lambdatest.Events(t, "ApiFunction")
	for name, payload := range evs {
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("events/ApiFunction-%s.json has no expectation in this test", name)
			}
			status, body := emu.Invoke(t, payload)
			if status != 200 {
				t.Fatalf("emulator status %d: %s", status, body)
			}
			var res events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("not an HTTP API response: %v: %s", err, body)
			}
			if res.StatusCode != exp.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, exp.status, res.Body)
			}
			if res.Headers["Content-Type"] != "application/json" {
				t.Errorf("content type %q", res.Headers["Content-Type"])
			}
			exp.check(t, res.Body)
		})
	}
	if len(evs) != len(want) {
		t.Errorf("%d event files, %d expectations", len(evs), len(want))
	}
}
