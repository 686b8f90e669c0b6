package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/store/litedb"
	"github.com/gpusupply/supply/internal/store/pgdb"
)

// Event is one change of a procurement or resource, as the account that
// owns it is told. IDs count per account from 1, and an account's events
// commit in ID order (see AppendEvents), so "the events after ID n" never
// misses one that commits later.
type Event struct {
	AccountID  int64
	ID         int64
	Type       string
	ResourceID string // "" for a procurement's own events
	OfferID    string
	Data       []byte // the object's new state as the API shows it (JSON)
	CreatedAt  time.Time
	// ActorKeyID and ActorName are the key whose request made the change,
	// and its name then; nil and "" for a change of the service's own
	// with no key behind it.
	ActorKeyID *int64
	ActorName  string
	// ActorTool is the MCP tool whose request made the change; "" for
	// any other request.
	ActorTool string
}

// EventFilter narrows a read of an account's events. Empty fields match all.
type EventFilter struct {
	Type       string
	ResourceID string // a resource id, or an offer id for its procurement's events too
}

// Webhook is an endpoint an account has events delivered to.
type Webhook struct {
	ID             string
	AccountID      int64
	URL            string
	EventTypes     []string // nil: every type
	Secret         string
	CreatedAt      time.Time
	DisabledAt     *time.Time
	DisabledReason string
}

// Wants reports whether the webhook is enabled and subscribed to typ.
func (w Webhook) Wants(typ string) bool {
	if w.DisabledAt != nil {
		return false
	}
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, t := range w.EventTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event sent to one webhook, however many attempts
// it takes. Stream names the resource (or offer) whose events the webhook
// receives in order.
type WebhookDelivery struct {
	ID             int64
	WebhookID      string
	EventID        int64
	EventType      string
	Stream         string
	Payload        []byte
	State          string
	Attempts       int64
	LastStatusCode int64
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	DeliveryID int64
	Attempt    int64
	StatusCode int64 // 0 when no answer came
	Error      string
	DurationMs int64
	CreatedAt  time.Time
}

// EventQueries are the reads and writes of events and webhooks.
type EventQueries interface {
	// AppendEvents gives evs the account's next ids and stores them; it
	// returns them with IDs and times set, and how many webhooks the
	// account has (none: no deliveries to look for). Call it inside a transaction,
	// after the transaction's other writes: it locks the account's event
	// counter until the transaction ends, which keeps an account's events
	// committing in id order, and taking that lock last keeps it out of
	// any lock cycle with the rows the transaction changed.
	AppendEvents(ctx context.Context, accountID int64, evs []Event) (stored []Event, webhooks int64, err error)
	// EventsAfter returns up to limit of the account's events after the id
	// after, oldest first.
	EventsAfter(ctx context.Context, accountID, after int64, f EventFilter, limit int) ([]Event, error)
	// LastEventID is the account's latest event id, 0 before its first.
	LastEventID(ctx context.Context, accountID int64) (int64, error)
	// ChangeVersion counts the writes of the account's procurements and
	// resources, by any process and any path (0 before the first): what
	// was read from them while it stayed the same is still current. It
	// moves when a writing transaction commits, never before.
	ChangeVersion(ctx context.Context, accountID int64) (int64, error)
	// DeleteEventsBefore deletes events created before the cutoff, and the
	// finished webhook deliveries of that age.
	DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error)

	// InsertWebhook stores w as given and counts it for AppendEvents;
	// call it in a transaction.
	InsertWebhook(ctx context.Context, w Webhook) error
	WebhookByID(ctx context.Context, id string) (Webhook, error)
	WebhooksByAccount(ctx context.Context, accountID int64) ([]Webhook, error)
	// DeleteWebhook deletes the account's webhook and its deliveries;
	// ErrNotFound if the account has no such webhook. Call it in a
	// transaction.
	DeleteWebhook(ctx context.Context, accountID int64, id string) error
	// DisableWebhook disables an enabled webhook with a reason, and fails
	// its pending deliveries; it reports whether it was enabled. Call it
	// in a transaction, so that nobody sees a disabled webhook with
	// deliveries still pending.
	DisableWebhook(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// InsertWebhookDelivery stores a pending delivery and returns its id.
	InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) (int64, error)
	WebhookDeliveryByID(ctx context.Context, id int64) (WebhookDelivery, error)
	// EarlierPendingDeliveries counts the pending deliveries of d's
	// webhook and stream before d's event.
	EarlierPendingDeliveries(ctx context.Context, d WebhookDelivery) (int64, error)
	// RecordWebhookAttempt stores an attempt and d's state after it, and
	// reports whether the delivery took that state: one failed meanwhile
	// (its webhook was disabled while the attempt was on the wire) stays
	// failed unless the attempt got through. Call it in a transaction: the
	// two are written apart.
	RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt) (bool, error)
	// RecentWebhookDeliveries returns the webhook's latest deliveries,
	// newest first.
	RecentWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error)
	WebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error)
}

