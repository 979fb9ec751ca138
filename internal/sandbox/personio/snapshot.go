package personiosim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// The simulated company as data, so that `make run` keeps it across restarts: the
// mappings staffsync stored point at records that must still exist afterwards. Only the
// company is kept (credentials and their tokens, org units, attributes, time-off types,
// employees, periods, projects, webhooks and the id counters); recorded calls, webhook
// deliveries, faults, rate limits and latency are a process's own.

// snapshotVersion is the layout of Snapshot's JSON; Restore refuses others.
const snapshotVersion = 1

type snapshot struct {
	Version          int                `json:"version"`
	NextID           int64              `json:"next_id"`
	Credentials      []Credential       `json:"credentials"`
	Tokens           []snapshotToken    `json:"tokens,omitempty"`
	Offices          []OrgUnit          `json:"offices"`
	Departments      []OrgUnit          `json:"departments"`
	Teams            []OrgUnit          `json:"teams"`
	Subcompanies     []OrgUnit          `json:"subcompanies"`
	CustomAttributes []CustomAttribute  `json:"custom_attributes"`
	TimeOffTypes     []TimeOffType      `json:"time_off_types"`
	Employees        []snapshotEmployee `json:"employees"`
	Absences         []AbsencePeriod    `json:"absences"`
	Attendances      []AttendancePeriod `json:"attendances"`
	Projects         []Project          `json:"projects"`
	Webhooks         []Webhook          `json:"webhooks"`
	V1IDs            snapshotV1IDs      `json:"v1_ids"`
}

type snapshotToken struct {
	Token    string    `json:"token"`
	ClientID string    `json:"client_id"`
	Expires  time.Time `json:"expires"`
	Version  int       `json:"version"`
	// Key is the credential-token index entry that names this token ("" when none does).
	Key string `json:"key,omitempty"`
}

type snapshotEmployee struct {
	Employee
	AttrModified map[string]time.Time `json:"attr_modified,omitempty"`
}

type snapshotV1IDs struct {
	TimeOffs       map[string]int64 `json:"time_offs,omitempty"`
	Attendances    map[string]int64 `json:"attendances,omitempty"`
	Projects       map[string]int64 `json:"projects,omitempty"`
	NextTimeOff    int64            `json:"next_time_off"`
	NextAttendance int64            `json:"next_attendance"`
	NextProject    int64            `json:"next_project"`
}

// Snapshot returns the simulated company as JSON, for Restore into a new simulator.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{Version: snapshotVersion, NextID: s.nextID,
		Offices: units(s.offices), Departments: units(s.departments), Teams: units(s.teams), Subcompanies: units(s.subcompanies),
		CustomAttributes: s.customAttrs, TimeOffTypes: s.types,
		V1IDs: snapshotV1IDs{TimeOffs: s.v1ids.timeOffs, Attendances: s.v1ids.attendances, Projects: s.v1ids.projects,
			NextTimeOff: s.v1ids.nextTimeOff, NextAttendance: s.v1ids.nextAttendance, NextProject: s.v1ids.nextProj}}
	for _, c := range s.credentials {
		snap.Credentials = append(snap.Credentials, c)
	}
	keyOf := map[string]string{}
	for k, t := range s.credToken {
		keyOf[t] = k
	}
	for t, info := range s.tokens {
		snap.Tokens = append(snap.Tokens, snapshotToken{Token: t, ClientID: info.clientID, Expires: info.expires, Version: info.version, Key: keyOf[t]})
	}
	for _, id := range s.empOrder {
		if e := s.employees[id]; e != nil {
			snap.Employees = append(snap.Employees, snapshotEmployee{Employee: *e, AttrModified: e.attrModified})
		}
	}
	for _, id := range s.absOrder {
		if p := s.absences[id]; p != nil {
			snap.Absences = append(snap.Absences, *p)
		}
	}
	for _, id := range s.attOrder {
		if p := s.attendances[id]; p != nil {
			snap.Attendances = append(snap.Attendances, *p)
		}
	}
	for _, p := range s.projects {
		snap.Projects = append(snap.Projects, p)
	}
	for _, id := range s.whOrder {
		if w := s.webhooks[id]; w != nil {
			snap.Webhooks = append(snap.Webhooks, *w)
		}
	}
	return json.Marshal(snap)
}

