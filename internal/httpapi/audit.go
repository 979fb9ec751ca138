package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/staffsync/staffsync/internal/domain"
)

// maxAuditText bounds what one set-up entry says changed: auto-include rules of 3 × 200
// values of 200 characters made an entry of 120 KB, and 500 of them a protocol page past
// Lambda's 6 MB answer. The whole change is in the setting itself (GET selection).
const maxAuditText = 2000

// audit writes one entry of the set-up trail (protocol area setup): who changed what of
// the tenant's set-up. It never carries a secret value: credentials changes name the
// fields, not their values. The change itself is stored already, so a failed write is
// logged, not answered: the admin's change stands either way.
func (a *API) audit(ctx context.Context, t domain.Tenant, action string, format string, args ...any) {
	if a.store == nil {
		return
	}
	var r [5]byte
	_, _ = rand.Read(r[:])
	who := ownerText(t.Owner)
	what := fmt.Sprintf(format, args...)
	if n := utf8.RuneCountInString(what); n > maxAuditText {
		what = string([]rune(what)[:maxAuditText]) + fmt.Sprintf("… (%d more characters)", n-maxAuditText)
	}
	e := domain.ProtocolEntry{Tenant: t.ID, Area: domain.AreaSetup, Time: a.now().UTC(),
		RunID: a.now().UTC().Format("20060102T150405Z") + "-setup-" + hex.EncodeToString(r[:]),
		Kind:  domain.KindTenantSetting, SourceID: t.ID, Action: action, Outcome: domain.OutcomeUpdated,
		Reason: what + "; by the owner " + who}
	if err := a.store.AppendProtocol(context.WithoutCancel(ctx), e); err != nil {
		a.log.ErrorContext(ctx, "set-up trail: write failed", "tenant_id", t.ID, "action", action, "error", err)
	}
}

// ownerText is "Name <e-mail>", or the e-mail alone when the name is unknown.
func ownerText(o domain.Owner) string {
	if o.Name == "" {
		return o.Email
	}
	return o.Name + " <" + o.Email + ">"
}

// changes lists "name: old → new" for each differing pair, "" when none differs.
func changes(pairs ...[3]string) string {
	var out []string
	for _, p := range pairs {
		if p[1] != p[2] {
			out = append(out, fmt.Sprintf("%s: %s → %s", p[0], orNone(p[1]), orNone(p[2])))
		}
	}
	return strings.Join(out, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// prefixed is p+s, or "" when s is empty.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// settingsChanges names each setting that differs, by its JSON name, with both values.
func settingsChanges(before, after domain.Settings) string {
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	var bm, am map[string]any
	_ = json.Unmarshal(b, &bm)
	_ = json.Unmarshal(a, &am)
	keys := make([]string, 0, len(am))
	for k := range am {
		keys = append(keys, k)
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var pairs [][3]string
	for _, k := range keys {
		pairs = append(pairs, [3]string{k, jsonText(bm[k]), jsonText(am[k])})
	}
	return changes(pairs...)
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
