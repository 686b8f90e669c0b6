package client

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/supplyapi"
)

// EventFilter narrows the events read or followed; empty fields match all.
type EventFilter struct {
	Type string
	// ResourceID is a resource id, or an offer id for its procurement's
	// events and its resources' events.
	ResourceID string
}

func (f EventFilter) query() url.Values {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.ResourceID != "" {
		q.Set("resource_id", f.ResourceID)
	}
	return q
}

// Events answers GET /events as JSON: up to limit events after the id after.
// Pass LastID as after for the next page.
func (c *Client) Events(ctx context.Context, after int64, f EventFilter, limit int) (supplyapi.EventPage, error) {
	q := f.query()
	q.Set("after", strconv.FormatInt(after, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page supplyapi.EventPage
	return page, c.do(ctx, http.MethodGet, "/events", q, nil, &page)
}

// ErrStopFollowing, returned by a Follow callback, ends Follow without error.
var ErrStopFollowing = errors.New("stop following")

// DefaultIdleTimeout is how long Follow waits for a byte before it takes
// the connection for dead and reconnects: a server sends a comment line
// every 15 s on a quiet stream, so three missed ones mean no server, or a
// connection a network dropped without telling either end.
const DefaultIdleTimeout = 45 * time.Second

// errIdle ends a stream connection on which nothing arrived for too long.
var errIdle = errors.New("nothing received from the server for too long")

// FollowOptions says where a Follow starts and what it is told.
type FollowOptions struct {
	// After starts after this event id; with FromNow false and After 0
	// the stream starts at the account's first kept event.
	After int64
	// FromNow starts with the events that come after the stream opens.
	FromNow bool
	Filter  EventFilter
	// Opened, when not nil, is called each time the stream is open.
	Opened func()
	// IdleTimeout is how long no byte may arrive, answer or stream, before
	// the connection is dropped and the stream resumed on a new one
	// (default DefaultIdleTimeout).
	IdleTimeout time.Duration
}

// Follow streams the account's events (GET /events as Server-Sent Events)
// to fn, in order, until ctx ends or fn returns an error. A dropped
// connection, one silent for o.IdleTimeout, or a restarting server is
// reconnected with Last-Event-ID, so fn sees every event once. A server
// without event streams answers a *Error with status 404 at once.
func (c *Client) Follow(ctx context.Context, o FollowOptions, fn func(supplyapi.Event) error) error {
	s := &stream{last: o.After, resume: !o.FromNow}
	idle := cmp.Or(o.IdleTimeout, DefaultIdleTimeout)
	failures := 0
	for {
		opened := false
		err := c.followOnce(ctx, s, o.Filter, idle, func() {
			opened, failures = true, 0
			if o.Opened != nil {
				o.Opened()
			}
		}, fn)
		switch {
		case errors.Is(err, ErrStopFollowing):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !opened && !passing(err):
			return err
		}
		if !opened {
			failures++
		}
		t := time.NewTimer(min(time.Duration(failures+1)*200*time.Millisecond, maxPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// stream is where a Follow is: the last event id the server named, and
// whether to resume from it (false until the first stream said where it
// starts, when following from now).
type stream struct {
	last   int64
	resume bool
}

// followOnce reads one stream connection until it ends, or until nothing
// arrived on it for idle.
func (c *Client) followOnce(ctx context.Context, s *stream, f EventFilter, idle time.Duration, opened func(), fn func(supplyapi.Event) error) error {
	q := f.query()
	if s.resume {
		q.Set("after", strconv.FormatInt(s.last, 10))
	}
	u := c.baseURL + "/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	// The watchdog cancels the request when nothing arrived for idle;
	// every byte read puts it off (idleReader).
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(idle, func() { cancel(fmt.Errorf("%w (%s)", errIdle, idle)) })
	defer watchdog.Stop()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET /events: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.userAgent)
	if s.resume {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(s.last, 10))
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	// A stream lasts: the client's own timeout, meant for one answer,
	// must not cut it.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cause := context.Cause(reqCtx); errors.Is(cause, errIdle) {
			err = cause
		}
		return &UnreachableError{URL: c.baseURL, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errorFromResponse(resp)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return &Error{Status: http.StatusNotFound, Detail: "the server does not stream events"}
	}
	opened()
	err = readEvents(&idleReader{r: resp.Body, watchdog: watchdog, idle: idle}, resp.Request.URL.Host, s, fn)
	var unreachable *UnreachableError
	if cause := context.Cause(reqCtx); errors.Is(cause, errIdle) && errors.As(err, &unreachable) {
		unreachable.Err = cause // why the stream broke off, not just that it did
	}
	return err
}

// idleReader reads a stream and puts its watchdog off by idle whenever
// bytes arrive, heartbeat comments included.
type idleReader struct {
	r        io.Reader
	watchdog *time.Timer
	idle     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.watchdog.Reset(r.idle)
	}
	return n, err
}

// readEvents parses Server-Sent Events from body: "data:" lines make an
// event's JSON, an "id:" line says where the stream is once its event is
// whole, a blank line ends an event, comment lines (heartbeats) are
// skipped. An id takes effect only at the blank line, as in a browser's
// EventSource: a connection that breaks off inside an event resumes
// before it, not after.
func readEvents(body io.Reader, host string, s *stream, fn func(supplyapi.Event) error) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	var data strings.Builder
	var id *int64
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if id != nil {
				s.last, s.resume, id = *id, true, nil
			}
			if data.Len() == 0 {
				continue
			}
			var e supplyapi.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return fmt.Errorf("GET /events: bad event: %w", err)
			}
			data.Reset()
			s.last, s.resume = e.ID, true
			if err := fn(e); err != nil {
				return err
			}
		case strings.HasPrefix(line, "id:"):
			if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "id:")), 10, 64); err == nil {
				id = &n
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return &UnreachableError{URL: host, Err: err}
	}
	return &UnreachableError{URL: host, Err: errors.New("event stream ended")}
}