func units(m map[int64]OrgUnit) []OrgUnit {
	out := make([]OrgUnit, 0, len(m))
	for _, u := range m {
		out = append(out, u)
	}
	return out
}

// Restore replaces the simulated company with one Snapshot returned. The id generator is
// seeded anew (from crypto/rand), so ids made after a restore do not repeat ids made
// before it. On an error nothing is changed.
func (s *Server) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("personiosim: restore: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("personiosim: restore: snapshot version %d, this simulator reads version %d", snap.Version, snapshotVersion)
	}
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rnd = mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	s.nextID = snap.NextID
	s.credentials, s.tokens, s.credToken = map[string]Credential{}, map[string]token{}, map[string]string{}
	for _, c := range snap.Credentials {
		s.credentials[c.ClientID] = c
	}
	for _, t := range snap.Tokens {
		s.tokens[t.Token] = token{clientID: t.ClientID, expires: t.Expires, version: t.Version}
		if t.Key != "" {
			s.credToken[t.Key] = t.Token
		}
	}
	s.offices, s.departments, s.teams, s.subcompanies = unitMap(snap.Offices), unitMap(snap.Departments), unitMap(snap.Teams), unitMap(snap.Subcompanies)
	s.customAttrs, s.types = snap.CustomAttributes, snap.TimeOffTypes
	s.employees, s.empOrder = map[int64]*Employee{}, nil
	for _, se := range snap.Employees {
		e := se.Employee
		e.attrModified = se.AttrModified
		if e.attrModified == nil {
			e.attrModified = map[string]time.Time{}
		}
		s.employees[e.ID] = &e
		s.empOrder = append(s.empOrder, e.ID)
	}
	s.absences, s.absOrder, s.absByPerson = map[string]*AbsencePeriod{}, nil, nil
	s.attendances, s.attOrder, s.attByPerson = map[string]*AttendancePeriod{}, nil, nil
	s.v1ids = v1IDs{nextTimeOff: snap.V1IDs.NextTimeOff, nextAttendance: snap.V1IDs.NextAttendance, nextProj: snap.V1IDs.NextProject}
	s.v1ids.timeOffs, s.v1ids.timeOffByID = idMaps(snap.V1IDs.TimeOffs)
	s.v1ids.attendances, s.v1ids.attendanceByID = idMaps(snap.V1IDs.Attendances)
	s.v1ids.projects, s.v1ids.projByID = idMaps(snap.V1IDs.Projects)
	for i := range snap.Absences {
		s.storeAbsence(&snap.Absences[i])
	}
	for i := range snap.Attendances {
		s.storeAttendance(&snap.Attendances[i])
	}
	s.projects = map[string]Project{}
	for _, p := range snap.Projects {
		s.projects[p.ID] = p
	}
	s.webhooks, s.whOrder = map[string]*Webhook{}, nil
	for i := range snap.Webhooks {
		w := snap.Webhooks[i]
		s.webhooks[w.ID] = &w
		s.whOrder = append(s.whOrder, w.ID)
	}
	return nil
}

func unitMap(us []OrgUnit) map[int64]OrgUnit {
	m := make(map[int64]OrgUnit, len(us))
	for _, u := range us {
		m[u.ID] = u
	}
	return m
}

// idMaps returns a v1 id map and its reverse (nil for none, as before the first id).
func idMaps(fwd map[string]int64) (map[string]int64, map[int64]string) {
	if fwd == nil {
		return nil, nil
	}
	back := make(map[int64]string, len(fwd))
	for k, v := range fwd {
		back[v] = k
	}
	return fwd, back
}
