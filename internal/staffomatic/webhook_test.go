package staffomatic_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("tenant-secret-1")
	body := []byte(`{"kind":"absence","id":42}`)
	at := time.Unix(1_760_000_000, 0)
	good := staffomatic.Sign(secret, at, body)
	if !strings.HasPrefix(good, "t=1760000000,v1=") || len(good) != len("t=1760000000,v1=")+64 {
		t.Fatalf("header = %q", good)
	}
	other := staffomatic.Sign([]byte("old-secret"), at, body)
	rotated := good + "," + other[strings.Index(other, "v1="):]
	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", secret, good, body, at.Add(time.Minute), nil},
		{"valid at the tolerance edge", secret, good, body, at.Add(5 * time.Minute), nil},
		{"two v1 during rotation", []byte("old-secret"), rotated, body, at, nil},
		{"unknown scheme ignored", secret, good + ",v0=abc", body, at, nil},
		{"stale", secret, good, body, at.Add(5*time.Minute + time.Second), staffomatic.ErrSignatureStale},
		{"from the future", secret, good, body, at.Add(-6 * time.Minute), staffomatic.ErrSignatureStale},
		{"tampered body", secret, good, []byte(`{"kind":"absence","id":43}`), at, staffomatic.ErrSignatureMismatch},
		{"wrong secret", []byte("tenant-secret-2"), good, body, at, staffomatic.ErrSignatureMismatch},
		{"timestamp changed", secret, strings.Replace(good, "t=1760000000", "t=1760000001", 1), body, at, staffomatic.ErrSignatureMismatch},
		{"empty header", secret, "", body, at, staffomatic.ErrSignatureMalformed},
		{"no v1", secret, "t=1760000000", body, at, staffomatic.ErrSignatureMalformed},
		{"short v1", secret, "t=1760000000,v1=abcd", body, at, staffomatic.ErrSignatureMalformed},
		{"non-hex v1", secret, "t=1760000000,v1=" + strings.Repeat("zz", 32), body, at, staffomatic.ErrSignatureMalformed},
		{"bad timestamp", secret, strings.Replace(good, "t=1760000000", "t=soon", 1), body, at, staffomatic.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := staffomatic.VerifySignature(tt.secret, tt.header, tt.body, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifySignature() = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), string(tt.secret)) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
	sig, err := staffomatic.VerifySignature(secret, good, body, at)
	want := "1760000000." + good[len("t=1760000000,v1="):]
	if err != nil || sig.ReplayKey() != want {
		t.Fatalf("replay key = %q, %v", sig.ReplayKey(), err)
	}
	// Extra v1 values the sender adds, before or after the valid one, in any case, do not
	// change the replay key: it comes from the digest that matched.
	forged := strings.Repeat("ab", 32)
	for _, h := range []string{
		"t=1760000000,v1=" + forged + "," + good[len("t=1760000000,"):],
		good + ",v1=" + forged,
		"v1=" + strings.ToUpper(good[len("t=1760000000,v1="):]) + ",t=1760000000,v1=" + forged,
	} {
		sig, err := staffomatic.VerifySignature(secret, h, body, at)
		if err != nil || sig.ReplayKey() != want || len(sig.V1) != 1 {
			t.Fatalf("%s: replay key = %q (%d v1), %v", h, sig.ReplayKey(), len(sig.V1), err)
		}
	}
}

func TestParseHint(t *testing.T) {
	tests := []struct {
		body    string
		kind    staffomatic.Kind
		id      int64
		wantErr error
		anyErr  bool
	}{
		{`{"kind":"absence","id":42,"subdomain":"acme","action":"approved"}`, staffomatic.KindAbsence, 42, nil, false},
		{`{"kind":"timer","id":"91"}`, staffomatic.KindWorkTimer, 91, nil, false},
		{`{"kind":"work_timer","id":91}`, staffomatic.KindWorkTimer, 91, nil, false},
		{`{"eventable_type":"WorkTimer","eventable_id":7}`, staffomatic.KindWorkTimer, 7, nil, false},
		{`{"type":"users","id":3}`, staffomatic.KindUser, 3, nil, false},
		{`{"kind":"break_timer","id":5,"extra":{"x":1}}`, staffomatic.KindBreakTimer, 5, nil, false},
		{`{"kind":"shift","id":5}`, "shift", 5, staffomatic.ErrHintUnknownKind, true},
		{`{"kind":"user","id":0}`, "", 0, nil, true},
		{`{"kind":"user","id":-3}`, "", 0, nil, true},
		{`{"kind":"user","id":"abc"}`, "", 0, nil, true},
		{`{"id":3}`, "", 0, nil, true},
		{`[1,2]`, "", 0, nil, true},
		{`not json`, "", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			h, err := staffomatic.ParseHint([]byte(tt.body))
			if (err != nil) != tt.anyErr || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("ParseHint() error = %v", err)
			}
			if h.Kind != tt.kind || h.ID != tt.id {
				t.Fatalf("ParseHint() = %+v, want %s/%d", h, tt.kind, tt.id)
			}
		})
	}
	if _, err := staffomatic.ParseHint(make([]byte, staffomatic.MaxHintBody+1)); err == nil {
		t.Fatal("oversized body accepted")
	}
}

// TestSimulatorWebhookHints: the simulator signs hints with Sign; a receiver using
// VerifySignature and ParseHint sees one per changed user, absence and timer.
func TestSimulatorWebhookHints(t *testing.T) {
	f := newFixture(t, sim.Config{})
	secret := []byte("hook-secret")
	var mu sync.Mutex
	var got []staffomatic.Hint
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := staffomatic.VerifySignature(secret, r.Header.Get(staffomatic.SignatureHeader), body, testNow); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		h, err := staffomatic.ParseHint(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, h)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer recv.Close()
	f.acc.SetWebhook(recv.URL, secret)
	c := ctx(t)
	if _, err := f.client.LockUser(c, f.staff.ID); err != nil {
		t.Fatal(err)
	}
	a, err := f.client.CreateAbsence(c, staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID, StartsAt: testNow, EndsAt: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ListUsers(c, staffomatic.UserFilter{}); err != nil { // reads send nothing
		t.Fatal(err)
	}
	f.sim.WaitWebhooks()
	mu.Lock()
	defer mu.Unlock()
	want := []staffomatic.Hint{{Kind: staffomatic.KindUser, ID: f.staff.ID, Subdomain: "acme", Action: "locked"},
		{Kind: staffomatic.KindAbsence, ID: a.ID, Subdomain: "acme", Action: "created"}}
	if len(got) != len(want) {
		t.Fatalf("hints = %+v", got)
	}
	// Each request's hints are sent in the background, so their order may vary.
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Fatalf("hint %+v not received; got %+v", w, got)
		}
	}
	for _, d := range f.sim.Deliveries() {
		if d.Status != http.StatusAccepted {
			t.Fatalf("delivery = %+v", d)
		}
	}
}
