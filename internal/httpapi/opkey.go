package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The operator key is configured as a salted HMAC, never as the key:
//
//	hmac-sha256:<salt>:<hex HMAC-SHA256 of the key, keyed with the salt's text>
//
// The salt (at least 16 hex digits; `openssl rand -hex 16`) makes the value useless for
// precomputed tables and differs per deployment, so the same key gives another value in
// every stack. The shell computes it with `openssl dgst -sha256 -hmac "$SALT"` (README,
// Deploying). The earlier form, the plain hex SHA-256 of the key, is still accepted so
// existing stacks keep working; New logs a warning asking to replace it.
const opKeyScheme = "hmac-sha256"

// OperatorKeyHash returns the configured form of key with a fresh random salt (what the
// local runner and deploy scripts store in OPERATOR_KEY_HASH).
func OperatorKeyHash(key string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // cannot happen on supported platforms
	}
	s := hex.EncodeToString(salt)
	return opKeyScheme + ":" + s + ":" + hex.EncodeToString(opKeyMAC(s, key))
}

func opKeyMAC(salt, key string) []byte {
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte(key))
	return m.Sum(nil)
}

// operatorHash is a parsed OPERATOR_KEY_HASH.
type operatorHash struct {
	salt   string // "" for the legacy plain SHA-256
	digest []byte
}

// parseOperatorHash reads the configured value; empty configures no operator.
func parseOperatorHash(v string) (*operatorHash, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if rest, ok := strings.CutPrefix(v, opKeyScheme+":"); ok {
		salt, mac, ok := strings.Cut(rest, ":")
		d, err := hex.DecodeString(strings.ToLower(mac))
		if _, serr := hex.DecodeString(salt); !ok || serr != nil || len(salt) < 16 || err != nil || len(d) != sha256.Size {
			return nil, errors.New("OPERATOR_KEY_HASH: expected hmac-sha256:<salt of at least 16 hex digits>:<64 hex digits> (README, Deploying)")
		}
		return &operatorHash{salt: salt, digest: d}, nil
	}
	d, err := hex.DecodeString(strings.ToLower(v))
	if err != nil || len(d) != sha256.Size {
		return nil, errors.New("OPERATOR_KEY_HASH: expected hmac-sha256:<salt>:<hex HMAC> (or the older hex SHA-256 of the key)")
	}
	return &operatorHash{digest: d}, nil
}

// legacy reports the older plain SHA-256 form.
func (h *operatorHash) legacy() bool { return h != nil && h.salt == "" }

// matches compares key with the configured value in constant time.
func (h *operatorHash) matches(key string) bool {
	if h == nil || key == "" {
		return false
	}
	var got []byte
	if h.salt == "" {
		sum := sha256.Sum256([]byte(key))
		got = sum[:]
	} else {
		got = opKeyMAC(h.salt, key)
	}
	return subtle.ConstantTimeCompare(got, h.digest) == 1
}
