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
// working client, and a fence (see HeartbeatEvery) replaces that with a
// stopped one until the heartbeat gets through again.
type jobs[TTx any] struct {
	driver      riverdriver.Driver[TTx]
	logger      *slog.Logger
	rescueAfter time.Duration
	middleware  []rivertype.Middleware
	replicas    replicas
	every       time.Duration // how often to beat
	// exclusive: one process owns the database (SQLite, guarded by the
	// server's lock on the data dir), so at start every running job is a
	// dead process's, however recent its heartbeat.
	exclusive bool
	// clock is River's clock; nil: the machine's. Only tests set it, to
	// show that no decision between replicas depends on it.
	clock rivertype.TimeGenerator
	// workers and periodic are what StartJobs was given, for the client
	// that replaces a fenced one.
	workers  *river.Workers
	periodic []*river.PeriodicJob
	// stopBeating ends the heartbeat loop.
	stopBeating context.CancelFunc
	beating     sync.WaitGroup
	// takenOver counts the heartbeat loop's takeover passes (for tests).
	takenOver atomic.Int64

	// client is read without a lock: running jobs enqueue while StopJobs
	// holds mu waiting for them.
	client atomic.Pointer[river.Client[TTx]]

	mu      sync.Mutex // serialises StartJobs, StopJobs and cancel
	started bool
	// swap serialises replacing or stopping the working client between
	// the heartbeat loop (fence, unfence) and StopJobs or cancel.
	swap sync.Mutex
	// id is the working client's name, which the heartbeat carries.
	id atomic.Pointer[string]
	// stopping: StopJobs or cancel began; the loop neither fences nor
	// restarts the client any more.
	stopping atomic.Bool
	// cancelling: cancel or a fence has cancelled the running steps (handBack).
	cancelling atomic.Bool
}

func newJobs[TTx any](driver riverdriver.Driver[TTx], o Options, reps replicas, exclusive bool) (*jobs[TTx], error) {
	client, err := river.NewClient(driver, &river.Config{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("create insert-only River client: %w", err)
	}
	j := &jobs[TTx]{driver: driver, logger: o.Logger, rescueAfter: o.JobRescueAfter, middleware: o.JobMiddleware,
		replicas: reps, every: o.Heartbeat, exclusive: exclusive}
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
	j.workers, j.periodic = workers, periodic
	j.stopping.Store(false)
	// Beat before the first fetch, so that no live process takes this
	// one's jobs for a dead one's; then take over what the dead left.
	id := newClientID()
	beatAt := time.Now()
	if err := j.replicas.beat(ctx, id); err != nil {
		return fmt.Errorf("start jobs: heartbeat: %w", err)
	}
	alive := func(holder string) bool { return holder == id }
	if !j.exclusive {
		alive = nil
	}
	if err := j.takeOver(ctx, id, alive); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	if err := j.startClient(ctx, id); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	j.started = true
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	j.stopBeating = stop
	j.beating.Add(1)
	go j.beat(beatCtx, beatAt)
	return nil
}

// startClient builds a working client named id and starts it.
func (j *jobs[TTx]) startClient(ctx context.Context, id string) error {
	cfg := &river.Config{
		ID:     id,
		Logger: j.logger,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		// After a crash, jobs the dead process was running are taken up
		// again after this long; without it River waits an hour.
		RescueStuckJobsAfter: j.rescueAfter,
		JobTimeout:           j.rescueAfter / 2,
		Middleware:           append([]rivertype.Middleware{&handBack{cancelling: &j.cancelling}}, j.middleware...),
		Workers:              j.workers,
		PeriodicJobs:         j.periodic,
	}
	cfg.Test.Time = j.clock
	client, err := river.NewClient(j.driver, cfg)
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	j.client.Store(client)
	j.id.Store(&id)
	return nil
}

// beat keeps this process's heartbeat fresh and takes over the jobs of
// processes whose heartbeat has gone stale, until ctx ends. last is when
// the beat before the loop was sent. When beats keep failing it fences the
// process, and lifts the fence with the next beat that gets through.
func (j *jobs[TTx]) beat(ctx context.Context, last time.Time) {
	defer j.beating.Done()
	tick := time.NewTicker(j.every)
	defer tick.Stop()
	fenced := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sent := time.Now()
		id := *j.id.Load()
		bctx, cancel := context.WithTimeout(ctx, j.every)
		err := j.replicas.beat(bctx, id)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			j.logger.WarnContext(ctx, "job heartbeat failed", "error", err, "since_last_beat", time.Since(last).Round(time.Millisecond))
			if !fenced && !j.stopping.Load() && time.Since(last) > FenceAfterBeats*j.every {
				j.fence(ctx)
				fenced = true
			}
			continue
		}
		last = sent
		if fenced {
			if err := j.unfence(ctx, id); err != nil {
				j.logger.WarnContext(ctx, "restarting jobs after a fence failed; will retry", "error", err)
				continue
			}
			fenced = false
		}
		if err := j.takeOver(ctx, *j.id.Load(), nil); err != nil && ctx.Err() == nil {
			j.logger.WarnContext(ctx, "taking over dead processes' jobs failed", "error", err)
		}
		j.takenOver.Add(1)
	}
}

