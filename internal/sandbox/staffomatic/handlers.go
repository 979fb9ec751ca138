package staffomaticsim

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
)

// sortByID returns the map's values ordered by id (the API's stable order [inf]).
func sortByID[T any](m map[int64]*T, id func(*T) int64, keep func(*T) bool) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		if keep == nil || keep(v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(x, y *T) int { return cmp.Compare(id(x), id(y)) })
	return out
}

func renderAll[T any](items []*T, r func(*T) obj) []obj {
	out := make([]obj, len(items))
	for i, v := range items {
		out[i] = r(v)
	}
	return out
}

// location checks the {lid} of a nested path; it answers 404 and returns false if unknown.
func (rc *reqCtx) location() (int64, bool) {
	lid, nested := rc.params["lid"]
	if !nested {
		return 0, true
	}
	if rc.a.locations[lid] == nil {
		rc.notFound("Location")
		return 0, false
	}
	return lid, true
}

// ---- account ----------------------------------------------------------------------------

func getAccount(rc *reqCtx) { rc.json(http.StatusOK, rc.a.renderAccount()) }

func updateAccount(rc *reqCtx) {
	if n, ok := rc.str("name"); ok && n != "" {
		rc.a.spec.Name = n
	}
	rc.a.updatedAt = rc.now
	rc.json(http.StatusOK, rc.a.renderAccount())
}

func getMe(rc *reqCtx) { rc.json(http.StatusOK, rc.a.renderUser(rc.me)) }

// ---- locations ---------------------------------------------------------------------------

func listLocations(rc *reqCtx) {
	items := sortByID(rc.a.locations, func(l *Location) int64 { return l.ID }, nil)
	rc.json(http.StatusOK, renderAll(page(rc, items), rc.a.renderLocation))
}

func getLocation(rc *reqCtx) {
	l := rc.a.locations[rc.params["lid"]]
	if l == nil {
		rc.notFound("Location")
		return
	}
	rc.json(http.StatusOK, rc.a.renderLocation(l))
}

// applyLocation copies the writable location fields of the body (the documented create
// body [doc]); it answers 422 and returns false on invalid values. Numbers may arrive as
// strings, as in the documented example ("slot_minutes": "30"). The ranges are [inf].
func (rc *reqCtx) applyLocation(l *Location) bool {
	if v, ok := rc.str("name"); ok {
		l.Name = strings.TrimSpace(v)
	}
	s := &l.Settings
	for _, f := range []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"first_day_of_week", &l.FirstDayOfWeek, 0, 6},
		{"slot_minutes", &s.SlotMinutes, 1, 24 * 60},
		{"min_time", &s.MinTime, 0, 24},
		{"max_time", &s.MaxTime, 0, 24},
		{"default_event_minutes", &s.DefaultEventMinutes, 1, 24 * 60},
	} {
		if !rc.has(f.key) {
			continue
		}
		n, ok := rc.int(f.key)
		if !ok {
			rc.invalid(f.key, "is not a number")
			return false
		}
		if n < int64(f.min) || n > int64(f.max) {
			rc.invalid(f.key, "is not included in the list")
			return false
		}
		*f.dst = int(n)
	}
	for k, dst := range map[string]*string{"default_view": &s.DefaultView, "manners_address": &s.MannersAddress, "users_sort_by": &s.UsersSortBy} {
		if v, ok := rc.str(k); ok && strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	for k, dst := range map[string]*bool{"show_event_header": &s.ShowEventHeader, "applications_visible": &s.ApplicationsVisible,
		"assignments_visible": &s.AssignmentsVisible, "allow_self_assign": &s.AllowSelfAssign, "swap_shifts": &s.SwapShifts,
		"notes_visible": &s.NotesVisible} {
		*dst = rc.bool(k, *dst)
	}
	if l.Name == "" {
		rc.invalid("name", "can't be blank")
		return false
	}
	// Location names are unique in an account, compared like the sync compares them:
	// trimmed and case-insensitive [inf].
	for _, o := range rc.a.locations {
		if o.ID != l.ID && strings.EqualFold(strings.TrimSpace(o.Name), l.Name) {
			rc.invalid("name", "has already been taken")
			return false
		}
	}
	return true
}

// createLocation is POST /locations [doc]: admins only (every write is), the body without
// a root element, answered with the location as GET renders it. The creator does not
// become a member: users join a location through its departments or at their creation.
func createLocation(rc *reqCtx) {
	l := &Location{FirstDayOfWeek: 1, Settings: DefaultLocationSettings(), CreatedAt: rc.now, UpdatedAt: rc.now}
	if !rc.applyLocation(l) {
		return
	}
	l.ID = rc.a.newID("location", 0)
	rc.a.locations[l.ID] = l
	rc.changed("location", "Location", l.ID, "created", ptr(l.ID))
	rc.json(http.StatusOK, rc.a.renderLocation(l))
}

