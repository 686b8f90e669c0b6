package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

func resourcesCommand() *cobra.Command {
	var offer string
	var all bool
	cmd := &cobra.Command{
		Use:   "resources",
		Short: "List your machines, newest first",
		Example: `  supply resources
  supply resources --all
  supply resources --offer 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b --json`,
		Args: usageArgs,
	}
	cmd.Flags().StringVar(&offer, "offer", "", "only the machines of this offer")
	cmd.Flags().BoolVar(&all, "all", false, "include deleted machines")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		var f client.ResourceFilter
		if offer != "" {
			id, err := parseID("offer", offer)
			if err != nil {
				return err
			}
			f.OfferID = &id
		}
		list, err := c.Resources(ctx, f)
		if err != nil {
			return err
		}
		shown := make([]supplyapi.ResourceSummary, 0, len(list))
		for _, r := range list {
			if all || r.Status != supplyapi.ResourceDeleted {
				shown = append(shown, r)
			}
		}
		return p.answer(shown, func() {
			switch {
			case len(shown) == 0 && len(list) > 0:
				p.note("No live machines; supply resources --all shows the %d deleted.", len(list))
				return
			case len(shown) == 0 && offer != "":
				p.note("No machines of offer %s.", offer)
				return
			case len(shown) == 0:
				p.note("No machines yet. Rent one with: supply rent --gpu H100")
				return
			}
			rows := make([][]string, len(shown))
			for i, r := range shown {
				rows[i] = []string{
					r.ResourceID.String(), r.Name, r.Vendor, r.VendorRegion, gpuSpec(r.Spec), r.Status,
					usd(r.PricingTotalHourly), sshCommand(r), ago(r.CreatedAt),
				}
			}
			p.table([]string{"RESOURCE ID", "NAME", "VENDOR", "REGION", "GPU", "STATUS", "$/H", "SSH", "CREATED"}, rows)
		})
	})
}

func resourceCommand() *cobra.Command {
	var refresh bool
	cmd := &cobra.Command{
		Use:   "resource RESOURCE_ID",
		Short: "Show one machine: its state, what it is and how to reach it",
		Example: `  supply resource 21807b5e-30eb-4c3b-95e6-d331662c8fe2
  supply resource 21807b5e-30eb-4c3b-95e6-d331662c8fe2 --refresh --json`,
		Args: usageArgs,
	}
	cmd.Flags().BoolVar(&refresh, "refresh", false, "ask the vendor first, even if the server's state is fresh")
	cmd.AddCommand(extendCommand())
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := parseID("resource", args[0])
		if err != nil {
			return err
		}
		r, err := c.Resource(ctx, id, refresh)
		if err != nil {
			return err
		}
		return p.answer(r, func() {
			memory, deleted, deletes := "", "", ""
			if r.Spec.MemoryInGB != nil {
				memory = fmt.Sprintf("%g GB", *r.Spec.MemoryInGB)
			}
			if r.ValidTo != nil {
				deleted = ago(*r.ValidTo)
			}
			if !leaving(r.Status) {
				deletes = autoDeleteText(r.DeleteAt)
			}
			offer := ""
			if len(r.OfferHistory) > 0 {
				offer = r.OfferHistory[0].OfferID.String()
			}
			p.fields([][2]string{
				{"Resource", r.ResourceID.String()},
				{"Name", r.Name},
				{"Status", r.Status},
				{"Message", deref(r.StatusMessage)},
				{"Vendor", r.Vendor + " " + r.VendorRegion},
				{"GPU", gpuSpec(r.Spec)},
				{"vCPU", orDash(r.Spec.VCPUCount)},
				{"RAM", memory},
				{"Contract", contractWord(r.Spec.ContractType)},
				{"Price", usd(r.PricingTotalHourly) + " per hour"},
				{"Cost", usd(r.AccruedCost) + costSpan(r)},
				{"Deletes", deletes},
				{"SSH", sshCommand(r)},
				{"Ports", portsText(r.Ports)},
				{"Offer", offer},
				{"Created", ago(r.CreatedAt)},
				{"Deleted", deleted},
			})
		})
	})
}

func extendCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "extend RESOURCE_ID DURATION",
		Short: "Move a machine's auto-delete to DURATION from now, or cancel it with never",
		Long: `Move a machine's auto-delete time: it is deleted DURATION from now ("2h", "90m"), as
supply delete would. "never" cancels it. A cluster's nodes follow their cluster: extend the cluster.`,
		Example: `  supply resource extend 21807b5e-30eb-4c3b-95e6-d331662c8fe2 2h
  supply resource extend 21807b5e-30eb-4c3b-95e6-d331662c8fe2 never`,
		Args: usageArgs,
		// The server's auto_delete_after is the DURATION argument here.
		Annotations: map[string]string{"auto_delete_after": "DURATION"},
	}
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := parseID("resource", args[0])
		if err != nil {
			return err
		}
		var after *supplyapi.Duration
		if args[1] != never {
			after = supplyapi.DurationText(args[1])
		}
		r, err := c.SetAutoDelete(ctx, id, after)
		if err != nil {
			return err
		}
		return p.answer(r, func() { p.line("Resource %s: auto-delete %s.", id, autoDeleteText(r.DeleteAt)) })
	})
}

// autoDeleteText says when a machine is deleted on its own.
func autoDeleteText(at *time.Time) string {
	if at == nil {
		return never
	}
	when := "due now"
	if d := time.Until(*at); d > 0 {
		when = "in " + remaining(d)
	}
	return at.Local().Format(time.DateTime) + " (" + when + ")"
}

// leaving reports whether a machine is on its way out or gone (deleting,
// deleted, failed): it has no auto-delete time and no way in.
func leaving(status string) bool {
	return status == supplyapi.ResourceDeleting || status == supplyapi.ResourceDeleted || status == supplyapi.ResourceFailed
}

// sshCommand is how to reach a machine, while there is a machine to
// reach: a machine leaving, or taken back by its vendor, has none (its
// address may be someone else's by now).
func sshCommand(r supplyapi.ResourceSummary) string {
	if leaving(r.Status) || r.Status == supplyapi.ResourcePreempted {
		return ""
	}
	return deref(r.Access.SSHCommand)
}

// costSpan says what a machine's cost covers: until now, or, once the
// vendor confirmed it gone, in all.
func costSpan(r supplyapi.ResourceSummary) string {
	if r.ValidTo != nil {
		return " in all"
	}
	return " so far"
}

func deleteCommand() *cobra.Command {
	var force, wait bool
	cmd := &cobra.Command{
		Use:   "delete RESOURCE_ID",
		Short: "Give a machine back: terminate it at the vendor",
		Long: `Give a machine back. The vendor terminates it in the background; the machine is deleted
only once the vendor confirms it is gone. With --wait the command waits for that.`,
		Example: `  supply delete 21807b5e-30eb-4c3b-95e6-d331662c8fe2 --wait
  supply delete 21807b5e-30eb-4c3b-95e6-d331662c8fe2 --force   # still provisioning: cancel it`,
		Args: usageArgs,
	}
	cmd.Flags().BoolVar(&force, "force", false, "also delete a machine that is still provisioning, cancelling the provisioning")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the vendor confirms the machine is gone (Ctrl-C stops waiting, not the deletion)")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := parseID("resource", args[0])
		if err != nil {
			return err
		}
		res, err := c.Delete(ctx, id, force)
		if err != nil {
			return err
		}
		if !wait {
			return p.answer(res, func() { p.line("Deleting resource %s: %s.", id, res.Message) })
		}
		pr := p.startProgress()
		r, err := c.WaitDeleted(ctx, id, func(r supplyapi.ResourceSummary) { pr.set(r.Status, deref(r.StatusMessage)) })
		pr.stop()
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("stopped waiting, but the deletion goes on: follow it with: supply resource %s", id)
		}
		if err != nil {
			return err
		}
		return p.answer(r, func() { p.line("Resource %s deleted.", id) })
	})
}

// gpuSpec is what a machine has, e.g. "8× nvidia-h100-sxm5-80gb".
func gpuSpec(s supplyapi.Spec) string {
	return fmt.Sprintf("%d× %s", s.GPUCount, s.GPUType)
}
