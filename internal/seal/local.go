package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvLocalKey names the variable holding the local key: 32 bytes, hex or base64.
const EnvLocalKey = "STAFFSYNC_LOCAL_KEY"

// Local seals with AES-256-GCM. The tenant id is the additional authenticated data, so a
// blob opens only for the tenant it was sealed for.
type Local struct{ aead cipher.AEAD }

// NewLocal returns a Local sealer with a 32-byte key.
func NewLocal(key []byte) (*Local, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("local seal key: %d bytes, need 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("local seal key: %w", err)
	}
	return &Local{aead: aead}, nil
}

// LocalFromEnv returns a Local sealer keyed by STAFFSYNC_LOCAL_KEY, or else by the key in
// keyFile, which is created (mode 0600, random key) when it does not exist, so that
// `make run` keeps opening what it sealed in earlier sessions.
func LocalFromEnv(keyFile string) (*Local, error) {
	if v := strings.TrimSpace(os.Getenv(EnvLocalKey)); v != "" {
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvLocalKey, err)
		}
		return NewLocal(key)
	}
	b, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate local seal key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
			return nil, fmt.Errorf("create local seal key file: %w", err)
		}
		// The key is written to a temporary file and then linked into place: the link
		// fails if the file exists, so two processes starting at once never overwrite
		// each other's key, and a reader never sees a half-written file.
		f, err := os.CreateTemp(filepath.Dir(keyFile), ".seal-key-*")
		if err != nil {
			return nil, fmt.Errorf("create local seal key file: %w", err)
		}
		tmp := f.Name()
		defer os.Remove(tmp)
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp, 0o600)
		}
		if werr != nil {
			return nil, fmt.Errorf("write local seal key file: %w", werr)
		}
		if err := os.Link(tmp, keyFile); errors.Is(err, os.ErrExist) {
			return LocalFromEnv(keyFile) // another process was first: use its key
		} else if err != nil {
			return nil, fmt.Errorf("create local seal key file: %w", err)
		}
		return NewLocal(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read local seal key file: %w", err)
	}
	key, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("local seal key file %s: %w", keyFile, err)
	}
	return NewLocal(key)
}

func decodeKey(s string) ([]byte, error) {
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("not a 32-byte key in hex (64 digits) or base64: generate one with openssl rand -hex 32")
}

// Scheme implements Sealer.
func (l *Local) Scheme() string { return "local" }

// Seal implements Sealer: nonce || ciphertext.
func (l *Local) Seal(_ context.Context, tenantID string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, l.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return l.aead.Seal(nonce, nonce, plaintext, []byte("tenant_id="+tenantID)), nil
}

// Open implements Sealer.
func (l *Local) Open(_ context.Context, tenantID string, blob []byte) ([]byte, error) {
	n := l.aead.NonceSize()
	if len(blob) < n {
		return nil, ErrOpen
	}
	out, err := l.aead.Open(nil, blob[:n], blob[n:], []byte("tenant_id="+tenantID))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
