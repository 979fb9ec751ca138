package staffomaticsim

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Rendering follows the field order and types of the 2017 recordings; fields documented
// later (2018 docs: device_type, application_* on timers) are added after them.

func (a *account) ts(t time.Time) string { return t.In(a.loc).Format(time.RFC3339) }

func (a *account) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return a.ts(*t)
}

func nullable[T comparable](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (a *account) renderAccount() obj {
	tt := "1"
	if a.spec.NoTimeTracking {
		tt = "0"
	}
	wh := "0"
	if a.spec.Webhooks {
		wh = "1"
	}
	active := 0
	for _, u := range a.users {
		if u.LockedAt == nil {
			active++
		}
	}
	return obj{
		{"created_at", a.ts(a.createdAt)}, {"updated_at", a.ts(a.updatedAt)}, {"id", a.id},
		{"name", a.spec.Name}, {"subdomain", a.spec.Subdomain}, {"domain", "staffomatic.com"},
		{"time_zone", a.spec.TimeZone}, {"locations_count", len(a.locations)}, {"active_users_count", active},
		{"shift_categories_count", 0}, {"assigments_visible_for_staff", false}, {"first_day_of_week", 1},
		{"format_24_hour_time", true}, {"date_format", "%d.%m.%Y"}, {"reports_editable_for_staff", false},
		{"logo", "https://api.staffomaticapp.com/assets/images/missing/account.png"}, {"locale", a.spec.Locale},
		{"plan_id", 110}, {"lockdown_reason", nil}, {"dunning_level", nil},
		{"trial_until", a.createdAt.In(a.loc).AddDate(0, 1, 0).Format(time.DateOnly)},
		{"billing_subscribed", true}, {"account_owner_id", a.ownerID}, {"billing_subscribed_at", nil},
		{"customer_number", "EP-" + itoa(2645380+a.id)}, {"subscription_id", nil}, {"customer_id", fmt.Sprintf("%032x", a.id)},
		{"url", "https://" + a.spec.Subdomain + ".staffomatic.app"}, {"redirect_to_url", "staffomatic.app"},
		{"industry_type", nil}, {"conversations", "0"}, {"live_editing", "0"}, {"webhooks", wh},
		{"endlessscroll", "0"}, {"time_tracking", tt},
		{"timetracking_trial_until", a.ts(a.createdAt.AddDate(0, 0, 14))},
		{"timetracking_canceled_at", nil}, {"timetracking_subscribed_at", nil}, {"upgrade_until", nil},
	}
}

func (a *account) locationUserIDs(lid int64) []int64 {
	a.buildMembers()
	return ids(a.m().locMembers[lid])
}

func (a *account) renderLocation(l *Location) obj {
	members := a.locationUserIDs(l.ID)
	active, depts := 0, a.m().locDepts[l.ID]
	for _, id := range members {
		if a.users[id].LockedAt == nil {
			active++
		}
	}
	s := l.settings()
	return obj{
		{"created_at", a.ts(l.CreatedAt)}, {"updated_at", a.ts(l.UpdatedAt)}, {"id", l.ID}, {"name", l.Name},
		{"logo", "https://api.staffomaticapp.com/assets/images/missing/location.png"},
		{"first_day_of_week", l.FirstDayOfWeek}, {"slot_minutes", s.SlotMinutes}, {"min_time", s.MinTime}, {"max_time", s.MaxTime},
		{"default_view", s.DefaultView}, {"default_event_minutes", s.DefaultEventMinutes}, {"show_event_header", s.ShowEventHeader},
		{"applications_visible", s.ApplicationsVisible}, {"assignments_visible", s.AssignmentsVisible}, {"allow_self_assign", s.AllowSelfAssign},
		{"swap_shifts", s.SwapShifts}, {"manners_address", s.MannersAddress}, {"users_sort_by", s.UsersSortBy},
		{"notes_visible", s.NotesVisible}, {"active_users_count", active}, {"department_count", depts}, {"user_ids", members},
	}
}

func (a *account) renderDepartment(d *Department) obj {
	members := a.departmentMemberIDs(d.ID)
	return obj{
		{"created_at", a.ts(d.CreatedAt)}, {"updated_at", a.ts(d.UpdatedAt)}, {"id", d.ID}, {"name", d.Name},
		{"color", d.Color}, {"location_id", d.LocationID}, {"position", nullable(d.Position)},
		{"creator_id", nullable(d.CreatorID)}, {"user_ids", ids(members)},
	}
}

func (a *account) renderUser(u *User) obj {
	var email any = u.Email
	if u.Email == "" {
		email = nil
	}
	return obj{
		{"created_at", a.ts(u.CreatedAt)}, {"updated_at", a.ts(u.UpdatedAt)}, {"id", u.ID},
		{"email", email}, {"first_name", u.FirstName}, {"last_name", u.LastName}, {"locale", u.Locale},
		{"role", u.Role}, {"image", "https://api.staffomaticapp.com/assets/images/missing/user.png"},
		{"phone_number_mobile", nil}, {"phone_number_office", nil}, {"company", nil}, {"street", nil},
		{"additional_street", nil}, {"zip", nil}, {"city", nil}, {"country", nil},
		{"max_vacation_days", nullable(u.MaxVacationDays)}, {"comments_count", 0}, {"attachments_count", 0},
		{"commentable", true}, {"attachable", true}, {"approved_absences_hours", a.approvedHours(u.ID)},
		{"max_hours_per_month", nullable(u.MaxHoursPerMonth)}, {"department_ids", ids(slices.Sorted(slices.Values(u.DepartmentIDs)))},
		{"locked_at", a.tsp(u.LockedAt)}, {"invited_by_id", nullable(u.InvitedByID)},
		{"invitation_state", nullStr(u.InvitationState)}, {"custom_id", nullStr(u.CustomID)},
	}
}

// approvedHours sums the approved absences of a user in hours, like approved_absences_hours.
func (a *account) approvedHours(uid int64) float64 {
	return float64(a.approvedSeconds(uid)) / 3600
}

func (a *account) renderAbsenceType(t *AbsenceType) obj {
	return obj{
		{"created_at", a.ts(t.CreatedAt)}, {"updated_at", a.ts(t.UpdatedAt)}, {"id", t.ID},
		{"visibility", t.Visibility}, {"name", t.Name}, {"color", t.Color}, {"user_selectable", t.UserSelectable},
		{"location_id", t.LocationID}, {"include_weekends", t.IncludeWeekends},
	}
}

// absenceDuration is adjusted_duration: as sent by the client, else whole days × 86400
// for all-day absences (weekends excluded unless included), else the seconds between
// start and end. The 2017 recordings agree: three weekdays gave 259200, eight days 691200.
func (a *account) absenceDuration(x *Absence) int64 {
	if x.AdjustedDuration != nil {
		return *x.AdjustedDuration
	}
	if !x.AllDay {
		return int64(x.EndsAt.Sub(x.StartsAt).Seconds())
	}
	var days int64
	s, e := x.StartsAt.In(a.loc), x.EndsAt.In(a.loc)
	for d := time.Date(s.Year(), s.Month(), s.Day(), 12, 0, 0, 0, a.loc); !d.After(e); d = d.AddDate(0, 0, 1) {
		if !x.IncludeWeekends && (d.Weekday() == time.Saturday || d.Weekday() == time.Sunday) {
			continue
		}
		days++
	}
	return days * 86400
}

func (a *account) renderAbsence(x *Absence) obj {
	return obj{
		{"created_at", a.ts(x.CreatedAt)}, {"updated_at", a.ts(x.UpdatedAt)}, {"id", x.ID},
		{"starts_at", a.ts(x.StartsAt)}, {"ends_at", a.ts(x.EndsAt)}, {"processed_at", a.tsp(x.ProcessedAt)},
		{"paid", x.Paid}, {"vacation", x.Vacation}, {"state", x.State}, {"include_weekends", x.IncludeWeekends},
		{"comments_count", 0}, {"attachments_count", 0}, {"commentable", x.Commentable}, {"attachable", x.Attachable},
		{"all_day", x.AllDay}, {"justification", x.Justification}, {"last_updated_by_id", nullable(x.LastUpdatedByID)},
		{"adjusted_duration", a.absenceDuration(x)}, {"comment_ids", []int64{}}, {"attachment_ids", []int64{}},
		{"applicant_id", x.ApplicantID}, {"handler_id", nullable(x.HandlerID)}, {"location_id", nullable(x.LocationID)},
		{"absence_type_id", x.AbsenceTypeID},
	}
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

func (a *account) breakDuration(b *BreakTimer) int64 {
	if b.EndsAt == nil {
		return 0
	}
	return secs(b.EndsAt.Sub(b.StartsAt))
}

// durations computes duration (gross), break_duration and net_duration in seconds.
func (a *account) durations(t *WorkTimer) (int64, int64, int64) {
	var gross int64
	if t.EndsAt != nil {
		gross = secs(t.EndsAt.Sub(t.StartsAt))
	}
	brk := secs(t.LumpBreak)
	for _, b := range a.breaksOf(t.ID) {
		brk += a.breakDuration(b)
	}
	net := gross - brk
	if t.EndsAt == nil || net < 0 {
		net = 0
	}
	return gross, brk, net
}

func (a *account) renderWorkTimer(t *WorkTimer) obj {
	g, b, n := a.durations(t)
	return obj{
		{"created_at", a.ts(t.CreatedAt)}, {"updated_at", a.ts(t.UpdatedAt)}, {"id", t.ID}, {"user_id", t.UserID},
		{"location_id", nullable(t.LocationID)}, {"updated_by_id", nullable(t.UpdatedByID)},
		{"created_by_id", nullable(t.CreatedByID)}, {"state", t.State}, {"duration", g}, {"break_duration", b},
		{"net_duration", n}, {"starts_at", a.ts(t.StartsAt)}, {"ends_at", a.tsp(t.EndsAt)},
		{"application_starts_at", nil}, {"application_ends_at", nil}, {"application_intermission", nil},
		{"work_report_id", t.WorkReportID}, {"application_id", nil}, {"device_type", nullStr(t.DeviceType)},
	}
}

func (a *account) renderBreakTimer(b *BreakTimer) obj {
	return obj{
		{"created_at", a.ts(b.CreatedAt)}, {"updated_at", a.ts(b.UpdatedAt)}, {"id", b.ID}, {"user_id", b.UserID},
		{"updated_by_id", nullable(b.UpdatedByID)}, {"created_by_id", nullable(b.CreatedByID)},
		{"duration", a.breakDuration(b)}, {"starts_at", a.ts(b.StartsAt)}, {"work_timer_id", b.WorkTimerID},
		{"ends_at", a.tsp(b.EndsAt)}, {"device_type", nullStr(b.DeviceType)},
	}
}

func (a *account) renderWorkReport(r *WorkReport) obj {
	var total, brk, net int64
	updated := r.UpdatedAt
	for _, t := range a.timersOf(r.ID) {
		g, b, n := a.durations(t)
		total, brk, net = total+g, brk+b, net+n
		if t.UpdatedAt.After(updated) {
			updated = t.UpdatedAt
		}
	}
	end := r.StartsAt.AddDate(0, 0, 7).Add(-time.Second)
	return obj{
		{"created_at", a.ts(r.CreatedAt)}, {"updated_at", a.ts(updated)}, {"id", r.ID}, {"user_id", r.UserID},
		{"starts_at", a.ts(r.StartsAt)}, {"ends_at", a.ts(end)}, {"cached_break_duration", brk},
		{"cached_total_duration", total}, {"cached_net_duration", net}, {"cached_planned_break_duration", 0},
		{"cached_planned_total_duration", 0}, {"cached_planned_net_duration", 0},
	}
}

func (a *account) renderEvent(e *Event) obj {
	return obj{
		{"created_at", a.ts(e.CreatedAt)}, {"updated_at", a.ts(e.CreatedAt)}, {"id", e.ID},
		{"eventable_id", e.EventableID}, {"eventable_type", e.EventableType}, {"type", e.Type},
		{"creator_id", nullable(e.CreatorID)}, {"description", e.Description}, {"changes", obj{}},
		{"location_id", nullable(e.LocationID)},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
