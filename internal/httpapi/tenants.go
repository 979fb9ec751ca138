package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/schedule"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/vendors"
	"github.com/staffsync/staffsync/internal/vendors/safetext"
)

// vendorTimeout bounds the verification calls of one request, well inside API Gateway's
// 29 s, so a slow vendor gives the admin a clear 502 instead of a gateway timeout.
const vendorTimeout = 20 * time.Second

// PersonioInput is the Personio part of set-up step 1.
type PersonioInput struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	BaseURL      string `json:"base_url,omitempty"`
	PartnerID    string `json:"partner_id,omitempty"`
	AppID        string `json:"app_id,omitempty"`
}

// StaffomaticInput is the Staffomatic part of set-up step 1: the account and the
// credentials of the one admin who manages the integration (password or token).
type StaffomaticInput struct {
	BaseURL   string `json:"base_url,omitempty"`
	Subdomain string `json:"subdomain"`
	Email     string `json:"email"`
	Password  string `json:"password,omitempty"`
	Token     string `json:"token,omitempty"`
}

// CredentialsInput is set-up step 1: both vendors' credentials. Personio's may come typed
// in or as the content of the credentials file Personio offers.
type CredentialsInput struct {
	Personio                *PersonioInput    `json:"personio,omitempty"`
	PersonioCredentialsFile string            `json:"personio_credentials_file,omitempty"`
	Staffomatic             *StaffomaticInput `json:"staffomatic"`
	// Verify (default true) calls both vendors before anything is stored.
	Verify *bool `json:"verify,omitempty"`
}

// TenantInput is the body of POST /v1/tenants.
type TenantInput struct {
	Name string `json:"name"`
	CredentialsInput
}

// WebhookSecrets are returned once, at creation and rotation.
type WebhookSecrets struct {
	// PersonioToken is what Personio sends in Authorization with every delivery.
	PersonioToken string `json:"personio_token"`
	// StaffomaticSecret keys the HMAC of X-Staffsync-Signature.
	StaffomaticSecret string `json:"staffomatic_secret"`
}

// WebhookInfo says where the vendors deliver and whether Personio's webhook is registered.
type WebhookInfo struct {
	PersonioURL        string `json:"personio_url"`
	StaffomaticURL     string `json:"staffomatic_url"`
	PersonioRegistered bool   `json:"personio_registered"`
}

// AttributeInfo names a Personio attribute.
type AttributeInfo struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Verification is what the vendor checks found.
type Verification struct {
	Verified bool `json:"verified"`
	// MissingPersonioAttributes must be made readable in Personio (Settings > API
	// credentials > readable employee attributes) or the syncs lack data.
	MissingPersonioAttributes []AttributeInfo `json:"missing_personio_attributes"`
}

// TenantCreated is the 201 answer of POST /v1/tenants.
type TenantCreated struct {
	TenantID       string         `json:"tenant_id"`
	AdminToken     string         `json:"admin_token"`
	WebhookSecrets WebhookSecrets `json:"webhook_secrets"`
	Webhooks       WebhookInfo    `json:"webhooks"`
	Verification
}

// checkedCredentials is step 1 after validation (and verification).
type checkedCredentials struct {
	creds       domain.Credentials
	personio    domain.Personio
	staffomatic domain.Staffomatic
	owner       domain.Owner
	Verification
}

func (in CredentialsInput) verify() bool { return in.Verify == nil || *in.Verify }

