package events

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// ErrNotFound is returned, wrapped, for a webhook the account does not have.
var ErrNotFound = errors.New("not found")

// InvalidError is a webhook request the API refuses with 422; Field names
// the body field at fault.
type InvalidError struct {
	Field, Msg string
	Input      any
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// CreateWebhook registers url for the account's events of types (none:
// every type). The returned webhook carries its secret, which is shown
// only this once.
func (l *Log) CreateWebhook(ctx context.Context, accountID int64, rawURL string, types []string) (store.Webhook, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return store.Webhook{}, &InvalidError{Field: "url", Msg: "Value error, " + err.Error(), Input: rawURL}
	}
	seen := map[string]bool{}
	var kept []string
	for _, t := range types {
		if !supplyapi.KnownEventType(t) {
			return store.Webhook{}, &InvalidError{Field: "event_types", Msg: "Value error, unknown event type " + strconv.Quote(t) + "; known: " + strings.Join(supplyapi.EventTypes, ", "), Input: t}
		}
		if !seen[t] {
			seen[t] = true
			kept = append(kept, t)
		}
	}
	// Resolving the host comes last: it is the one check that waits.
	if err := checkHost(ctx, u.Hostname(), l.cfg.AllowPrivate); err != nil {
		return store.Webhook{}, &InvalidError{Field: "url", Msg: "Value error, " + err.Error(), Input: rawURL}
	}
	w := store.Webhook{
		ID: uuid.NewString(), AccountID: accountID, URL: u.String(), EventTypes: kept,
		Secret: newSecret(), CreatedAt: l.cfg.Now().UTC(),
	}
	if err := l.store.InTx(ctx, func(tx store.Tx) error { return tx.InsertWebhook(ctx, w) }); err != nil {
		return store.Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	return l.store.WebhookByID(ctx, w.ID)
}

// Webhooks lists the account's webhooks, oldest first.
func (l *Log) Webhooks(ctx context.Context, accountID int64) ([]store.Webhook, error) {
	ws, err := l.store.WebhooksByAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return ws, nil
}

// Webhook returns one of the account's webhooks.
func (l *Log) Webhook(ctx context.Context, accountID int64, id string) (store.Webhook, error) {
	w, err := l.store.WebhookByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && w.AccountID != accountID {
		return store.Webhook{}, fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return store.Webhook{}, fmt.Errorf("webhook %s: %w", id, err)
	}
	return w, nil
}

// DeleteWebhook removes one of the account's webhooks and its deliveries.
func (l *Log) DeleteWebhook(ctx context.Context, accountID int64, id string) error {
	err := l.store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, accountID, id) })
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	return err
}

// Delivery is a delivery with its attempts.
type Delivery struct {
	store.WebhookDelivery
	Attempts []store.WebhookAttempt
}

// Deliveries returns the latest deliveries (at most limit) of one of the
// account's webhooks, newest first.
func (l *Log) Deliveries(ctx context.Context, accountID int64, id string, limit int) ([]Delivery, error) {
	if _, err := l.Webhook(ctx, accountID, id); err != nil {
		return nil, err
	}
	ds, err := l.store.RecentWebhookDeliveries(ctx, id, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		as, err := l.store.WebhookAttempts(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		out[i] = Delivery{WebhookDelivery: d, Attempts: as}
	}
	return out, nil
}

// NewMessage is e as clients see it.
func NewMessage(e store.Event) supplyapi.Event {
	m := supplyapi.Event{ID: e.ID, Type: e.Type, Timestamp: e.CreatedAt, ResourceID: e.ResourceID, OfferID: e.OfferID, Data: e.Data}
	if e.ActorKeyID != nil {
		m.Actor = &supplyapi.Actor{KeyID: *e.ActorKeyID, Name: e.ActorName, Tool: e.ActorTool}
	}
	return m
}

func payload(e store.Event) ([]byte, error) {
	b, err := json.Marshal(NewMessage(e))
	if err != nil {
		return nil, fmt.Errorf("encode event %d: %w", e.ID, err)
	}
	return b, nil
}

// secretPrefix marks a Standard Webhooks secret; the rest is base64 of the
// signing key.
const secretPrefix = "whsec_"

func newSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Sign is the Standard Webhooks signature of a message: "v1," and the
// base64 HMAC-SHA256, keyed by the secret's key, of id.timestamp.body.
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", msgID, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// DeliverArgs is the job that sends one delivery. River retries it with
// exponential backoff (deliverWorker.NextRetry).
type DeliverArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job in River.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	l *Log
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 2 * w.l.cfg.Timeout }

