package staffomaticsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/staffsync/staffsync/internal/staffomatic"
)

type hint struct {
	kind   string
	id     int64
	action string
}

// Delivery is one webhook hint the simulator tried to send.
type Delivery struct {
	URL    string
	Hint   staffomatic.Hint
	Status int    // the receiver's status; 0 when the request failed
	Err    string // transport error, if any
}

// sendHints POSTs the hints of one request, signed with the account's secret, in the
// background (a real sender does not hold up the API answer). WaitWebhooks waits for them.
func (s *Server) sendHints(a *account, hints []hint) {
	s.mu.Lock()
	url, secret, sub := a.hookURL, a.hookSecret, a.spec.Subdomain
	s.mu.Unlock()
	if url == "" {
		return
	}
	// One hint per record and request, in order.
	seen := map[hint]bool{}
	var uniq []hint
	for _, h := range hints {
		k := hint{kind: h.kind, id: h.id}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, h)
		}
	}
	s.hooks.Begin()
	go func() {
		defer s.hooks.End()
		for _, h := range uniq {
			msg := staffomatic.Hint{Kind: staffomatic.Kind(h.kind), ID: h.id, Subdomain: sub, Action: h.action}
			body, _ := json.Marshal(msg)
			d := Delivery{URL: url, Hint: msg}
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "staffomaticsim")
				req.Header.Set(staffomatic.SignatureHeader, staffomatic.Sign(secret, s.cfg.Now(), body))
				var resp *http.Response
				if resp, err = s.cfg.WebhookClient.Do(req); err == nil {
					d.Status = resp.StatusCode
					resp.Body.Close()
				}
			}
			if err != nil {
				d.Err = err.Error()
				s.cfg.Logger.Warn("webhook hint not delivered", "url", url, "err", err)
			}
			s.deliveryMu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.deliveryMu.Unlock()
		}
	}()
}

// WaitWebhooks waits until every hint sent so far has been delivered or has failed.
func (s *Server) WaitWebhooks() { s.hooks.Wait() }

// Deliveries returns the webhook hints sent so far, in order of completion.
func (s *Server) Deliveries() []Delivery {
	s.deliveryMu.Lock()
	defer s.deliveryMu.Unlock()
	return slices.Clone(s.deliveries)
}
