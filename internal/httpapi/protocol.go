package httpapi

import (
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

// ProtocolEntryView is one protocol line as clients see it.
type ProtocolEntryView struct {
	Time     time.Time         `json:"time"`
	Area     domain.Area       `json:"area"`
	RunID    string            `json:"run_id"`
	Kind     domain.RecordKind `json:"kind"`
	SourceID string            `json:"source_id"`
	TargetID string            `json:"target_id"`
	Action   string            `json:"action"`
	Outcome  domain.Outcome    `json:"outcome"`
	Reason   string            `json:"reason"`
	// Person, Workspace and Changes name what the ids stand for (domain.PlannedAction).
	Person      string               `json:"person,omitempty"`
	Workspace   string               `json:"workspace,omitempty"`
	AbsenceType string               `json:"absence_type,omitempty"`
	Changes     []domain.FieldChange `json:"changes,omitempty"`
}

func (a *API) protocol(w http.ResponseWriter, r *http.Request, t domain.Tenant) error {
	q := r.URL.Query()
	// Without an area, the entries of every area come merged, newest first.
	area := domain.Area(q.Get("area"))
	if area != "" && !area.Valid() {
		return badRequest("area", "area: %q: use users, workspaces, timesheets, absences or setup, or leave it out for all areas", area)
	}
	now := a.now()
	from, to := now.Add(-domain.ProtocolRetention), time.Time{}
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest(p.name, "%s: %q is not an RFC 3339 time such as 2026-03-01T00:00:00Z", p.name, v)
			}
			*p.into = tm
		}
	}
	if !to.IsZero() && to.Before(from) {
		return badRequest("to", "to: %s is before from (%s; without from, the protocol's two months)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	limit, err := intParam(r, "limit", 100, 500)
	if err != nil {
		return err
	}
	cursor := q.Get("cursor") // checked by the store: store.ErrBadCursor is the client's 400
	page, err := a.store.QueryProtocol(r.Context(), store.ProtocolQuery{Tenant: t.ID, Area: area, From: from, To: to,
		RunID: q.Get("run_id"), Limit: limit, Newest: true, Next: cursor})
	if err != nil {
		return err
	}
	entries := make([]ProtocolEntryView, len(page.Entries))
	for i, e := range page.Entries {
		entries[i] = ProtocolEntryView{Time: e.Time.UTC(), Area: e.Area, RunID: e.RunID, Kind: e.Kind, SourceID: e.SourceID,
			TargetID: e.TargetID, Action: e.Action, Outcome: e.Outcome, Reason: e.Reason,
			Person: e.Person, Workspace: e.Workspace, AbsenceType: e.AbsenceType, Changes: e.Changes}
	}
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if page.Next != "" {
			w.Header().Set("X-Next-Cursor", page.Next)
		}
		w.WriteHeader(http.StatusOK)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"time", "area", "run_id", "kind", "source_id", "target_id", "action", "outcome", "reason", "person", "workspace", "changes", "absence_type"})
		for _, e := range entries {
			_ = cw.Write([]string{e.Time.Format(time.RFC3339Nano), string(e.Area), e.RunID, string(e.Kind), cell(e.SourceID),
				cell(e.TargetID), cell(e.Action), string(e.Outcome), cell(e.Reason), cell(e.Person), cell(e.Workspace), cell(changesCell(e.Changes)), cell(e.AbsenceType)})
		}
		cw.Flush()
		return nil
	}
	WriteJSON(w, http.StatusOK, map[string]any{"entries": entries, "next_cursor": page.Next})
	return nil
}

// changesCell is a field diff in one CSV cell: "first_name: Frida → Frieda; locked: no → yes".
func changesCell(ch []domain.FieldChange) string {
	parts := make([]string, len(ch))
	for i, c := range ch {
		parts[i] = c.Field + ": " + c.From + " → " + c.To
	}
	return strings.Join(parts, "; ")
}

// wantsCSV reports whether the client asked for CSV before JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// cell defuses spreadsheet formulas: a reason copied from a vendor must not run as a
// formula when the admin opens the CSV.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
