package domain

// Schedule is one line of the vendor's timetable (DESIGN §1.4): an EventBridge Scheduler
// cron expression, evaluated in the ScheduleTimezone stack parameter, that starts one phase
// in one mode for every tenant with background sync on.
type Schedule struct {
	// Name is the ScheduleV2 event's logical id in template.yaml.
	Name       string
	Expression string
	Phase      Phase
	Mode       Mode
}

// DefaultScheduleTimezone is the wall-clock zone the timetable is written in.
const DefaultScheduleTimezone = "Europe/Berlin"

// Timetable is declared once here. The template's ScheduleV2 events and the local runner's
// scheduler both follow it; a test fails when template.yaml and this list disagree.
// No expression fires in the 02:00–03:00 hour that daylight-saving changes skip or repeat.
var Timetable = []Schedule{
	{Name: "UsersFullDaily", Expression: "cron(0 5 * * ? *)", Phase: PhaseUsers, Mode: ModeFull},
	{Name: "WorkspacesFullDaily", Expression: "cron(15 5 * * ? *)", Phase: PhaseWorkspaces, Mode: ModeFull},
	{Name: "TimesheetsFullDaily", Expression: "cron(30 5 * * ? *)", Phase: PhaseTimesheets, Mode: ModeFull},
	{Name: "UsersPartial4h", Expression: "cron(0 0/4 * * ? *)", Phase: PhaseUsers, Mode: ModePartial},
	{Name: "AbsencesFullNightly", Expression: "cron(10 0 * * ? *)", Phase: PhaseAbsences, Mode: ModeFull},
	{Name: "AbsencesPartial4h", Expression: "cron(10 4/4 * * ? *)", Phase: PhaseAbsences, Mode: ModePartial},
	{Name: "TimesheetsPartial10m", Expression: "cron(0/10 6-23 * * ? *)", Phase: PhaseTimesheets, Mode: ModePartial},
}
