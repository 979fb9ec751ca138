package personiosim

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// ErrNotFound is returned by seeding methods for unknown ids.
var ErrNotFound = errors.New("personiosim: not found")

// AddCredential registers an API credential (v1 and v2 accept the same one).
func (s *Server) AddCredential(c Credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credentials[c.ClientID] = c
}

// SetAttributeWhitelist replaces the readable employee attributes of a
// credential (nil = all). Tokens already issued see the change at once.
func (s *Server) SetAttributeWhitelist(clientID string, attributes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.credentials[clientID]
	if !ok {
		return fmt.Errorf("credential %q: %w", clientID, ErrNotFound)
	}
	c.Attributes = attributes
	s.credentials[clientID] = c
	return nil
}

// AddOffice adds an office and returns its id.
func (s *Server) AddOffice(name string) int64 { return s.addUnit(s.offices, name) }

// AddDepartment adds a department and returns its id.
func (s *Server) AddDepartment(name string) int64 { return s.addUnit(s.departments, name) }

// AddTeam adds a team and returns its id.
func (s *Server) AddTeam(name string) int64 { return s.addUnit(s.teams, name) }

// AddSubcompany adds a subcompany (Staffomatic "company") and returns its id.
func (s *Server) AddSubcompany(name string) int64 { return s.addUnit(s.subcompanies, name) }

func (s *Server) addUnit(m map[int64]OrgUnit, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	m[id] = OrgUnit{ID: id, Name: name}
	return id
}

// AddCustomAttribute defines a custom employee attribute and returns it with
// its key ("dynamic_<n>") filled in. Type defaults to "standard".
func (s *Server) AddCustomAttribute(a CustomAttribute) CustomAttribute {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Key = "dynamic_" + strconv.FormatInt(s.id(), 10)
	if a.Type == "" {
		a.Type = "standard"
	}
	s.customAttrs = append(s.customAttrs, a)
	return a
}

// AddTimeOffType adds an absence type; ID and IDv2 are assigned when zero.
// Unit defaults to "day".
func (s *Server) AddTimeOffType(t TimeOffType) TimeOffType {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == 0 {
		t.ID = s.id()
	}
	if t.IDv2 == "" {
		t.IDv2 = s.uuid()
	}
	if t.Unit == "" {
		t.Unit = "day"
	}
	s.types = append(s.types, t)
	return t
}

// AddProject adds a v2 project and returns its id.
func (s *Server) AddProject(name string, active bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.uuid()
	s.projects[id] = Project{ID: id, Name: name, Active: active}
	s.v1ids.project(id)
	return id
}

// AddEmployee adds an employee and returns it with defaults filled in (ID,
// status active, employment type internal, timestamps = now). It fires a
// person.created webhook when one is registered.
func (s *Server) AddEmployee(e Employee) Employee {
	s.mu.Lock()
	now := s.cfg.Now()
	if e.ID == 0 {
		e.ID = s.id()
	}
	if e.Status == "" {
		e.Status = "active"
	}
	if e.EmploymentType == "" {
		e.EmploymentType = "internal"
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.ModifiedAt.IsZero() {
		e.ModifiedAt = e.CreatedAt
	}
	e.Entitlements = maps.Clone(e.Entitlements)
	e.Custom = maps.Clone(e.Custom)
	e.attrModified = map[string]time.Time{}
	for k := range s.renderAttributes(&e) {
		e.attrModified[k] = e.ModifiedAt
	}
	cp := e
	s.employees[e.ID] = &cp
	s.empOrder = append(s.empOrder, e.ID)
	s.mu.Unlock()
	s.emit("person.created", strconv.FormatInt(e.ID, 10))
	return e
}

// UpdateEmployee changes an employee in place (as an HR admin would),
// stamps last_modified_at and the changed attributes with the clock, and
// fires person.updated.
func (s *Server) UpdateEmployee(id int64, change func(*Employee)) error {
	s.mu.Lock()
	e, ok := s.employees[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("employee %d: %w", id, ErrNotFound)
	}
	before := s.renderAttributes(e)
	change(e)
	e.ID = id
	now := s.cfg.Now()
	e.ModifiedAt = now
	after := s.renderAttributes(e)
	for k, v := range after {
		if k == "last_modified_at" {
			continue
		}
		if !reflect.DeepEqual(before[k], v) {
			e.attrModified[k] = now
		}
	}
	e.attrModified["last_modified_at"] = now
	s.mu.Unlock()
	s.emit("person.updated", strconv.FormatInt(id, 10))
	return nil
}

// AddAbsencePeriod stores an absence period as-is (no validation: seeding may
// create states the API would refuse). ID, status (APPROVED), time zone and
// timestamps are filled in when empty.
func (s *Server) AddAbsencePeriod(p AbsencePeriod) AbsencePeriod {
	s.mu.Lock()
	now := s.cfg.Now()
	if p.ID == "" {
		p.ID = s.uuid()
	}
	if p.Status == "" {
		p.Status = StatusApproved
	}
	if p.TimezoneID == "" {
		p.TimezoneID = "Europe/Berlin"
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	cp := p
	s.storeAbsence(&cp)
	s.mu.Unlock()
	s.emit("absence-period.created", p.ID)
	return p
}

// AddAttendancePeriod stores an attendance period as-is. ID, type (WORK),
// status (CONFIRMED) and timestamps are filled in when empty.
func (s *Server) AddAttendancePeriod(p AttendancePeriod) AttendancePeriod {
	s.mu.Lock()
	now := s.cfg.Now()
	if p.ID == "" {
		p.ID = s.uuid()
	}
	if p.Type == "" {
		p.Type = "WORK"
	}
	if p.Status == "" {
		p.Status = StatusConfirmed
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	cp := p
	s.storeAttendance(&cp)
	s.mu.Unlock()
	s.emit("attendance-period.created", p.ID)
	return p
}

// UpdateAttendancePeriodEnd moves the end of an attendance period, as an HR admin editing
// it in Personio would, and fires attendance-period.updated.
func (s *Server) UpdateAttendancePeriodEnd(id string, end time.Time) error {
	s.mu.Lock()
	p, ok := s.attendances[id]
	if ok {
		e := end
		p.End, p.UpdatedAt = &e, s.cfg.Now()
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("attendance period %s: %w", id, ErrNotFound)
	}
	s.emit("attendance-period.updated", id)
	return nil
}

// SetAbsenceStatus changes the approval status of an absence period, as an
// approver in Personio would, and fires absence-period.updated.status.
func (s *Server) SetAbsenceStatus(id, status string) error {
	s.mu.Lock()
	p, ok := s.absences[id]
	if ok {
		p.Status = status
		p.UpdatedAt = s.cfg.Now()
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("absence period %s: %w", id, ErrNotFound)
	}
	s.emit("absence-period.updated.status", id)
	return nil
}

// RemoveAbsencePeriod deletes an absence period, as an HR admin deleting it in Personio
// would, and fires absence-period.deleted.
func (s *Server) RemoveAbsencePeriod(id string) error {
	s.mu.Lock()
	_, ok := s.absences[id]
	delete(s.absences, id)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("absence period %s: %w", id, ErrNotFound)
	}
	s.emit("absence-period.deleted", id)
	return nil
}

// AddWebhook registers a webhook directly (as if created via POST
// /v2/webhooks). Status defaults to ENABLED, AuthType to TOKEN when a token
// is set, else NONE.
func (s *Server) AddWebhook(wh Webhook) Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wh.ID == "" {
		wh.ID = s.uuid()
	}
	if wh.Status == "" {
		wh.Status = "ENABLED"
	}
	if wh.AuthType == "" {
		wh.AuthType = "NONE"
		if wh.Token != "" {
			wh.AuthType = "TOKEN"
		}
	}
	if wh.CreatedAt.IsZero() {
		wh.CreatedAt = s.cfg.Now()
	}
	cp := wh
	s.webhooks[wh.ID] = &cp
	s.whOrder = append(s.whOrder, wh.ID)
	return wh
}

// ---- inspection ----

// Employees returns copies of all employees in insertion order.
func (s *Server) Employees() []Employee {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Employee, 0, len(s.empOrder))
	for _, id := range s.empOrder {
		out = append(out, *s.employees[id])
	}
	return out
}

