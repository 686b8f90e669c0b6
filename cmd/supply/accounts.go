package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// noCap is what --max-hourly and --max-gpus take to clear a cap.
const noCap = "none"

func accountsCommand() *cobra.Command {
	accounts := commandGroup(&cobra.Command{Use: "accounts", Short: "Set accounts' spend caps",
		Example: "  supply accounts limits alice --max-hourly 50 --max-gpus 16"})
	var db dbFlags
	var maxHourly, maxGPUs string
	limits := &cobra.Command{
		Use:   "limits NAME",
		Short: "Set an account's spend caps: live hourly spend and live GPUs",
		Long: `Set an account's spend caps. A procurement that would take the account's live resources
(neither deleted nor failed) over a cap is refused with 403 before any vendor is called.
A flag not given leaves its cap as it is; "none" clears it. Prints the caps in force.`,
		Example: `  supply accounts limits alice --max-hourly 50 --max-gpus 16
  supply accounts limits alice --max-hourly none`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := store.Open(cmd.Context(), db.options(db.databaseURL == "", newLogger("warn")))
			if err != nil {
				return err
			}
			defer st.Close()
			acc, err := st.AccountByName(cmd.Context(), args[0])
			if err != nil {
				return err // "account "NAME": not found"
			}
			// The flags given are the fields PATCH /account/limits would send.
			var req supplyapi.AccountLimitsRequest
			fields := keys.Fields{}
			if cmd.Flags().Changed("max-hourly") {
				if req.MaxHourlyUSD, err = parseCap("--max-hourly", maxHourly, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }); err != nil {
					return err
				}
				fields["max_hourly_usd"] = true
			}
			if cmd.Flags().Changed("max-gpus") {
				if req.MaxGPUCount, err = parseCap("--max-gpus", maxGPUs, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }); err != nil {
					return err
				}
				fields["max_gpu_count"] = true
			}
			limits, err := keys.New(st).SetLimits(cmd.Context(), acc.ID, req, fields)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account %s: max hourly spend %s, max GPUs %s\n", acc.Name, capText(limits.MaxHourlyUSD), capText(limits.MaxGPUCount))
			return nil
		},
	}
	db.register(limits)
	limits.Flags().StringVar(&maxHourly, "max-hourly", "", `cap on the live resources' total price, USD per hour ("none": no cap)`)
	limits.Flags().StringVar(&maxGPUs, "max-gpus", "", `cap on the live resources' GPUs ("none": no cap)`)
	accounts.AddCommand(limits)
	return accounts
}

// parseCap reads a cap flag: "none" (nil), or a number of at least zero.
func parseCap[T int64 | float64](flag, value string, parse func(string) (T, error)) (*T, error) {
	if strings.EqualFold(value, noCap) {
		return nil, nil
	}
	v, err := parse(value)
	if err != nil || v < 0 || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return nil, fmt.Errorf("%s %q: want a number of at least 0, or %q", flag, value, noCap)
	}
	return &v, nil
}

func capText[T int64 | float64](v *T) string {
	if v == nil {
		return noCap
	}
	return fmt.Sprint(*v)
}
