package domain

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Tenant is one Staffomatic account whose integration staffsync runs. The owner is the one
// person who manages it (DESIGN §1.2); the admin token is kept only as its SHA-256 so a
// leaked table export cannot be replayed against the API.
type Tenant struct {
	ID             string      `json:"id"`
	Name           string      `json:"name,omitempty"`
	Owner          Owner       `json:"owner"`
	AdminTokenHash string      `json:"admin_token_hash,omitempty"`
	Settings       Settings    `json:"settings"`
	Sources        Sources     `json:"sources"`
	Personio       Personio    `json:"personio"`
	Staffomatic    Staffomatic `json:"staffomatic"`
	// Sealed holds the credentials sealed by internal/seal. Never the plaintext.
	Sealed    Sealed    `json:"sealed_credentials,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is the optimistic-lock counter: a save succeeds only when the stored version
	// is still the one that was read, so two admins' edits never silently overwrite.
	Version int64 `json:"version"`
}

// Owner is the person who manages a tenant's integration.
type Owner struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// Personio holds the non-secret part of the Personio connection.
type Personio struct {
	ClientID string `json:"client_id,omitempty"`
	// BaseURL is the API root (https://api.personio.de when empty); set for sandboxes.
	BaseURL string `json:"base_url,omitempty"`
	// PartnerID and AppID are sent as X-Personio-Partner-ID / X-Personio-App-ID.
	PartnerID string `json:"partner_id,omitempty"`
	AppID     string `json:"app_id,omitempty"`
}

// Staffomatic holds the non-secret part of the Staffomatic connection: the account's API
// base URL (per tenant, https://api.staffomaticapp.com/v3/<subdomain> by default) and the
// managing admin's e-mail.
type Staffomatic struct {
	BaseURL    string `json:"base_url,omitempty"`
	Subdomain  string `json:"subdomain,omitempty"`
	AdminEmail string `json:"admin_email,omitempty"`
}

// Sealed is an encrypted credential blob. Scheme says which sealer made it ("kms" or
// "local") so that opening it with the wrong one fails with a clear message.
type Sealed struct {
	Scheme string `json:"scheme"`
	Blob   []byte `json:"blob"`
}

// IsZero reports whether nothing is sealed.
func (s Sealed) IsZero() bool { return s.Scheme == "" && len(s.Blob) == 0 }

// Credentials are the plaintext secrets of a tenant. They exist only in memory between
// opening the sealed blob and calling the vendor APIs; every printing path redacts them.
type Credentials struct {
	PersonioClientID     string
	PersonioClientSecret string
	StaffomaticEmail     string
	StaffomaticPassword  string
	StaffomaticToken     string
}

// String redacts: a Credentials value that reaches fmt or an error message shows no secret.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{personio_client_id:%q, secrets:%s}", c.PersonioClientID, redacted)
}

// GoString redacts for %#v as well.
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts for log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("personio_client_id", c.PersonioClientID), slog.String("secrets", redacted))
}

// MarshalJSON redacts so a Credentials value can never be serialised by accident; the
// sealer encodes its own wire form.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return []byte(`{"personio_client_id":` + fmt.Sprintf("%q", c.PersonioClientID) + `,"secrets":"` + redacted + `"}`), nil
}

const redacted = "[REDACTED]"

// Validate reports missing credentials, naming the field.
func (c Credentials) Validate() error {
	var errs []error
	if strings.TrimSpace(c.PersonioClientID) == "" {
		errs = append(errs, errors.New("personio_client_id: required: the client id of the Personio API credential"))
	}
	if c.PersonioClientSecret == "" {
		errs = append(errs, errors.New("personio_client_secret: required: the secret of the Personio API credential"))
	}
	if c.StaffomaticToken == "" && (c.StaffomaticEmail == "" || c.StaffomaticPassword == "") {
		errs = append(errs, errors.New("staffomatic: set either a token or the admin's email and password"))
	}
	return errors.Join(errs...)
}

// Sources says where each data flow comes from (DESIGN §1.2 step 2). Employees always come
// from Personio, so only the switchable flows are fields.
type Sources struct {
	// TimeTracking transfers Staffomatic work timers to Personio attendance periods.
	TimeTracking bool `json:"time_tracking"`
	// Absences names the leading system for absences.
	Absences System `json:"absences"`
}

// System names one of the two vendor systems.
type System string

const (
	SystemPersonio    System = "personio"
	SystemStaffomatic System = "staffomatic"
)

// DefaultSources: time tracking on, absences led by Personio (the vendor's defaults).
func DefaultSources() Sources { return Sources{TimeTracking: true, Absences: SystemPersonio} }

// Validate checks the sources.
func (s Sources) Validate() error {
	if s.Absences != SystemPersonio && s.Absences != SystemStaffomatic {
		return fmt.Errorf("sources.absences: %q is not a system: use personio or staffomatic", s.Absences)
	}
	return nil
}

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidateTenantID checks a tenant id: it becomes part of table keys and log lines, so it
// is restricted to lower-case letters, digits and dashes.
func ValidateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return fmt.Errorf("tenant id %q: use 2–63 lower-case letters, digits or dashes, starting with a letter or digit", id)
	}
	return nil
}

// Validate checks everything an admin can set on a tenant.
func (t Tenant) Validate() error {
	var errs []error
	if err := ValidateTenantID(t.ID); err != nil {
		errs = append(errs, err)
	}
	if !strings.Contains(t.Owner.Email, "@") {
		errs = append(errs, fmt.Errorf("owner.email: %q is not an e-mail address", t.Owner.Email))
	}
	if t.AdminTokenHash != "" && !isHex64(t.AdminTokenHash) {
		errs = append(errs, errors.New("admin_token_hash: must be the hex SHA-256 of the token (64 hex digits), never the token"))
	}
	if err := t.Settings.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := t.Sources.Validate(); err != nil {
		errs = append(errs, err)
	}
	if t.Staffomatic.BaseURL != "" && !strings.HasPrefix(t.Staffomatic.BaseURL, "https://") && !strings.HasPrefix(t.Staffomatic.BaseURL, "http://") {
		errs = append(errs, fmt.Errorf("staffomatic.base_url: %q must be an http(s) URL", t.Staffomatic.BaseURL))
	}
	return errors.Join(errs...)
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