// check validates step 1 and, unless verify is false, calls both vendors: Personio must
// accept the credential (its readable attributes are reported), Staffomatic must accept
// the admin's credentials for the account. id is the tenant whose rate limits the calls
// spend (a new tenant's id before it is stored).
func (a *API) check(ctx context.Context, id string, in CredentialsInput) (checkedCredentials, error) {
	var c checkedCredentials
	switch {
	case in.Personio != nil && in.PersonioCredentialsFile != "":
		return c, badRequest("personio_credentials_file", "send either personio or personio_credentials_file, not both")
	case in.PersonioCredentialsFile != "":
		id, secret, err := ParseCredentialsFile(in.PersonioCredentialsFile)
		if err == nil {
			err = errors.Join(credentialText("its client id", id, maxClientID, false), credentialText("its client secret", secret, maxSecret, true))
		}
		if err != nil {
			return c, unprocessable("invalid_credentials_file", "personio_credentials_file", "%v", err)
		}
		c.creds.PersonioClientID, c.creds.PersonioClientSecret = id, secret
	case in.Personio != nil:
		p := in.Personio
		if strings.TrimSpace(p.ClientID) == "" {
			return c, badRequest("personio.client_id", "personio.client_id: required: the client id of the Personio API credential")
		}
		if p.ClientSecret == "" {
			return c, badRequest("personio.client_secret", "personio.client_secret: required: the secret of the Personio API credential")
		}
		for _, f := range []struct {
			field, v string
			max      int
			inner    bool
		}{{"personio.client_id", strings.TrimSpace(p.ClientID), maxClientID, false}, {"personio.client_secret", p.ClientSecret, maxSecret, true}} {
			if err := credentialText(f.field, f.v, f.max, f.inner); err != nil {
				return c, badRequest(f.field, "%v", err)
			}
		}
		if err := a.checkBaseURL(domain.SystemPersonio, "personio.base_url", p.BaseURL, "personio.client_id and personio.client_secret"); err != nil {
			return c, err
		}
		for _, h := range []struct{ field, v string }{{"personio.partner_id", p.PartnerID}, {"personio.app_id", p.AppID}} {
			if !headerIDOK(h.v) {
				return c, badRequest(h.field, "%s: use the identifier Personio gave you, in UPPER_SNAKE_CASE (letters, digits, _ and -, at most 100 characters); it is sent as a header with every request", h.field)
			}
		}
		c.creds.PersonioClientID, c.creds.PersonioClientSecret = strings.TrimSpace(p.ClientID), p.ClientSecret
		c.personio = domain.Personio{BaseURL: strings.TrimRight(p.BaseURL, "/"), PartnerID: p.PartnerID, AppID: p.AppID}
	default:
		return c, badRequest("personio", "personio: required: {client_id, client_secret} or the credentials file content in personio_credentials_file")
	}
	c.personio.ClientID = c.creds.PersonioClientID
	s := in.Staffomatic
	if s == nil {
		return c, badRequest("staffomatic", "staffomatic: required: {subdomain, email, password} or {subdomain, email, token}")
	}
	if err := a.checkStaffomatic(s); err != nil {
		return c, err
	}
	c.creds.StaffomaticEmail, c.creds.StaffomaticPassword, c.creds.StaffomaticToken = strings.TrimSpace(s.Email), s.Password, s.Token
	c.staffomatic = domain.Staffomatic{BaseURL: strings.TrimRight(s.BaseURL, "/"), Subdomain: s.Subdomain, AdminEmail: strings.TrimSpace(s.Email)}
	c.owner = domain.Owner{Email: strings.TrimSpace(s.Email)}
	c.MissingPersonioAttributes = []AttributeInfo{}
	if !in.verify() {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, vendorTimeout)
	defer cancel()
	p, err := a.personioFor(id, c.personio, c.creds)
	if err != nil {
		return c, err
	}
	field := "personio.client_secret"
	if in.PersonioCredentialsFile != "" {
		field = "personio_credentials_file"
	}
	rep, err := p.Verify(ctx)
	if err != nil {
		return c, a.vendorErr(err, domain.SystemPersonio, field, c.personio.BaseURL)
	}
	for _, m := range rep.Missing {
		c.MissingPersonioAttributes = append(c.MissingPersonioAttributes, AttributeInfo{Key: m.Key, Name: m.Name})
	}
	u, err := a.verifyStaffomatic(ctx, id, c.staffomatic, c.creds)
	if err != nil {
		return c, err
	}
	c.owner.Name = staffomaticName(u)
	c.Verified = true
	return c, nil
}

func (a *API) checkStaffomatic(s *StaffomaticInput) error {
	if err := a.checkBaseURL(domain.SystemStaffomatic, "staffomatic.base_url", s.BaseURL, "staffomatic.email and staffomatic.password (or token)"); err != nil {
		return err
	}
	if !subdomainOK(s.Subdomain) {
		return badRequest("staffomatic.subdomain", "staffomatic.subdomain: required: the account's subdomain, e.g. acme for acme.staffomaticapp.com")
	}
	if !strings.Contains(s.Email, "@") || credentialText("staffomatic.email", strings.TrimSpace(s.Email), maxEmail, false) != nil {
		return badRequest("staffomatic.email", "staffomatic.email: the e-mail address of the Staffomatic admin who manages the integration (at most %d characters, without spaces, control or invisible characters)", maxEmail)
	}
	for _, f := range [][2]string{{"staffomatic.password", s.Password}, {"staffomatic.token", s.Token}} {
		if err := credentialText(f[0], f[1], maxSecret, true); err != nil {
			return badRequest(f[0], "%v", err)
		}
	}
	if s.Password == "" && s.Token == "" {
		return badRequest("staffomatic.password", "staffomatic: set the admin's password, or a token")
	}
	if s.Password != "" && s.Token != "" {
		return badRequest("staffomatic.token", "staffomatic: set either password or token, not both")
	}
	return nil
}

// verifyStaffomatic checks that the credentials open the account as one of its admins.
func (a *API) verifyStaffomatic(ctx context.Context, id string, conn domain.Staffomatic, c domain.Credentials) (staffomatic.User, error) {
	s, err := a.staffomaticFor(id, conn, c)
	if err != nil {
		return staffomatic.User{}, err
	}
	field := "staffomatic.password"
	if c.StaffomaticToken != "" {
		field = "staffomatic.token"
	}
	u, err := s.CurrentUser(ctx)
	if err != nil {
		return staffomatic.User{}, a.vendorErr(err, domain.SystemStaffomatic, field, conn.BaseURL)
	}
	if u.Role != "" && u.Role != "admin" {
		return staffomatic.User{}, unprocessable("staffomatic_not_admin", "staffomatic.email", "%s is a Staffomatic %s; the integration needs the credentials of an account admin", c.StaffomaticEmail, safetext.Message(u.Role))
	}
	return u, nil
}

// personioFor builds a client of tenant id's Personio company.
func (a *API) personioFor(id string, p domain.Personio, c domain.Credentials) (PersonioAccount, error) {
	cl, err := a.vendors.Personio(PersonioConn{Tenant: id, BaseURL: p.BaseURL, PartnerID: p.PartnerID, AppID: p.AppID}, c.PersonioClientID, c.PersonioClientSecret)
	if vendors.IsRefused(err) {
		return nil, refusedErr(domain.SystemPersonio, err)
	}
	if err != nil {
		return nil, fmt.Errorf("personio client: %w", err)
	}
	return cl, nil
}

