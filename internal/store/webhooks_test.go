package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

func TestWebhookSecretsAndClaims(t *testing.T) {
	ctx := context.Background()
	db, srv := awstest.MiniDyn(t)
	s, clk := newStore(t, backend{db: db, mini: srv})

	if _, err := s.GetWebhookSecrets(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing secrets: %v", err)
	}
	w := store.WebhookSecrets{Tenant: "acme", PersonioTokenHash: "ab", StaffomaticSecret: domain.Sealed{Scheme: "local", Blob: []byte{1, 2, 3}}, PersonioWebhookID: "wh-1"}
	if err := s.PutWebhookSecrets(ctx, w); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhookSecrets(ctx, "acme")
	if err != nil || got.PersonioTokenHash != "ab" || string(got.StaffomaticSecret.Blob) != "\x01\x02\x03" || got.PersonioWebhookID != "wh-1" || got.RotatedAt.IsZero() {
		t.Fatalf("got %+v, %v", got, err)
	}
	// The profile listing never sees the webhook item.
	if err := s.CreateTenant(ctx, tenant("acme", false)); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.ListTenants(ctx, func(domain.Tenant) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("listed %d tenants, %v", n, err)
	}

	if err := s.ClaimOnce(ctx, "acme", "sig-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimOnce(ctx, "acme", "sig-1", time.Minute); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second claim: %v", err)
	}
	if err := s.ClaimOnce(ctx, "other", "sig-1", time.Minute); err != nil {
		t.Fatalf("claim of another tenant: %v", err)
	}
	clk.Advance(2 * time.Minute)
	if err := s.ClaimOnce(ctx, "acme", "sig-1", time.Minute); err != nil {
		t.Fatalf("claim after expiry: %v", err)
	}
	// A released claim can be claimed again at once, and releasing twice is no error.
	if err := s.ClaimOnce(ctx, "other", "sig-1", time.Minute); err != nil {
		t.Fatalf("other tenant's claim after expiry: %v", err)
	}
	if err := s.ReleaseClaim(ctx, "acme", "sig-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseClaim(ctx, "acme", "sig-1"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if err := s.ClaimOnce(ctx, "acme", "sig-1", time.Minute); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	if err := s.ClaimOnce(ctx, "other", "sig-1", time.Minute); !errors.Is(err, store.ErrExists) {
		t.Fatalf("releasing acme's claim released another tenant's: %v", err)
	}
	// Claims never show up in the protocol.
	page, err := s.QueryProtocol(ctx, store.ProtocolQuery{Tenant: "acme", Area: domain.AreaUsers})
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("protocol %+v %v", page, err)
	}
}