// ---- users -------------------------------------------------------------------------------

// listUsers filters by state: active (default [inf]: not locked), locked, pending
// (invitation pending), unassigned (in no location), all.
func listUsers(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	depts, ok := rc.idList("department_ids")
	if !ok {
		return
	}
	state := rc.query().Get("state")
	if state == "" {
		state = "active"
	}
	keep := func(u *User) bool {
		if lid != 0 && !slices.Contains(u.LocationIDs, lid) {
			return false
		}
		if depts != nil && !slices.ContainsFunc(u.DepartmentIDs, func(d int64) bool { return depts[d] }) {
			return false
		}
		switch state {
		case "all":
			return true
		case "locked":
			return u.LockedAt != nil
		case "pending":
			return u.InvitationState == "pending"
		case "unassigned":
			return len(u.LocationIDs) == 0
		default:
			return u.LockedAt == nil
		}
	}
	switch state {
	case "all", "active", "locked", "pending", "unassigned":
	default:
		rc.fail(http.StatusBadRequest, "unknown state "+state)
		return
	}
	if lid == 0 && depts == nil && state == "all" {
		keep = nil
	}
	rc.json(http.StatusOK, renderAll(pageOf(rc, rc.a.sortedUsers, keep), rc.a.renderUser))
}

func (rc *reqCtx) user() *User {
	lid, ok := rc.location()
	if !ok {
		return nil
	}
	u := rc.a.users[rc.params["id"]]
	if u == nil || (lid != 0 && !slices.Contains(u.LocationIDs, lid)) {
		rc.notFound("User")
		return nil
	}
	return u
}

func getUser(rc *reqCtx) {
	if u := rc.user(); u != nil {
		rc.json(http.StatusOK, rc.a.renderUser(u))
	}
}

