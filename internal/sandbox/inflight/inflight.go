// Package inflight counts the requests a simulator is answering, so that a test can wait
// until the last of them is answered (the simulators' Quiesce) after a run whose context was
// cancelled: the client stopped waiting, while the server may still carry the request out,
// as a real API does.
//
// A sync.WaitGroup cannot do this. Its contract requires an Add from zero to happen before
// Wait, and a request of a cancelled run may reach the simulator at the very moment the test
// calls Quiesce; the race detector reports that misuse as a data race between the waiting
// test goroutine and the HTTP handler (with stacks it cannot restore, as the sync package is
// not instrumented), and WaitGroup may even panic ("reused before previous Wait has
// returned"). Counter allows Begin at any time.
package inflight

import "sync"

// Counter counts requests being answered (or webhook deliveries being sent). The zero
// value is ready to use.
type Counter struct {
	mu sync.Mutex
	n  int
	// idle is closed when n drops to zero; made by the first Wait that found n above zero.
	idle chan struct{}
}

// Begin counts one more request being answered; End must follow.
func (c *Counter) Begin() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

// End counts a request as answered.
func (c *Counter) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

// Wait returns once no request is being answered: at once when none is, otherwise when the
// count has dropped to zero after the call (requests that begin meanwhile are waited for
// too, until there is a moment with none).
func (c *Counter) Wait() {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	<-idle
}