// Employee returns one employee.
func (s *Server) Employee(id int64) (Employee, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.employees[id]
	if !ok {
		return Employee{}, false
	}
	return *e, true
}

// TimeOffTypes returns all absence types.
func (s *Server) TimeOffTypes() []TimeOffType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.types)
}

// Offices, Departments, Teams and Subcompanies return the org units sorted by id.
func (s *Server) Offices() []OrgUnit      { return s.units(s.offices) }
func (s *Server) Departments() []OrgUnit  { return s.units(s.departments) }
func (s *Server) Teams() []OrgUnit        { return s.units(s.teams) }
func (s *Server) Subcompanies() []OrgUnit { return s.units(s.subcompanies) }

func (s *Server) units(m map[int64]OrgUnit) []OrgUnit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b OrgUnit) int { return int(a.ID - b.ID) })
	return out
}

// CustomAttributes returns the defined custom attributes.
func (s *Server) CustomAttributes() []CustomAttribute {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.customAttrs)
}

// AbsencePeriods returns copies of all stored absence periods in insertion order.
func (s *Server) AbsencePeriods() []AbsencePeriod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AbsencePeriod, 0, len(s.absOrder))
	for _, id := range s.absOrder {
		if p, ok := s.absences[id]; ok {
			out = append(out, *p)
		}
	}
	return out
}

// AttendancePeriods returns copies of all stored attendance periods in insertion order.
func (s *Server) AttendancePeriods() []AttendancePeriod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AttendancePeriod, 0, len(s.attOrder))
	for _, id := range s.attOrder {
		if p, ok := s.attendances[id]; ok {
			out = append(out, *p)
		}
	}
	return out
}

// Webhooks returns the registered webhooks.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, id := range s.whOrder {
		if w, ok := s.webhooks[id]; ok {
			out = append(out, *w)
		}
	}
	return out
}

// Deliveries returns the webhook deliveries attempted so far (call
// WaitWebhooks first to include those in flight).
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// storeAbsence adds a new absence period to the store and its indexes. Callers hold s.mu.
func (s *Server) storeAbsence(p *AbsencePeriod) {
	s.absences[p.ID] = p
	s.absOrder = append(s.absOrder, p.ID)
	if s.absByPerson == nil {
		s.absByPerson = map[int64][]string{}
	}
	s.absByPerson[p.PersonID] = append(s.absByPerson[p.PersonID], p.ID)
	s.v1ids.timeOff(p.ID)
}

// storeAttendance adds a new attendance period to the store and its indexes. Callers
// hold s.mu.
func (s *Server) storeAttendance(p *AttendancePeriod) {
	s.attendances[p.ID] = p
	s.attOrder = append(s.attOrder, p.ID)
	if s.attByPerson == nil {
		s.attByPerson = map[int64][]string{}
	}
	s.attByPerson[p.PersonID] = append(s.attByPerson[p.PersonID], p.ID)
	if p.Type == "WORK" {
		s.v1ids.attendance(p.ID)
	}
}
