package personio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/vendors/safetext"
)

// Webhook event names we subscribe to (v2, dataless: ids only).
const (
	EventPersonCreated              = "person.created"
	EventPersonUpdated              = "person.updated"
	EventPersonDeleted              = "person.deleted"
	EventEmploymentCreated          = "employment.created"
	EventEmploymentUpdated          = "employment.updated"
	EventEmploymentDeleted          = "employment.deleted"
	EventEmploymentTerminated       = "employment.terminated"
	EventAbsencePeriodCreated       = "absence-period.created"
	EventAbsencePeriodUpdatedStatus = "absence-period.updated.status"
	EventAbsencePeriodUpdatedRange  = "absence-period.updated.timerange"
	EventAbsencePeriodDeleted       = "absence-period.deleted"
	EventAttendancePeriodCreated    = "attendance-period.created"
	EventAttendancePeriodUpdated    = "attendance-period.updated"
	EventAttendancePeriodDeleted    = "attendance-period.deleted"
)

// maxWebhookDescriptionLen keeps descriptions short; assumption, the limit
// is undocumented.
const maxWebhookDescriptionLen = 255

// WebhookEvent is a parsed v2 webhook delivery.
type WebhookEvent struct {
	CompanyID  string
	EventName  string
	ResourceID string // v2 id of the person / employment / period
	OccurredAt time.Time
	// Resource is the event's resource kind: "person", "employment",
	// "absence-period", "attendance-period", "document".
	Resource string
	Payload  json.RawMessage
}

// ErrInvalidWebhook marks deliveries that cannot be parsed.
var ErrInvalidWebhook = errors.New("personio: invalid webhook delivery")

// ParseWebhook parses a delivery body
// {"company_id","event_name","occurred_at","payload":{…},"meta":{…}}.
// Payloads are dataless: the resource id is taken from payload.id, or from
// payload.<resource>.id as some events nest it. The receiver must then
// fetch the resource; this only says what changed.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var d struct {
		CompanyID  json.RawMessage            `json:"company_id"`
		EventName  string                     `json:"event_name"`
		OccurredAt string                     `json:"occurred_at"`
		Payload    map[string]json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return WebhookEvent{}, fmt.Errorf("%w: %w", ErrInvalidWebhook, err)
	}
	if d.EventName == "" {
		return WebhookEvent{}, fmt.Errorf("%w: no event_name", ErrInvalidWebhook)
	}
	ev := WebhookEvent{EventName: d.EventName, CompanyID: Attribute{Value: d.CompanyID}.String()}
	ev.Resource, _, _ = strings.Cut(d.EventName, ".")
	if d.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, d.OccurredAt)
		if err != nil {
			// The value is quoted cut short: the error reaches the sender's answer and the log.
			return WebhookEvent{}, fmt.Errorf("%w: occurred_at %q is not an RFC 3339 time", ErrInvalidWebhook, safetext.Message(d.OccurredAt))
		}
		ev.OccurredAt = t
	}
	ev.Payload, _ = json.Marshal(d.Payload)
	if raw, ok := d.Payload["id"]; ok {
		ev.ResourceID = Attribute{Value: raw}.String()
	}
	if ev.ResourceID == "" {
		for _, k := range []string{ev.Resource, strings.ReplaceAll(ev.Resource, "-", "_")} {
			var ref idRef
			if raw, ok := d.Payload[k]; ok && json.Unmarshal(raw, &ref) == nil && ref.ID != "" {
				ev.ResourceID = ref.ID
				break
			}
		}
	}
	if ev.ResourceID == "" {
		return WebhookEvent{}, fmt.Errorf("%w: no resource id in payload", ErrInvalidWebhook)
	}
	return ev, nil
}

// WebhookRegistration describes our receiver for one tenant.
type WebhookRegistration struct {
	URL         string // public HTTPS endpoint
	Description string
	// Token is sent verbatim in the Authorization header of each delivery
	// (auth_type TOKEN); Personio signs nothing, so this is the receiver's
	// only proof of origin.
	Token  string
	Events []string
	// Disabled registers without delivering; Personio's own default is
	// DISABLED, ours is ENABLED because a registered receiver should work.
	Disabled bool
}

// Webhook is a registered webhook as Personio returns it.
type Webhook struct {
	ID            string   `json:"id"`
	URL           string   `json:"url"`
	Description   string   `json:"description"`
	Status        string   `json:"status"`
	AuthType      string   `json:"auth_type"`
	EnabledEvents []string `json:"enabled_events"`
}

// RegisterWebhook registers our endpoint (POST /v2/webhooks). A 409 means
// a webhook with this URL exists already (IsConflict).
func (c *Client) RegisterWebhook(ctx context.Context, reg WebhookRegistration) (Webhook, error) {
	if reg.URL == "" || len(reg.Events) == 0 {
		return Webhook{}, errors.New("personio: webhook registration needs a URL and events")
	}
	desc := reg.Description
	if desc == "" {
		desc = "staffsync"
	}
	if len(desc) > maxWebhookDescriptionLen {
		desc = desc[:maxWebhookDescriptionLen]
	}
	status := "ENABLED"
	if reg.Disabled {
		status = "DISABLED"
	}
	body := map[string]any{"url": reg.URL, "description": desc, "status": status, "enabled_events": reg.Events}
	if reg.Token != "" {
		body["auth_type"] = "TOKEN"
		body["token"] = reg.Token
	} else {
		body["auth_type"] = "NONE"
	}
	var out Webhook
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v2/webhooks", body: body, gen: 2, family: FamilyWebhooks}, &out); err != nil {
		return Webhook{}, err
	}
	return out, nil
}

// Webhooks lists the registered webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var res []Webhook
	_, err := c.listV2(ctx, "/v2/webhooks", nil, FamilyWebhooks, func(raw json.RawMessage) error {
		var w Webhook
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("personio: decode webhook: %w", err)
		}
		res = append(res, w)
		return nil
	})
	return res, err
}

// DeleteWebhook removes a registered webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v2/webhooks/" + id, gen: 2, family: FamilyWebhooks}, nil)
}
