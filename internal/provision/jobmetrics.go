package provision

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobMetrics is River worker middleware that counts every job step by
// kind and outcome (ok, snoozed, cancelled, error) and times it, so a
// vendor that makes steps slow or failing shows on /metrics.
type JobMetrics struct {
	river.MiddlewareDefaults
	steps    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

var _ rivertype.WorkerMiddleware = (*JobMetrics)(nil)

// NewJobMetrics registers the job metrics with reg.
func NewJobMetrics(reg prometheus.Registerer) *JobMetrics {
	m := &JobMetrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_job_steps_total", Help: "Background job steps by kind and outcome (ok, snoozed, cancelled, error).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "supply_job_step_seconds", Help: "Time one background job step took, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	reg.MustRegister(m.steps, m.duration)
	return m
}

// Work times and counts one step.
func (m *JobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	err := doInner(ctx)
	m.duration.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	outcome := "ok"
	switch {
	case errors.As(err, &snooze):
		outcome = "snoozed"
	case errors.As(err, &cancel):
		outcome = "cancelled"
	case err != nil:
		outcome = "error"
	}
	m.steps.WithLabelValues(job.Kind, outcome).Inc()
	return err
}
