package main

import (
	"context"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

// stopCommand is "supply stop": a running machine is powered off, its
// disk kept, billed as its vendor bills a stopped machine.
func stopCommand() *cobra.Command {
	return powerCommand(&cobra.Command{
		Use:   "stop RESOURCE_ID",
		Short: "Stop a machine: power it off, keep its disk (supply start brings it back)",
		Long: `Stop a running machine (a cluster: all its nodes). It is stopping until the vendor confirms, then
stopped: billed as its vendor bills a stopped machine (see accrued_cost). Vendors without stop refuse it.`,
		Example: `  supply stop 21807b5e-30eb-4c3b-95e6-d331662c8fe2`,
		Args:    usageArgs,
	}, (*client.Client).Stop, "Stopping")
}

// startCommand is "supply start": a stopped machine boots again.
func startCommand() *cobra.Command {
	return powerCommand(&cobra.Command{
		Use:   "start RESOURCE_ID",
		Short: "Start a stopped machine again",
		Long: `Start a stopped machine. It is starting until it answers over SSH again, maybe at a new address
(supply resource RESOURCE_ID shows it). A container vendor may have no GPU for it; it then stays stopped and says so.`,
		Example: `  supply start 21807b5e-30eb-4c3b-95e6-d331662c8fe2`,
		Args:    usageArgs,
	}, (*client.Client).Start, "Starting")
}

// powerCommand runs cmd with change on its resource id, saying doing.
func powerCommand(cmd *cobra.Command, change func(*client.Client, context.Context, uuid.UUID) (supplyapi.PowerResponse, error), doing string) *cobra.Command {
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := parseID("resource", args[0])
		if err != nil {
			return err
		}
		res, err := change(c, ctx, id)
		if err != nil {
			return err
		}
		return p.answer(res, func() { p.line("%s resource %s: %s.", doing, id, res.Message) })
	})
}
