package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
)

// newConfigCmd is `bidwatch config`, with `config validate FILE`.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check configuration files",
		Long: `config works with bidwatch's YAML configuration: the city, its sub-centers,
rooms and servers, and the probe settings. docs/configuration.md describes
every key.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file and list every problem in it",
		Long: `validate reads a configuration file, applies the defaults and checks all of it:
unknown keys, values of the wrong type, ids, references between rooms,
servers and sub-centers, URLs, health checks and probe settings.

It prints "FILE: ok (…)" and exits 0, or prints every problem on its own line
to stderr, each with its YAML path and, where it is in the text, its line, and
exits 1. A file that cannot be read exits 2.`,
		Example: `  bidwatch config validate configs/example-city.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			c, err := config.Load(file)
			switch {
			case err == nil:
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d sub-centers, %d rooms, %d servers)\n",
					file, len(c.SubCenters), len(c.Rooms), len(c.Servers))
				return nil
			case errors.Is(err, config.ErrInvalid):
				for _, problem := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", file, problem)
				}
				return &exitError{code: 1}
			default:
				return &exitError{code: 2, err: err}
			}
		},
	})
	return cmd
}
