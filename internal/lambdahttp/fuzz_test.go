package lambdahttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzHandler feeds arbitrary API Gateway HTTP API events to the adapter. Every event is
// answered (never a panic, never an invocation error). An event that cannot be read gets a
// 400 whose body is the API's JSON error shape; any other reaches the handler with the
// event's method, path and body unchanged.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{
		`{"rawPath":"/v1/health","requestContext":{"http":{"method":"GET"}}}`,
		`{"rawPath":"/v1/tenants/t1/sync/users","rawQueryString":"a=1","headers":{"authorization":"Bearer x"},"body":"e30=","isBase64Encoded":true,"requestContext":{"http":{"method":"POST","sourceIp":"1.2.3.4"},"domainName":"api.example"}}`,
		`{"queryStringParameters":{"phase":"users,absences"},"cookies":["a=1"],"requestContext":{"http":{"method":"GET","path":"/v1/tenants"}}}`,
		`{"rawPath":"/","body":"%%%","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`,
		`{"rawPath":"/v1/health"}`,
		`{"rawPath":"//v1/health","requestContext":{"http":{"method":"GET"}}}`,
		`{"rawPath":"/v1/tenants/a%20b","requestContext":{"http":{"method":"GET"}}}`,
		`{"rawPath":"/","requestContext":{"http":{"method":"GE\\\"T\n"}}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &ev) != nil {
			return // the Lambda runtime rejects what is not an event
		}
		var got *http.Request
		var gotBody []byte
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r
			gotBody, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusNoContent)
		})
		res, err := Handler(h)(context.Background(), ev)
		if err != nil {
			t.Fatalf("invocation error %v", err)
		}
		if got == nil {
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("handler not called, status %d", res.StatusCode)
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil || body.Error.Code != "bad_request" || body.Error.Message == "" {
				t.Fatalf("400 body %q is not an API error: %v", res.Body, err)
			}
			return
		}
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d", res.StatusCode)
		}
		if got.Method != ev.RequestContext.HTTP.Method {
			t.Fatalf("method %q, event %q", got.Method, ev.RequestContext.HTTP.Method)
		}
		want := ev.RawPath
		if want == "" {
			want = ev.RequestContext.HTTP.Path
		}
		if want == "" {
			want = "/"
		}
		if got.URL.EscapedPath() != want && got.URL.Path != want {
			t.Fatalf("path %q (escaped %q), event %q", got.URL.Path, got.URL.EscapedPath(), want)
		}
		wantBody := []byte(ev.Body)
		if ev.IsBase64Encoded {
			wantBody, _ = base64.StdEncoding.DecodeString(ev.Body)
		}
		if string(gotBody) != string(wantBody) || got.ContentLength != int64(len(wantBody)) {
			t.Fatalf("body %q (length %d), event %q", gotBody, got.ContentLength, wantBody)
		}
		if ev.RawQueryString != "" && got.URL.RawQuery != ev.RawQueryString && !strings.Contains(ev.RawQueryString, "#") {
			t.Fatalf("query %q, event %q", got.URL.RawQuery, ev.RawQueryString)
		}
	})
}
