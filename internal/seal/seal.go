// Package seal seals and opens tenant credentials. In AWS it uses KMS with the tenant id
// as encryption context, so a blob copied to another tenant's item cannot be opened; for
// `make run` and tests it uses AES-256-GCM with a local key and the tenant id as
// additional data, which gives the same binding. Plaintext never leaves this package
// except as a domain.Credentials value, whose every printing path is redacted.
package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/staffsync/staffsync/internal/domain"
)

// Sealer encrypts and decrypts secrets bound to one tenant.
type Sealer interface {
	// Scheme names the sealer in the sealed blob ("kms" or "local").
	Scheme() string
	Seal(ctx context.Context, tenantID string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenantID string, blob []byte) ([]byte, error)
}

// ErrOpen is returned when a blob cannot be opened: wrong tenant, wrong key, or tampering.
// The cause is not included, so no detail of the ciphertext or key leaks into logs.
var ErrOpen = errors.New("sealed credentials cannot be opened (wrong tenant or key, or corrupted)")

// wire is the sealed plaintext's form; domain.Credentials redacts its own JSON on purpose.
type wire struct {
	PersonioClientID     string `json:"pcid"`
	PersonioClientSecret string `json:"pcs"`
	StaffomaticEmail     string `json:"se"`
	StaffomaticPassword  string `json:"sp"`
	StaffomaticToken     string `json:"st"`
}

// SealCredentials seals c for tenantID.
func SealCredentials(ctx context.Context, s Sealer, tenantID string, c domain.Credentials) (domain.Sealed, error) {
	b, err := json.Marshal(wire(c))
	if err != nil {
		return domain.Sealed{}, fmt.Errorf("seal credentials of %s: %w", tenantID, err)
	}
	defer clear(b)
	blob, err := s.Seal(ctx, tenantID, b)
	if err != nil {
		return domain.Sealed{}, fmt.Errorf("seal credentials of %s: %w", tenantID, err)
	}
	return domain.Sealed{Scheme: s.Scheme(), Blob: blob}, nil
}

// OpenCredentials opens what SealCredentials sealed for tenantID.
func OpenCredentials(ctx context.Context, s Sealer, tenantID string, sealed domain.Sealed) (domain.Credentials, error) {
	if sealed.IsZero() {
		return domain.Credentials{}, fmt.Errorf("tenant %s has no credentials: set them up first", tenantID)
	}
	if sealed.Scheme != s.Scheme() {
		return domain.Credentials{}, fmt.Errorf("credentials of %s were sealed with %q, this deployment opens %q: set them up again", tenantID, sealed.Scheme, s.Scheme())
	}
	b, err := s.Open(ctx, tenantID, sealed.Blob)
	if err != nil {
		return domain.Credentials{}, fmt.Errorf("open credentials of %s: %w", tenantID, err)
	}
	defer clear(b)
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return domain.Credentials{}, fmt.Errorf("open credentials of %s: %w", tenantID, ErrOpen)
	}
	return domain.Credentials(w), nil
}
