package domain

import "testing"

// TestRunStatusHandled: a repeated delivery runs a failed or unfinished run again, never
// one that ended (succeeded, partially failed) or was skipped.
func TestRunStatusHandled(t *testing.T) {
	want := map[RunStatus][2]bool{ // {Done, Handled}
		RunQueued: {false, false}, RunRunning: {false, false}, RunSucceeded: {true, true},
		RunPartiallyFailed: {true, true}, RunFailed: {true, false}, RunSkipped: {true, true},
	}
	if len(want) != len(RunStatuses) {
		t.Fatalf("RunStatuses %v: the table misses one", RunStatuses)
	}
	for _, s := range RunStatuses {
		if got := [2]bool{s.Done(), s.Handled()}; got != want[s] {
			t.Errorf("%s: Done, Handled = %v, want %v", s, got, want[s])
		}
	}
}