// staffomaticFor builds a client of tenant id's Staffomatic account.
func (a *API) staffomaticFor(id string, s domain.Staffomatic, c domain.Credentials) (StaffomaticAccount, error) {
	cl, err := a.vendors.Staffomatic(StaffomaticConn{Tenant: id, BaseURL: s.BaseURL, Subdomain: s.Subdomain},
		staffomatic.Credentials{Email: c.StaffomaticEmail, Password: c.StaffomaticPassword, Token: c.StaffomaticToken})
	if vendors.IsRefused(err) {
		return nil, refusedErr(domain.SystemStaffomatic, err)
	}
	if err != nil {
		return nil, fmt.Errorf("staffomatic client: %w", err)
	}
	return cl, nil
}

// clients opens a tenant's sealed credentials and builds both vendor clients.
func (a *API) clients(ctx context.Context, t domain.Tenant) (PersonioAccount, StaffomaticAccount, error) {
	if a.sealer == nil {
		return nil, nil, errNoStore
	}
	c, err := seal.OpenCredentials(ctx, a.sealer, t.ID, t.Sealed)
	if err != nil {
		return nil, nil, &Error{Status: http.StatusConflict, Code: "credentials_unavailable",
			Message: "the stored credentials cannot be opened; set them again with PUT /v1/tenants/{id}/credentials"}
	}
	p, err := a.personioFor(t.ID, t.Personio, c)
	if err != nil {
		return nil, nil, err
	}
	s, err := a.staffomaticFor(t.ID, t.Staffomatic, c)
	if err != nil {
		return nil, nil, err
	}
	return p, s, nil
}

// checkBaseURL accepts an empty or an http(s) base URL without user information that the
// deployment's vendor policy admits. A base URL is stored in the clear and returned by
// GET /v1/tenants/{id}, so a password in it would be kept unsealed: it is refused, and
// neither the answer nor the log repeats it. In AWS the policy admits only https to the
// vendor's hosts and the operator's AllowedVendorHosts: a tenant must not point the
// functions at the metadata service, the VPC or the Lambda runtime API.
func (a *API) checkBaseURL(sys domain.System, field, s, credFields string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxBaseURL {
		return badRequest(field, "%s: at most %d characters: the API root, such as https://api.personio.de", field, maxBaseURL)
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil || err != nil && strings.Contains(s, "@") {
		return badRequest(field, "%s: remove the user name and password from the URL; the credentials go in %s", field, credFields)
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest(field, "%s: %q is not an http(s) URL", field, s)
	}
	// A query or fragment has no place in an API root (the clients append paths to it) and
	// would be stored and shown in the clear like user information: an api_key=… in it
	// would appear in GET /v1/tenants/{id} and the set-up trail.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return badRequest(field, "%s: remove the query and fragment (after ? or #): give the API root only, such as https://api.personio.de; the credentials go in %s", field, credFields)
	}
	// url.Parse takes any digits as a port; one beyond 65535 fails every request as if the
	// vendor were down.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return badRequest(field, "%s: port %s: use a port from 1 to 65535, or none", field, p)
		}
	}
	if err := a.vendors.CheckBaseURL(sys, s); err != nil {
		return refusedErr(sys, err)
	}
	return nil
}

// Bounds of the credential fields: far above what the vendors issue (Personio's client
// ids are a few dozen characters), far below what would fill the tenant's item (it holds
// the client id in the clear beside the sealed credentials, and a set-up trail entry names
// the old and the new id; DynamoDB refuses an item above 400 KB) or a request header.
const (
	maxClientID = 200
	maxSecret   = 1000
	maxEmail    = 254
	maxBaseURL  = 300
)

// credentialText checks a credential field: at most max characters, no control
// characters (a line break in a token or e-mail would break the request header it goes
// into, or forge a line of the set-up trail), no bidirectional overrides or other
// invisible format characters (the client id and e-mail are shown in the set-up trail)
// and, unless inner, no spaces either.
func credentialText(field, v string, max int, inner bool) error {
	if utf8.RuneCountInString(v) > max {
		return fmt.Errorf("%s: at most %d characters; is it the value the vendor issued?", field, max)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !inner && unicode.IsSpace(r)
	}) {
		what := "control or invisible characters"
		if !inner {
			what = "spaces, " + what
		}
		return fmt.Errorf("%s: contains %s; copy the value again as the vendor shows it", field, what)
	}
	return nil
}

// headerIDOK accepts an empty or an UPPER_SNAKE_CASE-like partner or app id. The ids go
// into the X-Personio-Partner-ID and X-Personio-App-ID headers of every request, where a
// control character or a line break makes each request fail.
func headerIDOK(s string) bool {
	if len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func subdomainOK(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// newTenantID derives a readable id from the name plus a random suffix, so two companies
// of the same name never collide and an id reveals nothing guessable.
func newTenantID(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == 'ä':
			b.WriteString("ae")
		case r == 'ö':
			b.WriteString("oe")
		case r == 'ü':
			b.WriteString("ue")
		case r == 'ß':
			b.WriteString("ss")
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	if slug == "" {
		slug = "tenant"
	}
	return slug + "-" + idSuffix()
}

// idSuffixEncoding spells random bytes with lower-case letters and digits only, the
// characters a tenant id may hold, so every suffix has its full length.
var idSuffixEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// idSuffix is six random characters (30 bits) for a tenant id.
func idSuffix() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // cannot happen on supported platforms
	}
	return idSuffixEncoding.EncodeToString(b)[:6]
}

