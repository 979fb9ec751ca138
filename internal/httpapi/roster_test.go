package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// countingVendors counts, per tenant, the full reads of both vendors the API makes
// (Personio's employee list, Staffomatic's user list) through the real clients.
type countingVendors struct {
	Vendors
	mu    *sync.Mutex
	reads map[string]int // "tenant personio" / "tenant staffomatic"
}

func (v countingVendors) add(tenant string, sys domain.System) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reads[tenant+" "+string(sys)]++
}

func (v countingVendors) count(tenant string, sys domain.System) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reads[tenant+" "+string(sys)]
}

func (v countingVendors) Personio(c PersonioConn, id, secret string) (PersonioAccount, error) {
	p, err := v.Vendors.Personio(c, id, secret)
	if err != nil {
		return nil, err
	}
	return countingPersonio{p, func() { v.add(c.Tenant, domain.SystemPersonio) }, func() { v.add(c.Tenant, "personio lookup") }}, nil
}

func (v countingVendors) Staffomatic(c StaffomaticConn, creds staffomatic.Credentials) (StaffomaticAccount, error) {
	s, err := v.Vendors.Staffomatic(c, creds)
	if err != nil {
		return nil, err
	}
	return countingStaffomatic{s, func() { v.add(c.Tenant, domain.SystemStaffomatic) }}, nil
}

type countingPersonio struct {
	PersonioAccount
	read   func()
	lookup func()
}

func (p countingPersonio) Employee(ctx context.Context, id int64) (personio.Employee, error) {
	p.lookup()
	return p.PersonioAccount.Employee(ctx, id)
}

func (p countingPersonio) Employees(ctx context.Context, o personio.EmployeesOptions) (*personio.EmployeeList, error) {
	p.read()
	return p.PersonioAccount.Employees(ctx, o)
}

type countingStaffomatic struct {
	StaffomaticAccount
	read func()
}

func (s countingStaffomatic) ListUsers(ctx context.Context, f staffomatic.UserFilter) ([]staffomatic.User, error) {
	s.read()
	return s.StaffomaticAccount.ListUsers(ctx, f)
}

type employeePage struct {
	Employees  []EmployeeView `json:"employees"`
	NextCursor string         `json:"next_cursor"`
}

func (e *env) employeePage(t *testing.T, tenant, token string, limit int, cursor string) employeePage {
	t.Helper()
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	r := e.do(t, "GET", "/v1/tenants/"+tenant+"/employees?"+q.Encode(), token, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("employees page: %d %s", r.Code, r.Body)
	}
	var p employeePage
	r.json(t, &p)
	return p
}