// eventsGenerated is the part of generated for events and webhooks.
type eventsGenerated interface {
	TakeEventIDs(ctx context.Context, accountID int64, n int64) (lastID, webhooks int64, err error)
	CountWebhooks(ctx context.Context, accountID int64, delta int64) error
	InsertEvent(ctx context.Context, e Event) error
	EventsAfter(ctx context.Context, accountID, after int64, typ, resourceID string, limit int) ([]Event, error)
	LastEventID(ctx context.Context, accountID int64) (int64, error)
	ChangeVersion(ctx context.Context, accountID int64) (int64, error)
	DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteWebhookDeliveriesBefore(ctx context.Context, before time.Time) (int64, error)
	InsertWebhook(ctx context.Context, iD string, accountID int64, url string, eventTypes string, secret string, createdAt time.Time) error
	WebhookByID(ctx context.Context, id string) (webhookRow, error)
	WebhooksByAccount(ctx context.Context, accountID int64) ([]webhookRow, error)
	DeleteWebhook(ctx context.Context, iD string, accountID int64) (int64, error)
	DisableWebhook(ctx context.Context, disabledAt *time.Time, disabledReason string, iD string) (int64, error)
	FailPendingDeliveries(ctx context.Context, lastError string, updatedAt time.Time, webhookID string) (int64, error)
	InsertWebhookDelivery(ctx context.Context, webhookID string, eventID int64, eventType string, stream string, payload []byte, createdAt time.Time) (int64, error)
	WebhookDeliveryByID(ctx context.Context, id int64) (WebhookDelivery, error)
	CountEarlierPendingDeliveries(ctx context.Context, webhookID string, stream string, eventID int64) (int64, error)
	RecordWebhookAttempt(ctx context.Context, deliveryID int64, attempt int64, statusCode int64, error string, durationMs int64, createdAt time.Time) error
	SetWebhookDeliveryState(ctx context.Context, state string, attempts int64, lastStatusCode int64, lastError string, updatedAt time.Time, iD int64) (int64, error)
	RecentWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error)
	WebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error)
}

// webhookRow is a webhooks row as both engines' sqlc code has it.
type webhookRow struct {
	ID             string
	AccountID      int64
	Url            string
	EventTypes     string
	Secret         string
	CreatedAt      time.Time
	DisabledAt     *time.Time
	DisabledReason string
}

func (r webhookRow) webhook() Webhook {
	var types []string
	if r.EventTypes != "" {
		types = strings.Split(r.EventTypes, ",")
	}
	return Webhook{
		ID: r.ID, AccountID: r.AccountID, URL: r.Url, EventTypes: types, Secret: r.Secret,
		CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt, DisabledReason: r.DisabledReason,
	}
}

func (q queries) AppendEvents(ctx context.Context, accountID int64, evs []Event) ([]Event, int64, error) {
	if len(evs) == 0 {
		return nil, 0, nil
	}
	last, webhooks, err := q.db.TakeEventIDs(ctx, accountID, int64(len(evs)))
	if err != nil {
		return nil, 0, fmt.Errorf("take event ids of account %d: %w", accountID, err)
	}
	at := now()
	out := make([]Event, len(evs))
	for i, e := range evs {
		e.AccountID, e.ID, e.CreatedAt = accountID, last-int64(len(evs)-1-i), at
		if err := q.db.InsertEvent(ctx, e); err != nil {
			return nil, 0, fmt.Errorf("insert event %d of account %d: %w", e.ID, accountID, err)
		}
		out[i] = e
	}
	return out, webhooks, nil
}

func (q queries) EventsAfter(ctx context.Context, accountID, after int64, f EventFilter, limit int) ([]Event, error) {
	evs, err := q.db.EventsAfter(ctx, accountID, after, f.Type, f.ResourceID, limit)
	return evs, wrap(err, "events of account %d after %d", accountID, after)
}

