package vendors

import "strings"

// Phrase is a fragment of a vendor's refusal and the kind of error a
// refusal holding it is. An adapter whose vendor documents no code for a
// refusal keeps a Phrases table of its words, each row saying where its
// phrase comes from.
type Phrase struct {
	Phrase string
	Kind   error
}

// Phrases is a vendor's table of refusal words, matched in order.
type Phrases []Phrase

// Kind is the kind of the first phrase that message holds, compared
// without regard to case, or nil when it holds none.
func (ps Phrases) Kind(message string) error {
	message = strings.ToLower(message)
	for _, p := range ps {
		if strings.Contains(message, strings.ToLower(p.Phrase)) {
			return p.Kind
		}
	}
	return nil
}
