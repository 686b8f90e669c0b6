package provision_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/gpusupply/supply/internal/provision"
)

func TestJobMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := provision.NewJobMetrics(reg)
	job := &rivertype.JobRow{Kind: "procure"}
	boom := errors.New("boom")
	for _, err := range []error{nil, river.JobSnooze(time.Second), river.JobSnooze(time.Second), river.JobCancel(boom), boom} {
		if got := m.Work(context.Background(), job, func(context.Context) error { return err }); got != err {
			t.Fatalf("middleware changed the step's result: %v, want %v", got, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "supply_job_steps_total" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["kind"]+"/"+labels["outcome"]] = metric.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"procure/ok": 1, "procure/snoozed": 2, "procure/cancelled": 1, "procure/error": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
