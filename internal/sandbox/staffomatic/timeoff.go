package staffomaticsim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// ---- absences -----------------------------------------------------------------------------

// listAbsences filters: user_ids[], absence_type_id[], state[] (or state=, as recorded),
// paid=true, vacation=true, and from/until selecting absences that overlap the window.
func listAbsences(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	from, until, ok := rc.window()
	if !ok {
		return
	}
	users, ok := rc.idList("user_ids")
	if !ok {
		return
	}
	types, ok := rc.idList("absence_type_id")
	if !ok {
		return
	}
	if more, ok2 := rc.idList("absence_type_ids"); !ok2 {
		return
	} else if more != nil {
		if types == nil {
			types = map[int64]bool{}
		}
		for k := range more {
			types[k] = true
		}
	}
	states := rc.list("state")
	paid := rc.query().Get("paid") == "true"
	vacation := rc.query().Get("vacation") == "true"
	keep := func(x *Absence) bool {
		switch {
		case lid != 0 && (x.LocationID == nil || *x.LocationID != lid):
			return false
		case users != nil && !users[x.ApplicantID]:
			return false
		case types != nil && !types[x.AbsenceTypeID]:
			return false
		case len(states) > 0 && !slices.Contains(states, x.State):
			return false
		case paid && !x.Paid, vacation && !x.Vacation:
			return false
		case !from.IsZero() && x.EndsAt.Before(from):
			return false
		case !until.IsZero() && x.StartsAt.After(until):
			return false
		}
		return true
	}
	if lid == 0 && users == nil && types == nil && len(states) == 0 && !paid && !vacation && from.IsZero() && until.IsZero() {
		keep = nil
	}
	all := rc.a.sortedAbsences
	if users != nil {
		all = func() []*Absence { return rc.a.absencesOf(users) }
	}
	rc.json(http.StatusOK, renderAll(pageOf(rc, all, keep), rc.a.renderAbsence))
}

func (rc *reqCtx) absence() *Absence {
	lid, ok := rc.location()
	if !ok {
		return nil
	}
	x := rc.a.absences[rc.params["id"]]
	if x == nil || (lid != 0 && (x.LocationID == nil || *x.LocationID != lid)) {
		rc.notFound("Absence")
		return nil
	}
	return x
}

func getAbsence(rc *reqCtx) {
	if x := rc.absence(); x != nil {
		rc.json(http.StatusOK, rc.a.renderAbsence(x))
	}
}

// applyAbsence copies the writable fields and validates the result.
func (rc *reqCtx) applyAbsence(x *Absence) bool {
	for _, k := range []string{"starts_at", "ends_at"} {
		t, present, valid := rc.time(k)
		if !valid {
			rc.invalid(k, "is not a valid time")
			return false
		}
		if present {
			if k == "starts_at" {
				x.StartsAt = t
			} else {
				x.EndsAt = t
			}
		}
	}
	if rc.has("applicant_id") {
		id, _ := rc.int("applicant_id")
		x.ApplicantID = id
	}
	if rc.has("absence_type_id") {
		id, _ := rc.int("absence_type_id")
		x.AbsenceTypeID = id
	}
	x.Paid = rc.bool("paid", x.Paid)
	x.Vacation = rc.bool("vacation", x.Vacation)
	x.IncludeWeekends = rc.bool("include_weekends", x.IncludeWeekends)
	x.AllDay = rc.bool("all_day", x.AllDay)
	x.Commentable = rc.bool("commentable", x.Commentable)
	x.Attachable = rc.bool("attachable", x.Attachable)
	if v, ok := rc.str("justification"); ok {
		x.Justification = v
	}
	if _, present := rc.body["adjusted_duration"]; present {
		if n, ok := rc.int("adjusted_duration"); ok {
			x.AdjustedDuration = ptr(n)
		} else {
			x.AdjustedDuration = nil
		}
	}
	switch {
	case rc.a.users[x.ApplicantID] == nil:
		rc.invalid("applicant", "must exist")
		return false
	case rc.a.absenceTypes[x.AbsenceTypeID] == nil:
		rc.invalid("absence_type", "must exist")
		return false
	case x.StartsAt.IsZero():
		rc.invalid("starts_at", "can't be blank")
		return false
	case x.EndsAt.IsZero():
		rc.invalid("ends_at", "can't be blank")
		return false
	}
	if x.AllDay {
		x.StartsAt, x.EndsAt = rc.a.allDay(x.StartsAt, x.EndsAt)
	}
	if x.EndsAt.Before(x.StartsAt) {
		rc.invalid("ends_at", "must be after starts_at")
		return false
	}
	return true
}