// TestEmployeePagesReadTheVendorsOnce: the console lists step 3 page by page (10 pages of
// 500 at 5,000 employees). Each page used to read both vendors in full, so one listing
// cost ten full reads of each vendor and spent the tenant's rate limits. Now the first
// page reads them and the pages after it reuse that read for a minute: one read of each
// vendor per listing, per tenant, and none survives a credentials change or crosses to
// another tenant. The switches are read for every page, so a switch shows at once.
func TestEmployeePagesReadTheVendorsOnce(t *testing.T) {
	var clock sync.Mutex
	now := time.Now()
	at := func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	wait := func(d time.Duration) { clock.Lock(); defer clock.Unlock(); now = now.Add(d) }
	cv := countingVendors{mu: &sync.Mutex{}, reads: map[string]int{}}
	e := newEnv(t, func(o *Options) { cv.Vendors = o.Vendors; o.Vendors = cv; o.Now = at })
	a := e.createDemo(t)
	reads := func(tenant string) [2]int {
		return [2]int{cv.count(tenant, domain.SystemPersonio), cv.count(tenant, domain.SystemStaffomatic)}
	}
	whole := e.employeePage(t, a.TenantID, a.AdminToken, 500, "")
	if len(whole.Employees) < 10 || whole.NextCursor != "" {
		t.Fatalf("the demo company should list on one page of 500 with at least 10 employees: %d, next %q", len(whole.Employees), whole.NextCursor)
	}
	if got := reads(a.TenantID); got != [2]int{1, 1} {
		t.Fatalf("one page: vendor reads (personio, staffomatic) %v, want [1 1]", got)
	}

	// Page by page, 3 at a time: the same employees in the same order, one read.
	var ids []string
	pages, cursor := 0, ""
	for {
		p := e.employeePage(t, a.TenantID, a.AdminToken, 3, cursor)
		pages++
		for _, em := range p.Employees {
			ids = append(ids, em.PersonioID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		if pages > 100 {
			t.Fatal("the pages do not end")
		}
	}
	var want []string
	for _, em := range whole.Employees {
		want = append(want, em.PersonioID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("paged listing %v differs from the one-page listing %v", ids, want)
	}
	if got := reads(a.TenantID); got != [2]int{2, 2} {
		t.Fatalf("a listing of %d pages: vendor reads (personio, staffomatic) %v, want [2 2] (one more each)", pages, got)
	}

	// A switch set after the first page shows on the next page without a vendor read.
	first := e.employeePage(t, a.TenantID, a.AdminToken, 3, "")
	second := e.employeePage(t, a.TenantID, a.AdminToken, 3, first.NextCursor)
	target := second.Employees[0]
	on := !target.Selected
	body := map[string]any{"deselect": []string{target.PersonioID}}
	if on {
		body = map[string]any{"select": []string{target.PersonioID}}
	}
	if r := e.do(t, "PUT", "/v1/tenants/"+a.TenantID+"/selection", a.AdminToken, body); r.Code != http.StatusOK {
		t.Fatalf("selection: %d %s", r.Code, r.Body)
	}
	if again := e.employeePage(t, a.TenantID, a.AdminToken, 3, first.NextCursor); again.Employees[0].Selected != on {
		t.Fatalf("the cached page shows %s selected=%v after the switch set it %v", target.PersonioID, again.Employees[0].Selected, on)
	}
	if got := reads(a.TenantID); got != [2]int{3, 3} {
		t.Fatalf("after a first page and two cursor pages: vendor reads %v, want [3 3]", got)
	}

	// After the minute, a cursor page reads again.
	wait(rosterTTL + time.Second)
	e.employeePage(t, a.TenantID, a.AdminToken, 3, first.NextCursor)
	e.employeePage(t, a.TenantID, a.AdminToken, 3, first.NextCursor)
	if got := reads(a.TenantID); got != [2]int{4, 4} {
		t.Fatalf("a cursor page after the roster expired: vendor reads %v, want [4 4]", got)
	}

	// New credentials (the same company, sealed anew): the roster read before is not served.
	first = e.employeePage(t, a.TenantID, a.AdminToken, 3, "")
	in := e.demoInput()
	delete(in, "name")
	if r := e.do(t, "PUT", "/v1/tenants/"+a.TenantID+"/credentials", a.AdminToken, in); r.Code != http.StatusOK {
		t.Fatalf("credentials: %d %s", r.Code, r.Body)
	}
	e.employeePage(t, a.TenantID, a.AdminToken, 3, first.NextCursor)
	if got := reads(a.TenantID); got != [2]int{6, 6} {
		t.Fatalf("a cursor page after a credentials change: vendor reads %v, want [6 6]", got)
	}

	// Another tenant's cursor page never uses this tenant's roster.
	b := e.createDemo(t)
	e.employeePage(t, b.TenantID, b.AdminToken, 3, first.NextCursor)
	if got := reads(b.TenantID); got != [2]int{1, 1} {
		t.Fatalf("tenant B's first cursor page: B's vendor reads %v, want [1 1] (its own read)", got)
	}
	if e.api.rosters.len() != 2 {
		t.Fatalf("rosters kept: %d, want one per tenant (2)", e.api.rosters.len())
	}
}

// TestRosterCacheBounds: one roster per tenant, a budget of records over all tenants
// (least recently used out first), no roster larger than the budget, a version and an
// age check on every read.
func TestRosterCacheBounds(t *testing.T) {
	ro := func(n int) roster {
		return roster{employees: make([]domain.Employee, n), users: make([]domain.User, n)}
	}
	now := time.Now()
	c := newRosterCache(time.Minute, 50)
	c.put("a", "v1", now, ro(10))
	c.put("b", "v1", now, ro(10))
	if _, ok := c.get("a", "v1", now); !ok { // a is now the most recently used
		t.Fatal("a's roster is missing")
	}
	c.put("c", "v1", now, ro(10)) // 60 records: b, the least recently used, goes
	if _, ok := c.get("b", "v1", now); ok {
		t.Error("b's roster survived past the budget")
	}
	if _, ok := c.get("a", "v1", now); !ok {
		t.Error("a's roster, used recently, was dropped")
	}
	if c.records != 40 || c.len() != 2 {
		t.Errorf("records %d in %d rosters, want 40 in 2", c.records, c.len())
	}
	c.put("a", "v1", now, ro(20)) // replaces a's (never two of one tenant); 60 records: c goes
	if _, ok := c.get("a", "v1", now); !ok || c.len() != 1 || c.records != 40 {
		t.Errorf("after replacing a's roster: kept %v, %d rosters of %d records, want a alone with 40", ok, c.len(), c.records)
	}
	c.put("big", "v1", now, ro(26)) // 52 records: more than the whole budget, not kept
	if _, ok := c.get("big", "v1", now); ok {
		t.Error("a roster larger than the budget was kept")
	}
	c.put("d", "v1", now, ro(5))
	if _, ok := c.get("d", "v2", now); ok {
		t.Error("a roster of another credentials version was served")
	}
	if _, ok := c.get("d", "v1", now); ok {
		t.Error("the roster of the old version was kept after a read under a new one")
	}
	c.put("e", "v1", now, ro(5))
	if _, ok := c.get("e", "v1", now.Add(time.Minute+time.Second)); ok {
		t.Error("an expired roster was served")
	}
	if _, ok := c.get("e", "v1", now); ok {
		t.Error("an expired roster was kept")
	}
}

// TestSwitchesOfAListedPageNeedNoVendorCall: the console sends the switches of employees
// it has just listed (one, or a thousand per request for "switch all shown"); each request
// looked them up in Personio (one call per id, or a listing of all employees for more than
// ten). Ids the roster read for that listing holds need no call; an id it lacks is looked
// up, so an unknown id is still a 422.
func TestSwitchesOfAListedPageNeedNoVendorCall(t *testing.T) {
	cv := countingVendors{mu: &sync.Mutex{}, reads: map[string]int{}}
	e := newEnv(t, func(o *Options) { cv.Vendors = o.Vendors; o.Vendors = cv })
	a := e.createDemo(t)
	calls := func() [2]int {
		return [2]int{cv.count(a.TenantID, domain.SystemPersonio), cv.count(a.TenantID, "personio lookup")}
	}
	put := func(body map[string]any) resp {
		return e.do(t, "PUT", "/v1/tenants/"+a.TenantID+"/selection", a.AdminToken, body)
	}
	page := e.employeePage(t, a.TenantID, a.AdminToken, 500, "")
	var ids []string
	for _, em := range page.Employees {
		ids = append(ids, em.PersonioID)
	}
	if len(ids) <= lookupByIDMax {
		t.Fatalf("the demo lists %d employees; the bulk case needs more than %d", len(ids), lookupByIDMax)
	}
	before := calls()
	if r := put(map[string]any{"select": ids[:1]}); r.Code != http.StatusOK {
		t.Fatalf("one switch: %d %s", r.Code, r.Body)
	}
	if r := put(map[string]any{"deselect": ids}); r.Code != http.StatusOK {
		t.Fatalf("all switches: %d %s", r.Code, r.Body)
	}
	if got := calls(); got != before {
		t.Fatalf("switches of listed employees: Personio reads and lookups %v → %v, want none", before, got)
	}
	r := put(map[string]any{"select": []string{ids[0], "999999"}})
	var got apiError
	r.json(t, &got)
	if r.Code != http.StatusUnprocessableEntity || got.Error.Code != "unknown_employees" || !strings.Contains(got.Error.Message, "999999") {
		t.Fatalf("an id the roster lacks: %d %s; want 422 unknown_employees naming it", r.Code, r.Body)
	}
	if got := calls(); got == before {
		t.Fatal("an id the roster lacks was not looked up in Personio")
	}
}
