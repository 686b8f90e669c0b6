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
	replicas    replicas
	// exclusive: one process owns the database (SQLite, guarded by the
	// server's lock on the data dir), so at start every running job is a
	// dead process's, however recent its heartbeat.
	exclusive bool
	// id is the River client's id while jobs run; stopBeating ends the
	// heartbeat loop.
	id          string
	stopBeating context.CancelFunc
	beating     sync.WaitGroup

	// client is read without mu: running jobs enqueue while StopJobs holds mu
	// waiting for them.
	client atomic.Pointer[river.Client[TTx]]

	mu      sync.Mutex // serialises StartJobs, StopJobs and cancel
	started bool
	// cancelling: cancel has cancelled the running steps (handBack).
	cancelling atomic.Bool
}

func newJobs[TTx any](driver riverdriver.Driver[TTx], o Options, reps replicas, exclusive bool) (*jobs[TTx], error) {
	client, err := river.NewClient(driver, &river.Config{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("create insert-only River client: %w", err)
	}
	j := &jobs[TTx]{driver: driver, logger: o.Logger, rescueAfter: o.JobRescueAfter, middleware: o.JobMiddleware, replicas: reps, exclusive: exclusive}
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
	// Beat before the first fetch, so that no live process takes this
	// one's jobs for a dead one's; then take over what the dead left.
	id := newClientID()
	if err := j.replicas.beat(ctx, id, time.Now()); err != nil {
		return fmt.Errorf("start jobs: heartbeat: %w", err)
	}
	alive := func(holder string) bool { return holder == id }
	if !j.exclusive {
		alive = nil
	}
	if err := j.takeOver(ctx, id, alive); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	client, err := river.NewClient(j.driver, &river.Config{
		ID:     id,
		Logger: j.logger,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		// After a crash, jobs the dead process was running are taken up
		// again after this long; without it River waits an hour.
		RescueStuckJobsAfter: j.rescueAfter,
		JobTimeout:           j.rescueAfter / 2,
		Middleware:           append([]rivertype.Middleware{&handBack{cancelling: &j.cancelling}}, j.middleware...),
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
	j.started, j.id = true, id
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	j.stopBeating = stop
	j.beating.Add(1)
	go j.beat(beatCtx, id)
	return nil
}

// beat keeps this process's heartbeat fresh and takes over the jobs of
// processes whose heartbeat has gone stale, until ctx ends.
func (j *jobs[TTx]) beat(ctx context.Context, id string) {
	defer j.beating.Done()
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := j.replicas.beat(ctx, id, time.Now()); err != nil {
			j.logger.WarnContext(ctx, "job heartbeat failed", "error", err)
			continue
		}
		if err := j.takeOver(ctx, id, nil); err != nil && ctx.Err() == nil {
			j.logger.WarnContext(ctx, "taking over dead processes' jobs failed", "error", err)
		}
	}
}

// takeOver makes the running jobs of dead processes available again.
// alive says who is alive; nil means whoever beat within HolderDeadAfter.
func (j *jobs[TTx]) takeOver(ctx context.Context, id string, alive func(string) bool) error {
	if alive == nil {
		live, err := j.replicas.alive(ctx, time.Now().Add(-HolderDeadAfter))
		if err != nil {
			return fmt.Errorf("read heartbeats: %w", err)
		}
		live[id] = true
		alive = func(holder string) bool { return live[holder] }
	}
	n, err := rescueOrphans(ctx, j.driver.GetExecutor(), alive)
	if n > 0 {
		j.logger.InfoContext(ctx, "took over the jobs of a process that is gone", "jobs", n)
	}
	return err
}

// stopHeartbeat ends the heartbeat loop and removes this process's
// heartbeat, so that its jobs, should any be left running, are taken over
// at once rather than after HolderDeadAfter.
func (j *jobs[TTx]) stopHeartbeat() {
	if j.stopBeating == nil {
		return
	}
	j.stopBeating()
	j.beating.Wait()
	j.stopBeating = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := j.replicas.forget(ctx, j.id); err != nil {
		j.logger.Warn("remove job heartbeat", "error", err)
	}
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
	j.stopHeartbeat()
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
	defer j.stopHeartbeat()
	j.cancelling.Store(true)
	defer j.cancelling.Store(false)
	if err := j.client.Load().StopAndCancel(context.Background()); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	return nil
}

// handBack ends a step that cancel cut short in the cancellation itself,
// whatever the step made of the call that failed under it (a transient
// vendor error and a snooze, typically). River takes a step that returns
// its context's cancellation during a stop for an interrupted one, and
// makes the job available again at once without spending an attempt;
// anything else it would schedule by its retry policy or the snooze.
type handBack struct {
	river.MiddlewareDefaults
	cancelling *atomic.Bool
}

func (h *handBack) Work(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if err != nil && h.cancelling.Load() && errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return err
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