// applyUser copies the writable user fields of the body; it answers 422 and returns
// false on invalid values.
func (rc *reqCtx) applyUser(u *User) bool {
	for k, dst := range map[string]*string{"first_name": &u.FirstName, "last_name": &u.LastName,
		"locale": &u.Locale, "custom_id": &u.CustomID} {
		if v, ok := rc.str(k); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	if v, ok := rc.str("role"); ok {
		switch v {
		case "admin", "manager", "staff":
			u.Role = v
		default:
			rc.invalid("role", "is not included in the list")
			return false
		}
	}
	if v, ok := rc.str("email"); ok {
		v = strings.TrimSpace(v)
		if v != "" {
			if !strings.Contains(v, "@") {
				rc.invalid("email", "is invalid")
				return false
			}
			if o := rc.a.userByEmail(v); o != nil && o.ID != u.ID {
				rc.invalid("email", "has already been taken")
				return false
			}
		}
		u.Email = v
	}
	for k, dst := range map[string]**float64{"max_vacation_days": &u.MaxVacationDays, "max_hours_per_month": &u.MaxHoursPerMonth} {
		if _, present := rc.body[k]; present {
			f, ok := rc.float(k)
			if !ok {
				rc.invalid(k, "is not a number")
				return false
			}
			*dst = f
		}
	}
	if _, present := rc.body["department_ids"]; present {
		ds, ok := rc.ids("department_ids")
		if !ok {
			rc.invalid("department_ids", "is invalid")
			return false
		}
		for _, d := range ds {
			dep := rc.a.departments[d]
			if dep == nil {
				rc.invalid("department_ids", "contains an unknown department")
				return false
			}
			// Department members belong to the department's location [inf].
			if !slices.Contains(u.LocationIDs, dep.LocationID) {
				u.LocationIDs = append(u.LocationIDs, dep.LocationID)
			}
		}
		slices.Sort(ds)
		u.DepartmentIDs = slices.Compact(ds)
	}
	return true
}

func (rc *reqCtx) invite(u *User) bool {
	if u.Email == "" {
		rc.invalid("email", "can't be blank")
		return false
	}
	u.InvitationState = "pending"
	u.InvitedByID = ptr(rc.me.ID)
	rc.a.invitations = append(rc.a.invitations, Invitation{UserID: u.ID, Email: u.Email, InvitedBy: rc.me.ID, At: rc.now})
	return true
}

func createUser(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	u := &User{Role: "staff", Locale: rc.a.spec.Locale, CreatedAt: rc.now, UpdatedAt: rc.now}
	if lid != 0 {
		u.LocationIDs = []int64{lid}
	}
	if !rc.applyUser(u) {
		return
	}
	if u.FirstName == "" && u.LastName == "" && u.Email == "" {
		rc.invalid("first_name", "can't be blank")
		return
	}
	do := rc.do()
	if do != "" && do != "send_invitation" {
		rc.invalid("do", "is not a valid action")
		return
	}
	u.ID = rc.a.newID("user", 0)
	if do == "send_invitation" && !rc.invite(u) {
		return
	}
	rc.a.users[u.ID] = u
	rc.changed("user", "User", u.ID, "created", nil)
	rc.json(http.StatusOK, rc.a.renderUser(u))
}

func updateUser(rc *reqCtx) {
	u := rc.user()
	if u == nil {
		return
	}
	next := cloneUser(u)
	action := "updated"
	switch do := rc.do(); do {
	case "":
		if !rc.applyUser(&next) {
			return
		}
	case "lock":
		if next.LockedAt == nil {
			next.LockedAt = ptr(rc.now)
		}
		action = "locked"
	case "unlock":
		next.LockedAt = nil
		action = "unlocked"
	case "send_invitation":
		// Documented only on create; accepted on update as well [inf].
		if !rc.applyUser(&next) || !rc.invite(&next) {
			return
		}
		action = "invited"
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	next.UpdatedAt = rc.now
	*u = next
	rc.changed("user", "User", u.ID, action, nil)
	rc.json(http.StatusOK, rc.a.renderUser(u))
}

func deleteUser(rc *reqCtx) {
	u := rc.user()
	if u == nil {
		return
	}
	if u.ID == rc.a.ownerID {
		rc.fail(http.StatusForbidden, "The account owner cannot be deleted.")
		return
	}
	delete(rc.a.users, u.ID)
	rc.changed("user", "User", u.ID, "destroyed", nil)
	rc.noContent()
}

// ---- departments ---------------------------------------------------------------------------

func listDepartments(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	items := sortByID(rc.a.departments, func(d *Department) int64 { return d.ID },
		func(d *Department) bool { return lid == 0 || d.LocationID == lid })
	rc.json(http.StatusOK, renderAll(page(rc, items), rc.a.renderDepartment))
}

func (rc *reqCtx) department() *Department {
	lid, ok := rc.location()
	if !ok {
		return nil
	}
	d := rc.a.departments[rc.params["id"]]
	if d == nil || (lid != 0 && d.LocationID != lid) {
		rc.notFound("Department")
		return nil
	}
	return d
}

func getDepartment(rc *reqCtx) {
	if d := rc.department(); d != nil {
		rc.json(http.StatusOK, rc.a.renderDepartment(d))
	}
}

func (rc *reqCtx) applyDepartment(d *Department) bool {
	if v, ok := rc.str("name"); ok {
		d.Name = strings.TrimSpace(v)
	}
	if v, ok := rc.str("color"); ok && v != "" {
		d.Color = strings.TrimPrefix(v, "#")
	}
	if _, present := rc.body["position"]; present {
		if n, ok := rc.int("position"); ok {
			d.Position = ptr(int(n))
		} else {
			d.Position = nil
		}
	}
	if d.Name == "" {
		rc.invalid("name", "can't be blank")
		return false
	}
	return true
}

func createDepartment(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	d := &Department{LocationID: lid, Color: "c4a5c8", CreatorID: ptr(rc.me.ID), CreatedAt: rc.now, UpdatedAt: rc.now}
	if !rc.applyDepartment(d) {
		return
	}
	d.ID = rc.a.newID("department", 0)
	rc.a.departments[d.ID] = d
	rc.changed("department", "Department", d.ID, "created", ptr(lid))
	rc.json(http.StatusOK, rc.a.renderDepartment(d))
}

func updateDepartment(rc *reqCtx) {
	d := rc.department()
	if d == nil {
		return
	}
	next := *d
	if !rc.applyDepartment(&next) {
		return
	}
	next.UpdatedAt = rc.now
	*d = next
	rc.changed("department", "Department", d.ID, "updated", ptr(d.LocationID))
	rc.json(http.StatusOK, rc.a.renderDepartment(d))
}

func (rc *reqCtx) departmentMembers(add bool) {
	d := rc.department()
	if d == nil {
		return
	}
	us, ok := rc.ids("user_ids")
	if !ok || us == nil {
		rc.invalid("user_ids", "must be a list of user ids")
		return
	}
	for _, id := range us {
		if rc.a.users[id] == nil {
			rc.invalid("user_ids", "contains an unknown user")
			return
		}
	}
	for _, id := range us {
		u := rc.a.users[id]
		has := slices.Contains(u.DepartmentIDs, d.ID)
		switch {
		case add && !has:
			u.DepartmentIDs = append(u.DepartmentIDs, d.ID)
			if !slices.Contains(u.LocationIDs, d.LocationID) {
				u.LocationIDs = append(u.LocationIDs, d.LocationID)
			}
		case !add && has:
			u.DepartmentIDs = slices.DeleteFunc(u.DepartmentIDs, func(x int64) bool { return x == d.ID })
		default:
			continue
		}
		u.UpdatedAt = rc.now
		rc.changed("user", "User", u.ID, "updated", ptr(d.LocationID))
	}
	d.UpdatedAt = rc.now
	rc.json(http.StatusOK, rc.a.renderDepartment(d))
}

func departmentAddUsers(rc *reqCtx)    { rc.departmentMembers(true) }
func departmentRemoveUsers(rc *reqCtx) { rc.departmentMembers(false) }

func deleteDepartment(rc *reqCtx) {
	d := rc.department()
	if d == nil {
		return
	}
	for _, u := range rc.a.users {
		u.DepartmentIDs = slices.DeleteFunc(u.DepartmentIDs, func(x int64) bool { return x == d.ID })
	}
	delete(rc.a.departments, d.ID)
	rc.changed("department", "Department", d.ID, "destroyed", ptr(d.LocationID))
	rc.noContent()
}

// ---- absence types ------------------------------------------------------------------------

func listAbsenceTypes(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	items := sortByID(rc.a.absenceTypes, func(t *AbsenceType) int64 { return t.ID },
		func(t *AbsenceType) bool { return lid == 0 || t.LocationID == lid })
	rc.json(http.StatusOK, renderAll(page(rc, items), rc.a.renderAbsenceType))
}

func (rc *reqCtx) absenceType() *AbsenceType {
	lid, ok := rc.location()
	if !ok {
		return nil
	}
	t := rc.a.absenceTypes[rc.params["id"]]
	if t == nil || (lid != 0 && t.LocationID != lid) {
		rc.notFound("AbsenceType")
		return nil
	}
	return t
}

func getAbsenceType(rc *reqCtx) {
	if t := rc.absenceType(); t != nil {
		rc.json(http.StatusOK, rc.a.renderAbsenceType(t))
	}
}

func (rc *reqCtx) applyAbsenceType(t *AbsenceType) bool {
	if v, ok := rc.str("name"); ok {
		t.Name = strings.TrimSpace(v)
	}
	if v, ok := rc.str("color"); ok && v != "" {
		t.Color = strings.TrimPrefix(v, "#")
	}
	if v, ok := rc.str("visibility"); ok {
		if v != "staff" && v != "schedulers" {
			rc.invalid("visibility", "is not included in the list")
			return false
		}
		t.Visibility = v
	}
	t.UserSelectable = rc.bool("user_selectable", t.UserSelectable)
	t.IncludeWeekends = rc.bool("include_weekends", t.IncludeWeekends)
	if t.Name == "" {
		rc.invalid("name", "can't be blank")
		return false
	}
	return true
}

func createAbsenceType(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	// Defaults as recorded: schedulers-only, weekends included.
	t := &AbsenceType{LocationID: lid, Color: "749ec1", Visibility: "schedulers", IncludeWeekends: true, CreatedAt: rc.now, UpdatedAt: rc.now}
	if !rc.applyAbsenceType(t) {
		return
	}
	t.ID = rc.a.newID("absence_type", 0)
	rc.a.absenceTypes[t.ID] = t
	rc.changed("absence_type", "AbsenceType", t.ID, "created", ptr(lid))
	rc.json(http.StatusOK, rc.a.renderAbsenceType(t))
}

func updateAbsenceType(rc *reqCtx) {
	t := rc.absenceType()
	if t == nil {
		return
	}
	next := *t
	if !rc.applyAbsenceType(&next) {
		return
	}
	// The 2017 recording shows updated_at unchanged by a no-op update; we only touch it
	// when something changed.
	if next != *t {
		next.UpdatedAt = rc.now
	}
	*t = next
	rc.json(http.StatusOK, rc.a.renderAbsenceType(t))
}

// deleteAbsenceType also deletes every absence of the type [help].
func deleteAbsenceType(rc *reqCtx) {
	t := rc.absenceType()
	if t == nil {
		return
	}
	for id, x := range rc.a.absences {
		if x.AbsenceTypeID == t.ID {
			delete(rc.a.absences, id)
			rc.changed("absence", "Absence", id, "destroyed", x.LocationID)
		}
	}
	delete(rc.a.absenceTypes, t.ID)
	rc.changed("absence_type", "AbsenceType", t.ID, "destroyed", ptr(t.LocationID))
	rc.noContent()
}
