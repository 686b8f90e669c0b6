package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/internal/buildinfo"
)

// remote is what every command that talks to a server shares: where the
// server is, the API key, and whether to print JSON.
type remote struct {
	url    string
	apiKey string
	json   bool
}

// remoteCommand gives cmd the --url, --api-key and --json flags and runs
// run with a client of the server and a printer; errors the user can act
// on are reworded to say how, in the command's terms (explain).
func remoteCommand(cmd *cobra.Command, run func(ctx context.Context, c *client.Client, p *printer, args []string) error) *cobra.Command {
	var r remote
	r.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&r.json, "json", false, "print the API's JSON answer instead of a table")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c := client.New(r.url, r.apiKey, client.WithUserAgent("supply-cli/"+buildinfo.Read().Version))
		return r.explain(cmd, run(cmd.Context(), c, newPrinter(cmd, r.json), args))
	}
	return cmd
}

// register gives cmd the --url and --api-key flags.
func (r *remote) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&r.url, "url", "http://127.0.0.1:8080", "URL of the supply server")
	fl.StringVar(&r.apiKey, "api-key", "", "API key")
}

// parseID reads an id argument; what names it in the error ("offer",
// "resource").
func parseID(what, arg string) (uuid.UUID, error) {
	id, err := uuid.Parse(arg)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%q is not a valid %s id: ids look like %s", arg, what, uuid.Nil)
	}
	return id, nil
}
