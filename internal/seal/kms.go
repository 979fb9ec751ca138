package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the KMS client the sealer uses.
type KMSAPI interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS seals with AWS KMS Encrypt/Decrypt under one key, with encryption context
// {"tenant_id": <id>}: KMS refuses to decrypt a blob under another tenant's context, and
// CloudTrail records which tenant's secret was opened. Credentials are far below KMS's
// 4 KB plaintext limit, so no envelope encryption is needed.
type KMS struct {
	client KMSAPI
	keyID  string
}

// NewKMS returns a KMS sealer for keyID (id, ARN or alias).
func NewKMS(client KMSAPI, keyID string) (*KMS, error) {
	if keyID == "" {
		return nil, errors.New("KMS sealer: no key id (set KMS_KEY_ID)")
	}
	return &KMS{client: client, keyID: keyID}, nil
}

// Scheme implements Sealer.
func (k *KMS) Scheme() string { return "kms" }

// EncryptionContextKey is the one key of the encryption context every Encrypt and Decrypt
// passes, with the tenant id as its value. The IAM policies of the API and phase functions require it
// (kms:EncryptionContext:tenant_id; internal/deploy checks the two agree).
const EncryptionContextKey = "tenant_id"

func context4(tenantID string) map[string]string {
	return map[string]string{EncryptionContextKey: tenantID}
}

// Seal implements Sealer.
func (k *KMS) Seal(ctx context.Context, tenantID string, plaintext []byte) ([]byte, error) {
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(k.keyID), Plaintext: plaintext, EncryptionContext: context4(tenantID)})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt: %w", err)
	}
	return out.CiphertextBlob, nil
}

// Open implements Sealer. A wrong tenant gives ErrOpen; other KMS failures (throttling,
// access) are returned as they are, because retrying or fixing IAM helps there.
func (k *KMS) Open(ctx context.Context, tenantID string, blob []byte) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(k.keyID), CiphertextBlob: blob, EncryptionContext: context4(tenantID)})
	var invalid *types.InvalidCiphertextException
	if errors.As(err, &invalid) {
		return nil, ErrOpen
	}
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