// webhookURLs are the tenant's receiver URLs: under PUBLIC_BASE_URL when it is set (the
// address vendors reach), else under the address the request came to (the local runner's
// real port, or the API Gateway host), so the URLs shown always point at this API.
func (a *API) webhookURLs(ctx context.Context, id string) (personioURL, staffomaticURL string) {
	base := a.public
	if base == "" {
		base, _ = ctx.Value(requestBaseKey{}).(string)
	}
	return base + "/v1/webhooks/personio/" + id, base + "/v1/webhooks/staffomatic/" + id
}

// requestBaseKey carries the request's own base URL (requestBase) in its context.
type requestBaseKey struct{}

// requestBase is scheme://host of the request as the client addressed it: https when
// TLS or a proxy (API Gateway) says so. A Host that is no host[:port] gives "".
func requestBase(r *http.Request) string {
	host := r.Host
	if host == "" || strings.ContainsFunc(host, func(c rune) bool {
		return !(c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) {
		return ""
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + host
}

// personioEvents are the webhook events a tenant's registration subscribes to.
var personioEvents = []string{
	personio.EventPersonCreated, personio.EventPersonUpdated, personio.EventPersonDeleted,
	personio.EventEmploymentCreated, personio.EventEmploymentUpdated, personio.EventEmploymentDeleted, personio.EventEmploymentTerminated,
	personio.EventAbsencePeriodCreated, personio.EventAbsencePeriodUpdatedStatus, personio.EventAbsencePeriodUpdatedRange, personio.EventAbsencePeriodDeleted,
	personio.EventAttendancePeriodCreated, personio.EventAttendancePeriodUpdated, personio.EventAttendancePeriodDeleted,
}

// newWebhookSecrets creates both receivers' secrets and, when a public URL is configured
// and the credentials were verified, registers the Personio webhook. The sealed record is
// returned for storing; nothing is stored here.
func (a *API) newWebhookSecrets(ctx context.Context, id string, p domain.Personio, c domain.Credentials, register bool) (WebhookSecrets, store.WebhookSecrets, WebhookInfo, error) {
	out := WebhookSecrets{PersonioToken: "whp_" + newSecret(32), StaffomaticSecret: "whs_" + newSecret(32)}
	blob, err := a.sealer.Seal(ctx, id, []byte(out.StaffomaticSecret))
	if err != nil {
		return out, store.WebhookSecrets{}, WebhookInfo{}, fmt.Errorf("seal webhook secret: %w", err)
	}
	rec := store.WebhookSecrets{Tenant: id, PersonioTokenHash: hashHex(out.PersonioToken),
		StaffomaticSecret: domain.Sealed{Scheme: a.sealer.Scheme(), Blob: blob}, RotatedAt: a.now().UTC()}
	var info WebhookInfo
	info.PersonioURL, info.StaffomaticURL = a.webhookURLs(ctx, id)
	if register && a.public != "" {
		if rec.PersonioWebhookID, err = a.registerPersonio(ctx, id, p, c, out.PersonioToken); err != nil {
			return out, rec, info, err
		}
		info.PersonioRegistered = true
	}
	return out, rec, info, nil
}

// registerPersonio registers the tenant's webhook with the Personio company of p and c,
// delivering token, and returns the registration's id.
func (a *API) registerPersonio(ctx context.Context, id string, p domain.Personio, c domain.Credentials, token string) (string, error) {
	cl, err := a.personioFor(id, p, c)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, vendorTimeout)
	defer cancel()
	url, _ := a.webhookURLs(ctx, id)
	reg := personio.WebhookRegistration{URL: url, Description: "staffsync " + id, Token: token, Events: personioEvents}
	wh, err := cl.RegisterWebhook(ctx, reg)
	if personio.IsConflict(err) {
		// A registration of this URL exists (rotation, or a leftover): Personio keeps
		// one per URL, so it is replaced; its token stops working with it.
		err = replaceWebhook(ctx, cl, url)
		if err == nil {
			wh, err = cl.RegisterWebhook(ctx, reg)
		}
	}
	if err != nil {
		return "", a.vendorErr(err, domain.SystemPersonio, "personio", p.BaseURL)
	}
	return wh.ID, nil
}

func replaceWebhook(ctx context.Context, cl PersonioAccount, url string) error {
	whs, err := cl.Webhooks(ctx)
	if err != nil {
		return err
	}
	for _, wh := range whs {
		if wh.URL == url {
			if err := cl.DeleteWebhook(ctx, wh.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// unregister removes a Personio webhook registration, best effort: a leftover
// registration only delivers to a token that no longer opens the receiver.
func (a *API) unregister(ctx context.Context, id string, p domain.Personio, c domain.Credentials, webhookID string) {
	if webhookID == "" {
		return
	}
	cl, err := a.personioFor(id, p, c)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vendorTimeout)
		defer cancel()
		err = cl.DeleteWebhook(ctx, webhookID)
	}
	if err != nil && !personio.IsNotFound(err) {
		a.log.WarnContext(ctx, "could not remove a Personio webhook registration", "webhook_id", webhookID, "error", err)
	}
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in TenantInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := a.CreateTenant(r.Context(), in)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// CreateTenant is POST /v1/tenants as a function, for the local runner's demo tenant: it
// validates and verifies the input, seals the credentials, creates the webhook secrets
// (and registers Personio's webhook when a public URL is configured) and stores the
// tenant. On any error nothing is stored.
func (a *API) CreateTenant(ctx context.Context, in TenantInput) (TenantCreated, error) {
	if a.store == nil || a.sealer == nil {
		return TenantCreated{}, errNoStore
	}
	name := strings.TrimSpace(in.Name)
	if !displayNameOK(name) {
		return TenantCreated{}, badRequest("name", "name: required: the company's name (at most 200 characters, no line breaks, control, bidirectional-override or only invisible characters)")
	}
	// The id comes first: the verification calls spend the new tenant's rate limits.
	id := newTenantID(name)
	c, err := a.check(ctx, id, in.CredentialsInput)
	if err != nil {
		return TenantCreated{}, err
	}
	token, tokenHash := newAdminToken(id)
	sealed, err := seal.SealCredentials(ctx, a.sealer, id, c.creds)
	if err != nil {
		return TenantCreated{}, fmt.Errorf("seal credentials: %w", err)
	}
	secrets, rec, info, err := a.newWebhookSecrets(ctx, id, c.personio, c.creds, c.Verified)
	if err != nil {
		return TenantCreated{}, err
	}
	t := &domain.Tenant{ID: id, Name: name, Owner: c.owner, AdminTokenHash: tokenHash, Settings: domain.DefaultSettings(),
		Sources: domain.DefaultSources(), Personio: c.personio, Staffomatic: c.staffomatic, Sealed: sealed}
	if err := a.store.CreateTenant(ctx, t); err != nil {
		a.unregister(ctx, id, c.personio, c.creds, rec.PersonioWebhookID)
		return TenantCreated{}, storeErr(err, "tenant "+id)
	}
	if err := a.store.PutWebhookSecrets(ctx, rec); err != nil {
		// Nothing may remain of a failed creation.
		if derr := a.store.DeleteTenant(context.WithoutCancel(ctx), id); derr != nil {
			a.log.ErrorContext(ctx, "could not remove a half-created tenant", "tenant_id", id, "error", derr)
		}
		a.unregister(ctx, id, c.personio, c.creds, rec.PersonioWebhookID)
		return TenantCreated{}, err
	}
	a.log.InfoContext(ctx, "tenant created", "tenant_id", id, "verified", c.Verified, "missing_personio_attributes", len(c.MissingPersonioAttributes))
	return TenantCreated{TenantID: id, AdminToken: token, WebhookSecrets: secrets, Webhooks: info, Verification: c.Verification}, nil
}

// TenantListItem is one tenant in the operator's listing: never a secret.
type TenantListItem struct {
	TenantID             string       `json:"tenant_id"`
	Name                 string       `json:"name"`
	Owner                domain.Owner `json:"owner"`
	BackgroundSync       bool         `json:"background_sync"`
	StaffomaticSubdomain string       `json:"staffomatic_subdomain"`
	CreatedAt            time.Time    `json:"created_at"`
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", 50, 200)
	if err != nil {
		return err
	}
	after := ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || domain.ValidateTenantID(string(b)) != nil {
			return badRequest("cursor", "cursor: not a cursor this API returned")
		}
		after = string(b)
	}
	// The store lists in id order from the cursor on; reading stops one past the page,
	// which tells whether another page follows.
	var all []TenantListItem
	errPageFull := errors.New("page full")
	err = a.store.ListTenantsAfter(r.Context(), after, func(t domain.Tenant) error {
		all = append(all, TenantListItem{TenantID: t.ID, Name: t.Name, Owner: t.Owner, BackgroundSync: t.Settings.EnableBackgroundSync,
			StaffomaticSubdomain: t.Staffomatic.Subdomain, CreatedAt: t.CreatedAt})
		if len(all) > limit {
			return errPageFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return err
	}
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(all[limit-1].TenantID))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"tenants": orEmpty(all), "next_cursor": next})
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// SourcesView is step 2 as the admin sets it.
type SourcesView struct {
	Timesheets string `json:"timesheets"`
	Absences   string `json:"absences"`
}

func sourcesView(s domain.Sources) SourcesView {
	v := SourcesView{Timesheets: "off", Absences: string(s.Absences)}
	if s.TimeTracking {
		v.Timesheets = "staffomatic"
	}
	return v
}

// NextRun is the next scheduled run of one timetable line.
type NextRun struct {
	Schedule string       `json:"schedule"`
	Phase    domain.Phase `json:"phase"`
	Mode     domain.Mode  `json:"mode"`
	At       time.Time    `json:"at"`
}

// TenantView is GET /v1/tenants/{id}: never a secret.
type TenantView struct {
	TenantID       string                    `json:"tenant_id"`
	Name           string                    `json:"name"`
	Owner          domain.Owner              `json:"owner"`
	Settings       domain.Settings           `json:"settings"`
	Sources        SourcesView               `json:"sources"`
	Personio       personioView              `json:"personio"`
	Staffomatic    domain.Staffomatic        `json:"staffomatic"`
	LastRuns       map[domain.Phase]*RunView `json:"last_runs"`
	NextRuns       []NextRun                 `json:"next_runs"`
	BackgroundSync bool                      `json:"background_sync"`
	CreatedAt      time.Time                 `json:"created_at"`
	UpdatedAt      time.Time                 `json:"updated_at"`
}

type personioView struct {
	ClientID string `json:"client_id"`
	BaseURL  string `json:"base_url,omitempty"`
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	v := TenantView{TenantID: t.ID, Name: t.Name, Owner: t.Owner, Settings: t.Settings, Sources: sourcesView(t.Sources),
		Personio: personioView{ClientID: t.Personio.ClientID, BaseURL: t.Personio.BaseURL}, Staffomatic: t.Staffomatic,
		LastRuns: map[domain.Phase]*RunView{}, NextRuns: []NextRun{}, BackgroundSync: t.Settings.EnableBackgroundSync,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	for _, p := range domain.Phases {
		v.LastRuns[p] = nil
	}
	// Runs are listed newest first; a few pages find the last run of every phase.
	next, missing := "", len(domain.Phases)
	for page := 0; page < 5 && missing > 0; page++ {
		rp, err := a.store.ListRuns(r.Context(), t.ID, 100, next)
		if err != nil {
			return err
		}
		for _, run := range rp.Runs {
			if v.LastRuns[run.Phase] == nil {
				rv := runView(run)
				v.LastRuns[run.Phase] = &rv
				missing--
			}
		}
		if next = rp.Next; next == "" {
			break
		}
	}
	if t.Settings.EnableBackgroundSync {
		now := a.now()
		for _, s := range domain.Timetable {
			// Only runs that will do something: no function runs a phase this stack does not
			// deploy, and a timesheets run with time tracking off only notes that it is off.
			if !slices.Contains(a.phases, s.Phase) || s.Phase == domain.PhaseTimesheets && !t.Sources.TimeTracking {
				continue
			}
			c, err := schedule.Parse(s.Expression)
			if err != nil {
				return fmt.Errorf("timetable %s: %w", s.Name, err)
			}
			v.NextRuns = append(v.NextRuns, NextRun{Schedule: s.Name, Phase: s.Phase, Mode: s.Mode, At: c.Next(now, a.loc)})
		}
		slices.SortFunc(v.NextRuns, func(x, y NextRun) int { return x.At.Compare(y.At) })
	}
	WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) putCredentials(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	var in CredentialsInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if a.sealer == nil {
		return errNoStore
	}
	c, err := a.check(r.Context(), t.ID, in)
	if err != nil {
		return err
	}
	ctx := r.Context()
	sealed, err := seal.SealCredentials(ctx, a.sealer, t.ID, c.creds)
	if err != nil {
		return fmt.Errorf("seal credentials: %w", err)
	}
	oldPersonio, oldSealed, oldStaffomatic := t.Personio, t.Sealed, t.Staffomatic
	var move *webhookMove
	if a.public != "" && c.Verified && (c.personio.ClientID != oldPersonio.ClientID || c.personio.BaseURL != oldPersonio.BaseURL) {
		if move, err = a.movePersonioWebhook(ctx, t.ID, c.personio, c.creds); err != nil {
			return err
		}
	}
	t.Personio, t.Staffomatic, t.Sealed = c.personio, c.staffomatic, sealed
	if t.Owner.Email != c.owner.Email {
		t.Owner = c.owner
	} else if c.owner.Name != "" {
		t.Owner.Name = c.owner.Name
	}
	if err := a.store.SaveTenant(ctx, &t); err != nil {
		if move != nil {
			move.undo(ctx, a, c.personio, c.creds)
		}
		return storeErr(err, "tenant "+t.ID)
	}
	a.audit(ctx, t, "change_credentials", "credentials replaced (values not recorded)%s", prefixed("; ", changes(
		[3]string{"Personio client id", oldPersonio.ClientID, c.personio.ClientID},
		[3]string{"Personio base URL", oldPersonio.BaseURL, c.personio.BaseURL},
		[3]string{"Staffomatic account", oldStaffomatic.Subdomain, c.staffomatic.Subdomain},
		[3]string{"Staffomatic admin", oldStaffomatic.AdminEmail, c.staffomatic.AdminEmail})))
	out := map[string]any{"tenant_id": t.ID, "verified": c.Verified, "missing_personio_attributes": c.MissingPersonioAttributes}
	if move != nil {
		// The registration under the old credentials goes; with the old credentials
		// unreadable it stays, harmless: its token no longer opens the receiver.
		if oldCreds, err := seal.OpenCredentials(ctx, a.sealer, t.ID, oldSealed); err == nil && move.old.PersonioWebhookID != move.new.PersonioWebhookID {
			a.unregister(ctx, t.ID, oldPersonio, oldCreds, move.old.PersonioWebhookID)
		}
		out["personio_webhook_token"] = move.token
		out["webhooks"] = move.info
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// webhookMove is a Personio webhook registered under new credentials, with the stored
// secrets record before and after.
type webhookMove struct {
	old, new store.WebhookSecrets
	token    string
	info     WebhookInfo
}

// movePersonioWebhook registers the tenant's Personio webhook with the Personio company
// of new credentials and stores its token: the webhook belongs to the credentials, so it
// would otherwise keep delivering from the old company only. The Staffomatic secret is
// kept. The caller removes the old registration once the credentials are saved, or calls
// undo when they are not.
func (a *API) movePersonioWebhook(ctx context.Context, id string, p domain.Personio, c domain.Credentials) (*webhookMove, error) {
	old, err := a.store.GetWebhookSecrets(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read webhook secrets: %w", err)
	}
	m := &webhookMove{old: old, new: old, token: "whp_" + newSecret(32)}
	m.info.PersonioURL, m.info.StaffomaticURL = a.webhookURLs(ctx, id)
	if m.new.PersonioWebhookID, err = a.registerPersonio(ctx, id, p, c, m.token); err != nil {
		return nil, err
	}
	m.info.PersonioRegistered = true
	m.new.PersonioTokenHash, m.new.RotatedAt = hashHex(m.token), a.now().UTC()
	if err := a.store.PutWebhookSecrets(ctx, m.new); err != nil {
		a.unregister(ctx, id, p, c, m.new.PersonioWebhookID)
		return nil, err
	}
	return m, nil
}

// undo restores the secrets record and removes the new registration.
func (m *webhookMove) undo(ctx context.Context, a *API, p domain.Personio, c domain.Credentials) {
	if err := a.store.PutWebhookSecrets(context.WithoutCancel(ctx), m.old); err != nil {
		a.log.ErrorContext(ctx, "could not restore the webhook secrets after a failed credentials update", "error", err)
	}
	if m.new.PersonioWebhookID != m.old.PersonioWebhookID {
		a.unregister(ctx, m.new.Tenant, p, c, m.new.PersonioWebhookID)
	}
}

// SourcesInput is the body of PUT /v1/tenants/{id}/sources (set-up step 2).
type SourcesInput struct {
	Timesheets *string `json:"timesheets,omitempty"`
	Absences   *string `json:"absences,omitempty"`
}

func (a *API) putSources(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	var in SourcesInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Timesheets == nil && in.Absences == nil {
		return badRequest("", "send timesheets (staffomatic|off) and/or absences (personio|staffomatic)")
	}
	oldSources := t.Sources
	if in.Timesheets != nil {
		switch *in.Timesheets {
		case "staffomatic":
			t.Sources.TimeTracking = true
		case "off":
			t.Sources.TimeTracking = false
		default:
			return badRequest("timesheets", "timesheets: %q: use staffomatic (timers go to Personio) or off", *in.Timesheets)
		}
	}
	if in.Absences != nil {
		switch s := domain.System(*in.Absences); s {
		case domain.SystemPersonio, domain.SystemStaffomatic:
			t.Sources.Absences = s
		default:
			return badRequest("absences", "absences: %q: use personio or staffomatic (the leading system)", *in.Absences)
		}
	}
	before := sourcesView(oldSources)
	if err := a.store.SaveTenant(r.Context(), &t); err != nil {
		return storeErr(err, "tenant "+t.ID)
	}
	after := sourcesView(t.Sources)
	if what := changes([3]string{"timesheets", before.Timesheets, after.Timesheets},
		[3]string{"absences", before.Absences, after.Absences}); what != "" {
		a.audit(r.Context(), t, "change_sources", "sync sources changed: %s", what)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"sources": after})
	return nil
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	// Decoding into the current settings keeps every setting the body leaves out.
	s := t.Settings
	if err := decode(r, &s); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return unprocessable("invalid_settings", settingsField(err.Error()), "%v", err)
	}
	ids := map[string][]int64{
		"fallback_personio_time_off_type_ids_for_entitlements":   s.FallbackPersonioTimeOffTypeIDsForEntitlements,
		"personio_time_off_type_ids_for_vacation_days_deduction": s.PersonioTimeOffTypeIDsForVacationDaysDeduction,
		"personio_time_off_type_ids_for_paid_vacations":          s.PersonioTimeOffTypeIDsForPaidVacations,
	}
	if len(ids["fallback_personio_time_off_type_ids_for_entitlements"])+len(ids["personio_time_off_type_ids_for_vacation_days_deduction"])+len(ids["personio_time_off_type_ids_for_paid_vacations"]) > 0 {
		p, _, err := a.clients(r.Context(), t)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), vendorTimeout)
		defer cancel()
		types, err := p.TimeOffTypes(ctx)
		if err != nil {
			return a.vendorErr(err, domain.SystemPersonio, "", t.Personio.BaseURL)
		}
		known := map[int64]bool{}
		var names []string
		for _, ty := range types {
			known[ty.ID] = true
			names = append(names, fmt.Sprintf("%d (%s)", ty.ID, ty.Name))
		}
		for _, f := range []string{"fallback_personio_time_off_type_ids_for_entitlements", "personio_time_off_type_ids_for_vacation_days_deduction", "personio_time_off_type_ids_for_paid_vacations"} {
			for _, id := range ids[f] {
				if !known[id] {
					return unprocessable("unknown_time_off_type", f, "%s: Personio has no time-off type %d; its types are %s", f, id, nameList(names, 40))
				}
			}
		}
	}
	if _, err := a.store.UpdateSettings(r.Context(), t.ID, t.Version, s); err != nil {
		return storeErr(err, "tenant "+t.ID)
	}
	if what := settingsChanges(t.Settings, s); what != "" {
		a.audit(r.Context(), t, "change_settings", "settings changed: %s", what)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"settings": s})
	return nil
}

func settingsField(msg string) string {
	if f, _, ok := strings.Cut(msg, ":"); ok && strings.HasPrefix(f, "settings.") {
		return strings.TrimPrefix(f, "settings.")
	}
	return ""
}

// OwnerInput is the body of POST /v1/tenants/{id}/owner: the new admin's Staffomatic
// credentials (same account).
type OwnerInput struct {
	Name        string            `json:"name,omitempty"`
	Staffomatic *StaffomaticInput `json:"staffomatic"`
}

// staffomaticName is the owner's name as Staffomatic has it, or "" when it is no name
// displayNameOK accepts: it is shown as the owner and names who acted in the set-up trail,
// so a line break or a bidirectional override in it (anyone who edits Staffomatic users
// can write one) would forge a line of the trail or make it read otherwise.
func staffomaticName(u staffomatic.User) string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); displayNameOK(n) {
		return n
	}
	return ""
}