// createAbsence stores a new request. The creator becomes handler_id and
// last_updated_by_id, as recorded; location_id is the nested path's location, or null on
// the flat path (recorded).
func createAbsence(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	x := &Absence{State: StateNew, Commentable: true, Attachable: true, CreatedAt: rc.now, UpdatedAt: rc.now,
		HandlerID: ptr(rc.me.ID), LastUpdatedByID: ptr(rc.me.ID)}
	if lid != 0 {
		x.LocationID = ptr(lid)
	}
	if !rc.applyAbsence(x) {
		return
	}
	if d := rc.do(); d != "" {
		rc.invalid("do", "is not allowed on create")
		return
	}
	x.ID = rc.a.newID("absence", 0)
	rc.a.absences[x.ID] = x
	rc.changed("absence", "Absence", x.ID, "created", x.LocationID)
	rc.json(http.StatusOK, rc.a.renderAbsence(x))
}

// updateAbsence approves, declines, or edits a new absence. Processed absences are
// immutable [doc]; the answer is 422 [inf].
func updateAbsence(rc *reqCtx) {
	x := rc.absence()
	if x == nil {
		return
	}
	if x.State != StateNew {
		rc.invalid("state", "is "+x.State+": processed absences cannot be changed")
		return
	}
	next := *x
	action := "updated"
	switch do := rc.do(); do {
	case "approve", "decline":
		// handle_applications: destroy would delete shift assignments; the simulator
		// has no shifts, so there is nothing to delete.
		if v, ok := rc.str("handle_applications"); ok && v != "" && v != "destroy" && v != "keep" {
			rc.invalid("handle_applications", "is not a valid option")
			return
		}
		next.State = map[string]string{"approve": StateApproved, "decline": StateDeclined}[do]
		next.ProcessedAt = ptr(rc.now)
		next.HandlerID = ptr(rc.me.ID)
		action = next.State
	case "":
		if !rc.applyAbsence(&next) {
			return
		}
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	next.LastUpdatedByID = ptr(rc.me.ID)
	next.UpdatedAt = rc.now
	*x = next
	rc.changed("absence", "Absence", x.ID, action, x.LocationID)
	rc.json(http.StatusOK, rc.a.renderAbsence(x))
}

func deleteAbsence(rc *reqCtx) {
	x := rc.absence()
	if x == nil {
		return
	}
	delete(rc.a.absences, x.ID)
	rc.changed("absence", "Absence", x.ID, "destroyed", x.LocationID)
	rc.noContent()
}

// ---- work timers -----------------------------------------------------------------------------

// overlaps reports whether [s, e] (e nil: still running) meets the window.
func overlaps(s time.Time, e *time.Time, from, until time.Time) bool {
	if !until.IsZero() && s.After(until) {
		return false
	}
	if !from.IsZero() && e != nil && e.Before(from) {
		return false
	}
	return true
}

func listWorkTimers(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	from, until, ok := rc.window()
	if !ok {
		return
	}
	users, ok := rc.idList("user_ids")
	if !ok {
		return
	}
	keep := func(t *WorkTimer) bool {
		return (lid == 0 || (t.LocationID != nil && *t.LocationID == lid)) &&
			(users == nil || users[t.UserID]) && overlaps(t.StartsAt, t.EndsAt, from, until)
	}
	if lid == 0 && users == nil && from.IsZero() && until.IsZero() {
		keep = nil
	}
	all := rc.a.sortedWorkTimers
	if users != nil {
		all = func() []*WorkTimer { return rc.a.workTimersOf(users) }
	}
	rc.json(http.StatusOK, renderAll(pageOf(rc, all, keep), rc.a.renderWorkTimer))
}

func (rc *reqCtx) workTimer(key string) *WorkTimer {
	t := rc.a.workTimers[rc.params[key]]
	if t == nil {
		rc.notFound("WorkTimer")
	}
	return t
}

func getWorkTimer(rc *reqCtx) {
	if t := rc.workTimer("id"); t != nil {
		rc.json(http.StatusOK, rc.a.renderWorkTimer(t))
	}
}

func (rc *reqCtx) applyTimes(s *time.Time, e **time.Time) bool {
	if t, present, valid := rc.time("starts_at"); !valid {
		rc.invalid("starts_at", "is not a valid time")
		return false
	} else if present {
		*s = t
	}
	if t, present, valid := rc.time("ends_at"); !valid {
		rc.invalid("ends_at", "is not a valid time")
		return false
	} else if present {
		*e = ptr(t)
	}
	if *e != nil && (*e).Before(*s) {
		rc.invalid("ends_at", "must be after starts_at")
		return false
	}
	return true
}

// createWorkTimer: {user_id, starts_at, ends_at} stores a finished (stopped) entry;
// {user_id, do: start[, starts_at]} checks in (running) [doc][rec].
func createWorkTimer(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	uid, _ := rc.int("user_id")
	if rc.a.users[uid] == nil {
		rc.invalid("user", "must exist")
		return
	}
	t := &WorkTimer{UserID: uid, CreatedAt: rc.now, UpdatedAt: rc.now, CreatedByID: ptr(rc.me.ID), UpdatedByID: ptr(rc.me.ID)}
	if lid != 0 {
		t.LocationID = ptr(lid)
	} else if n, ok := rc.int("location_id"); ok && rc.a.locations[n] != nil {
		t.LocationID = ptr(n)
	}
	if v, ok := rc.str("device_type"); ok {
		t.DeviceType = v
	}
	if !rc.applyTimes(&t.StartsAt, &t.EndsAt) {
		return
	}
	switch rc.do() {
	case "start":
		if t.StartsAt.IsZero() {
			t.StartsAt = rc.now
		}
		t.EndsAt, t.State = nil, TimerRunning
	case "":
		if t.StartsAt.IsZero() || t.EndsAt == nil {
			rc.invalid("ends_at", "can't be blank (or send do: start)")
			return
		}
		t.State = TimerStopped
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	t.ID = rc.a.newID("work_timer", 0)
	t.WorkReportID = rc.a.reportFor(uid, t.StartsAt, 0, rc.now)
	rc.a.workTimers[t.ID] = t
	rc.changed("work_timer", "WorkTimer", t.ID, "created", t.LocationID)
	rc.json(http.StatusOK, rc.a.renderWorkTimer(t))
}

// updateWorkTimer: do: stop (running → stopped; also stops a running break), do: verify
// (stopped → verified), or field edits (allowed in every state [inf]; there is no
// documented unverify).
func updateWorkTimer(rc *reqCtx) {
	t := rc.workTimer("id")
	if t == nil {
		return
	}
	next := *t
	action := "updated"
	switch rc.do() {
	case "stop":
		if t.State != TimerRunning {
			rc.invalid("state", "is "+t.State+": only running timers can be stopped")
			return
		}
		end := rc.now
		if v, present, valid := rc.time("ends_at"); !valid {
			rc.invalid("ends_at", "is not a valid time")
			return
		} else if present {
			end = v
		}
		if end.Before(t.StartsAt) {
			rc.invalid("ends_at", "must be after starts_at")
			return
		}
		next.EndsAt, next.State, action = ptr(end), TimerStopped, "stopped"
		for _, b := range rc.a.breakTimers {
			if b.WorkTimerID == t.ID && b.EndsAt == nil {
				b.EndsAt, b.UpdatedAt = ptr(end), rc.now
			}
		}
	case "verify":
		if t.State == TimerRunning {
			rc.invalid("state", "is running: stop the timer before verifying it")
			return
		}
		next.State, action = TimerVerified, "verified"
	case "":
		if !rc.applyTimes(&next.StartsAt, &next.EndsAt) {
			return
		}
		if next.EndsAt != nil && next.State == TimerRunning {
			next.State = TimerStopped
		}
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	next.UpdatedAt, next.UpdatedByID = rc.now, ptr(rc.me.ID)
	*t = next
	rc.changed("work_timer", "WorkTimer", t.ID, action, t.LocationID)
	rc.json(http.StatusOK, rc.a.renderWorkTimer(t))
}

func deleteWorkTimer(rc *reqCtx) {
	t := rc.workTimer("id")
	if t == nil {
		return
	}
	for id, b := range rc.a.breakTimers {
		if b.WorkTimerID == t.ID {
			delete(rc.a.breakTimers, id)
		}
	}
	delete(rc.a.workTimers, t.ID)
	rc.changed("work_timer", "WorkTimer", t.ID, "destroyed", t.LocationID)
	rc.noContent()
}

// ---- break timers -------------------------------------------------------------------------

func listBreakTimers(rc *reqCtx) {
	wid, nested := rc.params["wid"]
	if nested && rc.workTimer("wid") == nil {
		return
	}
	from, until, ok := rc.window()
	if !ok {
		return
	}
	users, ok := rc.idList("user_ids")
	if !ok {
		return
	}
	keep := func(b *BreakTimer) bool {
		return (!nested || b.WorkTimerID == wid) && (users == nil || users[b.UserID]) && overlaps(b.StartsAt, b.EndsAt, from, until)
	}
	all := rc.a.sortedBreakTimers
	switch {
	case nested:
		all = func() []*BreakTimer { return rc.a.breaksOf(wid) }
	case users != nil:
		all = func() []*BreakTimer { return rc.a.breakTimersOf(users) }
	}
	if users == nil && from.IsZero() && until.IsZero() {
		keep = nil // the nested candidates are the work timer's breaks already
	}
	rc.json(http.StatusOK, renderAll(pageOf(rc, all, keep), rc.a.renderBreakTimer))
}

func getBreakTimer(rc *reqCtx) {
	b := rc.a.breakTimers[rc.params["id"]]
	if b == nil {
		rc.notFound("BreakTimer")
		return
	}
	rc.json(http.StatusOK, rc.a.renderBreakTimer(b))
}

func (rc *reqCtx) touchTimer(t *WorkTimer) {
	t.UpdatedAt, t.UpdatedByID = rc.now, ptr(rc.me.ID)
	rc.changed("work_timer", "WorkTimer", t.ID, "updated", t.LocationID)
}

func createBreakTimer(rc *reqCtx) {
	wid, nested := rc.params["wid"]
	if !nested {
		wid, _ = rc.int("work_timer_id")
	}
	t := rc.a.workTimers[wid]
	if t == nil {
		if nested {
			rc.notFound("WorkTimer")
		} else {
			rc.invalid("work_timer", "must exist")
		}
		return
	}
	b := &BreakTimer{WorkTimerID: t.ID, UserID: t.UserID, CreatedAt: rc.now, UpdatedAt: rc.now, CreatedByID: ptr(rc.me.ID), UpdatedByID: ptr(rc.me.ID)}
	if v, ok := rc.str("device_type"); ok {
		b.DeviceType = v
	}
	if !rc.applyTimes(&b.StartsAt, &b.EndsAt) {
		return
	}
	switch rc.do() {
	case "start":
		if b.StartsAt.IsZero() {
			b.StartsAt = rc.now
		}
		b.EndsAt = nil
	case "":
		if b.StartsAt.IsZero() || b.EndsAt == nil {
			rc.invalid("ends_at", "can't be blank (or send do: start)")
			return
		}
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	b.ID = rc.a.newID("break_timer", 0)
	rc.a.breakTimers[b.ID] = b
	rc.touchTimer(t)
	rc.json(http.StatusOK, rc.a.renderBreakTimer(b))
}

func updateBreakTimer(rc *reqCtx) {
	b := rc.a.breakTimers[rc.params["id"]]
	if b == nil {
		rc.notFound("BreakTimer")
		return
	}
	next := *b
	switch rc.do() {
	case "stop":
		if b.EndsAt != nil {
			rc.invalid("state", "is stopped")
			return
		}
		next.EndsAt = ptr(rc.now)
		if v, present, valid := rc.time("ends_at"); valid && present {
			next.EndsAt = ptr(v)
		}
	case "":
		if !rc.applyTimes(&next.StartsAt, &next.EndsAt) {
			return
		}
	default:
		rc.invalid("do", "is not a valid action")
		return
	}
	next.UpdatedAt, next.UpdatedByID = rc.now, ptr(rc.me.ID)
	*b = next
	if t := rc.a.workTimers[b.WorkTimerID]; t != nil {
		rc.touchTimer(t)
	}
	rc.json(http.StatusOK, rc.a.renderBreakTimer(b))
}

func deleteBreakTimer(rc *reqCtx) {
	b := rc.a.breakTimers[rc.params["id"]]
	if b == nil {
		rc.notFound("BreakTimer")
		return
	}
	delete(rc.a.breakTimers, b.ID)
	if t := rc.a.workTimers[b.WorkTimerID]; t != nil {
		rc.touchTimer(t)
	}
	rc.noContent()
}

// ---- work reports --------------------------------------------------------------------------

func listWorkReports(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	keep := func(r *WorkReport) bool {
		if lid == 0 {
			return true
		}
		u := rc.a.users[r.UserID]
		return u != nil && slices.Contains(u.LocationIDs, lid)
	}
	if lid == 0 {
		keep = nil
	}
	rc.json(http.StatusOK, renderAll(pageOf(rc, rc.a.sortedWorkReports, keep), rc.a.renderWorkReport))
}

func getWorkReport(rc *reqCtx) {
	r := rc.a.workReports[rc.params["id"]]
	if r == nil {
		rc.notFound("WorkReport")
		return
	}
	rc.json(http.StatusOK, rc.a.renderWorkReport(r))
}

// ---- events ----------------------------------------------------------------------------

// listEvents: without delivery_state=all only the events the current user has not read
// are returned, and returning them marks them read [inf: the docs call them "unread"].
// Filters: from/until on created_at, user_id (creator), event_type[] (record kind).
func listEvents(rc *reqCtx) {
	lid, ok := rc.location()
	if !ok {
		return
	}
	from, until, ok := rc.window()
	if !ok {
		return
	}
	all := rc.query().Get("delivery_state") == "all"
	var creator int64
	// stable: the filter is the same for every page (several user_id values pick one
	// at random for each request, so pages of such a list cannot reuse page starts).
	stable := all
	if v := rc.query().Get("user_id"); v != "" {
		m, ok := rc.idList("user_id")
		if !ok {
			return
		}
		for k := range m {
			creator = k
		}
		stable = stable && len(m) <= 1
	}
	kinds := rc.list("event_type")
	keep := func(e *Event) bool {
		switch {
		case lid != 0 && (e.LocationID == nil || *e.LocationID != lid):
			return false
		case !all && e.readBy[rc.me.ID]:
			return false
		case !from.IsZero() && e.CreatedAt.Before(from):
			return false
		case !until.IsZero() && e.CreatedAt.After(until):
			return false
		case creator != 0 && (e.CreatorID == nil || *e.CreatorID != creator):
			return false
		case len(kinds) > 0 && !slices.Contains(kinds, snake(e.EventableType)):
			return false
		}
		return true
	}
	var items []*Event
	if stable {
		if lid == 0 && from.IsZero() && until.IsZero() && creator == 0 && len(kinds) == 0 {
			keep = nil
		}
		items = pageOf(rc, rc.a.sortedEvents, keep)
	} else {
		// Unread events (reading marks them read, so what a page keeps changes with every
		// read) or a random creator: page starts cannot be reused; filter every time.
		items = page(rc, filtered(rc.a.sortedEvents(), keep))
	}
	if !all {
		for _, e := range items {
			e.readBy[rc.me.ID] = true
		}
	}
	rc.json(http.StatusOK, renderAll(items, rc.a.renderEvent))
}

func snake(camel string) string {
	var b strings.Builder
	for i, r := range camel {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// changed records an event and, for users, absences and timers, a webhook hint.
func (rc *reqCtx) changed(kind, eventable string, id int64, action string, loc *int64) {
	a := rc.a
	a.invalidate()
	eid := a.newID("event", 0)
	verb := map[string]string{"created": "created", "destroyed": "deleted"}[action]
	if verb == "" {
		verb = action
	}
	a.events[eid] = &Event{
		ID: eid, Type: kind + "_" + action + "_event", EventableType: eventable, EventableID: id,
		CreatorID: ptr(rc.me.ID), LocationID: loc, CreatedAt: rc.now, readBy: map[int64]bool{},
		Description: "<strong class='creator'>" + htmlEscape(rc.me.FirstName+" "+rc.me.LastName) + "</strong> " +
			verb + " the " + strings.ReplaceAll(kind, "_", " ") + " <strong class='eventable-type'>#" + itoa(id) + "</strong>",
	}
	switch kind {
	case "user", "absence", "work_timer":
		rc.hints = append(rc.hints, hint{kind: kind, id: id, action: action})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&quot;").Replace(s)
}
