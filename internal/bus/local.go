package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/obs"
)

// Handler receives an event exactly as a Lambda function behind an EventBridge rule does:
// the raw envelope. Phase functions' handlers can be registered unchanged.
type Handler func(ctx context.Context, event json.RawMessage) error

// Local is the in-process event bus of `make run`. Rules are EventBridge patterns (the
// subset staffsync uses: exact values, nested detail fields), so routing is decided by the
// same patterns as in template.yaml. Delivery is asynchronous, as on AWS: Publish returns
// once events are accepted, and each matching handler runs in its own goroutine.
type Local struct {
	log   *slog.Logger
	now   func() time.Time
	mu    sync.RWMutex
	rules []localRule
	wg    sync.WaitGroup
	// base ends every delivery's context on Close; timeout bounds each delivery as
	// Lambda's function timeout does (HandlerTimeout), so a delivery has a deadline the
	// harness keeps its margin to.
	base    context.Context
	stop    context.CancelFunc
	timeout time.Duration
}

// HandlerTimeout bounds one local delivery: Lambda's longest function timeout. Like Lambda,
// the local bus gives each handler a deadline, so a run that waits (a vendor's rate limit,
// a hung connection) ends with a summary instead of holding `staffsync dev` open.
const HandlerTimeout = 15 * time.Minute

type localRule struct {
	name    string
	pattern map[string]any
	handler Handler
}

// NewLocal returns an empty local bus that logs handler failures to log.
func NewLocal(log *slog.Logger) *Local {
	if log == nil {
		log = slog.Default()
	}
	base, stop := context.WithCancel(context.Background())
	return &Local{log: log, now: time.Now, base: base, stop: stop, timeout: HandlerTimeout}
}

// WithHandlerTimeout sets the deadline of each delivery (default HandlerTimeout).
func (l *Local) WithHandlerTimeout(d time.Duration) *Local {
	if d > 0 {
		l.timeout = d
	}
	return l
}

// Rule routes events matching the EventBridge pattern to h. Patterns using features the
// local bus does not implement (prefix, anything-but, …) are refused rather than ignored.
func (l *Local) Rule(name, pattern string, h Handler) error {
	var p map[string]any
	if err := json.Unmarshal([]byte(pattern), &p); err != nil {
		return fmt.Errorf("rule %s: pattern is not a JSON object: %w", name, err)
	}
	if err := checkPattern(p); err != nil {
		return fmt.Errorf("rule %s: %w", name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules = append(l.rules, localRule{name: name, pattern: p, handler: h})
	return nil
}

// Subscribe routes a phase's events to h, with the pattern of the phase's template rule.
func (l *Local) Subscribe(p domain.Phase, h Handler) {
	if err := l.Rule(string(p), RulePattern(p), h); err != nil {
		panic(err) // RulePattern always yields a supported pattern
	}
}

// Publish validates and delivers the requests to every matching rule.
func (l *Local) Publish(ctx context.Context, reqs ...domain.SyncRequest) error {
	envs := make([][]byte, 0, len(reqs))
	for _, r := range reqs {
		d, err := Detail(r)
		if err != nil {
			return err
		}
		var id [16]byte
		_, _ = rand.Read(id[:])
		b, err := json.Marshal(Envelope{Version: "0", ID: hex.EncodeToString(id[:]), DetailType: DetailType, Source: Source,
			Account: "000000000000", Time: l.now().UTC().Truncate(time.Second), Region: "local", Resources: []string{}, Detail: d})
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		envs = append(envs, b)
	}
	// The run outlives the request that asked for it, as it does on AWS.
	// A delivery outlives the publisher's request (as on AWS), but not the bus: it ends
	// on Close or after the handler timeout. The run's attributes are carried over.
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i, env := range envs {
		// Each delivery logs as the run it carries, not as the publisher (dispatch has no
		// tenant, the API request's first run is not the others).
		req := reqs[i]
		info := obs.RunInfo{Tenant: req.Tenant, Phase: string(req.Phase), RunID: req.RunID}
		var doc map[string]any
		if err := json.Unmarshal(env, &doc); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		for _, r := range l.rules {
			if !matches(r.pattern, doc) {
				continue
			}
			l.wg.Add(1)
			go func(r localRule, env []byte) {
				defer l.wg.Done()
				dctx, cancel := context.WithTimeout(obs.WithRun(l.base, info), l.timeout)
				defer cancel()
				if err := r.handler(dctx, env); err != nil {
					l.log.ErrorContext(dctx, "local bus: handler failed", "rule", r.name, "error", err)
				}
			}(r, env)
		}
	}
	return nil
}

// Wait blocks until every delivery started so far has finished (tests).
func (l *Local) Wait() { l.wg.Wait() }

// Close ends the context of every running delivery and waits until they have finished:
// the phases record their runs as stopped and release their leases, then Close returns.
// Events published after Close are delivered with an ended context.
func (l *Local) Close() {
	l.stop()
	l.wg.Wait()
}

// checkPattern accepts objects whose leaves are arrays of scalars.
func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return fmt.Errorf("%s.%w", k, err)
			}
		case []any:
			for _, x := range v {
				switch x.(type) {
				case string, float64, bool, nil:
				default:
					return fmt.Errorf("%s: only exact-value matching is supported locally, not %v", k, x)
				}
			}
		default:
			return fmt.Errorf("%s: a pattern leaf must be an array of values", k)
		}
	}
	return nil
}

// matches implements EventBridge matching for exact values: every pattern field must be
// present; an array matches when the event value (or any element of an event array)
// equals one of its values.
func matches(p map[string]any, doc map[string]any) bool {
	for k, pv := range p {
		dv, ok := doc[k]
		if !ok {
			return false
		}
		switch pv := pv.(type) {
		case map[string]any:
			sub, ok := dv.(map[string]any)
			if !ok || !matches(pv, sub) {
				return false
			}
		case []any:
			vals, isArr := dv.([]any)
			if !isArr {
				vals = []any{dv}
			}
			hit := false
			for _, want := range pv {
				for _, got := range vals {
					if want == got {
						hit = true
					}
				}
			}
			if !hit {
				return false
			}
		}
	}
	return true
}
