package safetext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestMessage(t *testing.T) {
	junk := strings.Repeat("A\x00\x1b[31m", 1<<20/8)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Supervisor with ID 1 not found", "Supervisor with ID 1 not found"},
		{"german", "Es ist ein Problem aufgetreten", "Es ist ein Problem aufgetreten"},
		{"control characters", "bad\r\nX-Injected: 1\x00\x07end", "bad X-Injected: 1 end"},
		{"terminal escape and bidi override", "ok\x1b[2J\u202eevil", "ok [2J evil"},
		{"invalid utf-8", "a\xff\xfeb", "a b"},
		{"html page", "<html><body><h1>502 Bad Gateway</h1></body></html>", ""},
		{"leading space before html", "  \n<!DOCTYPE html>", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.in); got != tt.want {
				t.Errorf("Message(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("one megabyte of junk", func(t *testing.T) {
		got := Message(junk)
		if n := utf8.RuneCountInString(got); n > MaxMessage+1 {
			t.Fatalf("%d characters, want at most %d", n, MaxMessage+1)
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 || !strings.HasSuffix(got, "…") {
			t.Fatalf("not sanitised or not marked as cut: %q", got)
		}
	})
}

func TestJoinAndLogExcerpt(t *testing.T) {
	parts := []string{"email has already been taken", "<b>x</b>", "first_name can't be blank\n", strings.Repeat("x", 500)}
	got := Join(parts)
	if !strings.HasPrefix(got, "email has already been taken; first_name can't be blank; xxx") || utf8.RuneCountInString(got) > MaxMessage+1 {
		t.Fatalf("Join = %q", got)
	}
	ex := LogExcerpt([]byte(strings.Repeat("\x00y", 1<<20)))
	if utf8.RuneCountInString(ex) > MaxLog+1 || strings.ContainsRune(ex, 0) {
		t.Fatalf("LogExcerpt: %d characters, %q…", utf8.RuneCountInString(ex), ex[:20])
	}
}
