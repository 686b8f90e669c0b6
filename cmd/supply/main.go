// Command supply is the GPU supply service and its command line:
// "supply server" serves the API; the other subcommands administer it or
// talk to a running server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/internal/buildinfo"
	"github.com/gpusupply/supply/internal/printable"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		// The error may quote a server's answer: escape it for the terminal.
		fmt.Fprintln(os.Stderr, "supply:", printable.Escape(err.Error()))
		os.Exit(1)
	}
}

// Command groups of supply --help.
const (
	groupRent   = "rent"
	groupServer = "server"
	groupAdmin  = "admin"
)

func rootCommand() *cobra.Command {
	root := commandGroup(&cobra.Command{
		Use:   "supply",
		Short: "Find, rent and return GPUs across cloud vendors",
		Long: `supply finds GPU capacity across cloud vendors, rents it and gives it back.

Start a server with: supply server (with no vendor credentials it runs in sandbox mode: nothing
is rented or billed). The renting commands talk to a server: SUPPLY_URL (or --url; default
http://127.0.0.1:8080) says where, and SUPPLY_API_KEY (or --api-key) with which key; a new
server writes its first key to supply-data/initial-api-key.`,
		Example: `  export SUPPLY_API_KEY=$(cat supply-data/initial-api-key)
  supply rent --gpu H100`,
		Version:       buildinfo.Read().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every flag can also come from SUPPLY_<FLAG>; a flag given on
		// the command line wins.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return flagsFromEnv(cmd.Flags()) },
	})
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return flagValueError(err, func(name string) string { return "--" + name })
	})
	// The completion command is ours, with an example like every other.
	root.CompletionOptions.DisableDefaultCmd = true
	defer documentEnv(root)
	root.AddGroup(
		&cobra.Group{ID: groupRent, Title: "Renting GPUs (from a server: SUPPLY_URL and SUPPLY_API_KEY, or --url and --api-key):"},
		&cobra.Group{ID: groupServer, Title: "Running the server:"},
		&cobra.Group{ID: groupAdmin, Title: "Administration (on the server's database):"},
	)
	for group, cmds := range map[string][]*cobra.Command{
		groupRent: {gpusCommand(), vendorsCommand(), regionsCommand(), offersCommand(), rentCommand(), procureCommand(),
			statusCommand(), cancelCommand(), resourcesCommand(), resourceCommand(), deleteCommand(), stopCommand(), startCommand(),
			volumesCommand(), accountCommand(), usageCommand(), eventsCommand(), sessionsCommand(), mcpCommand()},
		groupServer: {serverCommand(), migrateCommand()},
		groupAdmin:  {keysCommand(), accountsCommand()},
		"":          {completionCommand(), versionCommand()},
	} {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	return root
}

// documentEnv adds to the help of every flag of cmd and its subcommands
// the environment variable it can also come from.
func documentEnv(cmd *cobra.Command) {
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + envName(f.Name) + ")"
		}
	})
	for _, c := range cmd.Commands() {
		documentEnv(c)
	}
}

// envName is the environment variable of a flag: --database-url is
// SUPPLY_DATABASE_URL.
func envName(flag string) string {
	return "SUPPLY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func flagsFromEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = flagValueError(e, envName)
			}
		}
	})
	return err
}
