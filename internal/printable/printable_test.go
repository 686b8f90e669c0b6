package printable

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, s := range []string{"", "train-1", "Ünïcødé ナメ 名前 🚀", "a b\u00a0c", "x\ufffdy"} {
		if err := Check(s); err != nil {
			t.Errorf("Check(%q) = %v, want nil", s, err)
		}
	}
	for s, want := range map[string]string{
		"a\x1b[31mred":  "U+001B, a control character, at character 2",
		"bell\a":        "U+0007, a control character, at character 5",
		"cr\r":          "U+000D",
		"lf\n":          "U+000A",
		"nul\x00":       "U+0000",
		"tab\t":         "U+0009",
		"del\x7f":       "U+007F",
		"c1\u0085":      "U+0085",
		"evil\u202egnp": "U+202E, a bidirectional-text control, at character 5",
		"\u2066iso":     "U+2066, a bidirectional-text control",
		"zero\u200bw":   "U+200B, an invisible format character",
		"ls\u2028":      "U+2028, a line or paragraph separator",
		"pua\ue000":     "U+E000, an unprintable character",
		"bad\xffutf8":   "not valid UTF-8 at character 4",
	} {
		err := Check(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":           "plain name",
		"ナメ 🚀":                 "ナメ 🚀",
		"\x1b[2J\x1b[31mred\a": `\x1b[2J\x1b[31mred\x07`,
		"a\r\nb":               `a\x0d\x0ab`,
		"evil\u202egnp.exe":    `evil\u202egnp.exe`,
		"bad\xffbyte":          `bad\xffbyte`,
		"astral\U000e0001":     `astral\U000e0001`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if err := Check(Escape(in)); err != nil {
			t.Errorf("Escape(%q) is still unprintable: %v", in, err)
		}
	}
}
