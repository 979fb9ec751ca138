package staffomatic_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	sim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
	"github.com/staffsync/staffsync/internal/staffomatic"
)

// loseFirstResponse delivers every request, but the answer to the first PUT is lost on
// the way back (a connection reset after the server acted): the client sees a transport
// error although the action was done.
type loseFirstResponse struct {
	mu     sync.Mutex
	lost   bool
	method string // default PUT
}

func (l *loseFirstResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	method := l.method
	if method == "" {
		method = http.MethodPut
	}
	if err != nil || r.Method != method {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return resp, nil
	}
	l.lost = true
	resp.Body.Close()
	return nil, errors.New("connection reset by peer")
}

// TestOneShotActionsAreNotRepeated: approve, decline and send_invitation are state
// changes done once; after an ambiguous failure a repeat either sends a second invitation
// e-mail or is refused with 422 although the first attempt succeeded. They are retried
// only on 429, like creates; lock and unlock stay retryable (repeating them is harmless).
func TestOneShotActionsAreNotRepeated(t *testing.T) {
	newClient := func(f *fixture) *staffomatic.Client {
		c, err := staffomatic.New(staffomatic.Config{
			BaseURL: f.srv.URL + "/v3", Subdomain: "acme", UserAgent: "staffsync-test (ops@example.com)",
			Credentials: staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword},
			HTTPClient:  &http.Client{Transport: &loseFirstResponse{}},
			BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	newAbsence := func(t *testing.T, f *fixture) staffomatic.Absence {
		start := time.Date(2026, 4, 6, 8, 0, 0, 0, time.UTC)
		a, err := f.client.CreateAbsence(ctx(t), staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID,
			StartsAt: start, EndsAt: start.Add(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name  string
		route string
		act   func(t *testing.T, f *fixture, c *staffomatic.Client) error
		check func(t *testing.T, f *fixture)
	}{
		{"approve", "/absences/{id}", func(t *testing.T, f *fixture, c *staffomatic.Client) error {
			_, err := c.ApproveAbsence(ctx(t), newAbsence(t, f).ID, false)
			return err
		}, func(t *testing.T, f *fixture) {
			if got := f.acc.Absences(); len(got) != 1 || got[0].State != sim.StateApproved {
				t.Fatalf("absences = %+v, want the one approved", got)
			}
		}},
		{"decline", "/absences/{id}", func(t *testing.T, f *fixture, c *staffomatic.Client) error {
			_, err := c.DeclineAbsence(ctx(t), newAbsence(t, f).ID)
			return err
		}, func(t *testing.T, f *fixture) {
			if got := f.acc.Absences(); len(got) != 1 || got[0].State != sim.StateDeclined {
				t.Fatalf("absences = %+v, want the one declined", got)
			}
		}},
		{"send invitation", "/users/{id}", func(t *testing.T, f *fixture, c *staffomatic.Client) error {
			_, err := c.SendInvitation(ctx(t), f.staff.ID)
			return err
		}, func(t *testing.T, f *fixture) {
			if inv := f.acc.Invitations(); len(inv) != 1 {
				t.Fatalf("%d invitation e-mails sent, want 1", len(inv))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sim.Config{})
			err := tt.act(t, f, newClient(f))
			if err == nil || staffomatic.StatusOf(err) != 0 || !staffomatic.IsRetryable(err) {
				t.Fatalf("err = %v, want the retryable transport error of the lost answer", err)
			}
			if n := f.sim.CallCount(http.MethodPut, tt.route); n != 1 {
				t.Fatalf("PUT %s sent %d times, want 1", tt.route, n)
			}
			tt.check(t, f)
		})
	}

	// Lock is harmless to repeat: the lost answer is retried and the call succeeds.
	f := newFixture(t, sim.Config{})
	u, err := newClient(f).LockUser(ctx(t), f.staff.ID)
	if err != nil || !u.Locked() {
		t.Fatalf("lock = %+v, %v", u, err)
	}
	if n := f.sim.CallCount(http.MethodPut, "/users/{id}"); n != 2 {
		t.Fatalf("PUT /users/{id} sent %d times, want 2", n)
	}
}

// TestDeleteWhoseAnswerWasLost: a DELETE is retried after a lost answer; the repeat finds
// the record gone (404), which means the first attempt deleted it, not a failure.
func TestDeleteWhoseAnswerWasLost(t *testing.T) {
	f := newFixture(t, sim.Config{})
	start := time.Date(2026, 4, 6, 8, 0, 0, 0, time.UTC)
	a, err := f.client.CreateAbsence(ctx(t), staffomatic.NewAbsence{ApplicantID: f.staff.ID, AbsenceTypeID: f.types[0].ID,
		StartsAt: start, EndsAt: start.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := staffomatic.New(staffomatic.Config{
		BaseURL: f.srv.URL + "/v3", Subdomain: "acme", UserAgent: "staffsync-test (ops@example.com)",
		Credentials: staffomatic.Credentials{Email: "admin@acme.example", Password: adminPassword},
		HTTPClient:  &http.Client{Transport: &loseFirstResponse{method: http.MethodDelete}},
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAbsence(ctx(t), a.ID); err != nil {
		t.Fatalf("delete with a lost answer: %v", err)
	}
	if n := f.sim.CallCount(http.MethodDelete, "/absences/{id}"); n != 2 || len(f.acc.Absences()) != 0 {
		t.Fatalf("DELETE sent %d times, %d absences left", n, len(f.acc.Absences()))
	}
	// Without an ambiguous earlier attempt a 404 stays an error.
	if err := c.DeleteAbsence(ctx(t), a.ID); !staffomatic.IsNotFound(err) {
		t.Fatalf("second delete: %v, want 404", err)
	}
}
