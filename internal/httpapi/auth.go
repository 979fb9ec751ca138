package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
	"github.com/staffsync/staffsync/internal/store"
)

// tokenPrefix starts every tenant admin token. The tenant id follows, so the API finds the
// one stored hash to compare with (no scan, no lookup table), and can tell "valid token of
// another tenant" (403) from "no valid token" (401).
const tokenPrefix = "sst_"

// newAdminToken returns a fresh admin token of tenant and its hash, the only form stored.
func newAdminToken(tenant string) (token, hash string) {
	token = tokenPrefix + tenant + "." + newSecret(32)
	return token, hashHex(token)
}

// tokenTenant returns the tenant id an admin token names ("" when it is not one).
func tokenTenant(tok string) string {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return ""
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok || secret == "" || domain.ValidateTenantID(id) != nil {
		return ""
	}
	return id
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// handler is a route that reports failures as errors; serve writes them.
type handler func(w http.ResponseWriter, r *http.Request) error

// tenantHandler is a route of one tenant, called with the tenant the token belongs to.
type tenantHandler func(w http.ResponseWriter, r *http.Request, t domain.Tenant) error

// serve runs h and writes its error. The tenant a route names in its path ({id} or
// {tenant_id}) goes into the request's context first, so every log line of the request,
// including the "request failed" line below, carries it as the run logs do ("tenant").
// It is only a log attribute: a request with another tenant's token is logged under the
// tenant it tried to reach.
func (a *API) serve(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, name := range []string{"id", "tenant_id"} {
			if id := r.PathValue(name); id != "" && domain.ValidateTenantID(id) == nil {
				r = r.WithContext(obs.WithRun(r.Context(), obs.RunInfo{Tenant: id}))
				break
			}
		}
		if err := h(w, r); err != nil {
			if errors.Is(err, store.ErrBadCursor) {
				err = badRequest("cursor", "cursor: not a cursor this API returned for this query; start again without it")
			}
			var e *Error
			if !errors.As(err, &e) {
				a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			WriteError(w, err)
		}
	}
}

// isOperator compares the key with the configured salted HMAC in constant time.
func (a *API) isOperator(tok string) bool { return a.opHash.matches(tok) }

// tenantOf returns the tenant whose valid admin token tok is.
func (a *API) tenantOf(r *http.Request, tok string) (domain.Tenant, bool, error) {
	id := tokenTenant(tok)
	if id == "" {
		return domain.Tenant{}, false, nil
	}
	t, err := a.store.GetTenant(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Tenant{}, false, nil
	}
	if err != nil {
		return domain.Tenant{}, false, err
	}
	if t.AdminTokenHash == "" || !equalHash(tok, t.AdminTokenHash) {
		return domain.Tenant{}, false, nil
	}
	return t, true, nil
}

// operatorOnly guards the routes that create and list tenants.
func (a *API) operatorOnly(h handler) http.HandlerFunc {
	return a.serve(func(w http.ResponseWriter, r *http.Request) error {
		if a.store == nil {
			return errNoStore
		}
		tok := bearer(r)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="staffsync"`)
			return errUnauthenticated
		}
		if a.isOperator(tok) {
			return h(w, r)
		}
		if _, ok, err := a.tenantOf(r, tok); err != nil {
			return err
		} else if ok {
			return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "only the operator key may create or list tenants; a tenant's admin token acts on its own tenant only"}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="staffsync", error="invalid_token"`)
		return errBadToken
	})
}

// tenantOnly guards the routes under /v1/tenants/{id}: only that tenant's admin token.
func (a *API) tenantOnly(h tenantHandler) http.HandlerFunc {
	return a.serve(func(w http.ResponseWriter, r *http.Request) error {
		if a.store == nil {
			return errNoStore
		}
		tok := bearer(r)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="staffsync"`)
			return errUnauthenticated
		}
		t, ok, err := a.tenantOf(r, tok)
		if err != nil {
			return err
		}
		if !ok {
			if a.isOperator(tok) {
				return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "the operator key creates and lists tenants; act on a tenant with its admin token"}
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="staffsync", error="invalid_token"`)
			return errBadToken
		}
		if r.PathValue("id") != t.ID {
			return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this admin token belongs to another tenant"}
		}
		return h(w, r, t)
	})
}
