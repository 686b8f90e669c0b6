package provision

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	procurements      *prometheus.CounterVec
	failures          *prometheus.CounterVec
	refusals          *prometheus.CounterVec
	failovers         *prometheus.CounterVec
	orphansFound      *prometheus.CounterVec
	orphansTerminated *prometheus.CounterVec
	foreign           *prometheus.GaugeVec
	vanished          *prometheus.CounterVec
	stuckDeletions    prometheus.Gauge
	autoDeletes       *prometheus.CounterVec
	liveSpend         *prometheus.GaugeVec
	unknownVolumes    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		procurements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_procurements_total", Help: "Procurements accepted, by vendor.",
		}, []string{"vendor"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_procurement_failures_total", Help: "Procurements that failed, by vendor.",
		}, []string{"vendor"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_vendor_refusals_total",
			Help: "Vendors' definite refusals to create an instance, by vendor and kind (no_capacity, quota, auth, invalid, ...); the vendor's own words are in the log.",
		}, []string{"vendor", "kind"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_procurement_failovers_total",
			Help: "Tries of procurements with a fallback that moved on to an equivalent offer, by the vendor of the try and how it ended (refused, no_answer).",
		}, []string{"vendor", "outcome"}),
		orphansFound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_reconciler_orphans_found_total", Help: "Vendor instances carrying supply's tag with no live resource, by vendor.",
		}, []string{"vendor"}),
		orphansTerminated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_reconciler_orphans_terminated_total", Help: "Orphan instances the reconciler asked the vendor to terminate, by vendor.",
		}, []string{"vendor"}),
		foreign: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supply_reconciler_foreign_instances",
			Help: "Vendor instances tagged like supply's that belong to another installation (or to nobody we know), left alone, by vendor, at the last reconcile.",
		}, []string{"vendor"}),
		vanished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_resources_vanished_total", Help: "Resources whose instance disappeared at the vendor (failed or preempted), by vendor.",
		}, []string{"vendor"}),
		stuckDeletions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "supply_deletions_stuck", Help: "Resources whose deletion has kept failing for longer than the warning threshold.",
		}),
		autoDeletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_auto_deletes_total", Help: "Resources deleted because their delete_at came, by vendor.",
		}, []string{"vendor"}),
		liveSpend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supply_live_hourly_spend_usd",
			Help: "Hourly price of each account's live resources (clusters by their nodes), in USD, at the last reconcile or procurement.",
		}, []string{"account_id"}),
		unknownVolumes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "supply_reconciler_unknown_volumes",
			Help: "Vendor volumes carrying this installation's id that the database does not know, left alone (they may hold data), by vendor, at the last reconcile.",
		}, []string{"vendor"}),
	}
	if reg != nil {
		reg.MustRegister(m.procurements, m.failures, m.refusals, m.failovers, m.orphansFound, m.orphansTerminated, m.foreign, m.vanished, m.stuckDeletions,
			m.autoDeletes, m.liveSpend, m.unknownVolumes)
	}
	return m
}
