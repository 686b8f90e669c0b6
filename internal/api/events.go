package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// EventService is the account's event log and webhooks (package events).
type EventService interface {
	After(ctx context.Context, accountID, after int64, f store.EventFilter, limit int) ([]store.Event, error)
	Last(ctx context.Context, accountID int64) (int64, error)
	Changed(accountID int64) <-chan struct{}
	CreateWebhook(ctx context.Context, accountID int64, url string, types []string) (store.Webhook, error)
	Webhooks(ctx context.Context, accountID int64) ([]store.Webhook, error)
	DeleteWebhook(ctx context.Context, accountID int64, id string) error
	Deliveries(ctx context.Context, accountID int64, id string, limit int) ([]events.Delivery, error)
}

const tagEvents = "Events"

// Stream timing: how often a stream looks for events other replicas wrote
// (its own replica's wake it at once).
const (
	streamPoll = time.Second
	// streamWriteTimeout bounds one write to a stream: a client that stops
	// reading is dropped.
	streamWriteTimeout = 30 * time.Second
)

type eventsInput struct {
	Accept      string `header:"Accept"`
	LastEventID string `header:"Last-Event-ID" doc:"Resume a stream after this event id (sent by EventSource on reconnect; wins over after)"`
	After       int64  `query:"after" minimum:"0" doc:"Events after this id. Default: 0 for a page; for a stream, only events from now on"`
	Limit       int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Most events in a page"`
	Type        string `query:"type" doc:"Only events of this type"`
	ResourceID  string `query:"resource_id" format:"uuid" doc:"Only events of this resource (or, given an offer id, of that procurement and its resources)"`
	Stream      bool   `query:"stream" doc:"Answer as Server-Sent Events, as Accept: text/event-stream does"`
	afterSet    bool
}

// Resolve notes whether after was given: a stream without it starts now.
func (in *eventsInput) Resolve(ctx huma.Context) []error {
	in.afterSet = ctx.Query("after") != ""
	return nil
}

func (a *API) registerEvents() {
	op := operation(roles.Viewer, "list_events", http.MethodGet, "/events", tagEvents, "The account's events: a JSON page, or a live stream")
	op.Description = "With Accept: text/event-stream (or stream=true) the answer is a Server-Sent Events stream: " +
		"each event has its id, its type as the event name and its JSON as data; comment lines every 15 s keep proxies " +
		"from closing it; reconnecting with Last-Event-ID resumes without loss or duplicates. Otherwise the answer is " +
		"one JSON page of events after `after`; pass `last_id` as `after` for the next."
	op.Responses["200"] = &huma.Response{
		Description: "Events",
		Content: map[string]*huma.MediaType{
			"application/json":  {Schema: a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[supplyapi.EventPage](), true, "")},
			"text/event-stream": {Schema: &huma.Schema{Type: huma.TypeString}},
		},
	}
	huma.Register(a.huma, op, a.listEvents)
}

func (a *API) listEvents(ctx context.Context, in *eventsInput) (*huma.StreamResponse, error) {
	account := AccountID(ctx)
	if in.Type != "" && !supplyapi.KnownEventType(in.Type) {
		return nil, validationFailed(pydantic(finding{typ: "enum", arg: strings.Join(supplyapi.EventTypes, ", ")}, []any{"query", "type"}, in.Type))
	}
	after := in.After
	if in.LastEventID != "" {
		loc := []any{"header", "Last-Event-ID"}
		id, err := strconv.ParseInt(in.LastEventID, 10, 64)
		switch {
		case err != nil:
			return nil, validationFailed(pydantic(finding{typ: "int_type"}, loc, in.LastEventID))
		case id < 0:
			return nil, validationFailed(pydantic(finding{typ: "greater_than_equal", arg: "0"}, loc, in.LastEventID))
		}
		after, in.afterSet = id, true
	}
	f := store.EventFilter{Type: in.Type, ResourceID: in.ResourceID}
	if !in.Stream && !strings.Contains(in.Accept, "text/event-stream") {
		evs, err := a.cfg.Events.After(ctx, account, after, f, in.Limit+1)
		if err != nil {
			return nil, a.internalError(ctx, "list events", err)
		}
		page := supplyapi.EventPage{Events: []supplyapi.Event{}, LastID: after, HasMore: len(evs) > in.Limit}
		for _, e := range evs[:min(len(evs), in.Limit)] {
			page.Events = append(page.Events, events.NewMessage(e))
			page.LastID = e.ID
		}
		body, err := json.Marshal(page)
		if err != nil {
			return nil, a.internalError(ctx, "list events", err)
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			hc.SetHeader("Content-Type", "application/json")
			hc.SetStatus(http.StatusOK)
			_, _ = hc.BodyWriter().Write(body)
		}}, nil
	}
	if !in.afterSet {
		last, err := a.cfg.Events.Last(ctx, account)
		if err != nil {
			return nil, a.internalError(ctx, "follow events", err)
		}
		after = last
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		a.stream(hc, account, after, f)
	}}, nil
}

