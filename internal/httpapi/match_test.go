package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestEmployeeMatchValues: step 3 shows only the match values clients rely on
// (custom_id, email, none, conflict); a user linked by an earlier sync is a custom_id
// match with its user id, and an employee without any match has an empty user id.
func TestEmployeeMatchValues(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	var linked, unmatched int64
	for _, u := range e.demo.ExistingUsers {
		switch {
		case u.PersonioEmployeeID != 0 && linked == 0 && string(u.Match) == "email":
			linked = u.PersonioEmployeeID
			// What the user sync stores once it has linked the pair.
			if err := e.store.PutMapping(t.Context(), domain.Mapping{Tenant: c.TenantID, Kind: domain.KindUser, SourceID: fmt.Sprint(u.PersonioEmployeeID),
				TargetIDs: []string{fmt.Sprint(u.StaffomaticUserID)}, State: domain.StateTransferred}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if linked == 0 {
		t.Fatal("the demo has no e-mail match to link")
	}
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/employees", c.AdminToken, nil)
	var out struct{ Employees []EmployeeView }
	r.json(t, &out)
	if r.Code != 200 || len(out.Employees) == 0 {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	for _, em := range out.Employees {
		switch em.Match {
		case "custom_id", "email", "conflict":
			if em.Match != "conflict" && em.StaffomaticUserID == "" {
				t.Errorf("%s: %s match without a user id", em.PersonioID, em.Match)
			}
		case "none":
			unmatched++
			if em.StaffomaticUserID != "" {
				t.Errorf("%s: no match but user %s", em.PersonioID, em.StaffomaticUserID)
			}
		default:
			t.Errorf("%s: match %q is not one of custom_id, email, none, conflict", em.PersonioID, em.Match)
		}
		if em.PersonioID == fmt.Sprint(linked) && (em.Match != "custom_id" || em.MatchReason == "") {
			t.Errorf("linked employee %+v, want a custom_id match", em)
		}
	}
	if unmatched == 0 {
		t.Error("no employee without a match: the none case went untested")
	}
}

// TestGetSelection: GET returns what PUT stored (it answered 405), for the tenant's admin
// only.
func TestGetSelection(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/tenants/" + c.TenantID + "/selection"
	var empty SelectionView
	e.do(t, "GET", path, c.AdminToken, nil).json(t, &empty)
	if len(empty.Selected) != 0 || len(empty.Deselected) != 0 || empty.AutoInclude.Statuses != nil {
		t.Fatalf("new tenant's selection %+v", empty)
	}
	put := e.do(t, "PUT", path, c.AdminToken, map[string]any{"select": []string{"1016"}, "deselect": []string{"1017"},
		"auto_include": map[string]any{"statuses": []string{"active"}}})
	if put.Code != 200 {
		t.Fatalf("put: %d %s", put.Code, put.Body)
	}
	var got SelectionView
	r := e.do(t, "GET", path, c.AdminToken, nil)
	r.json(t, &got)
	if r.Code != 200 || strings.Join(got.Selected, ",") != "1016" || strings.Join(got.Deselected, ",") != "1017" ||
		strings.Join(got.AutoInclude.Statuses, ",") != "active" || got.Version == 0 {
		t.Fatalf("get: %d %+v", r.Code, got)
	}
	if r := e.do(t, "GET", path, "", nil); r.Code != 401 {
		t.Fatalf("without a token: %d", r.Code)
	}
}

// TestSelectionRulesAreExplicit: the rules combine as match says (all by default, shown
// as such), an unknown status or match is a 422 naming the valid values, and clear
// removes a switch so the rules decide again.
func TestSelectionRulesAreExplicit(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/tenants/" + c.TenantID + "/selection"
	r := e.do(t, "PUT", path, c.AdminToken, map[string]any{"select": []string{"1016", "1018"},
		"auto_include": map[string]any{"statuses": []string{"active"}, "attribute": map[string]any{"key": "shift_planning", "value": "ja"}}})
	var v SelectionView
	r.json(t, &v)
	if r.Code != 200 || v.AutoInclude.Match != "all" {
		t.Fatalf("put: %d %s", r.Code, r.Body)
	}
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"auto_include": map[string]any{"statuses": []string{"aktiv"}}}, `"aktiv" is no Personio status: use active, onboarding, leave, inactive`},
		{map[string]any{"auto_include": map[string]any{"match": "some", "statuses": []string{"active"}}}, "use all (every rule must match) or any"},
		{map[string]any{"select": []string{"1019"}, "clear": []string{"1019"}}, "clear: 1019 is also in an earlier list"},
	} {
		r := e.do(t, "PUT", path, c.AdminToken, bad.body)
		var body struct {
			Error Error `json:"error"`
		}
		r.json(t, &body)
		if (r.Code != 422 && r.Code != 400) || !strings.Contains(body.Error.Message, bad.want) {
			t.Errorf("%v: %d %s, want %q", bad.body, r.Code, r.Body, bad.want)
		}
	}
	r = e.do(t, "PUT", path, c.AdminToken, map[string]any{"clear": []string{"1016"}, "auto_include": map[string]any{"match": "any", "statuses": []string{"active"}}})
	r.json(t, &v)
	if r.Code != 200 || strings.Join(v.Selected, ",") != "1018" || v.AutoInclude.Match != "any" {
		t.Fatalf("clear: %d %s", r.Code, r.Body)
	}
}

// TestSelectionChangesOnlyWhatDiffers: a request stores and tells only the switches it
// changes; one that changes nothing (clearing an id without a switch, switching on one
// already on, the same rules) writes nothing, so the version, which makes the next
// partial runs full, stays.
func TestSelectionChangesOnlyWhatDiffers(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	path := "/v1/tenants/" + c.TenantID + "/selection"
	put := func(body map[string]any) SelectionView {
		t.Helper()
		var v SelectionView
		r := e.do(t, "PUT", path, c.AdminToken, body)
		r.json(t, &v)
		if r.Code != 200 {
			t.Fatalf("%v: %d %s", body, r.Code, r.Body)
		}
		return v
	}
	first := put(map[string]any{"select": []string{"1016"}, "deselect": []string{"1017"}})
	for _, body := range []map[string]any{
		{"clear": []string{"1018"}},
		{"select": []string{"1016"}, "deselect": []string{"1017"}},
	} {
		if v := put(body); v.Version != first.Version {
			t.Errorf("%v changed nothing but stored version %d (was %d)", body, v.Version, first.Version)
		}
	}
	after := put(map[string]any{"auto_include": map[string]any{"statuses": []string{"active"}}})
	if v := put(map[string]any{"auto_include": map[string]any{"match": "all", "statuses": []string{"active"}}}); v.Version != after.Version {
		t.Errorf("the same rules again stored version %d (was %d)", v.Version, after.Version)
	}
	// A request that changes some of its ids tells only those.
	put(map[string]any{"select": []string{"1016", "1019"}, "clear": []string{"1017", "1020"}})
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID+"/protocol?area=setup&limit=1", c.AdminToken, nil)
	var page struct {
		Entries []struct{ Reason string } `json:"entries"`
	}
	r.json(t, &page)
	if len(page.Entries) != 1 || !strings.Contains(page.Entries[0].Reason, "switched on: 1019; switches cleared: 1017; by") {
		t.Errorf("set-up entry %+v, want it to name 1019 and 1017 alone", page.Entries)
	}
}
