// Package events tells accounts what happened to their procurements and
// resources: a durable, per-account log of every change (written by package
// provision in the transaction of the change), live wake-ups for the streams
// that follow it, and webhooks that deliver it as signed HTTP requests.
//
// The log is the source of truth for every consumer. A stream reads it after
// the last id it sent; a webhook delivery is a row written with the event and
// a River job that sends it, so nothing is lost when a process dies between a
// change and its announcement.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/store"
)

// Config configures a Log.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Retention is how long events are kept (default 7 days).
	Retention time.Duration
	// PruneEvery is how often old events are deleted (default 1h).
	PruneEvery time.Duration
	// RetryBase is the wait before a failed delivery's second attempt;
	// each next wait doubles (default 20s, so that the default attempts
	// span about a day).
	RetryBase time.Duration
	// MaxAttempts is how many times a delivery is tried before its
	// endpoint is disabled (default 13: 20s·(2¹²−1) ≈ 23h of retries).
	MaxAttempts int
	// AllowPrivate lets webhooks reach loopback, link-local and private
	// addresses (tests, or endpoints on the operator's own network).
	AllowPrivate bool
	// Timeout bounds one delivery request, connection included (default 10s).
	Timeout time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Log appends events, wakes the streams that follow them and delivers them
// to webhooks.
type Log struct {
	cfg    Config
	store  store.Store
	log    *slog.Logger
	client *httpClient

	mu    sync.Mutex
	waits map[int64]chan struct{} // closed when the account has new events
}

// New builds a Log. Register its workers (Workers) and periodic jobs
// (PeriodicJobs) with the store's River client.
func New(cfg Config) *Log {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 20 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 13
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Log{
		cfg: cfg, store: cfg.Store, log: cfg.Logger, waits: map[int64]chan struct{}{},
		client: newHTTPClient(cfg.Timeout, cfg.AllowPrivate),
	}
}

// Append stores an account's events in tx, after its other writes, and
// records a delivery (and enqueues its job) for every enabled webhook of
// the account that wants them. Call Notify once tx has committed.
func (l *Log) Append(ctx context.Context, tx store.Tx, accountID int64, evs []store.Event) error {
	stored, webhooks, err := tx.AppendEvents(ctx, accountID, evs)
	if err != nil || webhooks == 0 {
		return err
	}
	hooks, err := tx.WebhooksByAccount(ctx, accountID)
	if err != nil {
		return err
	}
	for _, e := range stored {
		for _, w := range hooks {
			if !w.Wants(e.Type) {
				continue
			}
			body, err := payload(e)
			if err != nil {
				return err
			}
			stream := e.ResourceID
			if stream == "" {
				stream = e.OfferID
			}
			id, err := tx.InsertWebhookDelivery(ctx, store.WebhookDelivery{
				WebhookID: w.ID, EventID: e.ID, EventType: e.Type, Stream: stream, Payload: body,
			})
			if err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, DeliverArgs{DeliveryID: id}, &river.InsertOpts{MaxAttempts: l.cfg.MaxAttempts}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Notify wakes the streams following the account: it has new events.
func (l *Log) Notify(accountID int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.waits[accountID]; ok {
		close(ch)
		delete(l.waits, accountID)
	}
}

// Changed returns a channel that is closed when this process next appends
// events of the account. Other replicas' events do not close it: streams
// also poll.
func (l *Log) Changed(accountID int64) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.waits[accountID]
	if !ok {
		ch = make(chan struct{})
		l.waits[accountID] = ch
	}
	return ch
}

// MaxPage is the most events one read returns.
const MaxPage = 1000

// After returns up to limit (at most MaxPage) of the account's events after
// the id after, oldest first.
func (l *Log) After(ctx context.Context, accountID, after int64, f store.EventFilter, limit int) ([]store.Event, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	evs, err := l.store.EventsAfter(ctx, accountID, after, f, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return evs, nil
}

// Last is the account's latest event id (0 before its first event).
func (l *Log) Last(ctx context.Context, accountID int64) (int64, error) {
	id, err := l.store.LastEventID(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("read events: %w", err)
	}
	return id, nil
}

// Workers adds the Log's River workers.
func (l *Log) Workers(w *river.Workers) {
	river.AddWorker(w, &deliverWorker{l: l})
	river.AddWorker(w, &pruneWorker{l: l})
}

// PeriodicJobs returns the pruning of old events.
func (l *Log) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(l.cfg.PruneEvery),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{ID: "events_prune", RunOnStart: true})}
}

// PruneArgs is the job that deletes events older than the retention.
type PruneArgs struct{}

// Kind names the job in River.
func (PruneArgs) Kind() string { return "events_prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	l *Log
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	n, err := w.l.store.DeleteEventsBefore(ctx, w.l.cfg.Now().Add(-w.l.cfg.Retention))
	if err != nil {
		return err
	}
	if n > 0 {
		w.l.log.Info("old events deleted", "events", n)
	}
	return nil
}