// fence stops the working client and cancels its running steps, which
// River hands back to the queue if it can still reach the database. This
// happens FenceAfterBeats beats after the last beat that got through,
// before any other process may take the steps over
// (HolderDeadAfterBeats), so no step runs in two processes at once.
func (j *jobs[TTx]) fence(ctx context.Context) {
	j.swap.Lock()
	defer j.swap.Unlock()
	if j.stopping.Load() {
		return
	}
	j.logger.ErrorContext(ctx, "job heartbeat has not got through: stopping job work until it does, so that another process can take the jobs over safely",
		"after", FenceAfterBeats*j.every, "client", *j.id.Load())
	j.cancelling.Store(true)
	defer j.cancelling.Store(false)
	// Steps end as soon as they see their cancellation; recording how
	// they ended needs the database, which may not answer, and must not
	// hold the loop past the point where others take over.
	stop, cancel := context.WithTimeout(ctx, j.every)
	defer cancel()
	if err := j.client.Load().StopAndCancel(stop); err != nil {
		j.logger.WarnContext(ctx, "stopping fenced job work", "error", err)
	}
}

// unfence starts a new working client under a new name, once beats get
// through again: the old name's jobs, cut short by the fence, are then
// taken over at once (by this process, or by whoever saw it dead first).
func (j *jobs[TTx]) unfence(ctx context.Context, oldID string) error {
	j.swap.Lock()
	defer j.swap.Unlock()
	if j.stopping.Load() {
		return nil
	}
	id := newClientID()
	if err := j.replicas.beat(ctx, id); err != nil {
		return err
	}
	if err := j.startClient(ctx, id); err != nil {
		return err
	}
	if err := j.replicas.forget(ctx, oldID); err != nil {
		j.logger.WarnContext(ctx, "remove the fenced job heartbeat", "error", err)
	}
	j.logger.InfoContext(ctx, "job heartbeat gets through again: job work restarted", "client", id)
	return nil
}

// takeOver makes the running jobs of dead processes available again.
// alive says who is alive; nil means whoever beat within
// HolderDeadAfterBeats beats by the database's clock.
func (j *jobs[TTx]) takeOver(ctx context.Context, id string, alive func(string) bool) error {
	live, now, err := j.replicas.alive(ctx, HolderDeadAfterBeats*j.every)
	if err != nil {
		return fmt.Errorf("read heartbeats: %w", err)
	}
	if alive == nil {
		live[id] = true
		alive = func(holder string) bool { return live[holder] }
	}
	n, err := rescueOrphans(ctx, j.driver.GetExecutor(), now, alive)
	if n > 0 {
		j.logger.InfoContext(ctx, "took over the jobs of a process that is gone", "jobs", n)
	}
	return err
}

// stopHeartbeat ends the heartbeat loop and removes this process's
// heartbeat, so that its jobs, should any be left running, are taken over
// at once rather than after HolderDeadAfterBeats.
func (j *jobs[TTx]) stopHeartbeat() {
	if j.stopBeating == nil {
		return
	}
	j.stopBeating()
	j.beating.Wait()
	j.stopBeating = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := j.replicas.forget(ctx, *j.id.Load()); err != nil {
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
	// The heartbeat goes on while the steps finish, so that nobody takes
	// them over meanwhile; it stops once they have.
	j.stopping.Store(true)
	j.swap.Lock()
	err := j.client.Load().Stop(ctx)
	j.swap.Unlock()
	if err != nil {
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
	j.stopping.Store(true)
	j.swap.Lock()
	defer j.swap.Unlock()
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
