package seal_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/seal"
)

var creds = domain.Credentials{PersonioClientID: "papi-id", PersonioClientSecret: "papi-SECRET-123", StaffomaticEmail: "admin@acme.example", StaffomaticPassword: "hunter2-PASS"}

// roundTrip is the contract every sealer meets.
func roundTrip(t *testing.T, s seal.Sealer) {
	t.Helper()
	ctx := context.Background()
	sealed, err := seal.SealCredentials(ctx, s, "acme", creds)
	if err != nil {
		t.Fatal(err)
	}
	if sealed.Scheme != s.Scheme() {
		t.Fatalf("scheme %q", sealed.Scheme)
	}
	for _, secret := range []string{creds.PersonioClientSecret, creds.StaffomaticPassword} {
		if bytes.Contains(sealed.Blob, []byte(secret)) {
			t.Fatalf("blob contains plaintext %q", secret)
		}
	}
	got, err := seal.OpenCredentials(ctx, s, "acme", sealed)
	if err != nil || got != creds {
		t.Fatalf("open: %v, %v", got, err)
	}
	if _, err := seal.OpenCredentials(ctx, s, "other-tenant", sealed); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("opened for another tenant: %v", err)
	}
	tampered := sealed
	tampered.Blob = bytes.Clone(sealed.Blob)
	tampered.Blob[len(tampered.Blob)-1] ^= 1
	if _, err := seal.OpenCredentials(ctx, s, "acme", tampered); err == nil {
		t.Fatal("tampered blob opened")
	}
	if _, err := seal.OpenCredentials(ctx, s, "acme", domain.Sealed{}); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("empty sealed: %v", err)
	}
	if _, err := seal.OpenCredentials(ctx, s, "acme", domain.Sealed{Scheme: "rot13", Blob: []byte{1}}); err == nil || !strings.Contains(err.Error(), "set them up again") {
		t.Fatalf("foreign scheme: %v", err)
	}
}

func TestLocalSealer(t *testing.T) {
	t.Setenv(seal.EnvLocalKey, "")
	file := filepath.Join(t.TempDir(), "dir", "seal.key")
	s1, err := seal.LocalFromEnv(file)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s1)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// A second process reads the same key file and opens what the first sealed.
	sealed, _ := seal.SealCredentials(context.Background(), s1, "acme", creds)
	s2, err := seal.LocalFromEnv(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := seal.OpenCredentials(context.Background(), s2, "acme", sealed); err != nil || got != creds {
		t.Fatalf("reopen with key file: %v", err)
	}
	// The environment key wins over the file, and another key cannot open the blob.
	t.Setenv(seal.EnvLocalKey, strings.Repeat("ab", 32))
	s3, err := seal.LocalFromEnv(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.OpenCredentials(context.Background(), s3, "acme", sealed); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("other key opened the blob: %v", err)
	}
	t.Setenv(seal.EnvLocalKey, "too-short")
	if _, err := seal.LocalFromEnv(file); err == nil || !strings.Contains(err.Error(), seal.EnvLocalKey) {
		t.Fatalf("bad env key: %v", err)
	}
}

func TestKMSSealerOnMoto(t *testing.T) {
	m := awstest.StartMoto(t)
	client := m.KMS()
	key, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: new("staffsync test")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.NewKMS(client, *key.KeyMetadata.KeyId)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
	if _, err := seal.NewKMS(client, ""); err == nil {
		t.Fatal("empty key id accepted")
	}
}

// TestLocalKeyFileCreatedOnceByConcurrentStarts: processes starting at once agree on one
// key, none reads a half-written file, and no temporary file is left behind.
func TestLocalKeyFileCreatedOnceByConcurrentStarts(t *testing.T) {
	t.Setenv(seal.EnvLocalKey, "")
	for round := range 20 {
		dir := t.TempDir()
		file := filepath.Join(dir, "seal.key")
		sealers := make([]*seal.Local, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range sealers {
			wg.Add(1)
			go func() { defer wg.Done(); sealers[i], errs[i] = seal.LocalFromEnv(file) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, process %d: %v", round, i, err)
			}
		}
		sealed, err := seal.SealCredentials(context.Background(), sealers[0], "acme", creds)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sealers[1:] {
			if _, err := seal.OpenCredentials(context.Background(), s, "acme", sealed); err != nil {
				t.Fatalf("round %d: process %d has another key: %v", round, i+1, err)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("round %d: %d files left in the key folder", round, len(entries))
		}
	}
}
