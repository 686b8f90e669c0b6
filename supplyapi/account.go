package supplyapi

import "time"

// AccountInfo answers GET /account (an extension of the Supply API).
type AccountInfo struct {
	Name   string        `json:"name"`
	Limits AccountLimits `json:"limits"`
	Live   LiveSpend     `json:"live"`
}

// AccountLimits are an account's spend caps; null means no cap.
type AccountLimits struct {
	MaxHourlyUSD *float64 `json:"max_hourly_usd" doc:"Cap on the hourly price of the account's live resources"`
	MaxGPUCount  *int64   `json:"max_gpu_count" doc:"Cap on the GPUs of the account's live resources"`
}

// LiveSpend is what an account's live resources (neither deleted nor
// failed; a cluster counts by its nodes) cost and hold now.
type LiveSpend struct {
	HourlyUSD float64 `json:"hourly_usd"`
	GPUCount  int64   `json:"gpu_count"`
	Resources int     `json:"resources"`
}

// Usage groupings, as the group_by parameter of GET /usage and
// Usage.GroupBy.
const (
	GroupByVendor  = "vendor"
	GroupByGPUType = "gpu_type"
	GroupByDay     = "day"
)

// Usage answers GET /usage (an extension of the Supply API).
type Usage struct {
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	GroupBy   *string      `json:"group_by"`
	Currency  string       `json:"currency"`
	TotalCost float64      `json:"total_cost" doc:"USD billed within the window by the account's resources"`
	Groups    []UsageGroup `json:"groups" nullable:"false" doc:"Cost per group: days in order, others largest first; empty without group_by"`
}

// UsageGroup is the cost of one vendor, GPU type or UTC day (YYYY-MM-DD).
type UsageGroup struct {
	Key       string  `json:"key"`
	Cost      float64 `json:"cost"`
	Resources int     `json:"resources" doc:"Nodes that cost something in this group"`
}
