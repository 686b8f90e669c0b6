package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
)

func sessionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List the web console's sign-ins to your account; revoke one",
		Long: `List the web console's sessions of your account that still count, newest first: which key signed
in, from where and with which browser, when it was last used and when it expires. The session this
command was run with, if any, is marked current; the command itself uses an API key.`,
		Example: `  supply sessions
  supply sessions --json
  supply sessions revoke 12`,
		Args: usageArgs,
	}
	cmd.AddCommand(revokeSessionCommand())
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		list, err := c.Sessions(ctx)
		if err != nil {
			return err
		}
		return p.answer(list, func() {
			if len(list) == 0 {
				p.note("No console sessions. Sign in at the server's address in a browser.")
				return
			}
			rows := make([][]string, len(list))
			for i, s := range list {
				id := strconv.FormatInt(s.ID, 10)
				if s.Current {
					id += " *"
				}
				rows[i] = []string{id, s.KeyPrefix, s.Address, s.UserAgent, ago(s.CreatedAt), ago(s.LastSeenAt), until(s.ExpiresAt)}
			}
			p.table([]string{"ID", "KEY", "ADDRESS", "BROWSER", "SIGNED IN", "LAST SEEN", "EXPIRES IN"}, rows)
		})
	})
}

func revokeSessionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "revoke SESSION_ID",
		Short:   "End a console session: its cookie is refused from now on, on every replica",
		Example: `  supply sessions revoke 12`,
		Args:    usageArgs,
	}
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a session id: ids are the numbers supply sessions lists", args[0])
		}
		if err := c.RevokeSession(ctx, id); err != nil {
			return err
		}
		p.note("Session %d ended.", id)
		return nil
	})
}
