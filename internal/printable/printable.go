// Package printable keeps text that people read on a terminal honest:
// names and comments a client sends must be printable, and whatever the
// command line prints from a server is escaped, so that no escape
// sequence, carriage return or right-to-left override can rewrite what
// the reader sees.
package printable

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ok reports whether r shows as itself: letters, marks, numbers,
// punctuation, symbols and spaces. Control characters, format characters
// (bidi overrides, zero-width joiners), line and paragraph separators,
// private-use and unassigned code points are not.
func ok(r rune) bool { return r != utf8.RuneError && unicode.IsGraphic(r) }

// Check returns an error naming the first character of s that is not
// printable, or invalid UTF-8, with its 1-based position in characters.
func Check(s string) error {
	pos := 0
	for i, r := range s {
		pos++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("is not valid UTF-8 at character %d", pos)
			}
		}
		if !ok(r) && r != utf8.RuneError {
			return fmt.Errorf("contains %s, %s, at character %d; only printable characters are allowed", code(r), kind(r), pos)
		}
	}
	return nil
}

// Escape makes s safe to print: every character Check would refuse, and
// every byte that is not UTF-8, is written as a Go escape (\x1b, \u202e).
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if !ok(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
				continue
			}
			b.WriteRune(r)
		case ok(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}

func code(r rune) string { return fmt.Sprintf("U+%04X", r) }

// kind names what sort of unprintable character r is, for the message.
func kind(r rune) string {
	switch {
	case unicode.Is(unicode.Bidi_Control, r):
		return "a bidirectional-text control"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return "a line or paragraph separator"
	}
	return "an unprintable character"
}
