package bus

import "time"

// NewFastEventBridge is NewEventBridge with the given attempts and backoff, so that the
// tests of re-sending run in milliseconds.
func NewFastEventBridge(api PutEventsAPI, busName string, attempts int, base, max time.Duration) *EventBridge {
	e := NewEventBridge(api, busName)
	e.attempts, e.base, e.max = attempts, base, max
	return e
}
