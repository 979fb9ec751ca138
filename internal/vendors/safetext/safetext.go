// Package safetext turns text a vendor's server sent into something that may be shown to
// an admin: API error messages, a run summary's error and protocol reasons repeat what a
// vendor answered, and the vendor is whatever host a tenant's base URL names. Only short,
// printable text passes; an HTML page or a megabyte of bytes does not become a read-back
// channel, and control characters cannot forge log or CSV lines.
//
// It imports nothing of staffsync, so the vendor clients and the vendor builder can both
// use it.
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessage is the longest message, in characters, that Message returns (plus "…").
const MaxMessage = 200

// MaxLog is the longest body excerpt, in characters, that LogExcerpt returns (plus "…").
const MaxLog = 512

// Message returns s as a one-line message of at most MaxMessage characters: invalid UTF-8,
// control and format characters become spaces, runs of white space become one space, and
// a longer text is cut with "…". Text that looks like markup (an HTML error page) is
// dropped, since it is no message a vendor meant for a reader.
func Message(s string) string {
	out := clean(s, MaxMessage)
	if strings.HasPrefix(out, "<") {
		return ""
	}
	return out
}

// Join joins messages with "; " and keeps the result within MaxMessage characters, so a
// list of field errors stays readable and short.
func Join(parts []string) string {
	var kept []string
	for _, p := range parts {
		if p = Message(p); p != "" {
			kept = append(kept, p)
		}
	}
	return clean(strings.Join(kept, "; "), MaxMessage)
}

// LogExcerpt returns the start of a response body for an operator's log line: at most
// MaxLog characters, control characters replaced. Logs are not shown to admins, but a
// bounded, printable excerpt keeps one response from flooding them.
func LogExcerpt(b []byte) string {
	if len(b) > 4*MaxLog {
		b = b[:4*MaxLog]
	}
	return clean(string(b), MaxLog)
}

func clean(s string, limit int) string {
	var b strings.Builder
	n, space := 0, false
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError && size <= 1 || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n >= limit {
			b.WriteString("…")
			return b.String()
		}
		if space {
			if n+1 >= limit {
				b.WriteString("…")
				return b.String()
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
