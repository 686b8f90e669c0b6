package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

func eventsCommand() *cobra.Command {
	var follow bool
	var after int64
	var typ, resource string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show what happened to your procurements and machines; --follow streams it live",
		Long: `Show your account's events, oldest first: procurements started, ready or failed; machines
created, ready, preempted, deleting, deleted. With --follow the command keeps streaming new events
and reconnects by itself (resuming after the last event it printed) if the server restarts, or if
nothing arrives for 45 s (a quiet server sends a heartbeat every 15 s).`,
		Example: `  supply events
  supply events --follow
  supply events --follow --resource 21807b5e-30eb-4c3b-95e6-d331662c8fe2 --json
  supply events --after 120 --type resource.deleted`,
		Args: usageArgs,
	}
	fl := cmd.Flags()
	fl.BoolVarP(&follow, "follow", "f", false, "keep streaming new events until interrupted")
	fl.Int64Var(&after, "after", 0, "only events after this id (with --follow and no --after: from now on)")
	fl.StringVar(&typ, "type", "", "only events of this type, e.g. resource.ready")
	fl.StringVar(&resource, "resource", "", "only events of this resource, or of this offer's procurement")
	fl.IntVar(&limit, "limit", 100, "most events shown without --follow")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		f := client.EventFilter{Type: typ, ResourceID: resource}
		print := func(e supplyapi.Event) error {
			if p.json {
				// One JSON object per line, so that followers can pipe it.
				return json.NewEncoder(p.out).Encode(e)
			}
			p.line("%d\t%s\t%s\t%s\t%s", e.ID, e.Timestamp.Local().Format(time.DateTime), e.Type, subject(e), eventState(e))
			return nil
		}
		if follow {
			err := c.Follow(ctx, client.FollowOptions{After: after, FromNow: !cmd.Flags().Changed("after"), Filter: f}, print)
			if ctx.Err() != nil {
				return nil // interrupted: that is how following ends
			}
			return err
		}
		page, err := c.Events(ctx, after, f, limit)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := print(e); err != nil {
				return err
			}
		}
		if page.HasMore && !p.json {
			p.note("More events: supply events --after %d", page.LastID)
		}
		return nil
	})
}

// subject is what an event is about: the resource, or the offer.
func subject(e supplyapi.Event) string {
	if e.ResourceID != "" {
		return "resource " + e.ResourceID
	}
	return "offer " + e.OfferID
}

// eventState is the status an event's object has after it.
func eventState(e supplyapi.Event) string {
	var v struct {
		Status            string  `json:"status"`
		ProcurementStatus string  `json:"procurement_status"`
		StatusMessage     *string `json:"status_message"`
		FailureReason     *string `json:"failure_reason"`
	}
	_ = json.Unmarshal(e.Data, &v)
	s := v.Status
	if v.ProcurementStatus != "" {
		s = v.ProcurementStatus
	}
	switch {
	case v.FailureReason != nil:
		s += ": " + *v.FailureReason
	case v.StatusMessage != nil:
		s += ": " + *v.StatusMessage
	}
	return s
}
