package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
)

func gpusCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "gpus",
		Short: "List the GPU families and the exact variants of each",
		Long: `List the GPU families and the exact variants of each. A family (H100) matches every
variant; a canonical name (nvidia-h100-sxm5-80gb) matches one. Both work with --gpu.`,
		Example: `  supply gpus
  supply gpus --json | jq '.H100'`,
		Args: usageArgs,
	}, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		gpus, err := c.GPUs(ctx)
		if err != nil {
			return err
		}
		return p.answer(gpus, func() {
			rows := [][]string{}
			for _, family := range slices.Sorted(maps.Keys(gpus)) {
				rows = append(rows, []string{family, strings.Join(gpus[family], ", ")})
			}
			p.table([]string{"FAMILY", "VARIANTS"}, rows)
		})
	})
}

func vendorsCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "vendors",
		Short: "List the vendors and the health of their catalogs",
		Example: `  supply vendors
  supply vendors --json`,
		Args: usageArgs,
	}, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		vendors, err := c.Vendors(ctx)
		if err != nil {
			return err
		}
		return p.answer(vendors, func() {
			rows := [][]string{}
			sandbox := false
			for _, v := range vendors {
				updated := ""
				if v.ObservedAt != nil {
					updated = ago(*v.ObservedAt)
				}
				rows = append(rows, []string{v.Name, v.DisplayName, v.Status, fmt.Sprint(v.Offers), yesNo(v.SupportsSpot), yesNo(v.SupportsClusters), updated})
				sandbox = sandbox || v.Sandbox
			}
			p.table([]string{"VENDOR", "NAME", "STATUS", "OFFERS", "SPOT", "CLUSTERS", "UPDATED"}, rows)
			if sandbox {
				p.note("Sandbox mode: these vendors are local stand-ins; nothing is rented and nothing is billed.")
			}
		})
	})
}

func regionsCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "regions",
		Short: "List the region groups offers can be filtered by",
		Example: `  supply regions
  supply offers --gpu H100 --region EU`,
		Args: usageArgs,
	}, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		regions, err := c.Regions(ctx)
		if err != nil {
			return err
		}
		return p.answer(regions, func() {
			for _, r := range regions {
				p.line("%s", r)
			}
		})
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
