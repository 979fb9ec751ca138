package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// webhookBudget bounds a webhook's work: Personio wants the acknowledgement within 3 s.
const webhookBudget = 2500 * time.Millisecond

// replayTTL keeps a seen signature longer than any timestamp could be accepted.
const replayTTL = 2*staffomatic.SignatureTolerance + time.Minute

var errWebhookAuth = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the webhook is not authenticated for this tenant"}

// webhookTenant reads the body and the tenant and its webhook secrets. An unknown tenant
// is a 404 whatever the credentials, so a probe learns nothing more.
func (a *API) webhookTenant(r *http.Request, maxBody int) ([]byte, domain.Tenant, store.WebhookSecrets, error) {
	if a.store == nil {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, errNoStore
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBody)+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(body) > maxBody {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: "the notification is larger than " + strconv.Itoa(maxBody>>10) + " KB"}
	}
	if err != nil {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, badRequest("", "the body could not be read: %v", err)
	}
	id := r.PathValue("tenant_id")
	unknown := notFound("no tenant %q", id)
	if domain.ValidateTenantID(id) != nil {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, unknown
	}
	sec, err := a.store.GetWebhookSecrets(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, unknown
	}
	if err != nil {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, err
	}
	t, err := a.store.GetTenant(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, domain.Tenant{}, store.WebhookSecrets{}, unknown
	}
	return body, t, sec, err
}

// webhookAnswer is the answer to a webhook: the runs it queued, or why it was ignored.
type webhookAnswer struct {
	RunIDs []string `json:"run_ids"`
	Status string   `json:"status"`
	Reason string   `json:"reason,omitempty"`
}

// deployed drops a request of a phase this deployment does not run.
func (a *API) deployed(req *domain.SyncRequest, reason string) (*domain.SyncRequest, string) {
	if req != nil && !slices.Contains(a.phases, req.Phase) {
		return nil, "the " + string(req.Phase) + " phase is not deployed here"
	}
	return req, reason
}

// answerWebhook queues req (run id runID, or a new one when empty) or answers why
// nothing is queued.
func (a *API) answerWebhook(w http.ResponseWriter, ctx context.Context, req *domain.SyncRequest, reason, runID string) error {
	req, reason = a.deployed(req, reason)
	if req == nil {
		WriteJSON(w, http.StatusOK, webhookAnswer{RunIDs: []string{}, Status: "ignored", Reason: reason})
		return nil
	}
	if a.bus == nil {
		return errNoStore
	}
	if runID == "" {
		runID = domain.NewRunID(req.Phase, a.now())
	}
	req.Trigger, req.RunID = domain.TriggerWebhook, runID
	ids, err := a.enqueue(ctx, []domain.SyncRequest{*req})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, webhookAnswer{RunIDs: ids, Status: "queued"})
	return nil
}

func (a *API) personioWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), webhookBudget)
	defer cancel()
	r = r.WithContext(ctx)
	body, t, sec, err := a.webhookTenant(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	// Personio sends the registered token verbatim; accept it with or without "Bearer".
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" || !(equalHash(h, sec.PersonioTokenHash) || equalHash(bearer(r), sec.PersonioTokenHash)) {
		return errWebhookAuth
	}
	if err := a.hookLimit.allow(w, t.ID, a.now()); err != nil {
		return err
	}
	ev, err := personio.ParseWebhook(body)
	if err != nil {
		return badRequest("", "not a Personio webhook delivery: %v", err)
	}
	// The name and the record id go into the answer, the log and the event's key: a
	// kilobyte of either would be echoed and logged whole.
	if !personioEventNameOK(ev.EventName) {
		return badRequest("event_name", "event_name: not a Personio event name (such as person.updated); the delivery is not processed")
	}
	if !personioIDOK(ev.ResourceID) {
		return badRequest("payload.id", "payload.id: not a Personio id (digits or a UUID); the delivery is not processed")
	}
	ev.ResourceID = canonicalPersonioID(ev.ResourceID)
	req, reason := PersonioRequest(t, ev)
	if req != nil {
		for i, tg := range req.Targets {
			if !personioIDOK(tg.ID) {
				field := "payload.id"
				if ev.Resource == "employment" {
					field = "payload.person.id"
				}
				return badRequest(field, "%s: not a Personio id (digits or a UUID); the delivery is not processed", field)
			}
			req.Targets[i].ID = canonicalPersonioID(tg.ID)
		}
	}
	req, reason = a.deployed(req, reason)
	a.log.InfoContext(ctx, "personio webhook", "tenant_id", t.ID, "event", ev.EventName, "resource_id", ev.ResourceID, "ignored", req == nil)
	if req == nil {
		return a.answerWebhook(w, ctx, req, reason, "")
	}
	return a.personioOnce(w, ctx, t, ev, req)
}

