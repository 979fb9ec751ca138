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

func TestRoundTrip(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Authorization")+" "+string(b))
	})
	ev := events.APIGatewayV2HTTPRequest{
		RawPath:         "/v1/tenants/t1",
		RawQueryString:  "phase=users",
		Headers:         map[string]string{"authorization": "Bearer k"},
		Body:            base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)),
		IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = "PUT"
	res, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusTeapot || res.Body != `PUT /v1/tenants/t1?phase=users Bearer k {"a":1}` {
		t.Fatalf("got %d %q", res.StatusCode, res.Body)
	}
	if res.Headers["X-Multi"] != "x,y" || len(res.Cookies) != 1 || res.Cookies[0] != "a=1" {
		t.Fatalf("headers %v cookies %v", res.Headers, res.Cookies)
	}
}

func TestBadEvents(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Fatal("handler called for a bad event") })
	noMethod := events.APIGatewayV2HTTPRequest{RawPath: "/v1/health"}
	badBody := events.APIGatewayV2HTTPRequest{RawPath: "/", Body: "%%%", IsBase64Encoded: true}
	badBody.RequestContext.HTTP.Method = "POST"
	for _, ev := range []events.APIGatewayV2HTTPRequest{noMethod, badBody} {
		res, err := Handler(h)(context.Background(), ev)
		if err != nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("got %d %v", res.StatusCode, err)
		}
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte{0xff, 0xfe}) })
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/"}
	ev.RequestContext.HTTP.Method = "GET"
	res, _ := Handler(h)(context.Background(), ev)
	if !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}) {
		t.Fatalf("got %+v", res)
	}
}

// TestPathIsNotReparsed: a path that starts with "//" stays the path (it was read as a
// host name, so "//v1/tenants/x" reached the handler as "/tenants/x"), and an encoded path
// reaches the handler decoded, as net/http's server decodes it in the local runner.
func TestPathIsNotReparsed(t *testing.T) {
	var got *http.Request
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })
	for raw, want := range map[string]string{"//v1/health": "//v1/health", "/v1/tenants/a%20b": "/v1/tenants/a b", "/a?b#c": "/a?b#c"} {
		ev := events.APIGatewayV2HTTPRequest{RawPath: raw}
		ev.RequestContext.HTTP.Method = "GET"
		if _, err := Handler(h)(context.Background(), ev); err != nil || got == nil || got.URL.Path != want || got.URL.Host != "" {
			t.Fatalf("%q: %+v %v", raw, got.URL, err)
		}
	}
}

// TestBadEventBodyIsJSON: the 400 for an unreadable event is valid JSON even when the
// message quotes a method holding quotes, backslashes or control characters.
func TestBadEventBodyIsJSON(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/"}
	ev.RequestContext.HTTP.Method = "GE\\\"T\n"
	res, _ := Handler(http.NotFoundHandler())(context.Background(), ev)
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || res.StatusCode != 400 || !strings.Contains(body.Error.Message, "requestContext.http.method") {
		t.Fatalf("%d %q %v", res.StatusCode, res.Body, err)
	}
}
