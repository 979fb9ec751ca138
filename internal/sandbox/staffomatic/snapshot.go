package staffomaticsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// The simulated accounts as data, so that `make run` keeps them across restarts: the
// mappings staffsync stored point at users, absences and timers that must still exist
// afterwards. Recorded calls, faults, rate-limit windows and webhook deliveries are a
// process's own and are not kept; derived indexes (sign-in cache, memo, weekly reports by
// user) are rebuilt as they are used.

// snapshotVersion is the layout of Snapshot's JSON; Restore refuses others.
const snapshotVersion = 1

type snapshot struct {
	Version  int               `json:"version"`
	Accounts []snapshotAccount `json:"accounts"`
}

type snapshotAccount struct {
	Spec         AccountSpec      `json:"spec"`
	ID           int64            `json:"id"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	OwnerID      int64            `json:"owner_id"`
	NextID       map[string]int64 `json:"next_id"`
	Locations    []Location       `json:"locations"`
	Users        []User           `json:"users"`
	Departments  []Department     `json:"departments"`
	AbsenceTypes []AbsenceType    `json:"absence_types"`
	Absences     []Absence        `json:"absences"`
	WorkTimers   []WorkTimer      `json:"work_timers"`
	BreakTimers  []BreakTimer     `json:"break_timers"`
	WorkReports  []WorkReport     `json:"work_reports"`
	Events       []snapshotEvent  `json:"events"`
	Tokens       map[string]int64 `json:"tokens,omitempty"`
	Invitations  []Invitation     `json:"invitations,omitempty"`
	HookURL      string           `json:"hook_url,omitempty"`
	HookSecret   []byte           `json:"hook_secret,omitempty"`
}

type snapshotEvent struct {
	Event
	ReadBy []int64 `json:"read_by,omitempty"`
}

// Snapshot returns every account as JSON, for Restore into a new simulator.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{Version: snapshotVersion}
	for _, a := range s.accounts {
		sa := snapshotAccount{Spec: a.spec, ID: a.id, CreatedAt: a.createdAt, UpdatedAt: a.updatedAt, OwnerID: a.ownerID,
			NextID: a.nextID, Tokens: a.tokens, Invitations: a.invitations, HookURL: a.hookURL, HookSecret: a.hookSecret,
			Locations: values(a.locations), Users: values(a.users), Departments: values(a.departments), AbsenceTypes: values(a.absenceTypes),
			Absences: values(a.absences), WorkTimers: values(a.workTimers), BreakTimers: values(a.breakTimers), WorkReports: values(a.workReports)}
		for _, e := range a.events {
			se := snapshotEvent{Event: *e}
			for id, read := range e.readBy {
				if read {
					se.ReadBy = append(se.ReadBy, id)
				}
			}
			sa.Events = append(sa.Events, se)
		}
		snap.Accounts = append(snap.Accounts, sa)
	}
	return json.Marshal(snap)
}

func values[T any](m map[int64]*T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	return out
}

// Restore replaces every account with the ones Snapshot returned. On an error nothing is
// changed.
func (s *Server) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("staffomaticsim: restore: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("staffomaticsim: restore: snapshot version %d, this simulator reads version %d", snap.Version, snapshotVersion)
	}
	accounts := make(map[string]*account, len(snap.Accounts))
	for _, sa := range snap.Accounts {
		loc, err := time.LoadLocation(sa.Spec.TimeZone)
		if err != nil {
			return fmt.Errorf("staffomaticsim: restore account %q: time zone: %w", sa.Spec.Subdomain, err)
		}
		a := &account{spec: sa.Spec, id: sa.ID, loc: loc, createdAt: sa.CreatedAt, updatedAt: sa.UpdatedAt, ownerID: sa.OwnerID,
			nextID: sa.NextID, tokens: sa.Tokens, invitations: sa.Invitations, hookURL: sa.HookURL, hookSecret: sa.HookSecret,
			locations:    byID(sa.Locations, func(v *Location) int64 { return v.ID }),
			users:        byID(sa.Users, func(v *User) int64 { return v.ID }),
			departments:  byID(sa.Departments, func(v *Department) int64 { return v.ID }),
			absenceTypes: byID(sa.AbsenceTypes, func(v *AbsenceType) int64 { return v.ID }),
			absences:     byID(sa.Absences, func(v *Absence) int64 { return v.ID }),
			workTimers:   byID(sa.WorkTimers, func(v *WorkTimer) int64 { return v.ID }),
			breakTimers:  byID(sa.BreakTimers, func(v *BreakTimer) int64 { return v.ID }),
			workReports:  byID(sa.WorkReports, func(v *WorkReport) int64 { return v.ID }),
			events:       map[int64]*Event{},
		}
		if a.nextID == nil {
			a.nextID = map[string]int64{}
		}
		if a.tokens == nil {
			a.tokens = map[string]int64{}
		}
		for _, se := range sa.Events {
			e := se.Event
			e.readBy = map[int64]bool{}
			for _, id := range se.ReadBy {
				e.readBy[id] = true
			}
			a.events[e.ID] = &e
		}
		accounts[sa.Spec.Subdomain] = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts, s.rl = accounts, map[string]*window{}
	return nil
}

func byID[T any](vs []T, id func(*T) int64) map[int64]*T {
	m := make(map[int64]*T, len(vs))
	for i := range vs {
		m[id(&vs[i])] = &vs[i]
	}
	return m
}
