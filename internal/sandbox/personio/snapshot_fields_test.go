package personiosim

import (
	"reflect"
	"testing"
)

// TestSnapshotCoversTheModel fails when the simulator gains state that Snapshot neither
// keeps nor deliberately leaves out: `make run` would lose it on a restart. A new field
// goes into snapshot.go (Snapshot and Restore) or, if it is a process's own, into the
// left-out list with the reason.
func TestSnapshotCoversTheModel(t *testing.T) {
	kept := []string{"rnd", "credentials", "tokens", "credToken", "nextID", "offices", "departments", "teams", "subcompanies",
		"customAttrs", "types", "employees", "empOrder", "absences", "absOrder", "attendances", "attOrder", "projects", "webhooks", "whOrder", "v1ids"}
	leftOut := map[string]string{
		"cfg": "configuration of the process", "mux": "routes", "log": "logger", "mu": "lock", "pending": "deliveries in flight",
		"inflight":   "requests being answered (Quiesce)",
		"deliveries": "inspection of this process", "calls": "inspection of this process", "faults": "test injection", "limits": "rate limits pace this process",
		"latency": "test configuration", "absByPerson": "index rebuilt by Restore", "attByPerson": "index rebuilt by Restore",
	}
	known := map[string]bool{}
	for _, f := range kept {
		known[f] = true
	}
	for f := range leftOut {
		known[f] = true
	}
	st := reflect.TypeFor[Server]()
	for i := range st.NumField() {
		if name := st.Field(i).Name; !known[name] {
			t.Errorf("Server.%s is neither kept by Snapshot nor listed as left out: add it to snapshot.go", name)
		}
	}
	// The records are kept as JSON: an unexported field of theirs would be lost.
	handled := map[string]bool{"Employee.attrModified": true}
	for _, v := range []any{Employee{}, AbsencePeriod{}, AttendancePeriod{}, Webhook{}, TimeOffType{}, Credential{}, Project{}, OrgUnit{}, CustomAttribute{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			if !f.IsExported() && !handled[rt.Name()+"."+f.Name] {
				t.Errorf("%s.%s is not exported, so Snapshot's JSON loses it: keep it in snapshot.go", rt.Name(), f.Name)
			}
		}
	}
}
