package absencesync

import (
	"slices"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// TestPrunable: only a mapping that counts for nothing (deleted, no copy named, no report,
// no failure) and was last written before the window's start may be removed.
func TestPrunable(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, recent := start.AddDate(-1, 0, 0), start.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		m      domain.Mapping
		before time.Time
		want   bool
	}{
		{"deleted before the window", domain.Mapping{State: domain.StateDeleted, UpdatedAt: old}, start, true},
		{"deleted in the window", domain.Mapping{State: domain.StateDeleted, UpdatedAt: recent}, start, false},
		{"no window given", domain.Mapping{State: domain.StateDeleted, UpdatedAt: old}, time.Time{}, false},
		{"deleted, copy still named", domain.Mapping{State: domain.StateDeleted, TargetIDs: []string{"1"}, UpdatedAt: old}, start, false},
		{"deleted with a report", domain.Mapping{State: domain.StateDeleted, Reported: "fp", UpdatedAt: old}, start, false},
		{"deleted with failures counted", domain.Mapping{State: domain.StateDeleted, Attempts: 1, LastError: "x", UpdatedAt: old}, start, false},
		{"deleted with a hash", domain.Mapping{State: domain.StateDeleted, Hash: "removal", UpdatedAt: old}, start, false},
		{"pending (a create may have landed)", domain.Mapping{State: domain.StatePending, UpdatedAt: old}, start, false},
		{"failed", domain.Mapping{State: domain.StateFailed, UpdatedAt: old}, start, false},
		{"given up", domain.Mapping{State: domain.StateGaveUp, TargetIDs: []string{"1"}, UpdatedAt: old}, start, false},
		{"transferred", domain.Mapping{State: domain.StateTransferred, TargetIDs: []string{"1"}, UpdatedAt: old}, start, false},
		{"reported", domain.Mapping{State: domain.StateReported, Reported: "fp", UpdatedAt: old}, start, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prunable(tc.m, tc.before); got != tc.want {
				t.Errorf("Prunable = %t, want %t", got, tc.want)
			}
		})
	}
}

// TestPlanPrunesOnlyInAFullRun: the plan lists the prunable mappings in a full run, never
// one whose source it acts on (a period deleted long ago that is back), and none in a
// partial run.
func TestPlanPrunesOnlyInAFullRun(t *testing.T) {
	now := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := start.AddDate(-2, 0, 0)
	in := Input{Leading: domain.SystemPersonio, Now: now, Location: time.UTC, PruneBefore: start,
		Types:      []AbsenceType{{ID: "t-vac", Name: "Urlaub", Unit: UnitDay}},
		Categories: []Category{{ID: "c1", Name: "Urlaub", LocationID: "l1"}},
		People:     []Person{{PersonioID: "1", UserID: "u1", Name: "Ada", LocationID: "l1"}},
		Periods:    []Period{{ID: "back", PersonID: "1", TypeID: "t-vac", Start: now, End: &now, Status: ApprovalApproved}},
		Mappings: []domain.Mapping{
			{SourceID: "personio/back", State: domain.StateDeleted, UpdatedAt: old},
			{SourceID: "personio/long-gone", State: domain.StateDeleted, UpdatedAt: old},
			{SourceID: "personio/recent", State: domain.StateDeleted, UpdatedAt: start.Add(time.Hour)},
		}}
	for _, tc := range []struct {
		name string
		full bool
		want []string
	}{{"full", true, []string{"personio/long-gone"}}, {"partial", false, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Full, in.TargetsRead = tc.full, !tc.full
			p := Compute(in)
			if c := p.Count(); c[ActCreate] != 1 {
				t.Fatalf("actions %v, want the period back created", c)
			}
			if !slices.Equal(p.Prune, tc.want) {
				t.Errorf("prune %q, want %q", p.Prune, tc.want)
			}
		})
	}
}
