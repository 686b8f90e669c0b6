package main

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/buildinfo"
	"github.com/gpusupply/supply/internal/mcpserver"
)

func mcpCommand() *cobra.Command {
	var r remote
	var sshKeyFile string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the Model Context Protocol on stdin and stdout, for AI agents",
		Long: `Serve the Model Context Protocol (MCP) on stdin and stdout, for an AI agent (Claude Desktop,
Claude Code, Cursor...) that starts it as a command: its tools find offers, rent a machine with
a price cap and an auto-delete time, wait until it is reachable, list, extend and delete machines,
with the server's API key. A viewer key is offered the read-only tools only. The agent's rent
installs --ssh-key unless it passes a public key itself.

A server also serves MCP over streamable HTTP at POST /mcp, with each request's Bearer key.`,
		Example: `  SUPPLY_URL=https://supply.example.com SUPPLY_API_KEY=sk-... supply mcp`,
		Args:    usageArgs,
	}
	r.register(cmd)
	cmd.Flags().StringVar(&sshKeyFile, "ssh-key", "", "OpenSSH public key file that rent installs when the agent names none (default: ~/.ssh/id_ed25519.pub, then ~/.ssh/id_rsa.pub)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		key, err := sshKey(sshKeyFile)
		if err != nil && sshKeyFile != "" {
			return err
		}
		// Without a key of its own, the agent passes one to rent.
		b := mcpserver.Backend{URL: r.url, Key: r.apiKey, SSHPublicKey: key, Version: buildinfo.Read().Version}
		canWrite, err := b.CanWrite(cmd.Context(), nil)
		if err != nil {
			return r.explain(cmd, err)
		}
		return mcpserver.New(b, canWrite).Run(cmd.Context(), &mcp.StdioTransport{})
	}
	return cmd
}
