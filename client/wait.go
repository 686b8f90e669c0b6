package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/supplyapi"
)

// Polling of WaitReady and WaitDeleted: every half second while things
// change, slowing down to every 5 s while they do not.
const (
	minPoll = 500 * time.Millisecond
	maxPoll = 5 * time.Second
	// maxPollFailures is how many polls in a row may fail for a passing
	// reason (a restarting server, a 503) before waiting gives up.
	maxPollFailures = 5
)

// WaitReady waits for an offer's procurement until every instance is
// running and reachable, and answers the final status. It reads the
// status again on each of the offer's events when the server streams
// them, and polls otherwise. onChange, when not nil, is
// called with the first status and with every status that differs from
// the one before. A failed procurement is a *FailedError; a cancelled ctx
// stops waiting (not the procurement) and answers ctx.Err().
func (c *Client) WaitReady(ctx context.Context, offerID uuid.UUID, onChange func(supplyapi.OfferStatusResponse)) (supplyapi.OfferStatusResponse, error) {
	return c.WaitProcurement(ctx, offerID, WaitHooks{OnChange: onChange})
}

// WaitHooks are what WaitProcurement calls as a procurement goes on.
type WaitHooks struct {
	// OnChange, when not nil, is called with the first status and with
	// every status that differs from the one before (its procurement
	// status, progress, instances or tries).
	OnChange func(supplyapi.OfferStatusResponse)
	// OnAttempt, when not nil, is called once for each offer a
	// procurement with a fallback tried, as the try ends (refused,
	// no_answer, failed, ready or cancelled), in order and before
	// OnChange of the status that showed it: n counts from 1. A try
	// that began and ended between two statuses read is reported too.
	// The try under way is in the status's Progress.
	OnAttempt func(n int, a supplyapi.Attempt)
}

// WaitProcurement is WaitReady with a call for each try of a
// procurement that fails over (see WaitHooks).
func (c *Client) WaitProcurement(ctx context.Context, offerID uuid.UUID, hooks WaitHooks) (supplyapi.OfferStatusResponse, error) {
	get := func(ctx context.Context) (supplyapi.OfferStatusResponse, error) { return c.OfferStatus(ctx, offerID) }
	wake, stop := c.wakeOnEvents(ctx, offerID.String())
	defer stop()
	ended := 0
	onChange := func(st supplyapi.OfferStatusResponse) {
		// Tries are only ever appended, and only the last can be under
		// way, so every try before the first one under way has ended.
		for ; ended < len(st.Attempts) && st.Attempts[ended].Outcome != supplyapi.AttemptTrying; ended++ {
			if hooks.OnAttempt != nil {
				hooks.OnAttempt(ended+1, st.Attempts[ended])
			}
		}
		if hooks.OnChange != nil {
			hooks.OnChange(st)
		}
	}
	return poll(ctx, wake, get, offerStatusKey, onChange, func(st supplyapi.OfferStatusResponse) (bool, error) {
		switch {
		case st.ProcurementStatus == supplyapi.ProcurementReady:
			return true, nil
		case st.ProcurementStatus == supplyapi.ProcurementFailed:
			reason := ""
			if st.FailureReason != nil {
				reason = *st.FailureReason
			}
			return true, &FailedError{OfferID: offerID, Reason: reason}
		case st.ProcurementStatus == supplyapi.ProcurementAvailable && st.Status == supplyapi.OfferExpired:
			return true, fmt.Errorf("offer %s expired before it was procured", offerID)
		}
		return false, nil
	})
}

// WaitDeleted waits for a resource until the vendor has confirmed it is
// gone (on its events, or polling), and answers its final state. onChange is called like WaitReady's. A
// resource that is neither deleting nor deleted is an error: nothing would
// ever delete it.
func (c *Client) WaitDeleted(ctx context.Context, resourceID uuid.UUID, onChange func(supplyapi.ResourceSummary)) (supplyapi.ResourceSummary, error) {
	get := func(ctx context.Context) (supplyapi.ResourceSummary, error) {
		return c.Resource(ctx, resourceID, false)
	}
	key := func(r supplyapi.ResourceSummary) string { return r.Status + "\x00" + deref(r.StatusMessage) }
	wake, stop := c.wakeOnEvents(ctx, resourceID.String())
	defer stop()
	return poll(ctx, wake, get, key, onChange, func(r supplyapi.ResourceSummary) (bool, error) {
		switch r.Status {
		case supplyapi.ResourceDeleted:
			return true, nil
		case supplyapi.ResourceDeleting:
			return false, nil
		}
		return true, fmt.Errorf("resource %s is %s, not being deleted", resourceID, r.Status)
	})
}

// offerStatusKey tells two offer statuses apart by what a watcher sees
// change: the procurement status, the progress, each instance's status
// and each try's outcome.
func offerStatusKey(st supplyapi.OfferStatusResponse) string {
	var b strings.Builder
	b.WriteString(st.ProcurementStatus + "\x00" + st.Progress)
	for _, in := range st.Instances {
		b.WriteString("\x00" + in.Status + "\x00" + deref(in.SSHCommand))
	}
	for _, a := range st.Attempts {
		b.WriteString("\x00" + a.Outcome)
	}
	return b.String()
}

// wakeOnEvents follows the events of a resource (or an offer) and
// signals each on the channel it returns, once the stream is open, so that
// nothing that happens after it returns goes unsignalled. Without a stream
// (an older server, a proxy that buffers) the channel never fires and
// waiting polls. stop ends the stream.
func (c *Client) wakeOnEvents(ctx context.Context, id string) (wake <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	open := make(chan struct{})
	var once sync.Once
	signalOpen := func() { once.Do(func() { close(open) }) }
	go func() {
		defer signalOpen()
		_ = c.Follow(ctx, FollowOptions{FromNow: true, Filter: EventFilter{ResourceID: id}, Opened: signalOpen}, func(supplyapi.Event) error {
			select {
			case ch <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t := time.NewTimer(streamOpenWait)
	defer t.Stop()
	select {
	case <-open:
	case <-t.C:
	}
	return ch, cancel
}

// streamOpenWait is how long waiting waits for the event stream to open
// before it starts polling without.
const streamOpenWait = 2 * time.Second

// poll calls get until done says so, with backoff between calls, and at
// once whenever wake fires. It answers the last status it got, also when
// it stops on an error.
func poll[T any](ctx context.Context, wake <-chan struct{}, get func(context.Context) (T, error), key func(T) string,
	onChange func(T), done func(T) (bool, error)) (T, error) {
	var latest T
	interval := minPoll
	last, failures := "", 0
	for first := true; ; first = false {
		v, err := get(ctx)
		switch {
		case err == nil:
			latest, failures = v, 0
			if k := key(v); first || k != last {
				last, interval = k, minPoll
				if onChange != nil {
					onChange(v)
				}
			}
			if finished, err := done(v); finished {
				return v, err
			}
		case ctx.Err() != nil:
			return latest, ctx.Err()
		case passing(err) && failures < maxPollFailures:
			failures++
		default:
			return latest, err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return latest, ctx.Err()
		case <-wake:
			t.Stop()
		case <-t.C:
		}
		interval = min(interval*3/2, maxPoll)
	}
}

// passing reports whether an error may go away by itself: the server is
// restarting, overloaded or briefly unreachable.
func passing(err error) bool {
	var unreachable *UnreachableError
	var e *Error
	switch {
	case errors.As(err, &unreachable):
		return true
	case errors.As(err, &e):
		return e.Status == http.StatusTooManyRequests || e.Status == http.StatusBadGateway ||
			e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
