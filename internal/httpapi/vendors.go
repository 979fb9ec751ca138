package httpapi

import (
	"context"
	"log/slog"

	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// PersonioAccount is what the API needs of one Personio company. *personio.Client
// implements it.
type PersonioAccount interface {
	Verify(ctx context.Context) (*personio.AttributeReport, error)
	Employees(ctx context.Context, opts personio.EmployeesOptions) (*personio.EmployeeList, error)
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

// PersonioConn is the non-secret connection data of a Personio credential.
type PersonioConn struct {
	BaseURL   string
	PartnerID string
	AppID     string
}

// StaffomaticConn is the non-secret connection data of a Staffomatic account.
type StaffomaticConn struct {
	BaseURL   string
	Subdomain string
}

// Vendors builds vendor clients for a tenant's credentials. It is a port so that tests and
// `make run` point the API at the simulators while Lambda uses the real APIs.
type Vendors interface {
	Personio(conn PersonioConn, clientID, clientSecret string) (PersonioAccount, error)
	Staffomatic(conn StaffomaticConn, creds staffomatic.Credentials) (StaffomaticAccount, error)
}

// DefaultVendors builds the real clients with the connection data as given: an empty
// base URL means the vendor's public API.
type DefaultVendors struct {
	Logger *slog.Logger
	// PersonioBaseURL and StaffomaticBaseURL, when set, replace an empty base URL of a
	// tenant (the simulators of `make run`).
	PersonioBaseURL    string
	StaffomaticBaseURL string
	// MaxRetries bounds the Personio client's retries (0: the client's default). The API
	// answers within API Gateway's 29 s, so few retries suit it.
	MaxRetries int
}

// Personio implements Vendors.
func (d DefaultVendors) Personio(conn PersonioConn, id, secret string) (PersonioAccount, error) {
	base := conn.BaseURL
	if base == "" {
		base = d.PersonioBaseURL
	}
	return personio.New(personio.Config{BaseURL: base, ClientID: id, ClientSecret: secret, PartnerID: conn.PartnerID, AppID: conn.AppID,
		Logger: d.Logger, MaxRetries: d.MaxRetries})
}

// Staffomatic implements Vendors.
func (d DefaultVendors) Staffomatic(conn StaffomaticConn, creds staffomatic.Credentials) (StaffomaticAccount, error) {
	base := conn.BaseURL
	if base == "" {
		base = d.StaffomaticBaseURL
	}
	return staffomatic.New(staffomatic.Config{BaseURL: base, Subdomain: conn.Subdomain, Credentials: creds,
		UserAgent: "staffsync (admin API)", Logger: d.Logger})
}
