package inflight_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// simulator is one simulator as a crash test sees it: a handler and its Quiesce.
type simulator struct {
	name    string
	serve   func(http.ResponseWriter, *http.Request)
	quiesce func()
	calls   func() int // the requests it recorded as answered
	path    string     // a request it answers at once (with an error), writing a body
}

func simulators() []simulator {
	now := func() time.Time { return time.Date(2026, 3, 11, 9, 30, 0, 0, time.UTC) }
	p := personiosim.New(personiosim.Config{Now: now, NoRateLimits: true})
	s := staffomaticsim.New(staffomaticsim.Config{Now: now})
	return []simulator{
		{name: "personio", serve: p.ServeHTTP, quiesce: p.Quiesce, calls: func() int { return len(p.Calls()) }, path: "/v2/nothing-here"},
		{name: "staffomatic", serve: s.ServeHTTP, quiesce: s.Quiesce, calls: func() int { return len(s.Calls()) }, path: "/v3/acme/users"},
	}
}

// heldWriter holds the handler in its first Write until release is closed: a response
// being answered.
type heldWriter struct {
	*httptest.ResponseRecorder
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (w *heldWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return w.ResponseRecorder.Write(b)
}

// TestQuiesceWaitsForARequestBeingAnswered: Quiesce returns only once the request a
// simulator is answering has been answered, and then at once.
func TestQuiesceWaitsForARequestBeingAnswered(t *testing.T) {
	for _, sim := range simulators() {
		t.Run(sim.name, func(t *testing.T) {
			sim.quiesce() // nothing in flight: returns at once
			w := &heldWriter{ResponseRecorder: httptest.NewRecorder(), entered: make(chan struct{}), release: make(chan struct{})}
			answered := make(chan struct{})
			go func() {
				defer close(answered)
				sim.serve(w, httptest.NewRequest(http.MethodGet, sim.path, nil))
			}()
			<-w.entered
			quiesced := make(chan struct{})
			go func() { sim.quiesce(); close(quiesced) }()
			select {
			case <-quiesced:
				t.Fatal("Quiesce returned while a request was being answered")
			case <-time.After(50 * time.Millisecond):
			}
			close(w.release)
			<-answered
			select {
			case <-quiesced:
			case <-time.After(5 * time.Second):
				t.Fatal("Quiesce did not return once the request was answered")
			}
			if w.Code < 400 {
				t.Errorf("the request was answered %d, want the simulator's error for %s", w.Code, sim.path)
			}
		})
	}
}

// TestQuiesceWhileRequestsArrive: a request of a cancelled run may reach a simulator at
// the moment a test calls Quiesce, as in the fault suite's crash tests. With a
// sync.WaitGroup (an Add from zero concurrent with Wait) the race detector reported a data
// race here at once, and WaitGroup sometimes panicked; run with -race.
func TestQuiesceWhileRequestsArrive(t *testing.T) {
	for _, sim := range simulators() {
		t.Run(sim.name, func(t *testing.T) {
			var senders sync.WaitGroup
			for range 4 {
				senders.Go(func() {
					for range 50 {
						sim.serve(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, sim.path, nil))
					}
				})
			}
			done := make(chan struct{})
			go func() { senders.Wait(); close(done) }()
			for {
				select {
				case <-done:
					sim.quiesce()
					if n := sim.calls(); n != 4*50 {
						t.Errorf("%d requests recorded as answered, want %d", n, 4*50)
					}
					return
				default:
				}
				sim.quiesce()
			}
		})
	}
}
