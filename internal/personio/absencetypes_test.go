package personio_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestAbsenceTypesCursorPages: the v2 absence types are read across cursor pages with
// absolute or relative next links, each with its UUID (the v1 type's id_v2), name and
// lower-case unit; a looping next link is an error, not a short list.
func TestAbsenceTypesCursorPages(t *testing.T) {
	for _, tt := range []struct {
		name      string
		cfg       personiosim.Config
		limit     int
		wantCalls int
		wantLoop  bool
	}{
		{"default page", personiosim.Config{}, 0, 1, false},
		{"absolute links, 3 a page", personiosim.Config{}, 3, 4, false},
		{"relative links, 2 a page", personiosim.Config{RelativeNextLinks: true}, 2, 6, false},
		{"looping link", personiosim.Config{SelfNextLinks: true}, 2, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg, nil)
			var want []personiosim.TimeOffType
			for i := range 11 {
				unit := "day"
				if i%4 == 3 {
					unit = "hour"
				}
				want = append(want, e.sim.AddTimeOffType(personiosim.TimeOffType{Name: fmt.Sprintf("Typ %d", i), Unit: unit, Category: "other"}))
			}
			got, err := e.cl.AbsenceTypesPaged(context.Background(), tt.limit)
			if calls := e.sim.CallCount("GET /v2/absence-types"); calls != tt.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantLoop {
				if !errors.Is(err, personio.ErrPaginationLoop) {
					t.Fatalf("looping link: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d types, want %d", len(got), len(want))
			}
			for i, w := range want {
				if got[i] != (personio.AbsenceType{ID: w.IDv2, Name: w.Name, Unit: w.Unit, Category: "other"}) {
					t.Fatalf("type %d: %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}