// NextRetry doubles the wait after each failed attempt.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.l.cfg.RetryBase << min(max(job.Attempt-1, 0), 20))
}

// Work sends the delivery unless an earlier event of its stream is still
// pending for the same webhook: that one goes first.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	l := w.l
	d, err := l.store.WebhookDeliveryByID(ctx, job.Args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its webhook was deleted
	}
	if err != nil {
		return err
	}
	if d.State != store.DeliveryPending {
		return nil
	}
	hook, err := l.store.WebhookByID(ctx, d.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if hook.DisabledAt != nil {
		return nil
	}
	earlier, err := l.store.EarlierPendingDeliveries(ctx, d)
	if err != nil {
		return err
	}
	if earlier > 0 {
		return river.JobSnooze(min(max(l.cfg.RetryBase, 100*time.Millisecond), time.Minute))
	}
	start := time.Now()
	status, sendErr := l.send(ctx, hook, d)
	a := store.WebhookAttempt{Attempt: d.Attempts + 1, StatusCode: int64(status), DurationMs: time.Since(start).Milliseconds()}
	d.Attempts, d.LastStatusCode, d.LastError, d.State = a.Attempt, a.StatusCode, "", store.DeliveryDelivered
	if sendErr != nil {
		a.Error = sendErr.Error()
		d.LastError, d.State = a.Error, store.DeliveryPending
		if job.Attempt >= job.MaxAttempts {
			d.State = store.DeliveryFailed
		}
	}
	// The attempt, the delivery's state and (after the last attempt) the
	// webhook's disabling are written together: a crash between them would
	// leave a failed delivery beside an enabled webhook, and a reader
	// between them would see a disabled webhook with deliveries pending.
	var reason string
	if d.State == store.DeliveryFailed {
		reason = fmt.Sprintf("event %d could not be delivered in %d attempts; the last one: %s", d.EventID, d.Attempts, sendErr)
	}
	var moved bool
	err = l.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if moved, err = tx.RecordWebhookAttempt(ctx, d, a); err != nil || !moved || reason == "" {
			return err
		}
		_, err = tx.DisableWebhook(ctx, hook.ID, reason, l.cfg.Now())
		return err
	})
	switch {
	case err != nil:
		return err
	case sendErr == nil || !moved:
		// Delivered, or failed meanwhile with its disabled webhook.
		return nil
	case reason != "":
		l.log.Warn("webhook disabled", "webhook_id", hook.ID, "account_id", hook.AccountID, "reason", reason)
		return river.JobCancel(sendErr)
	}
	return sendErr
}

// maxResponseRead is how much of an endpoint's answer is read (and
// thrown away) before the connection is given up.
const maxResponseRead = 64 << 10

// send POSTs the delivery, signed, and returns the status code (0 when no
// answer came). Any status but 2xx is a failure.
func (l *Log) send(ctx context.Context, hook store.Webhook, d store.WebhookDelivery) (int, error) {
	msgID := "evt_" + strconv.FormatInt(d.EventID, 10)
	ts := l.cfg.Now().Unix()
	sig, err := Sign(hook.Secret, msgID, ts, d.Payload)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, strings.NewReader(string(d.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "supply-webhooks")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, maxResponseRead)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