// stream sends the account's events after the id after as Server-Sent
// Events until the client leaves. It wakes on this process's new events and
// polls for other replicas'.
func (a *API) stream(hc huma.Context, account, after int64, f store.EventFilter) {
	ctx := hc.Context()
	hc.SetHeader("Content-Type", "text/event-stream")
	hc.SetHeader("Cache-Control", "no-cache")
	hc.SetHeader("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	hc.SetStatus(http.StatusOK)
	_, w := humago.Unwrap(hc)
	rc := http.NewResponseController(w)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write([]byte(text)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The retry hint makes EventSource reconnect quickly after a restart;
	// the id, where the stream starts, is what it resumes from if it
	// drops before the first event.
	if !send(fmt.Sprintf("retry: 1000\nid: %d\n\n", after)) {
		return
	}
	heartbeat := time.NewTicker(a.cfg.StreamHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(streamPoll)
	defer poll.Stop()
	for {
		// Asked for before reading, so that an event appended meanwhile
		// still wakes the next wait.
		changed := a.cfg.Events.Changed(account)
		evs, err := a.cfg.Events.After(ctx, account, after, f, events.MaxPage)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "event stream read failed; retrying", "account_id", account, "error", err)
			}
		}
		var b strings.Builder
		for _, e := range evs {
			data, err := json.Marshal(events.NewMessage(e))
			if err != nil {
				a.log.ErrorContext(ctx, "encode event", "error", err)
				return
			}
			fmt.Fprintf(&b, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			after = e.ID
		}
		if b.Len() > 0 && !send(b.String()) {
			return
		}
		if len(evs) == events.MaxPage {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-a.closing:
			return
		case <-changed:
		case <-poll.C:
		case <-heartbeat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		}
	}
}

func webhookInfo(w store.Webhook) supplyapi.WebhookInfo {
	info := supplyapi.WebhookInfo{
		ID: w.ID, URL: w.URL, EventTypes: emptyIfNil(w.EventTypes), CreatedAt: w.CreatedAt,
		Enabled: w.DisabledAt == nil, DisabledAt: w.DisabledAt,
	}
	if w.DisabledReason != "" {
		reason := w.DisabledReason
		info.DisabledReason = &reason
	}
	return info
}

type webhookOutput struct {
	Body supplyapi.WebhookInfo
}

type webhooksOutput struct {
	Body []supplyapi.WebhookInfo
}

type webhookIDInput struct {
	WebhookID string `path:"webhook_id" format:"uuid"`
}

type deliveriesInput struct {
	WebhookID string `path:"webhook_id" format:"uuid"`
	Limit     int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type deliveriesOutput struct {
	Body []supplyapi.DeliveryInfo
}

func (a *API) registerWebhooks() {
	op := operation(roles.Admin, "create_webhook", http.MethodPost, "/webhooks", tagEvents, "Register a webhook")
	op.DefaultStatus = http.StatusCreated
	op.Description = "Events are POSTed as JSON, signed per Standard Webhooks (webhook-id, webhook-timestamp, " +
		"webhook-signature), in order per resource, retried with exponential backoff for about a day; an endpoint " +
		"that keeps failing is disabled. The secret is shown only in this answer."
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.createWebhook)
	a.documentBody(a.huma.OpenAPI().Paths["/webhooks"].Post, reflect.TypeFor[supplyapi.WebhookRequest]())
	huma.Register(a.huma, operation(roles.Admin, "list_webhooks", http.MethodGet, "/webhooks", tagEvents, "The account's webhooks"), a.listWebhooks)
	op = operation(roles.Admin, "delete_webhook", http.MethodDelete, "/webhooks/{webhook_id}", tagEvents, "Delete a webhook")
	op.DefaultStatus = http.StatusNoContent
	huma.Register(a.huma, op, a.deleteWebhook)
	huma.Register(a.huma, operation(roles.Admin, "list_webhook_deliveries", http.MethodGet, "/webhooks/{webhook_id}/deliveries", tagEvents,
		"A webhook's latest deliveries and their attempts"), a.listDeliveries)
}

func (a *API) createWebhook(ctx context.Context, in *bodyInput) (*webhookOutput, error) {
	var req supplyapi.WebhookRequest
	if err := a.webhookDecoder.decode(in.contentType, in.RawBody, &req); err != nil {
		return nil, err
	}
	w, err := a.cfg.Events.CreateWebhook(ctx, AccountID(ctx), req.URL, req.EventTypes)
	if err != nil {
		return nil, a.eventsError(ctx, "create webhook", err)
	}
	info := webhookInfo(w)
	info.Secret = w.Secret
	return &webhookOutput{Body: info}, nil
}

func (a *API) listWebhooks(ctx context.Context, _ *struct{}) (*webhooksOutput, error) {
	ws, err := a.cfg.Events.Webhooks(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.eventsError(ctx, "list webhooks", err)
	}
	out := []supplyapi.WebhookInfo{}
	for _, w := range ws {
		out = append(out, webhookInfo(w))
	}
	return &webhooksOutput{Body: out}, nil
}

func (a *API) deleteWebhook(ctx context.Context, in *webhookIDInput) (*struct{}, error) {
	if err := a.cfg.Events.DeleteWebhook(ctx, AccountID(ctx), in.WebhookID); err != nil {
		return nil, a.eventsError(ctx, "delete webhook", err)
	}
	return nil, nil
}

func (a *API) listDeliveries(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
	ds, err := a.cfg.Events.Deliveries(ctx, AccountID(ctx), in.WebhookID, in.Limit)
	if err != nil {
		return nil, a.eventsError(ctx, "list webhook deliveries", err)
	}
	out := []supplyapi.DeliveryInfo{}
	for _, d := range ds {
		info := supplyapi.DeliveryInfo{
			ID: d.ID, EventID: d.EventID, EventType: d.EventType, State: d.State, Attempts: []supplyapi.DeliveryAttempt{},
			LastStatusCode: nonZero(d.LastStatusCode), LastError: nonEmpty(d.LastError), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		}
		for _, at := range d.Attempts {
			info.Attempts = append(info.Attempts, supplyapi.DeliveryAttempt{
				Attempt: at.Attempt, StatusCode: nonZero(at.StatusCode), Error: nonEmpty(at.Error), DurationMs: at.DurationMs, At: at.CreatedAt,
			})
		}
		out = append(out, info)
	}
	return &deliveriesOutput{Body: out}, nil
}

func (a *API) eventsError(ctx context.Context, what string, err error) error {
	var invalid *events.InvalidError
	switch {
	case errors.Is(err, events.ErrNotFound):
		return errorf(http.StatusNotFound, "Webhook not found")
	case errors.As(err, &invalid):
		return validationFailed(ValidationError{Type: "value_error", Loc: []any{"body", invalid.Field}, Msg: invalid.Msg, Input: invalid.Input})
	}
	return a.internalError(ctx, what, err)
}

func nonZero(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