func (q queries) LastEventID(ctx context.Context, accountID int64) (int64, error) {
	id, err := q.db.LastEventID(ctx, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, wrap(err, "last event id of account %d", accountID)
}

func (q queries) ChangeVersion(ctx context.Context, accountID int64) (int64, error) {
	v, err := q.db.ChangeVersion(ctx, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, wrap(err, "change version of account %d", accountID)
}

func (q queries) DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.db.DeleteEventsBefore(ctx, dbTime(before))
	if err != nil {
		return n, wrap(err, "delete events before %s", before.Format(time.RFC3339))
	}
	_, err = q.db.DeleteWebhookDeliveriesBefore(ctx, dbTime(before))
	return n, wrap(err, "delete webhook deliveries before %s", before.Format(time.RFC3339))
}

func (q queries) InsertWebhook(ctx context.Context, w Webhook) error {
	err := q.db.InsertWebhook(ctx, w.ID, w.AccountID, w.URL, strings.Join(w.EventTypes, ","), w.Secret, dbTime(w.CreatedAt))
	if err == nil {
		err = q.db.CountWebhooks(ctx, w.AccountID, 1)
	}
	return wrap(err, "insert webhook %s", w.ID)
}

func (q queries) WebhookByID(ctx context.Context, id string) (Webhook, error) {
	r, err := q.db.WebhookByID(ctx, id)
	return r.webhook(), wrap(err, "webhook %s", id)
}

func (q queries) WebhooksByAccount(ctx context.Context, accountID int64) ([]Webhook, error) {
	rows, err := q.db.WebhooksByAccount(ctx, accountID)
	if err != nil {
		return nil, wrap(err, "webhooks of account %d", accountID)
	}
	return convertRows(rows, webhookRow.webhook), nil
}

func (q queries) DeleteWebhook(ctx context.Context, accountID int64, id string) error {
	n, err := q.db.DeleteWebhook(ctx, id, accountID)
	switch {
	case err == nil && n == 0:
		err = sql.ErrNoRows
	case err == nil:
		err = q.db.CountWebhooks(ctx, accountID, -1)
	}
	return wrap(err, "delete webhook %s", id)
}

func (q queries) DisableWebhook(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	at = dbTime(at)
	n, err := q.db.DisableWebhook(ctx, &at, reason, id)
	if err != nil || n == 0 {
		return false, wrap(err, "disable webhook %s", id)
	}
	_, err = q.db.FailPendingDeliveries(ctx, "the endpoint was disabled: "+reason, at, id)
	return true, wrap(err, "disable webhook %s", id)
}

func (q queries) InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) (int64, error) {
	id, err := q.db.InsertWebhookDelivery(ctx, d.WebhookID, d.EventID, d.EventType, d.Stream, d.Payload, now())
	return id, wrap(err, "insert delivery of event %d to webhook %s", d.EventID, d.WebhookID)
}

func (q queries) WebhookDeliveryByID(ctx context.Context, id int64) (WebhookDelivery, error) {
	d, err := q.db.WebhookDeliveryByID(ctx, id)
	return d, wrap(err, "webhook delivery %d", id)
}

func (q queries) EarlierPendingDeliveries(ctx context.Context, d WebhookDelivery) (int64, error) {
	n, err := q.db.CountEarlierPendingDeliveries(ctx, d.WebhookID, d.Stream, d.EventID)
	return n, wrap(err, "deliveries before %d", d.ID)
}

func (q queries) RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, a WebhookAttempt) (bool, error) {
	at := now()
	if err := q.db.RecordWebhookAttempt(ctx, d.ID, a.Attempt, a.StatusCode, a.Error, a.DurationMs, at); err != nil {
		return false, wrap(err, "record attempt %d of delivery %d", a.Attempt, d.ID)
	}
	n, err := q.db.SetWebhookDeliveryState(ctx, d.State, d.Attempts, d.LastStatusCode, d.LastError, at, d.ID)
	return n == 1, wrap(err, "record attempt %d of delivery %d", a.Attempt, d.ID)
}

func (q queries) RecentWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error) {
	ds, err := q.db.RecentWebhookDeliveries(ctx, webhookID, limit)
	return ds, wrap(err, "deliveries of webhook %s", webhookID)
}

