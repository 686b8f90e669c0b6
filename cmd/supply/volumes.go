package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

func volumesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volumes",
		Short: "List your volumes: storage that outlives the machines it is attached to; create or delete one",
		Long: `List your volumes, newest first: storage at one vendor and region that keeps its data when the
machine it is attached to is deleted. Attach one when renting: supply rent --volume VOLUME_ID.
Only vendors with supports_volumes in supply vendors have them.`,
		Example: `  supply volumes
  supply volumes create --vendor lambda --region us-east-1 --size-gb 100 --name data
  supply volumes delete 3f0c...`,
		Args: usageArgs,
	}
	cmd.AddCommand(listVolumesCommand(), createVolumeCommand(), deleteVolumeCommand())
	return remoteCommand(cmd, listVolumes)
}

func listVolumesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "List your volumes, newest first", Example: `  supply volumes list --json`, Args: usageArgs}
	return remoteCommand(cmd, listVolumes)
}

func listVolumes(ctx context.Context, c *client.Client, p *printer, _ []string) error {
	list, err := c.Volumes(ctx)
	if err != nil {
		return err
	}
	return p.answer(list, func() {
		if len(list) == 0 {
			p.note("No volumes. Make one with supply volumes create.")
			return
		}
		rows := make([][]string, len(list))
		for i, v := range list {
			attached := ""
			if v.AttachedTo != nil {
				attached = v.AttachedTo.String()
			}
			rows[i] = []string{v.ID.String(), v.Name, v.Vendor, v.VendorRegion, strconv.FormatInt(v.SizeGB, 10), v.Status, attached,
				usd(v.PricePerHour), usd(v.AccruedCost)}
		}
		p.table([]string{"ID", "NAME", "VENDOR", "REGION", "GB", "STATUS", "ATTACHED TO", "PER HOUR", "COST"}, rows)
	})
}

func createVolumeCommand() *cobra.Command {
	var req supplyapi.VolumeRequest
	var offer string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a volume at a vendor's region (or where an offer is)",
		Example: `  supply volumes create --vendor lambda --region us-east-1 --size-gb 100 --name data
  supply volumes create --offer 0b2e4f61-... --size-gb 100 --name data`,
		Args: usageArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&req.Vendor, "vendor", "", "the vendor (with --region)")
	fl.StringVar(&req.Region, "region", "", "the vendor's own region, as offers show it (vendor_region)")
	fl.StringVar(&offer, "offer", "", "put the volume where this offer is (instead of --vendor and --region)")
	fl.IntVar(&req.SizeGB, "size-gb", 0, "size in GB, billed at the vendor's price per GB-month")
	fl.StringVar(&req.Name, "name", "", "a name for the volume")
	cmd.MarkFlagsMutuallyExclusive("offer", "vendor")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		if offer != "" {
			id, err := parseID("offer", offer)
			if err != nil {
				return err
			}
			req.OfferID = &id
		}
		v, err := c.CreateVolume(ctx, req)
		if err != nil {
			return err
		}
		return p.answer(v, func() {
			p.note("Volume %s (%s): %d GB at %s in %s, %s per hour; %s.", v.ID, v.Name, v.SizeGB, v.Vendor, v.VendorRegion, usd(v.PricePerHour), v.Status)
			p.line(v.ID.String())
		})
	})
}

func deleteVolumeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete VOLUME_ID",
		Short:   "Delete a volume and its data (not while it is attached to a machine)",
		Example: `  supply volumes delete 3f0c...`,
		Args:    usageArgs,
	}
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := parseID("volume", args[0])
		if err != nil {
			return err
		}
		v, err := c.DeleteVolume(ctx, id)
		if err != nil {
			return err
		}
		return p.answer(v, func() { p.note("Volume %s is %s: %s.", v.ID, v.Status, v.StatusMessage) })
	})
}
