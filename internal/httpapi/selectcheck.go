package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
)

// lookupByIDMax is how many ids a selection change looks up one by one
// (GET /v1/company/employees/{id}); more are checked against one listing of all employees
// projected to their status, which for 5,000 employees is 50 small pages. A typical change
// (switch one or two people) so costs one or two calls instead of fifty.
const lookupByIDMax = 10

// unknownEmployees returns the ids of ids that name no employee of the tenant's Personio
// company, in the order given (ids are distinct).
func unknownEmployees(ctx context.Context, p PersonioAccount, ids []string) ([]string, error) {
	var unknown []string
	if len(ids) <= lookupByIDMax {
		for _, id := range ids {
			n, _ := strconv.ParseInt(id, 10, 64)
			_, err := p.Employee(ctx, n)
			switch {
			case personio.IsNotFound(err):
				unknown = append(unknown, id)
			case err != nil:
				return nil, err
			}
		}
		return unknown, nil
	}
	list, err := p.Employees(ctx, personio.EmployeesOptions{Attributes: []string{"status"}})
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(list.Employees))
	for _, e := range list.Employees {
		known[strconv.FormatInt(e.ID, 10)] = true
	}
	for _, id := range ids {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	return unknown, nil
}

// rosterHas reports whether t's cached roster (read with its current credentials within
// rosterTTL) lists every one of ids.
func (a *API) rosterHas(t domain.Tenant, ids []string) bool {
	ro, ok := a.rosters.get(t.ID, credentialVersion(t), a.now())
	if !ok {
		return false
	}
	known := make(map[string]bool, len(ro.employees))
	for _, e := range ro.employees {
		known[e.PersonioID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return false
		}
	}
	return true
}

// attributeExposed reports whether name is an attribute the credential may read, matched
// the way a rule is matched (domain.Employee.Attribute: key, else universal id, else label,
// the last two case-insensitive). valid lists the readable ones for the error message.
func attributeExposed(rep *personio.AttributeReport, name string) (ok bool, valid []string) {
	for _, a := range rep.Allowed {
		if a.Key == name || (a.UniversalID != "" && strings.EqualFold(a.UniversalID, name)) || (a.Label != "" && strings.EqualFold(a.Label, name)) {
			return true, nil
		}
		v := a.Key
		if a.Label != "" && a.Label != a.Key {
			v += " (" + a.Label + ")"
		}
		valid = append(valid, v)
	}
	slices.Sort(valid)
	return false, valid
}

// checkSelectionInput asks Personio, before anything is stored, whether the ids switched
// on or off name employees and whether the rule's attribute is one the tenant's credential
// exposes: a typo would otherwise be kept and silently select nobody. Only what the
// request names is checked; cleared ids need no employee (they may name one who left).
func (a *API) checkSelectionInput(ctx context.Context, t domain.Tenant, in SelectionInput, attribute string) error {
	if len(in.Select) == 0 && len(in.Deselect) == 0 && attribute == "" {
		return nil
	}
	// Both lists are looked up together, each id once.
	ids := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(in.Select), in.Deselect...))))
	if attribute == "" && a.rosterHas(t, ids) {
		// The employees the console just listed (rosterCache): the switches it sends,
		// one or a thousand at a time, need no call. An id the roster lacks (hired since)
		// is looked up in Personio below.
		return nil
	}
	p, _, err := a.clients(ctx, t)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, vendorTimeout)
	defer cancel()
	if attribute != "" {
		rep, err := p.AllowedAttributes(ctx)
		switch {
		case personio.IsNotFound(err):
			// The attributes endpoint is unavailable: what the credential exposes cannot
			// be told from what is empty (personio.Employees infers it the same way).
			a.log.WarnContext(ctx, "Personio has no attributes endpoint; the auto-include attribute is not checked", "tenant_id", t.ID)
		case err != nil:
			return a.vendorErr(err, domain.SystemPersonio, "", t.Personio.BaseURL)
		}
		if ok, valid := attributeExposed(rep, attribute); rep != nil && !ok {
			return unprocessable("unknown_attribute", "auto_include.attribute.key",
				"auto_include.attribute.key: %q is not an attribute the Personio credential can read; readable: %s (a missing one is made readable in Personio under Settings > API credentials)",
				attribute, nameList(valid, 40))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	unknownIDs, err := unknownEmployees(ctx, p, ids)
	if err != nil {
		return a.vendorErr(err, domain.SystemPersonio, "", t.Personio.BaseURL)
	}
	missing := make(map[string]bool, len(unknownIDs))
	for _, id := range unknownIDs {
		missing[id] = true
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"select", in.Select}, {"deselect", in.Deselect}} {
		var unknown []string
		for _, id := range f.ids {
			if missing[id] {
				unknown = append(unknown, id)
				delete(missing, id) // named once
			}
		}
		if len(unknown) > 0 {
			return unprocessable("unknown_employees", f.name,
				"%s: no Personio employee has the id %s; GET /v1/tenants/%s/employees lists the valid ids (personio_id); nothing was changed",
				f.name, idList(unknown), t.ID)
		}
	}
	return nil
}

// nameList shows at most n names and how many more there are.
func nameList(names []string, n int) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
