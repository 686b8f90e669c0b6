package vendors

import "testing"

func TestPhrasesKind(t *testing.T) {
	ps := Phrases{{Phrase: "being created", Kind: ErrTransient}, {Phrase: "Quota", Kind: ErrQuota}, {Phrase: "quota exceeded", Kind: ErrNoCapacity}}
	for msg, want := range map[string]error{
		"VM is currently BEING CREATED": ErrTransient,
		"instance quota exceeded":       ErrQuota, // the first row that matches
		"no such flavor":                nil,
		"":                              nil,
	} {
		if got := ps.Kind(msg); got != want {
			t.Errorf("Kind(%q) = %v, want %v", msg, got, want)
		}
	}
}
