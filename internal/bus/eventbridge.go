package bus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/staffsync/staffsync/internal/domain"
)

// PutEvents limits (per call): 10 entries and 256 KB, sized as AWS sizes them.
const (
	MaxEntries   = 10
	MaxBatchSize = 256 * 1024
)

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes SyncRequested events to a custom bus.
type EventBridge struct {
	api      PutEventsAPI
	bus      string
	attempts int
	base     time.Duration
	max      time.Duration
	now      func() time.Time
}

// NewEventBridge returns a publisher to the named bus (name or ARN). Failed entries are
// sent up to 5 times in all, with a backoff from 100 ms to 2 s: a few seconds, well within
// an invocation, for throttling that the SDK's own retries did not absorb.
func NewEventBridge(api PutEventsAPI, busName string) *EventBridge {
	return &EventBridge{api: api, bus: busName, attempts: 5, base: 100 * time.Millisecond, max: 2 * time.Second, now: time.Now}
}

// entrySize is the size AWS counts against the 256 KB limit.
func entrySize(e types.PutEventsRequestEntry) int {
	n := 14 // Time
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

type pending struct {
	req   domain.SyncRequest
	entry types.PutEventsRequestEntry
	size  int
	code  string
	msg   string
}

// Publish validates every request, then sends them in batches of at most 10 entries and
// 256 KB. Entries EventBridge reports as failed are re-sent with backoff; those still
// failing after the last attempt are returned in a *PublishError (never swallowed).
func (e *EventBridge) Publish(ctx context.Context, reqs ...domain.SyncRequest) error {
	ps := make([]*pending, 0, len(reqs))
	for _, r := range reqs {
		d, err := Detail(r)
		if err != nil {
			return err
		}
		p := &pending{req: r, entry: types.PutEventsRequestEntry{
			EventBusName: aws.String(e.bus), Source: aws.String(Source), DetailType: aws.String(DetailType),
			Detail: aws.String(string(d)), Time: aws.Time(e.now()),
		}}
		if p.size = entrySize(p.entry); p.size > MaxBatchSize {
			return fmt.Errorf("SyncRequested event for tenant %s is %d bytes, over the 256 KB limit: send fewer targets", r.Tenant, p.size)
		}
		ps = append(ps, p)
	}
	for attempt := 1; len(ps) > 0; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, e.backoff(attempt)); err != nil {
				return &PublishError{Failed: failed(ps), Err: err}
			}
		}
		var retry []*pending
		for _, batch := range batches(ps) {
			entries := make([]types.PutEventsRequestEntry, len(batch))
			for i, p := range batch {
				entries[i] = p.entry
			}
			out, err := e.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
			if err != nil {
				// The SDK has already retried throttling and 5xx; a whole-call failure
				// now is not going to heal within this invocation.
				for _, p := range batch {
					p.code, p.msg = "CallFailed", err.Error()
				}
				later := remaining(ps, batch)
				for _, p := range later {
					p.code, p.msg = "NotSent", "an earlier PutEvents call failed"
				}
				rest := append(append(retry, batch...), later...)
				return &PublishError{Failed: failed(rest), Err: fmt.Errorf("put events: %w", err)}
			}
			if out.FailedEntryCount == 0 {
				continue
			}
			for i, res := range out.Entries {
				if i < len(batch) && res.ErrorCode != nil {
					batch[i].code, batch[i].msg = aws.ToString(res.ErrorCode), aws.ToString(res.ErrorMessage)
					retry = append(retry, batch[i])
				}
			}
		}
		ps = retry
		if len(ps) > 0 && attempt >= e.attempts {
			return &PublishError{Failed: failed(ps)}
		}
	}
	return nil
}

// remaining returns the pendings after batch in ps (batch is a sub-slice of ps' order).
func remaining(ps, batch []*pending) []*pending {
	last := batch[len(batch)-1]
	for i, p := range ps {
		if p == last {
			return ps[i+1:]
		}
	}
	return nil
}

func failed(ps []*pending) []FailedEntry {
	out := make([]FailedEntry, len(ps))
	for i, p := range ps {
		out[i] = FailedEntry{Request: p.req, Code: p.code, Message: p.msg}
	}
	return out
}

// batches splits ps into runs of at most MaxEntries entries and MaxBatchSize bytes.
func batches(ps []*pending) [][]*pending {
	var out [][]*pending
	var cur []*pending
	size := 0
	for _, p := range ps {
		if len(cur) == MaxEntries || (len(cur) > 0 && size+p.size > MaxBatchSize) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, p)
		size += p.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (e *EventBridge) backoff(attempt int) time.Duration {
	d := e.base << min(attempt-1, 16)
	if d > e.max || d <= 0 {
		d = e.max
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
