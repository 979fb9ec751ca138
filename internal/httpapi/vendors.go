package httpapi

import (
	"context"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/vendors"
)

// PersonioAccount is what the API needs of one Personio company. *personio.Client
// implements it.
type PersonioAccount interface {
	Verify(ctx context.Context) (*personio.AttributeReport, error)
	Employees(ctx context.Context, opts personio.EmployeesOptions) (*personio.EmployeeList, error)
	// Employee and AllowedAttributes check what a selection names (one id, the readable
	// attributes) without listing the whole company.
	Employee(ctx context.Context, id int64) (personio.Employee, error)
	AllowedAttributes(ctx context.Context) (*personio.AttributeReport, error)
	TimeOffTypes(ctx context.Context) ([]personio.TimeOffType, error)
	RegisterWebhook(ctx context.Context, reg personio.WebhookRegistration) (personio.Webhook, error)
	Webhooks(ctx context.Context) ([]personio.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
}

// StaffomaticAccount is what the API needs of one Staffomatic account. *staffomatic.Client
// implements it.
type StaffomaticAccount interface {
	Account(ctx context.Context) (staffomatic.Account, error)
	CurrentUser(ctx context.Context) (staffomatic.User, error)
	ListUsers(ctx context.Context, f staffomatic.UserFilter) ([]staffomatic.User, error)
	ListLocations(ctx context.Context) ([]staffomatic.Location, error)
	ListAbsenceTypes(ctx context.Context, locationID int64) ([]staffomatic.AbsenceType, error)
}

// PersonioConn is the non-secret connection data of a Personio credential, with the
// tenant whose rate limits its calls spend (a new tenant's id before it is stored).
type PersonioConn struct {
	Tenant    string
	BaseURL   string
	PartnerID string
	AppID     string
}

// StaffomaticConn is the non-secret connection data of a Staffomatic account, with the
// tenant whose rate limits its calls spend.
type StaffomaticConn struct {
	Tenant    string
	BaseURL   string
	Subdomain string
}

// Vendors builds vendor clients for a tenant's credentials. It is a port so that tests and
// `make run` point the API at the simulators while Lambda uses the real APIs.
type Vendors interface {
	Personio(conn PersonioConn, clientID, clientSecret string) (PersonioAccount, error)
	Staffomatic(conn StaffomaticConn, creds staffomatic.Credentials) (StaffomaticAccount, error)
	// CheckBaseURL refuses a base URL the deployment does not admit (a
	// *vendors.RefusedError), so that set-up answers 400 before storing it.
	CheckBaseURL(system domain.System, baseURL string) error
	// BaseURL is the base URL the clients use for a tenant's base URL (empty: the
	// deployment's default), so that an error can name the host it could not reach.
	BaseURL(system domain.System, baseURL string) string
}

// BuilderVendors serves the Vendors port with the process's one vendor builder
// (internal/vendors), the same one that builds the phases' clients.
type BuilderVendors struct{ Builder *vendors.Builder }

// NewVendors returns the port over b.
func NewVendors(b *vendors.Builder) BuilderVendors { return BuilderVendors{Builder: b} }

// Personio implements Vendors.
func (v BuilderVendors) Personio(conn PersonioConn, id, secret string) (PersonioAccount, error) {
	return v.Builder.Personio(conn.Tenant, domain.Personio{BaseURL: conn.BaseURL, PartnerID: conn.PartnerID, AppID: conn.AppID}, id, secret, nil)
}

// Staffomatic implements Vendors.
func (v BuilderVendors) Staffomatic(conn StaffomaticConn, creds staffomatic.Credentials) (StaffomaticAccount, error) {
	return v.Builder.Staffomatic(conn.Tenant, domain.Staffomatic{BaseURL: conn.BaseURL, Subdomain: conn.Subdomain}, creds, nil)
}

// BaseURL implements Vendors.
func (v BuilderVendors) BaseURL(system domain.System, baseURL string) string {
	return v.Builder.BaseURL(system, baseURL)
}

// CheckBaseURL implements Vendors with the builder's policy. An empty base URL is the
// vendor's production API, always admitted.
func (v BuilderVendors) CheckBaseURL(system domain.System, baseURL string) error {
	if baseURL == "" {
		return nil
	}
	return v.Builder.Policy().CheckURL(system, baseURL)
}

var (
	_ Vendors            = BuilderVendors{}
	_ PersonioAccount    = (*personio.Client)(nil)
	_ StaffomaticAccount = (*staffomatic.Client)(nil)
)
