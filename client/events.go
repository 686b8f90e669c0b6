package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/events"
)

// Event is one event of the account, as GET /events sends it.
type Event = events.Message

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

// EventPage is one page of GET /events as JSON.
type EventPage struct {
	Events  []Event `json:"events"`
	LastID  int64   `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// Events answers GET /events as JSON: up to limit events after the id after.
// Pass LastID as after for the next page.
func (c *Client) Events(ctx context.Context, after int64, f EventFilter, limit int) (EventPage, error) {
	q := f.query()
	q.Set("after", strconv.FormatInt(after, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page EventPage
	return page, c.do(ctx, http.MethodGet, "/events", q, nil, &page)
}

// ErrStopFollowing, returned by a Follow callback, ends Follow without error.
var ErrStopFollowing = errors.New("stop following")

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
}

// Follow streams the account's events (GET /events as Server-Sent Events)
// to fn, in order, until ctx ends or fn returns an error. A dropped
// connection or a restarting server is reconnected with Last-Event-ID, so
// fn sees every event once. A server without event streams answers a
// *Error with status 404 at once.
func (c *Client) Follow(ctx context.Context, o FollowOptions, fn func(Event) error) error {
	s := &stream{last: o.After, resume: !o.FromNow}
	failures := 0
	for {
		opened := false
		err := c.followOnce(ctx, s, o.Filter, func() {
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

// followOnce reads one stream connection until it ends.
func (c *Client) followOnce(ctx context.Context, s *stream, f EventFilter, opened func(), fn func(Event) error) error {
	q := f.query()
	if s.resume {
		q.Set("after", strconv.FormatInt(s.last, 10))
	}
	u := c.baseURL + "/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	return readEvents(resp, s, fn)
}

// readEvents parses Server-Sent Events: "id:" lines say where the stream
// is, "data:" lines make an event's JSON, a blank line ends it, comment
// lines (heartbeats) are skipped.
func readEvents(resp *http.Response, s *stream, fn func(Event) error) error {
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return fmt.Errorf("GET /events: bad event: %w", err)
			}
			data.Reset()
			s.last, s.resume = e.ID, true
			if err := fn(e); err != nil {
				return err
			}
		case strings.HasPrefix(line, "id:"):
			if id, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "id:")), 10, 64); err == nil && data.Len() == 0 {
				s.last, s.resume = id, true
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return &UnreachableError{URL: resp.Request.URL.Host, Err: err}
	}
	return &UnreachableError{URL: resp.Request.URL.Host, Err: errors.New("event stream ended")}
}
