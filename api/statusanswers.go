package api

import (
	"sync"

	"github.com/google/uuid"
)

// maxStatusAnswers bounds statusAnswers as provision bounds its status
// cache; past it, entries are dropped at random.
const maxStatusAnswers = 10_000

// encodedAnswer is an answer encoded once, with its ETag; its bytes are
// never changed, so any number of responses may write them at once.
type encodedAnswer struct {
	body []byte
	tag  string
}

// statusAnswers keeps each offer's status answer as last encoded, under
// the version of the rows it was rendered from (provision.OfferStatus's
// Version). A poll of an unchanged status writes those bytes and their
// tag: no encoding and no hashing, which were the largest part of a poll
// after the version read and the connection itself.
type statusAnswers struct {
	mu      sync.Mutex
	entries map[uuid.UUID]statusAnswer
}

type statusAnswer struct {
	accountID, version int64
	encodedAnswer
}

func newStatusAnswers() *statusAnswers {
	return &statusAnswers{entries: map[uuid.UUID]statusAnswer{}}
}

// get returns the account's answer for the offer's status at version.
func (c *statusAnswers) get(offerID uuid.UUID, accountID, version int64) (encodedAnswer, bool) {
	c.mu.Lock()
	e, ok := c.entries[offerID]
	c.mu.Unlock()
	if !ok || e.accountID != accountID || e.version != version {
		return encodedAnswer{}, false
	}
	return e.encodedAnswer, true
}

// put keeps the answer of the offer's status at version, unless an
// answer of a later version is kept already.
func (c *statusAnswers) put(offerID uuid.UUID, accountID, version int64, ans encodedAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[offerID]; ok && e.accountID == accountID && e.version > version {
		return
	}
	for id := range c.entries {
		if len(c.entries) < maxStatusAnswers {
			break
		}
		delete(c.entries, id)
	}
	c.entries[offerID] = statusAnswer{accountID: accountID, version: version, encodedAnswer: ans}
}