// displayNameOK accepts a name shown to admins and written to logs: 1 to 200 characters
// without control characters (a line break in a name would forge log and CSV lines),
// without bidirectional overrides and isolates (U+202A–202E, U+2066–2069, which make a
// name read differently than it is stored) and with at least one visible character (a
// name of only zero-width or format characters looks empty).
func displayNameOK(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 200 || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return false
	}
	visible := false
	for _, r := range s {
		switch {
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return false
		case unicode.Is(unicode.Cf, r), unicode.IsSpace(r), r == 0x3164, r == 0x115F, r == 0x1160, r == 0xFFA0:
			// format characters, spaces and the Hangul fillers show nothing
		default:
			visible = true
		}
	}
	return visible
}

func (a *API) handOver(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	var in OwnerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	s := in.Staffomatic
	if s == nil {
		return badRequest("staffomatic", "staffomatic: required: the new admin's {email, password} or {email, token}")
	}
	if n := strings.TrimSpace(in.Name); n != "" && !displayNameOK(n) {
		return badRequest("name", "name: the new owner's name: at most 200 characters, no line breaks or control characters (or leave it out to take the name from Staffomatic)")
	}
	if s.Subdomain == "" {
		s.Subdomain = t.Staffomatic.Subdomain
	}
	if s.BaseURL == "" {
		s.BaseURL = t.Staffomatic.BaseURL
	}
	// Subdomains are host names: the account is the same whatever their case.
	if !strings.EqualFold(s.Subdomain, t.Staffomatic.Subdomain) || strings.TrimRight(s.BaseURL, "/") != t.Staffomatic.BaseURL {
		return unprocessable("other_account", "staffomatic.subdomain", "a hand-over keeps the Staffomatic account; to connect another account use PUT /v1/tenants/{id}/credentials")
	}
	if err := a.checkStaffomatic(s); err != nil {
		return err
	}
	if a.sealer == nil {
		return errNoStore
	}
	creds, err := seal.OpenCredentials(r.Context(), a.sealer, t.ID, t.Sealed)
	if err != nil {
		return &Error{Status: http.StatusConflict, Code: "credentials_unavailable", Message: "the stored credentials cannot be opened; set them again with PUT /v1/tenants/{id}/credentials"}
	}
	creds.StaffomaticEmail, creds.StaffomaticPassword, creds.StaffomaticToken = strings.TrimSpace(s.Email), s.Password, s.Token
	ctx, cancel := context.WithTimeout(r.Context(), vendorTimeout)
	defer cancel()
	u, err := a.verifyStaffomatic(ctx, t.ID, t.Staffomatic, creds)
	if err != nil {
		return err
	}
	sealed, err := seal.SealCredentials(r.Context(), a.sealer, t.ID, creds)
	if err != nil {
		return fmt.Errorf("seal credentials: %w", err)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = staffomaticName(u)
	}
	token, hash := newAdminToken(t.ID)
	previous := t
	t.Owner, t.Staffomatic.AdminEmail, t.Sealed, t.AdminTokenHash = domain.Owner{Email: creds.StaffomaticEmail, Name: name}, creds.StaffomaticEmail, sealed, hash
	if err := a.store.SaveTenant(r.Context(), &t); err != nil {
		return storeErr(err, "tenant "+t.ID)
	}
	// Told as the previous owner's act: they handed over, the new owner did not yet act.
	a.audit(r.Context(), previous, "hand_over", "integration handed over to %s; the previous admin token is revoked", ownerText(domain.Owner{Email: creds.StaffomaticEmail, Name: name}))
	a.log.InfoContext(r.Context(), "tenant handed over; the previous admin token is revoked", "tenant_id", t.ID)
	WriteJSON(w, http.StatusOK, map[string]any{"tenant_id": t.ID, "admin_token": token, "owner": t.Owner})
	return nil
}

