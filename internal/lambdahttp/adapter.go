// Package lambdahttp serves an http.Handler from API Gateway HTTP API (payload format 2.0)
// events, so that the admin API is one net/http handler used unchanged by the Lambda
// function and by the local runner.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler returns a Lambda handler that turns each HTTP API event into an *http.Request,
// runs h and turns the recorded response back into an event response.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			// Marshalled, not concatenated: the message quotes parts of the event (a method,
			// a path), which may hold any character.
			body, _ := json.Marshal(map[string]any{"error": map[string]string{
				"code": "bad_request", "message": "the request could not be read: " + err.Error()}})
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       string(body),
			}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Response(rec), nil
	}
}

// Request builds the *http.Request of an HTTP API event. The path is taken as the
// percent-encoded path API Gateway received and decoded as net/http's server decodes it, so
// the handler routes a request the same way in Lambda and in the local runner. The URL is
// built from its parts, never re-parsed from a string: a path starting with "//" would
// otherwise be read as a host name and routed to a different path.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("event has no requestContext.http.method")
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("rawPath %q is not a valid percent-encoded path: %w", path, err)
	}
	u := &url.URL{Path: decoded, RawPath: path, RawQuery: ev.RawQueryString}
	if ev.RawQueryString == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			for _, part := range strings.Split(v, ",") {
				q.Add(k, part)
			}
		}
		u.RawQuery = q.Encode()
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("body is marked base64 but does not decode: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("requestContext.http.method: %w", err)
	}
	req.URL = u
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	return req, nil
}

// Response turns a recorded response into an HTTP API event response. Bodies that are not
// valid UTF-8 are sent base64-encoded, as API Gateway requires.
func Response(rec *httptest.ResponseRecorder) events.APIGatewayV2HTTPResponse {
	res := events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	for k, v := range rec.Header() {
		if strings.EqualFold(k, "Set-Cookie") {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ",")
	}
	b := rec.Body.Bytes()
	if utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(b)
		res.IsBase64Encoded = true
	}
	return res
}
