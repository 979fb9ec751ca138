package personiosim

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// balanceReference is v1Balance's arithmetic as it was first written (every absence of
// the company scanned once per time-off type), kept to pin the one-pass version.
// Callers hold s.mu.
func (s *Server) balanceReference(id int64) []any {
	e := s.employees[id]
	now := s.cfg.Now()
	data := []any{}
	for _, t := range s.types {
		ent, has := e.Entitlements[t.ID]
		if !has {
			continue
		}
		taken, planned := 0.0, 0.0
		for _, aid := range s.absOrder {
			p, ok := s.absences[aid]
			if !ok || p.PersonID != id || p.TypeID != t.IDv2 || p.Start.Year() != now.Year() || p.Status == StatusRejected {
				continue
			}
			d := absenceDays(p)
			planned += d
			if p.Status == StatusApproved && !p.Start.After(now) {
				taken += d
			}
		}
		data = append(data, map[string]any{"id": t.ID, "name": t.Name, "category": t.Category,
			"balance": ent - taken, "available_balance": ent - planned})
	}
	return data
}

// TestV1BalanceMatchesReference compares the balance of every employee of a generated
// company, byte for byte, with the reference: absences of every type, of this and other
// years, in the past and the future, half days, pending, rejected and deleted ones.
func TestV1BalanceMatchesReference(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	s := New(Config{NoRateLimits: true, Now: func() time.Time { return now }})
	defer s.Close()
	s.AddCredential(Credential{ClientID: "id", ClientSecret: "secret"})
	g := s.Generate(GenerateOptions{Employees: 120, Seed: 11, Year: 2026, AbsencesPerEmployee: 8})
	for i, e := range g.Employees {
		if err := s.UpdateEmployee(e.ID, func(e *Employee) {
			for k, ty := range g.TimeOffTypes {
				if (i+k)%3 != 0 {
					e.Entitlements[ty.ID] = float64(10 + k + i%7)
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		first := Date(2026, time.Month(1+i%12), 1+i%27)
		last := first.AddDate(0, 0, i%9)
		ty := g.TimeOffTypes[i%len(g.TimeOffTypes)]
		p := s.AddAbsencePeriod(AbsencePeriod{PersonID: e.ID, TypeID: ty.IDv2, Start: first, End: &last, StartHalf: []string{"", "SECOND_HALF"}[i%2], EndHalf: []string{"", "FIRST_HALF", ""}[i%3]})
		switch i % 4 {
		case 1:
			if err := s.SetAbsenceStatus(p.ID, StatusPending); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := s.SetAbsenceStatus(p.ID, StatusRejected); err != nil {
				t.Fatal(err)
			}
		case 3:
			s.mu.Lock()
			delete(s.absences, p.ID) // as DELETE does
			s.mu.Unlock()
		}
		old := Date(2025, 12, 29)
		s.AddAbsencePeriod(AbsencePeriod{PersonID: e.ID, TypeID: ty.IDv2, Start: old, End: &last})                          // starts last year
		s.AddAbsencePeriod(AbsencePeriod{PersonID: e.ID, TypeID: g.TimeOffTypes[0].IDv2, Start: now.AddDate(0, 0, 2+i%30)}) // open-ended
	}
	tok := func() string {
		r := httptest.NewRequest("POST", "/v1/auth", strings.NewReader("client_id=id&client_secret=secret"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var b struct {
			Data struct {
				Token string `json:"token"`
			} `json:"data"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Data.Token == "" {
			t.Fatalf("v1 auth: %d %s", w.Code, w.Body.Bytes())
		}
		return b.Data.Token
	}()
	nonEmpty := 0
	for _, e := range s.Employees() {
		r := httptest.NewRequest("GET", "/v1/company/employees/"+strconv.FormatInt(e.ID, 10)+"/absences/balance", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		s.mu.Lock()
		ref := s.balanceReference(e.ID)
		s.mu.Unlock()
		want, _ := json.Marshal(map[string]any{"success": true, "data": ref})
		if w.Code != 200 || !bytes.Equal(bytes.TrimSpace(w.Body.Bytes()), want) {
			t.Fatalf("employee %d: %d %s\nwant %s", e.ID, w.Code, w.Body.Bytes(), want)
		}
		if len(ref) > 1 {
			nonEmpty++
		}
	}
	if nonEmpty < 50 {
		t.Fatalf("only %d employees with balances of several types", nonEmpty)
	}
}
