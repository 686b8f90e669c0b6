package gpus

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// UnknownGPUError says a GPU type matched no family, canonical name or alias.
// The API turns it into a 422 that lists the suggestions.
type UnknownGPUError struct {
	Name        string
	Suggestions []string
}

func (e *UnknownGPUError) Error() string {
	if len(e.Suggestions) == 0 {
		return fmt.Sprintf("unknown GPU type %q", e.Name)
	}
	return fmt.Sprintf("unknown GPU type %q; did you mean: %s?", e.Name, strings.Join(e.Suggestions, ", "))
}

// maxSuggestKey bounds the work an absurd query can cause; no GPU name is
// anywhere near this long.
const maxSuggestKey = 64

// How a spelling matches a query, best first.
const (
	tierPrefix    = iota // the spelling starts with the query: "H10" → "H100"
	tierTokens           // each query word starts a word of the spelling: "A100-80" → "A100 (80 GB SXM4)"
	tierSubstring        // the spelling contains the query
	tierEdit             // a few typos away: "nvidia-h100-sxm-80gb" → "nvidia-h100-sxm5-80gb"
)

// suggestion is a name Suggest can offer, with the spellings that lead to
// it, normalised once at load.
type suggestion struct {
	name      string
	spellings []spelling
}

type spelling struct {
	key   string   // normalised
	words []string // lower-case runs of letters and digits
}

// newSuggestion prepares a name and its spellings for matching.
func newSuggestion(name string, spellings ...string) suggestion {
	s := suggestion{name: name}
	for _, sp := range spellings {
		s.spellings = append(s.spellings, spelling{key: normalize(sp), words: words(sp)})
	}
	return s
}

// Suggest returns up to n families and canonical names close to an unknown
// name, best first. A canonical name is suggested when its name or any of
// its aliases is close.
func (r *Registry) Suggest(name string, n int) []string {
	q := normalize(name)
	if n <= 0 || q == "" || len(q) > maxSuggestKey {
		return nil
	}
	qWords := words(name)

	type match struct {
		name       string
		tier, dist int
	}
	var matches []match
	for _, s := range r.suggestions {
		best := match{name: s.name, tier: tierEdit + 1}
		for _, sp := range s.spellings {
			tier, dist, ok := score(q, qWords, sp)
			if ok && (tier < best.tier || tier == best.tier && dist < best.dist) {
				best.tier, best.dist = tier, dist
			}
		}
		if best.tier <= tierEdit {
			matches = append(matches, best)
		}
	}

	slices.SortFunc(matches, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name))
	})
	out := make([]string, 0, min(n, len(matches)))
	for _, m := range matches[:min(n, len(matches))] {
		out = append(out, m.name)
	}
	return out
}

// score rates one spelling against a normalised query q and its words.
func score(q string, qWords []string, sp spelling) (tier, dist int, ok bool) {
	dist = editDistance(q, sp.key)
	switch {
	case strings.HasPrefix(sp.key, q):
		return tierPrefix, dist, true
	case startsWords(qWords, sp.words):
		return tierTokens, dist, true
	case strings.Contains(sp.key, q):
		return tierSubstring, dist, true
	case dist <= max(2, len(q)/3):
		return tierEdit, dist, true
	}
	return 0, 0, false
}

// startsWords reports whether every query word starts some word of the spelling.
func startsWords(query, spelling []string) bool {
	if len(query) == 0 {
		return false
	}
	for _, q := range query {
		if !slices.ContainsFunc(spelling, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// words splits a name into lower-case runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c)
	})
}

// Closest is the one of names that name most likely misspells: the same
// name in another case, or the nearest a few typos away ("regoin" →
// "region"). It is empty when none is close. Names longer than any GPU
// name are not compared, so an absurd input costs nothing.
func Closest(name string, names []string) string {
	if name == "" || len(name) > maxSuggestKey {
		return ""
	}
	best, bestDist := "", 0
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(n))
		if d <= max(2, len(name)/3) && d < len(name) && (best == "" || d < bestDist) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two byte strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