// Personio repeats a delivery it thinks failed (a timeout, a 5xx: up to 14 requests over
// three days), and one change can reach us twice at once. The same event (name, record and
// occurred_at) queues one run: the first delivery claims the event in the store (a
// conditional write, so of concurrent deliveries to several API instances one wins) for
// personioDedupWindow; without occurred_at only the name and record identify the event and
// the shorter personioDedupWindowUntimed applies, so a later change of the record is not
// taken for a repeat.
const (
	personioDedupWindow        = time.Hour
	personioDedupWindowUntimed = time.Minute
)

// personioEventKey identifies a Personio event: its name, record and time.
func personioEventKey(ev personio.WebhookEvent) string {
	at := ""
	if !ev.OccurredAt.IsZero() {
		at = ev.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(ev.EventName + "\x00" + ev.ResourceID + "\x00" + at))
	return hex.EncodeToString(sum[:])
}

// personioOnce queues req for the event ev unless the same event was delivered before:
// then the answer is 200 duplicate, naming the run the first delivery queued when it can be
// found. With occurred_at the run id derives from the event, so even a repeat after the
// claim expired finds the run (CreateRun is conditional too). A delivery that fails after
// claiming releases its claim, so Personio's retry is processed.
func (a *API) personioOnce(w http.ResponseWriter, ctx context.Context, t domain.Tenant, ev personio.WebhookEvent, req *domain.SyncRequest) error {
	key := personioEventKey(ev)
	window, runID := personioDedupWindowUntimed, ""
	if !ev.OccurredAt.IsZero() {
		window = personioDedupWindow
		// The run id starts with the event's time, unless that is far from now (a late
		// redelivery, a wrong clock): a run dated years ahead would head the list of runs
		// and outlive pruning. Such an event gets an ordinary run id; the claim still
		// keeps its repeats out for the window.
		if d := a.now().Sub(ev.OccurredAt); d <= window && d >= -window {
			runID = ev.OccurredAt.UTC().Format("20060102T150405Z") + "-" + string(req.Phase) + "-wh" + key[:16]
		}
	}
	duplicate := func() error {
		ans := webhookAnswer{RunIDs: []string{}, Status: "duplicate",
			Reason: "event " + ev.EventName + " of " + ev.ResourceID + " was delivered before; it queues one run"}
		if runID != "" {
			if _, err := a.store.GetRun(ctx, t.ID, runID); err == nil {
				ans.RunIDs = []string{runID}
			}
		}
		a.log.InfoContext(ctx, "personio webhook repeated", "tenant_id", t.ID, "event", ev.EventName, "resource_id", ev.ResourceID, "run_id", runID)
		WriteJSON(w, http.StatusOK, ans)
		return nil
	}
	claim := "personio:" + key
	if err := a.store.ClaimOnce(ctx, t.ID, claim, window); errors.Is(err, store.ErrExists) {
		return duplicate()
	} else if err != nil {
		return err
	}
	err := a.answerWebhook(w, ctx, req, "", runID)
	var ae *Error
	if errors.As(err, &ae) && ae.Code == "conflict" {
		return duplicate() // the run of this event exists: a repeat after the claim expired
	}
	if err != nil {
		if rerr := a.store.ReleaseClaim(context.WithoutCancel(ctx), t.ID, claim); rerr != nil {
			a.log.ErrorContext(ctx, "could not release a webhook claim; Personio's retry within the window will be taken for a repeat", "tenant_id", t.ID, "error", rerr)
		}
	}
	return err
}

