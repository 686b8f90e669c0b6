package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
)

func accountCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:     "account",
		Short:   "Show your account's spend caps and what your live machines cost now",
		Example: `  supply account`,
		Args:    usageArgs,
	}, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		a, err := c.Account(ctx)
		if err != nil {
			return err
		}
		return p.answer(a, func() {
			maxHourly, maxGPUs := noCap, noCap
			if a.Limits.MaxHourlyUSD != nil {
				maxHourly = usd(*a.Limits.MaxHourlyUSD) + " per hour"
			}
			if a.Limits.MaxGPUCount != nil {
				maxGPUs = fmt.Sprint(*a.Limits.MaxGPUCount)
			}
			p.fields([][2]string{
				{"Account", a.Name},
				{"Live machines", fmt.Sprint(a.Live.Resources)},
				{"Live spend", usd(a.Live.HourlyUSD) + " per hour"},
				{"Live GPUs", fmt.Sprint(a.Live.GPUCount)},
				{"Max spend", maxHourly},
				{"Max GPUs", maxGPUs},
			})
		})
	})
}

func usageCommand() *cobra.Command {
	var since time.Duration
	var groupBy string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show what your machines have cost, deleted ones included",
		Example: `  supply usage
  supply usage --since 24h --by vendor
  supply usage --since 720h --by day --json`,
		Args: usageArgs,
	}
	cmd.Flags().DurationVar(&since, "since", 30*24*time.Hour, "how far back to look")
	cmd.Flags().StringVar(&groupBy, "by", "", "split the cost by vendor, gpu_type or day")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		now := time.Now()
		u, err := c.Usage(ctx, now.Add(-since), now, groupBy)
		if err != nil {
			return err
		}
		return p.answer(u, func() {
			p.line("%s from %s to %s.", usd(u.TotalCost), u.From.Local().Format(time.DateTime), u.To.Local().Format(time.DateTime))
			if len(u.Groups) == 0 {
				return
			}
			rows := make([][]string, len(u.Groups))
			for i, g := range u.Groups {
				rows[i] = []string{g.Key, usd(g.Cost), fmt.Sprint(g.Resources)}
			}
			p.table([]string{groupBy, "COST", "MACHINES"}, rows)
		})
	})
}
