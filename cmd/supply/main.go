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

	"github.com/gpusupply/supply/printable"
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

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "supply",
		Short:         "Find, rent and return GPUs across cloud vendors",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every flag can also come from SUPPLY_<FLAG>; a flag given on
		// the command line wins.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return flagsFromEnv(cmd.Flags()) },
	}
	// The completion command is ours, with an example like every other.
	root.CompletionOptions.DisableDefaultCmd = true
	defer documentEnv(root)
	root.AddCommand(serverCommand(), migrateCommand(), keysCommand(), accountsCommand(),
		gpusCommand(), vendorsCommand(), regionsCommand(), offersCommand(),
		procureCommand(), rentCommand(), statusCommand(), cancelCommand(),
		resourcesCommand(), resourceCommand(), deleteCommand(), accountCommand(), usageCommand(), eventsCommand(), sessionsCommand(),
		completionCommand(), versionCommand())
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
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}