func (q queries) WebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error) {
	as, err := q.db.WebhookAttempts(ctx, deliveryID)
	return as, wrap(err, "attempts of delivery %d", deliveryID)
}

// The engines' adapters: rows converted, limits to each engine's integer.

func (e pgQueries) TakeEventIDs(ctx context.Context, accountID, n int64) (int64, int64, error) {
	r, err := e.Queries.TakeEventIDs(ctx, accountID, n)
	return r.LastID, r.Webhooks, err
}

func (e liteQueries) TakeEventIDs(ctx context.Context, accountID, n int64) (int64, int64, error) {
	r, err := e.Queries.TakeEventIDs(ctx, accountID, n)
	return r.LastID, r.Webhooks, err
}

func (e pgQueries) InsertEvent(ctx context.Context, ev Event) error {
	return e.Queries.InsertEvent(ctx, pgdb.InsertEventParams(ev))
}

func (e pgQueries) EventsAfter(ctx context.Context, accountID, after int64, typ, resourceID string, limit int) ([]Event, error) {
	rows, err := e.Queries.EventsAfter(ctx, accountID, after, typ, resourceID, int32(limit))
	return convertRows(rows, func(r pgdb.Event) Event { return Event(r) }), err
}

func (e pgQueries) WebhookByID(ctx context.Context, id string) (webhookRow, error) {
	r, err := e.Queries.WebhookByID(ctx, id)
	return webhookRow(r), err
}

func (e pgQueries) WebhooksByAccount(ctx context.Context, accountID int64) ([]webhookRow, error) {
	rows, err := e.Queries.WebhooksByAccount(ctx, accountID)
	return convertRows(rows, func(r pgdb.Webhook) webhookRow { return webhookRow(r) }), err
}

func (e pgQueries) WebhookDeliveryByID(ctx context.Context, id int64) (WebhookDelivery, error) {
	r, err := e.Queries.WebhookDeliveryByID(ctx, id)
	return WebhookDelivery(r), err
}

func (e pgQueries) RecentWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error) {
	rows, err := e.Queries.RecentWebhookDeliveries(ctx, webhookID, int32(limit))
	return convertRows(rows, func(r pgdb.WebhookDelivery) WebhookDelivery { return WebhookDelivery(r) }), err
}

func (e pgQueries) WebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error) {
	rows, err := e.Queries.WebhookAttempts(ctx, deliveryID)
	return convertRows(rows, func(r pgdb.WebhookAttempt) WebhookAttempt { return WebhookAttempt(r) }), err
}

func (e liteQueries) InsertEvent(ctx context.Context, ev Event) error {
	return e.Queries.InsertEvent(ctx, litedb.InsertEventParams(ev))
}

func (e liteQueries) EventsAfter(ctx context.Context, accountID, after int64, typ, resourceID string, limit int) ([]Event, error) {
	rows, err := e.Queries.EventsAfter(ctx, accountID, after, typ, resourceID, int64(limit))
	return convertRows(rows, func(r litedb.Event) Event { return Event(r) }), err
}

func (e liteQueries) WebhookByID(ctx context.Context, id string) (webhookRow, error) {
	r, err := e.Queries.WebhookByID(ctx, id)
	return webhookRow(r), err
}

func (e liteQueries) WebhooksByAccount(ctx context.Context, accountID int64) ([]webhookRow, error) {
	rows, err := e.Queries.WebhooksByAccount(ctx, accountID)
	return convertRows(rows, func(r litedb.Webhook) webhookRow { return webhookRow(r) }), err
}

func (e liteQueries) WebhookDeliveryByID(ctx context.Context, id int64) (WebhookDelivery, error) {
	r, err := e.Queries.WebhookDeliveryByID(ctx, id)
	return WebhookDelivery(r), err
}

func (e liteQueries) RecentWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]WebhookDelivery, error) {
	rows, err := e.Queries.RecentWebhookDeliveries(ctx, webhookID, int64(limit))
	return convertRows(rows, func(r litedb.WebhookDelivery) WebhookDelivery { return WebhookDelivery(r) }), err
}

func (e liteQueries) WebhookAttempts(ctx context.Context, deliveryID int64) ([]WebhookAttempt, error) {
	rows, err := e.Queries.WebhookAttempts(ctx, deliveryID)
	return convertRows(rows, func(r litedb.WebhookAttempt) WebhookAttempt { return WebhookAttempt(r) }), err
}
