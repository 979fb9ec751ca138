package personio

import (
	"encoding/json"
	"strings"
	"time"
)

// WorkSchedule is an employee's v1 work_schedule (notes §2.1): the working time of each
// weekday ("08:00" is eight hours, "00:00" a day off), indexed by time.Weekday.
type WorkSchedule struct {
	Name  string
	Hours [7]time.Duration
}

// WorkSchedule reads the employee's work_schedule attribute. ok is false when the
// credential does not expose it, it is null, or no weekday carries a readable time.
func (e Employee) WorkSchedule() (ws WorkSchedule, ok bool) {
	a, has := e.Attributes["work_schedule"]
	if !has || a.IsNull() {
		return WorkSchedule{}, false
	}
	var v struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	if json.Unmarshal(a.Value, &v) != nil {
		return WorkSchedule{}, false
	}
	_ = json.Unmarshal(v.Attributes["name"], &ws.Name)
	for d := time.Sunday; d <= time.Saturday; d++ {
		var s string
		if json.Unmarshal(v.Attributes[strings.ToLower(d.String())], &s) != nil {
			continue
		}
		h, m, found := strings.Cut(strings.TrimSpace(s), ":")
		t, err := time.Parse("15:04", h+":"+m)
		if !found || err != nil {
			continue
		}
		ws.Hours[d] = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		ok = true
	}
	return ws, ok
}
