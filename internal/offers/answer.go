package offers

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/gpusupply/supply/supplyapi"
)

// Answer is the answer to an OfferQuery as references to pre-encoded offers: the
// API writes it as JSON with AppendJSON, without building an Offer per
// result; Result builds them for callers that want values.
type Answer struct {
	// TotalCount is every match, before the limit.
	TotalCount int
	// FiltersApplied is the normalised query (see Result).
	FiltersApplied map[string]any
	// Created is every offer's created_at; each expires at Expires.
	Created, Expires time.Time
	offers           []answered
	// stamps are the observed_at values the offers point at, one per
	// vendor, formatted once per catalog view.
	stamps []stamp
}

// answered is one offer of an Answer: an index's entry, or an offer
// built elsewhere (NewAnswer).
type answered struct {
	id       uuid.UUID
	entry    *Entry
	offer    *supplyapi.Offer
	enc      *encoded
	observed int
}

// stamp is an observed_at time with its JSON.
type stamp struct {
	at   time.Time
	json []byte
}

func newStamp(t time.Time) stamp { return stamp{at: t, json: appendTime(nil, t)} }

// Len is the number of offers in the answer.
func (a *Answer) Len() int { return len(a.offers) }

// AppendJSON appends the answer as JSON, byte for byte what encoding/json
// writes for a.Result() (without the trailing newline of an Encoder).
func (a *Answer) AppendJSON(b []byte) ([]byte, error) {
	// The two per-answer timestamps are formatted once, not per offer.
	var times [96]byte
	t := append(times[:0], `"created_at":`...)
	t = appendTime(t, a.Created)
	t = append(t, `,"expires_at":`...)
	t = appendTime(t, a.Expires)
	t = append(t, ',')

	b = append(b, `{"offers":[`...)
	for i := range a.offers {
		o := &a.offers[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"offer_id":`...)
		b = appendUUID(b, o.id)
		b = append(b, ',')
		b = o.enc.appendTo(b, t)
		b = append(b, `"observed_at":`...)
		b = append(b, a.stamps[o.observed].json...)
		b = append(b, '}')
	}
	b = append(b, `],"total_count":`...)
	b = appendInt(b, a.TotalCount)
	b = append(b, `,"filters_applied":`...)
	b, err := appendFilters(b, a.FiltersApplied)
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// Result is the answer as values.
func (a *Answer) Result() supplyapi.OfferResult {
	res := supplyapi.OfferResult{Offers: make([]supplyapi.Offer, len(a.offers)), TotalCount: a.TotalCount, FiltersApplied: a.FiltersApplied}
	for i, o := range a.offers {
		if o.entry != nil {
			res.Offers[i] = o.entry.Offer()
		} else {
			res.Offers[i] = *o.offer
		}
		res.Offers[i].OfferID, res.Offers[i].CreatedAt, res.Offers[i].ExpiresAt = o.id, a.Created, a.Expires
		res.Offers[i].ObservedAt = a.stamps[o.observed].at
	}
	return res
}

// NewAnswer is an Answer of offers built elsewhere (a service without an
// Index, a test), encoded here once. Every offer must share the first
// one's created_at and expires_at, as an Index's answers do.
func NewAnswer(r supplyapi.OfferResult) (*Answer, error) {
	a := &Answer{TotalCount: r.TotalCount, FiltersApplied: r.FiltersApplied, offers: make([]answered, len(r.Offers))}
	if len(r.Offers) > 0 {
		a.Created, a.Expires = r.Offers[0].CreatedAt, r.Offers[0].ExpiresAt
	}
	var buf []byte
	parts := parts{}
	for i := range r.Offers {
		o := &r.Offers[i]
		if !o.CreatedAt.Equal(a.Created) || !o.ExpiresAt.Equal(a.Expires) {
			return nil, errors.New("new answer: offers differ in created_at or expires_at")
		}
		enc, rest, err := encodeOffer(buf, parts, o)
		if err != nil {
			return nil, err
		}
		buf = rest
		a.stamps = append(a.stamps, newStamp(o.ObservedAt))
		a.offers[i] = answered{id: o.OfferID, offer: o, enc: &enc, observed: i}
	}
	return a, nil
}
