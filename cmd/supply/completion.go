package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script",
		Long: `Print the script that teaches your shell to complete supply's commands and flags.
Load it in the shell's start-up file, as the examples show.`,
		Example: `  echo 'source <(supply completion bash)' >> ~/.bashrc
  supply completion zsh > "${fpath[1]}/_supply"
  supply completion fish > ~/.config/fish/completions/supply.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return fmt.Errorf("no completion for shell %q: use bash, zsh or fish", args[0])
		},
	}
}
