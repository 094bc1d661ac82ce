package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
)

// prefixUsage is --prefix's help, the same on every command.
const prefixUsage = `Redis key prefix (overrides redis.prefix; default "bidwatch:"; a Redis Cluster needs a hash tag, like "{bidwatch}:")`

// addPrefixFlag adds --prefix to a command that takes --redis: it must
// reach the keys the agents and watchdogs write, and a Cluster needs a
// hash-tagged prefix.
func addPrefixFlag(fs *pflag.FlagSet, p *string) { fs.StringVar(p, "prefix", "", prefixUsage) }

// busOptions is the config's redis section (c may be nil: the defaults)
// with --redis (url) and --prefix applied where they were given.
func busOptions(cmd *cobra.Command, c *config.Config, url, prefix string) bus.Options {
	o := bus.Options{Prefix: bus.DefaultPrefix}
	if c != nil {
		o = bus.OptionsFrom(c.Redis)
	}
	if cmd.Flags().Changed("redis") {
		o.URL = url
	}
	if cmd.Flags().Changed("prefix") {
		o.Prefix = prefix
	}
	return o
}
