package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/buildinfo"
)

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version and the commit this binary was built from",
		Example: "  supply version",
		Args:    usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.Read())
			return err
		},
	}
}
