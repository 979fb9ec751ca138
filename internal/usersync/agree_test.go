package usersync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/httpapi"
	"github.com/staffsync/staffsync/internal/phase"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/usersync"
)

// TestPreviewAndSyncSelectTheSameEmployees: the admin API's employee list (set-up step 3)
// says "selected" for exactly the employees the user sync then handles, also where an
// auto-include rule names a custom attribute by its universal id or its label in another
// case, and where an explicit switch overrides the rule. (The preview once matched only
// key or exact label, and said "not selected" for employees the sync selected.)
func TestPreviewAndSyncSelectTheSameEmployees(t *testing.T) {
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	shift := env.P.AddCustomAttribute(personiosim.CustomAttribute{Label: "Schichtplanung", UniversalID: "shift_planning"})
	roster := env.P.AddCustomAttribute(personiosim.CustomAttribute{Label: "Dienstplan"})
	add := func(first string, custom map[string]any) string {
		e := env.P.AddEmployee(personiosim.Employee{FirstName: first, LastName: "Probe", Email: first + "@probe.example", Status: "active",
			Custom: custom, HireDate: env.Now.AddDate(-1, 0, 0)})
		return strconv.FormatInt(e.ID, 10)
	}
	byUniversalID := add("uni", map[string]any{shift.Key: "Ja"})
	byLabel := add("label", map[string]any{roster.Key: "yes"})
	otherValue := add("other", map[string]any{shift.Key: "nein", roster.Key: "no"})
	switchedOff := add("off", map[string]any{shift.Key: "ja"})
	switchedOn := add("on", nil)
	env.Select(t, map[string]bool{switchedOff: false, switchedOn: true},
		domain.AutoInclude{Field: domain.RuleAttribute, Attribute: "SHIFT_PLANNING", Values: []string{"ja"}},
		domain.AutoInclude{Field: domain.RuleAttribute, Attribute: "dienstplan", Values: []string{"Yes"}})
	// Either rule picks an employee (match any).
	sel, err := env.Store.GetSelection(ctx, synctest.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	sel.Match = domain.MatchAnyRule
	if err := env.Store.SaveSelection(ctx, &sel); err != nil {
		t.Fatal(err)
	}

	// The preview, through the API as an admin calls it.
	token := "sst_" + synctest.TenantID + ".agree-admin-secret"
	tn := env.Tenant(t)
	sum := sha256.Sum256([]byte(token))
	tn.AdminTokenHash = hex.EncodeToString(sum[:])
	if err := env.Store.SaveTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Logger: env.Log, Store: env.Store, Sealer: env.Sealer, Vendors: httpapi.NewVendors(env.Vendors())})
	var preview []string
	for cursor := ""; ; {
		req := httptest.NewRequest(http.MethodGet, "/v1/tenants/"+synctest.TenantID+"/employees?limit=10&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET employees: %d %s", rec.Code, rec.Body)
		}
		var page struct {
			Employees []httpapi.EmployeeView `json:"employees"`
			Next      string                 `json:"next_cursor"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Employees {
			if e.Selected {
				preview = append(preview, e.PersonioID)
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}

	// The sync: a first run has at least one action per selected employee (create, link
	// or conflict), each in the protocol under the employee's id.
	h := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: env.Store, Vendors: env.Vendors(), Now: env.Clock}), env.HarnessDeps())
	req := env.Request(domain.PhaseUsers, domain.ModeFull, true)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := h.Run(rctx, req); err != nil {
		t.Fatal(err)
	}
	var synced []string
	for _, e := range env.Protocol(t, domain.AreaUsers, req.RunID) {
		if e.SourceID != "" && !slices.Contains(synced, e.SourceID) {
			synced = append(synced, e.SourceID)
		}
	}
	slices.Sort(preview)
	slices.Sort(synced)
	want := []string{byUniversalID, byLabel, switchedOn}
	slices.Sort(want)
	if !slices.Equal(preview, want) {
		t.Fatalf("preview selects %v, want %v (not %s, %s)", preview, want, otherValue, switchedOff)
	}
	if !slices.Equal(synced, preview) {
		t.Fatalf("the sync handles %v, the preview selects %v", synced, preview)
	}
}
