package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// maxWorkers bounds the jobs run at once. Jobs mostly wait on vendor APIs, so
// this is about concurrency, not CPU. On SQLite they still share one connection.
const maxWorkers = 20

// jobs owns an engine's River client. River's client is generic over the
// engine's transaction type, so jobs is too; the Store interface hides it.
//
// Open makes an insert-only client so that jobs can be enqueued before the
// workers exist (they need the store first); StartJobs replaces it with a
// working client.
type jobs[TTx any] struct {
	driver      riverdriver.Driver[TTx]
	logger      *slog.Logger
	rescueAfter time.Duration
	middleware  []rivertype.Middleware

	// client is read without mu: running jobs enqueue while StopJobs holds mu
	// waiting for them.
	client atomic.Pointer[river.Client[TTx]]

	mu      sync.Mutex // serialises StartJobs, StopJobs and cancel
	started bool
}

func newJobs[TTx any](driver riverdriver.Driver[TTx], logger *slog.Logger, rescueAfter time.Duration, middleware []rivertype.Middleware) (*jobs[TTx], error) {
	client, err := river.NewClient(driver, &river.Config{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("create insert-only River client: %w", err)
	}
	j := &jobs[TTx]{driver: driver, logger: logger, rescueAfter: rescueAfter, middleware: middleware}
	j.client.Store(client)
	return j, nil
}

// Enqueue inserts a job outside any transaction.
func (j *jobs[TTx]) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := j.client.Load().Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return nil
}

// enqueueTx inserts a job in the transaction tx.
func (j *jobs[TTx]) enqueueTx(ctx context.Context, tx TTx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := j.client.Load().InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return nil
}

// StartJobs builds the working River client and starts it.
func (j *jobs[TTx]) StartJobs(ctx context.Context, workers *river.Workers, periodic []*river.PeriodicJob) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		return errors.New("start jobs: already running")
	}
	client, err := river.NewClient(j.driver, &river.Config{
		Logger: j.logger,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		// After a crash, jobs the dead process was running are taken up
		// again after this long; without it River waits an hour.
		RescueStuckJobsAfter: j.rescueAfter,
		JobTimeout:           j.rescueAfter / 2,
		Middleware:           j.middleware,
		Workers:              workers,
		PeriodicJobs:         periodic,
	})
	if err != nil {
		return fmt.Errorf("start jobs: create River client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	j.client.Store(client)
	j.started = true
	return nil
}

// StopJobs stops the working client, letting running jobs finish until ctx ends.
// The stopped client still inserts jobs for Enqueue.
func (j *jobs[TTx]) StopJobs(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started {
		return nil
	}
	if err := j.client.Load().Stop(ctx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	j.started = false
	return nil
}

// cancel stops a still-running client without waiting for jobs to finish
// their work, before the database closes under them.
func (j *jobs[TTx]) cancel() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started {
		return nil
	}
	j.started = false
	if err := j.client.Load().StopAndCancel(context.Background()); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	return nil
}

// tx is a transaction of either engine: the queries bound to it plus River
// inserts into the same transaction.
type tx[TTx any] struct {
	queries
	tx   TTx
	jobs *jobs[TTx]
}

func (t tx[TTx]) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return t.jobs.enqueueTx(ctx, t.tx, args, opts)
}
