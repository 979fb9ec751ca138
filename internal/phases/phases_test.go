package phases

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/staffsync/staffsync/internal/bus"
	"github.com/staffsync/staffsync/internal/domain"
)

// TestRegistryLines checks each line on its own: a known phase, listed once and in the
// order of domain.Phases, and a function id that names its functions/ directory.
func TestRegistryLines(t *testing.T) {
	if len(All()) == 0 {
		t.Fatal("no phase is registered")
	}
	last, functions := -1, map[string]bool{}
	for _, e := range All() {
		i := slices.Index(domain.Phases, e.Phase)
		if i < 0 {
			t.Errorf("%q is not a phase of domain.Phases", e.Phase)
		}
		if i <= last {
			t.Errorf("%s is registered twice or out of the order of domain.Phases", e.Phase)
		}
		last = i
		if !strings.HasSuffix(e.Function, "Function") || e.Dir() == "" || functions[e.Function] {
			t.Errorf("%s: function %q must be a distinct <Name>Function logical id", e.Phase, e.Function)
		}
		functions[e.Function] = true
		if _, err := os.Stat(filepath.Join("..", "..", "functions", e.Dir(), "main.go")); err != nil {
			t.Errorf("%s: functions/%s/main.go: %v", e.Phase, e.Dir(), err)
		}
		if e.New == nil {
			t.Errorf("%s has no constructor", e.Phase)
		}
		if Get(e.Phase).Function != e.Function {
			t.Errorf("Get(%s) returned another entry", e.Phase)
		}
	}
	if got := Names(); len(got) != len(All()) || got[0] != All()[0].Phase {
		t.Errorf("Names() = %v", got)
	}
}

// TestConstructorsBuildTheirPhase hands each phase's handler a sample event of another
// registered phase: the harness refuses it naming the phase it runs, so a line whose
// constructor builds another phase than it names fails here. The sample events are the
// events/ files, which also proves each function's samples are for its own phase.
func TestConstructorsBuildTheirPhase(t *testing.T) {
	samples := map[domain.Phase][]byte{}
	for _, e := range All() {
		files, _ := filepath.Glob(filepath.Join("..", "..", e.EventsPrefix()+"*.json"))
		if len(files) == 0 {
			t.Fatalf("%s: no %s*.json", e.Phase, e.EventsPrefix())
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := bus.Parse(b)
			if err != nil || req.Phase != e.Phase {
				t.Fatalf("%s: a %s request (%v), want one of phase %s", f, req.Phase, err, e.Phase)
			}
			samples[e.Phase] = b
		}
	}
	if len(All()) < 2 {
		t.Fatal("fewer than two phases are registered: no handler can be given another phase's event")
	}
	for i, e := range All() {
		other := All()[(i+1)%len(All())]
		err := e.New(Deps{})(context.Background(), samples[other.Phase])
		if err == nil || !strings.Contains(err.Error(), "the "+string(e.Phase)+" function received a "+string(other.Phase)+" request") {
			t.Errorf("%s handler given a %s event: %v", e.Phase, other.Phase, err)
		}
	}
}

func TestGetPanicsForAnUnregisteredPhase(t *testing.T) {
	// Every phase of the timetable is registered, so a name the registry cannot know
	// stands for a phase a main might name before its registry line exists.
	unregistered := domain.Phase("holidays")
	if slices.Contains(Names(), unregistered) {
		t.Fatalf("%s is registered", unregistered)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), string(unregistered)) {
			t.Errorf("Get(%s) recovered %v, want a panic naming the phase", unregistered, r)
		}
	}()
	Get(unregistered)
}
