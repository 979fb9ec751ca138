package timesync

import (
	"context"
	"log/slog"
	"strings"

	"github.com/staffsync/staffsync/internal/staffomatic"
)

// late are the display names of a targeted run's users, read while the run writes. The
// names only make the protocol readable ("timer 5 of Ada Adler (user 12) on …"); the
// writes do not depend on them (Compute decides from the timers, mappings and settings),
// so a webhook's run does not wait for a third Staffomatic read (the user, whose id the
// timer names) before its POSTs: it plans with the users' ids only and names each entry
// once its writes are done, which gives the text the plan would have had with the names.
type late struct {
	done  chan struct{}
	names map[string]string // filled before done is closed
}

// lateNames starts reading the names of the users in want.
func lateNames(ctx context.Context, sc *staffomatic.Client, log *slog.Logger, want map[string]bool) *late {
	l := &late{done: make(chan struct{}), names: map[string]string{}}
	go func() {
		defer close(l.done)
		if err := names(ctx, sc, want, l.names); err != nil {
			// The protocol names the user by id instead; the run's work is done.
			log.WarnContext(ctx, "timesheets: users' names not read; the protocol names them by id", "error", err)
		}
	}()
	return l
}

// name returns action a and reason (the reason apply records for it, which starts with or
// is made of a's) with the user's name, as Compute gives them when Input.Names has it. It
// waits until the names are read.
func (l *late) name(a Action, reason string) (Action, string) {
	<-l.done
	n := strings.TrimSpace(l.names[a.UserID])
	if n == "" || a.UserID == "" {
		return a, reason
	}
	a.Person = n
	a.Reason = named(a.Reason, a.UserID, n)
	return a, named(reason, a.UserID, n)
}

// named replaces each "of user <id>" in s (the subject Compute writes without the user's
// name) by "of <n> (user <id>)", as it writes it with the name.
func named(s, userID, n string) string {
	bare := "of user " + userID
	var b strings.Builder
	for {
		i := strings.Index(s, bare)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(bare)
		if end < len(s) && s[end] >= '0' && s[end] <= '9' {
			// Another user whose id starts with this one's.
			b.WriteString(s[:end])
			s = s[end:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString("of " + n + " (user " + userID + ")")
		s = s[end:]
	}
}