// personioIDOK accepts the ids Personio's webhooks name: a person's integer id as a
// string, or a UUID of an absence or attendance period. Anything else (blank, a control
// character, a kilobyte of digits) would queue a run that fails or looks for nothing.
func personioIDOK(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// personioEventNameOK accepts the shape of Personio's event names: lower-case words joined
// by dots and dashes ("absence-period.updated.status"), at most 100 characters.
func personioEventNameOK(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// canonicalPersonioID spells a numeric id as Personio does ("1016", not "01016"), so a
// repeat of an event cannot pass as another event (and queue another run) by its spelling.
func canonicalPersonioID(id string) string {
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		return strconv.FormatUint(n, 10)
	}
	return id
}

// PersonioRequest turns a Personio delivery into the sync request it calls for: a
// targeted run of the affected phase for the named record, or nil with the reason it is
// ignored (the flow is switched off or led by Staffomatic, or the event is of no
// concern).
func PersonioRequest(t domain.Tenant, ev personio.WebhookEvent) (*domain.SyncRequest, string) {
	targeted := func(p domain.Phase, k domain.RecordKind, id string) *domain.SyncRequest {
		return &domain.SyncRequest{Tenant: t.ID, Phase: p, Mode: domain.ModeTargeted, Targets: []domain.Target{{Kind: k, ID: id}}}
	}
	switch ev.Resource {
	case "person":
		return targeted(domain.PhaseUsers, domain.KindUser, ev.ResourceID), ""
	case "employment":
		var p struct {
			Person struct {
				ID json.RawMessage `json:"id"`
			} `json:"person"`
		}
		if json.Unmarshal(ev.Payload, &p) == nil {
			if id := (personio.Attribute{Value: p.Person.ID}).String(); id != "" {
				return targeted(domain.PhaseUsers, domain.KindUser, id), ""
			}
		}
		// The payload names only the employment: re-read what changed recently.
		return &domain.SyncRequest{Tenant: t.ID, Phase: domain.PhaseUsers, Mode: domain.ModePartial}, ""
	case "absence-period":
		if t.Sources.Absences != domain.SystemPersonio {
			return nil, "absences are led by Staffomatic; changes in Personio are overwritten"
		}
		return targeted(domain.PhaseAbsences, domain.KindAbsence, ev.ResourceID), ""
	case "attendance-period":
		if !t.Sources.TimeTracking {
			return nil, "time tracking is switched off"
		}
		return targeted(domain.PhaseTimesheets, domain.KindAttendance, ev.ResourceID), ""
	}
	return nil, "event " + ev.EventName + " does not concern the sync"
}

func (a *API) staffomaticWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), webhookBudget)
	defer cancel()
	r = r.WithContext(ctx)
	body, t, sec, err := a.webhookTenant(r, staffomatic.MaxHintBody)
	if err != nil {
		return err
	}
	staleSig := &Error{Status: http.StatusUnauthorized, Code: "stale_signature", Message: "the signature's timestamp is more than 5 minutes from now; check the sender's clock"}
	badSig := &Error{Status: http.StatusUnauthorized, Code: "bad_signature", Message: "send " + staffomatic.SignatureHeader + ": t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\"> with the tenant's secret"}
	// A header that cannot match whatever the secret (missing, malformed, out of time) is
	// refused before the secret is opened: opening it is a KMS call in AWS, which nobody
	// should be able to cause by sending anything to a tenant's public receiver URL.
	if pre, err := staffomatic.ParseSignature(r.Header.Get(staffomatic.SignatureHeader)); err != nil {
		return badSig
	} else if d := a.now().Sub(pre.Timestamp); d > staffomatic.SignatureTolerance || d < -staffomatic.SignatureTolerance {
		return staleSig
	}
	if a.sealer == nil || sec.StaffomaticSecret.Scheme != a.sealer.Scheme() {
		a.log.ErrorContext(ctx, "the Staffomatic webhook secret cannot be opened by this sealer; rotate it", "tenant_id", t.ID)
		return errWebhookAuth
	}
	secret, err := a.sealer.Open(ctx, t.ID, sec.StaffomaticSecret.Blob)
	if err != nil {
		return err
	}
	sig, err := staffomatic.VerifySignature(secret, r.Header.Get(staffomatic.SignatureHeader), body, a.now())
	if errors.Is(err, staffomatic.ErrSignatureStale) {
		return staleSig
	}
	if err != nil {
		return badSig
	}
	// Throttled before the replay claim, so that the sender's retry is not taken for a replay.
	if err := a.hookLimit.allow(w, t.ID, a.now()); err != nil {
		return err
	}
	// The replay key and the run id come from the one digest that matched (VerifySignature
	// drops the other v1 values the header may carry), so a replay with another or a
	// reordered v1 beside the valid one is still a replay.
	// A body that is no notification is refused before the replay claim is written:
	// nothing is stored for a request answered with an error.
	hint, err := staffomatic.ParseHint(body)
	if err != nil && !errors.Is(err, staffomatic.ErrHintUnknownKind) {
		return badRequest("", "not a Staffomatic notification: %v", err)
	}
	replayed := &Error{Status: http.StatusConflict, Code: "replayed", Message: "this notification was delivered before; it is not processed twice"}
	seen := a.store.ClaimOnce(ctx, t.ID, "staffomatic:"+sig.ReplayKey(), replayTTL)
	if seen != nil && !errors.Is(seen, store.ErrExists) {
		return seen
	}
	req, reason, err := a.StaffomaticRequest(ctx, t, hint)
	if err != nil {
		return err
	}
	req, reason = a.deployed(req, reason)
	// The run id derives from the signature, so a repeat of a delivery finds the run the
	// first one queued. A delivery answered with an error (queue or store down) queued
	// nothing, so its resend is processed instead of being lost as a "replay".
	runID := ""
	if req != nil {
		runID = webhookRunID(req.Phase, sig)
	}
	if seen != nil {
		if req == nil {
			return replayed
		}
		if _, err := a.store.GetRun(ctx, t.ID, runID); err == nil {
			return replayed
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	a.log.InfoContext(ctx, "staffomatic webhook", "tenant_id", t.ID, "kind", hint.Kind, "id", hint.ID, "ignored", req == nil, "resent", seen != nil)
	err = a.answerWebhook(w, ctx, req, reason, runID)
	var ae *Error
	if errors.As(err, &ae) && ae.Code == "conflict" {
		return replayed // the same delivery, received twice at once, queued its run once
	}
	return err
}

// webhookRunID is the run id of a signed delivery: its timestamp, the phase and the first
// digits of its signature.
func webhookRunID(p domain.Phase, sig staffomatic.Signature) string {
	return sig.Timestamp.UTC().Format("20060102T150405Z") + "-" + string(p) + "-wh" + sig.V1[0][:16]
}

// StaffomaticRequest turns a hint into a sync request. Hints name Staffomatic ids; where
// the phase is led by Personio the mapping finds the Personio record it came from, and
// without a mapping the phase re-reads recent changes (partial) instead of guessing.
func (a *API) StaffomaticRequest(ctx context.Context, t domain.Tenant, h staffomatic.Hint) (*domain.SyncRequest, string, error) {
	id := itoa(h.ID)
	partial := func(p domain.Phase) *domain.SyncRequest {
		return &domain.SyncRequest{Tenant: t.ID, Phase: p, Mode: domain.ModePartial}
	}
	targeted := func(p domain.Phase, k domain.RecordKind, id string) *domain.SyncRequest {
		return &domain.SyncRequest{Tenant: t.ID, Phase: p, Mode: domain.ModeTargeted, Targets: []domain.Target{{Kind: k, ID: id}}}
	}
	source := func(k domain.RecordKind) (string, error) {
		m, err := a.store.FindByTarget(ctx, t.ID, k, id)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return m.SourceID, err
	}
	switch h.Kind {
	case staffomatic.KindUser:
		src, err := source(domain.KindUser)
		if err != nil || src == "" {
			return partial(domain.PhaseUsers), "", err
		}
		return targeted(domain.PhaseUsers, domain.KindUser, src), "", nil
	case staffomatic.KindAbsence:
		if t.Sources.Absences == domain.SystemStaffomatic {
			return targeted(domain.PhaseAbsences, domain.KindAbsence, id), "", nil
		}
		src, err := source(domain.KindAbsence)
		if err != nil || src == "" {
			return partial(domain.PhaseAbsences), "", err
		}
		return targeted(domain.PhaseAbsences, domain.KindAbsence, src), "", nil
	case staffomatic.KindWorkTimer:
		if !t.Sources.TimeTracking {
			return nil, "time tracking is switched off", nil
		}
		return targeted(domain.PhaseTimesheets, domain.KindTimer, id), "", nil
	case staffomatic.KindBreakTimer:
		if !t.Sources.TimeTracking {
			return nil, "time tracking is switched off", nil
		}
		return partial(domain.PhaseTimesheets), "", nil
	}
	switch strings.ToLower(string(h.Kind)) {
	case "location", "department":
		return partial(domain.PhaseWorkspaces), "", nil
	case "absence_type", "absence_category", "absencetype":
		return partial(domain.PhaseAbsences), "", nil
	}
	return nil, "records of kind " + string(h.Kind) + " are not synchronised", nil
}
