package staffomatic

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Staffomatic documents no webhooks, so our receiver accepts notifications signed with a
// per-tenant secret and treats them only as hints of what to re-read (the data is always
// fetched through the API). The scheme:
//
//	X-Staffsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// Several v1 values may be present (secret rotation); one match suffices. Timestamps
// more than SignatureTolerance away from now are refused, which bounds replays; refusing
// a replay within the tolerance needs storage and is the receiver's job (see Signature.ReplayKey).

// SignatureHeader is the HTTP header carrying the signature.
const SignatureHeader = "X-Staffsync-Signature"

// SignatureTolerance is how far a signature's timestamp may be from the receiver's clock.
const SignatureTolerance = 5 * time.Minute

// Signature errors. VerifySignature wraps exactly one of them.
var (
	ErrSignatureMalformed = errors.New("malformed signature header")
	ErrSignatureStale     = errors.New("signature timestamp outside the tolerance")
	ErrSignatureMismatch  = errors.New("signature does not match")
)

// Signature is a parsed signature header.
type Signature struct {
	Timestamp time.Time
	V1        []string // lower-case hex digests
}

// ReplayKey identifies one delivery: store it for SignatureTolerance and refuse a repeat.
func (s Signature) ReplayKey() string {
	v := ""
	if len(s.V1) > 0 {
		v = s.V1[0]
	}
	return strconv.FormatInt(s.Timestamp.Unix(), 10) + "." + v
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the header value signing body at time t with secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// ParseSignature parses a header value without checking it.
func ParseSignature(header string) (Signature, error) {
	var s Signature
	haveT := false
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Signature{}, fmt.Errorf("%w: element %q", ErrSignatureMalformed, part)
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || haveT {
				return Signature{}, fmt.Errorf("%w: bad timestamp", ErrSignatureMalformed)
			}
			s.Timestamp, haveT = time.Unix(n, 0), true
		case "v1":
			if len(v) != sha256.Size*2 {
				return Signature{}, fmt.Errorf("%w: v1 must be %d hex digits", ErrSignatureMalformed, sha256.Size*2)
			}
			if _, err := hex.DecodeString(v); err != nil {
				return Signature{}, fmt.Errorf("%w: v1 is not hex", ErrSignatureMalformed)
			}
			s.V1 = append(s.V1, strings.ToLower(v))
		default:
			// Unknown schemes (a future v2) are ignored, so senders can add them first.
		}
	}
	if !haveT || len(s.V1) == 0 {
		return Signature{}, fmt.Errorf("%w: t and v1 are required", ErrSignatureMalformed)
	}
	return s, nil
}

// VerifySignature checks header against body and returns the parsed signature, whose
// ReplayKey the receiver stores to refuse repeats.
func VerifySignature(secret []byte, header string, body []byte, now time.Time) (Signature, error) {
	s, err := ParseSignature(header)
	if err != nil {
		return Signature{}, err
	}
	if d := now.Sub(s.Timestamp); d > SignatureTolerance || d < -SignatureTolerance {
		return Signature{}, fmt.Errorf("%w: %s off", ErrSignatureStale, d.Round(time.Second))
	}
	want := mac(secret, s.Timestamp.Unix(), body)
	ok := false
	for _, v := range s.V1 {
		got, _ := hex.DecodeString(v)
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return Signature{}, ErrSignatureMismatch
	}
	// The verified signature holds only the digest that matched: the sender controls the
	// other v1 values, so a replay key taken from them would make a replay with an extra
	// or reordered v1 look like a new delivery.
	s.V1 = []string{hex.EncodeToString(want)}
	return s, nil
}

// Kind names the record a hint is about.
type Kind string

const (
	KindUser       Kind = "user"
	KindAbsence    Kind = "absence"
	KindWorkTimer  Kind = "work_timer"
	KindBreakTimer Kind = "break_timer"
)

// Hint is the body of a signed notification: which record changed. Subdomain and
// Action are informational.
type Hint struct {
	Kind      Kind   `json:"kind"`
	ID        int64  `json:"id"`
	Subdomain string `json:"subdomain,omitempty"`
	Action    string `json:"action,omitempty"` // created, updated, deleted
}

// kindAliases maps the spellings senders use (Staffomatic's eventable_type, plurals,
// "timer") to our kinds.
var kindAliases = map[string]Kind{
	"user": KindUser, "users": KindUser,
	"absence": KindAbsence, "absences": KindAbsence,
	"work_timer": KindWorkTimer, "work_timers": KindWorkTimer, "worktimer": KindWorkTimer, "timer": KindWorkTimer,
	"break_timer": KindBreakTimer, "break_timers": KindBreakTimer, "breaktimer": KindBreakTimer,
}

// ErrHintUnknownKind is returned for a well-formed hint about a record kind we do not
// sync; the receiver answers it with a partial sync rather than an error.
var ErrHintUnknownKind = errors.New("hint names an unknown record kind")

// MaxHintBody bounds the size of a hint body the parser accepts.
const MaxHintBody = 64 << 10

// ParseHint decodes a notification body. It accepts "kind" or "type"/"eventable_type",
// and the id as a number or a numeric string.
func ParseHint(body []byte) (Hint, error) {
	if len(body) > MaxHintBody {
		return Hint{}, fmt.Errorf("staffomatic: hint body of %d bytes is too large", len(body))
	}
	var raw struct {
		Kind          string     `json:"kind"`
		Type          string     `json:"type"`
		EventableType string     `json:"eventable_type"`
		ID            flexString `json:"id"`
		EventableID   flexString `json:"eventable_id"`
		Subdomain     string     `json:"subdomain"`
		Action        string     `json:"action"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Hint{}, fmt.Errorf("staffomatic: hint body: %w", err)
	}
	name := raw.Kind
	if name == "" {
		name = raw.EventableType
	}
	if name == "" {
		name = raw.Type
	}
	idText := string(raw.ID)
	if idText == "" {
		idText = string(raw.EventableID)
	}
	h := Hint{Subdomain: raw.Subdomain, Action: raw.Action}
	if name == "" {
		return Hint{}, errors.New("staffomatic: hint names no record kind")
	}
	id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
	if err != nil || id <= 0 {
		return Hint{}, fmt.Errorf("staffomatic: hint id %q is not a positive integer", idText)
	}
	h.ID = id
	k, ok := kindAliases[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "_"))]
	if !ok {
		h.Kind = Kind(name)
		return h, fmt.Errorf("staffomatic: %w: %q", ErrHintUnknownKind, name)
	}
	h.Kind = k
	return h, nil
}
