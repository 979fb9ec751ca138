package vendors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

var creds = staffomatic.Credentials{Email: "admin@example.com", Password: "pw"}

// userServer answers Staffomatic's GET /v3/{sub}/user.json, with extra headers.
func userServer(t *testing.T, hdr http.Header, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1,"email":"admin@example.com","role":"admin"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckURL(t *testing.T) {
	aws := Policy{}
	listed := Policy{Hosts: []string{"proxy.example.com", "http://sandbox.example.com", "10.1.2.3", "192.168.7.0/24"}}
	tests := []struct {
		name   string
		policy Policy
		sys    domain.System
		url    string
		ok     bool
	}{
		{"personio production", aws, domain.SystemPersonio, "https://api.personio.de", true},
		{"personio production, trailing dot and case", aws, domain.SystemPersonio, "https://API.Personio.de./v1", true},
		{"staffomatic production", aws, domain.SystemStaffomatic, "https://api.staffomaticapp.com/v3", true},
		{"staffomatic new generation", aws, domain.SystemStaffomatic, "https://app.staffomatic.app/v3", true},
		{"staffomatic host for personio", aws, domain.SystemPersonio, "https://api.staffomaticapp.com", false},
		{"plain http to production", aws, domain.SystemPersonio, "http://api.personio.de", false},
		{"metadata service", aws, domain.SystemPersonio, "http://169.254.169.254/latest/meta-data", false},
		{"lambda runtime api", aws, domain.SystemStaffomatic, "https://127.0.0.1:9001/v3", false},
		{"private network", aws, domain.SystemStaffomatic, "https://10.0.0.8/v3", false},
		{"ipv4-mapped loopback", aws, domain.SystemStaffomatic, "https://[::ffff:127.0.0.1]/v3", false},
		{"localhost", aws, domain.SystemPersonio, "https://localhost", false},
		{"user info", aws, domain.SystemPersonio, "https://u:p@api.personio.de", false},
		{"not http", aws, domain.SystemPersonio, "file:///etc/passwd", false},
		{"listed name", listed, domain.SystemPersonio, "https://proxy.example.com:8443", true},
		{"listed name, plain http not allowed", listed, domain.SystemPersonio, "http://proxy.example.com", false},
		{"listed with http", listed, domain.SystemStaffomatic, "http://sandbox.example.com/v3", true},
		{"listed address", listed, domain.SystemStaffomatic, "https://10.1.2.3/v3", true},
		{"listed prefix", listed, domain.SystemStaffomatic, "https://192.168.7.9/v3", true},
		{"outside listed prefix", listed, domain.SystemStaffomatic, "https://192.168.8.9/v3", false},
		{"open: loopback http", Policy{Open: true}, domain.SystemPersonio, "http://127.0.0.1:9100", true},
		{"open: still no user info", Policy{Open: true}, domain.SystemPersonio, "http://u:p@127.0.0.1:9100", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.CheckURL(tt.sys, tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckURL(%s, %q) = %v, want ok=%v", tt.sys, tt.url, err, tt.ok)
			}
			if err != nil && (!IsRefused(err) || !strings.Contains(err.Error(), string(tt.sys))) {
				t.Fatalf("error %q is not a refusal naming the vendor", err)
			}
			if err != nil && strings.Contains(err.Error(), "u:p") {
				t.Fatalf("error repeats the URL's credentials: %q", err)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	aws := Policy{Hosts: []string{"10.9.0.0/16"}}
	tests := []struct {
		addr string
		ok   bool
	}{
		{"52.58.1.1:443", true},
		{"[2a05:d014::1]:443", true},
		{"127.0.0.1:9001", false},
		{"[::1]:443", false},
		{"169.254.169.254:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[::ffff:10.0.0.1]:443", false},
		{"10.0.0.1:443", false},
		{"172.16.5.5:443", false},
		{"192.168.1.1:443", false},
		{"100.64.0.1:443", false},
		{"0.0.0.0:443", false},
		{"[::]:443", false},
		{"224.0.0.1:443", false},
		{"[fe80::1]:443", false},
		{"[fd00:ec2::254]:80", false},
		{"[64:ff9b::a9fe:a9fe]:80", false},
		// IPv4 in other IPv6 spellings: IPv4-compatible (deprecated), IPv4-translated
		// (SIIT) and Teredo (the client's IPv4 address inverted in the last 32 bits).
		{"[::127.0.0.1]:443", false},
		{"[::a9fe:a9fe]:80", false},
		{"[::ffff:0:7f00:1]:443", false},
		{"[::ffff:0:a9fe:a9fe]:80", false},
		{"[2001:0:4136:e378:8000:63bf:80ff:fffe]:443", false},
		{"[2001:db8::1]:443", false},
		{"10.9.3.4:443", true}, // listed prefix
	}
	for _, tt := range tests {
		err := aws.checkAddr(domain.SystemStaffomatic, tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("checkAddr(%s) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
	if err := (Policy{Open: true}).checkAddr(domain.SystemPersonio, "127.0.0.1:1"); err != nil {
		t.Errorf("open policy refused loopback: %v", err)
	}
}

// A name on the allow-list that resolves to 127.0.0.1 is refused at connect time in a
// deployed stack; the server never sees the request and the client does not retry.
func TestLoopbackRefusedAtDialTime(t *testing.T) {
	var hits atomic.Int32
	srv := userServer(t, nil, &hits)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, tt := range []struct {
		name  string
		hosts []string
		ok    bool
	}{
		{"name listed, loopback address not", []string{"http://localhost"}, false},
		{"name and address listed", []string{"http://localhost", "127.0.0.1"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			b := New(Options{Policy: Policy{Hosts: tt.hosts}})
			c, err := b.Staffomatic("t1", domain.Staffomatic{BaseURL: "http://localhost:" + port + "/v3", Subdomain: "acme"}, creds, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CurrentUser(context.Background())
			if tt.ok {
				if err != nil || hits.Load() != 1 {
					t.Fatalf("err %v, %d requests", err, hits.Load())
				}
				return
			}
			var ref *RefusedError
			if !errors.As(err, &ref) || !strings.Contains(ref.Rule, "loopback") || hits.Load() != 0 {
				t.Fatalf("err %v (%T), %d requests; want a loopback refusal and no request", err, err, hits.Load())
			}
			if staffomatic.IsRetryable(err) {
				t.Fatalf("a refusal is marked retryable: %v", err)
			}
		})
	}
}

// Neither client follows a redirect: the 3xx is an error naming the vendor and status, and
// the redirect's target is never asked.
func TestRedirectNotFollowed(t *testing.T) {
	var targetHits atomic.Int32
	target := userServer(t, nil, &targetHits)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirect.Close()
	b := New(Options{Policy: Policy{Open: true}, MaxRetries: -1})

	s, err := b.Staffomatic("t1", domain.Staffomatic{BaseURL: redirect.URL + "/v3", Subdomain: "acme"}, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CurrentUser(context.Background())
	if staffomatic.StatusOf(err) != http.StatusFound || !strings.Contains(err.Error(), "staffomatic") || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Staffomatic: %v", err)
	}
	p, err := b.Personio("t1", domain.Personio{BaseURL: redirect.URL}, "id", "secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.TimeOffTypes(context.Background())
	var pe *personio.Error
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusFound || !strings.Contains(err.Error(), "personio") || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Personio: %v", err)
	}
	if targetHits.Load() != 0 {
		t.Fatalf("the redirect target got %d requests", targetHits.Load())
	}
}

// A hostile tenant's server announces a reset in the year 2100: its own limiter pauses
// for at most MaxPause, another tenant's run against the same host goes on at once, and a
// waiting call honours its context. The clock is injected; nothing sleeps.
func TestLimiterIsolationAndCap(t *testing.T) {
	hostile := http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"4102444800"},
		"X-Ratelimit-Replenish-Rate": {"0.000001"}, "X-Ratelimit-Burst-Capacity": {"1"}}
	srv := userServer(t, hostile, nil)
	t0 := time.Date(2026, 3, 11, 5, 0, 0, 0, time.UTC)
	reg := NewRegistry(16, func() time.Time { return t0 })
	b := New(Options{Policy: Policy{Open: true}, Limiters: reg, MaxRetries: -1})
	conn := domain.Staffomatic{BaseURL: srv.URL + "/v3", Subdomain: "acme"}
	host := hostOf(srv.URL)

	evil, _ := b.Staffomatic("evil", conn, creds, nil)
	if _, err := evil.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := reg.Staffomatic("evil", host).Delay(); d != MaxPause {
		t.Fatalf("the hostile tenant's pause is %s, want the cap %s", d, MaxPause)
	}
	if d := reg.Staffomatic("good", host).Delay(); d != 0 {
		t.Fatalf("another tenant's limiter waits %s", d)
	}
	good, _ := b.Staffomatic("good", conn, creds, nil)
	if _, err := good.CurrentUser(context.Background()); err != nil {
		t.Fatalf("the other tenant's call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := evil.CurrentUser(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call behind the pause with a 1 s deadline: %v, want DeadlineExceeded at once", err)
	}

	// Personio: the same headers slow only the hostile tenant's pacer, and by at most
	// one token per MaxPause.
	reg.Personio("evil", host).Observe(personio.FamilyEmployees, hostile, true)
	if d := reg.Personio("evil", host).Delay(personio.FamilyEmployees); d <= 0 || d > MaxPause {
		t.Fatalf("hostile Personio pacer waits %s, want (0, %s]", d, MaxPause)
	}
	if d := reg.Personio("good", host).Delay(personio.FamilyEmployees); d != 0 {
		t.Fatalf("another tenant's Personio pacer waits %s", d)
	}
}

// The registry keeps at most its size, dropping the least recently used entry.
func TestRegistryBound(t *testing.T) {
	reg := NewRegistry(3, nil)
	first := reg.Staffomatic("t0", "h")
	for _, id := range []string{"t1", "t2"} {
		reg.Staffomatic(id, "h")
	}
	if reg.Staffomatic("t0", "h") != first {
		t.Fatal("an entry within the bound was replaced")
	}
	for i := 0; i < 100; i++ {
		reg.Personio("tenant-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "h")
	}
	if n := reg.Len(); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	if reg.Staffomatic("t0", "h") == first {
		t.Fatal("the least recently used entry was kept beyond the bound")
	}
}

// Every request is counted for the run through the caller's hook, per vendor, and both
// vendors get the one User-Agent.
func TestCountingAndUserAgent(t *testing.T) {
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		_, _ = w.Write([]byte(`{"id":1,"role":"admin"}`))
	}))
	defer srv.Close()
	counts := map[domain.System]int{}
	b := New(Options{Policy: Policy{Open: true}, StaffomaticBaseURL: srv.URL + "/v3"})
	_, s, err := b.Connect(context.Background(), domain.Tenant{ID: "t1", Staffomatic: domain.Staffomatic{Subdomain: "acme"}},
		domain.Credentials{PersonioClientID: "id", PersonioClientSecret: "s", StaffomaticEmail: "a@b.c", StaffomaticPassword: "pw"},
		func(sys domain.System) { counts[sys]++ })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.CurrentUser(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if counts[domain.SystemStaffomatic] != 2 || ua.Load() != UserAgent {
		t.Fatalf("counts %v, User-Agent %q", counts, ua.Load())
	}
	// In a deployed stack the production default is admitted and a tenant's private
	// base URL is refused when the client is built.
	strict := New(Options{})
	if _, err := strict.Personio("t1", domain.Personio{}, "id", "s", nil); err != nil {
		t.Fatalf("production default refused: %v", err)
	}
	if _, err := strict.Personio("t1", domain.Personio{BaseURL: "http://169.254.169.254"}, "id", "s", nil); !IsRefused(err) {
		t.Fatalf("metadata base URL: %v", err)
	}
}

func TestParseHosts(t *testing.T) {
	got, err := ParseHosts(" api.example.com, http://10.0.0.5 ,,192.168.0.0/16")
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseHosts("bad host/x?"); err == nil {
		t.Fatal("a bad entry was accepted")
	}
}

// Whatever a server behind a tenant's base URL answers, a failed call's error (which
// becomes API errors, run summaries and protocol reasons) is short, printable and names
// the vendor and status; its body's bytes do not come back.
func TestErrorsCarryNoRawBody(t *testing.T) {
	bodies := map[string]string{
		"html":    "<html><head><title>secret-title</title></head><body>internal</body></html>",
		"control": "secret-\x1b[2J\r\nX-Forged: 1\x00",
		"junk":    strings.Repeat("secret-junk\x01", 1<<20/12),
		"json":    `{"message":"` + strings.Repeat("secret ", 200) + `\u0007"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			b := New(Options{Policy: Policy{Open: true}, MaxRetries: -1})
			s, _ := b.Staffomatic("t1", domain.Staffomatic{BaseURL: srv.URL + "/v3", Subdomain: "acme"}, creds, nil)
			p, _ := b.Personio("t1", domain.Personio{BaseURL: srv.URL}, "id", "secret-id", nil)
			_, serr := s.CurrentUser(context.Background())
			_, perr := p.TimeOffTypes(context.Background())
			for vendor, err := range map[string]error{"staffomatic": serr, "personio": perr} {
				msg := err.Error()
				if len(msg) > 400 || strings.ContainsAny(msg, "\x00\x01\x07\x1b\r\n") || !strings.Contains(msg, vendor) || !strings.Contains(msg, "422") {
					t.Errorf("%s: %d bytes: %.300q", vendor, len(msg), msg)
				}
				if name != "json" && strings.Contains(msg, "secret") {
					t.Errorf("%s repeats the body: %.300q", vendor, msg)
				}
			}
		})
	}
}
