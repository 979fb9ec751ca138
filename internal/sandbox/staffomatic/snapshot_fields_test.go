package staffomaticsim

import (
	"reflect"
	"testing"
)

// TestSnapshotCoversTheModel fails when an account gains state that Snapshot neither
// keeps nor deliberately leaves out: `make run` would lose it on a restart. A new field
// goes into snapshot.go (Snapshot and Restore) or, if it is derived or a process's own,
// into the left-out list with the reason.
func TestSnapshotCoversTheModel(t *testing.T) {
	check := func(rt reflect.Type, kept []string, leftOut map[string]string) {
		known := map[string]bool{}
		for _, f := range kept {
			known[f] = true
		}
		for f := range leftOut {
			known[f] = true
		}
		for i := range rt.NumField() {
			if name := rt.Field(i).Name; !known[name] {
				t.Errorf("%s.%s is neither kept by Snapshot nor listed as left out: add it to snapshot.go", rt.Name(), name)
			}
		}
	}
	check(reflect.TypeFor[Server](), []string{"accounts"}, map[string]string{
		"inflight": "requests of this process", "mu": "lock", "cfg": "configuration", "calls": "inspection of this process",
		"faults": "test injection", "rl": "rate-limit windows of this process", "hooks": "hints in flight",
		"deliveryMu": "lock", "deliveries": "inspection of this process",
	})
	check(reflect.TypeFor[account](), []string{"spec", "id", "loc", "createdAt", "updatedAt", "ownerID", "nextID", "locations", "users",
		"departments", "absenceTypes", "absences", "workTimers", "breakTimers", "workReports", "events", "tokens", "invitations", "hookURL", "hookSecret"},
		map[string]string{"signIn": "cache, rebuilt on sign-in", "memo": "cache, rebuilt on use", "reports": "index, rebuilt on use"})
	// The records are kept as JSON: an unexported field of theirs would be lost.
	handled := map[string]bool{"Event.readBy": true}
	for _, v := range []any{Location{}, User{}, Department{}, AbsenceType{}, Absence{}, WorkTimer{}, BreakTimer{}, WorkReport{}, Event{}, Invitation{}, AccountSpec{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			if !f.IsExported() && !handled[rt.Name()+"."+f.Name] {
				t.Errorf("%s.%s is not exported, so Snapshot's JSON loses it: keep it in snapshot.go", rt.Name(), f.Name)
			}
		}
	}
}
