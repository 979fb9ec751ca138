// Package bus carries SyncRequested events: the EventBridge adapter that functions use to
// request sync runs (batched PutEvents with re-sending of failed entries), the parser that
// phase functions use on what their rule delivers, and an in-process Local bus that routes
// events by the same patterns for `make run`.
package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
)

// The event's source and detail-type; rules on the sync bus match on both plus the phase.
const (
	Source     = "staffsync"
	DetailType = "SyncRequested"
)

// Publisher requests sync runs. Dispatch, the API and webhooks depend on this interface;
// EventBridge implements it in AWS, Local in `make run`.
type Publisher interface {
	Publish(ctx context.Context, reqs ...domain.SyncRequest) error
}

// RulePattern is the event pattern of the rule that invokes a phase's function. The
// template's EventBridgeRule events must use exactly this pattern:
//
//	Pattern:
//	  source: [staffsync]
//	  detail-type: [SyncRequested]
//	  detail: {phase: [<phase>]}
func RulePattern(p domain.Phase) string {
	b, _ := json.Marshal(map[string]any{
		"source":      []string{Source},
		"detail-type": []string{DetailType},
		"detail":      map[string]any{"phase": []string{string(p)}},
	})
	return string(b)
}

// Envelope is the EventBridge event as a rule target (Lambda, SQS) receives it.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account,omitempty"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Detail encodes a request as the event detail, after validating it: an invalid request
// is refused before it is sent, not after a phase function has been started for it.
func Detail(r domain.SyncRequest) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("invalid SyncRequested event: %w", err)
	}
	return json.Marshal(r)
}

// Parse reads a SyncRequested event as a rule delivers it and validates the request.
func Parse(raw []byte) (domain.SyncRequest, error) {
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return domain.SyncRequest{}, fmt.Errorf("not an EventBridge event: %w", err)
	}
	if env.Source != Source || env.DetailType != DetailType {
		return domain.SyncRequest{}, fmt.Errorf("event %q from %q is not a %s event from %s", env.DetailType, env.Source, DetailType, Source)
	}
	var r domain.SyncRequest
	dec := json.NewDecoder(bytes.NewReader(env.Detail))
	if err := dec.Decode(&r); err != nil {
		return domain.SyncRequest{}, fmt.Errorf("SyncRequested detail: %w", err)
	}
	if err := r.Validate(); err != nil {
		return domain.SyncRequest{}, fmt.Errorf("SyncRequested detail: %w", err)
	}
	return r, nil
}

// FailedEntry is one request that could not be put on the bus.
type FailedEntry struct {
	Request domain.SyncRequest
	Code    string
	Message string
}

// PublishError lists the requests that were still failing after all re-sends. The others
// were delivered, so a caller can undo or retry exactly these.
type PublishError struct {
	Failed []FailedEntry
	// Err is set when a whole call failed (after the SDK's own retries).
	Err error
}

func (e *PublishError) Error() string {
	msg := fmt.Sprintf("%d SyncRequested event(s) not delivered", len(e.Failed))
	if len(e.Failed) > 0 {
		msg += fmt.Sprintf(" (first: tenant %s run %s: %s %s)", e.Failed[0].Request.Tenant, e.Failed[0].Request.RunID, e.Failed[0].Code, e.Failed[0].Message)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *PublishError) Unwrap() error { return e.Err }

// FailedRequests returns the requests an error from Publish reports as undelivered: all of
// reqs when the error is not a PublishError (nothing is known to have been sent).
func FailedRequests(err error, reqs []domain.SyncRequest) []domain.SyncRequest {
	if err == nil {
		return nil
	}
	var pe *PublishError
	if !errors.As(err, &pe) {
		return reqs
	}
	out := make([]domain.SyncRequest, len(pe.Failed))
	for i, f := range pe.Failed {
		out[i] = f.Request
	}
	return out
}