func (a *API) rotateWebhookSecrets(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	if a.sealer == nil {
		return errNoStore
	}
	old, err := a.store.GetWebhookSecrets(r.Context(), t.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var creds domain.Credentials
	register := a.public != ""
	if register {
		if creds, err = seal.OpenCredentials(r.Context(), a.sealer, t.ID, t.Sealed); err != nil {
			return &Error{Status: http.StatusConflict, Code: "credentials_unavailable", Message: "the stored credentials cannot be opened; set them again with PUT /v1/tenants/{id}/credentials"}
		}
	}
	secrets, rec, info, err := a.newWebhookSecrets(r.Context(), t.ID, t.Personio, creds, register)
	if err != nil {
		return err
	}
	if err := a.store.PutWebhookSecrets(r.Context(), rec); err != nil {
		a.unregister(r.Context(), t.ID, t.Personio, creds, rec.PersonioWebhookID)
		return err
	}
	if register && old.PersonioWebhookID != rec.PersonioWebhookID {
		a.unregister(r.Context(), t.ID, t.Personio, creds, old.PersonioWebhookID)
	}
	a.audit(r.Context(), t, "rotate_webhook_secrets", "webhook secrets rotated; the previous Personio token and Staffomatic secret stop working (values not recorded)")
	WriteJSON(w, http.StatusOK, map[string]any{"tenant_id": t.ID, "webhook_secrets": secrets, "webhooks": info})
	return nil
}
