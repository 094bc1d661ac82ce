package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/verifyfile"
)

// maxVerifyFile bounds the file verify reads.
const maxVerifyFile = 1 << 30

// newVerifyCmd is `bidwatch verify FILE`: recompute an export's evidence.
func newVerifyCmd(logger *slog.Logger) *cobra.Command {
	var pubkey, configFile, redisURL, prefix string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an export against the evidence chain: changed, added or removed records (保护证据)",
		Long: `verify recomputes the evidence in FILE and says whether anything was
changed, added or removed since it was exported:

  - an evidence export (bidwatch evidence ROOM --at TIME --export FILE):
    every record against its sealed leaf digest, every group's leaves
    against its seal, every chain entry's hash and its link to the one
    before, the head, and the signatures;
  - a JSON incidents export (bidwatch incidents export --format json): each
    fault record against its seal entry, and the chain head;
  - a report (bidwatch report --format json) or a CSV incidents export:
    the chain head it carries, and its signature.

It prints "verified: N records, M chain entries, head n=… hash=…" or names
the FIRST bad entry and what is wrong with it: changed, removed (a gap),
added, reordered, chain broken, signature wrong.

Signatures are checked against --pubkey FILE (a public key, 32 bytes raw,
hex or base64, or the private key file itself), else the public half of
reports.signing_key in --config. With --redis (or a --config with
redis.url), the file's chain entries and head are also compared with the
live chain. docs/evidence.md explains the chain.

Exit status: 0 verified, 1 not verified (or not an export), 2 Redis
unreachable, 3 usage error or a file that cannot be read.`,
		Example: `  bidwatch verify evidence-hall-1.json
  bidwatch verify incidents-2026-11.json --pubkey center.pub --redis redis://10.0.0.5:6379
  bidwatch verify report-2026-11.json --config city.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readLimited(args[0])
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			pub, err := verifyKey(pubkey, configFile)
			if err != nil {
				return err
			}
			res, entries, err := verifyfile.Verify(data, pub)
			if err != nil {
				return notVerified(err)
			}
			if cmd.Flags().Changed("redis") || configFile != "" {
				b, _, err := openRedis(cmd.Context(), configFile, redisURL, prefix, cmd, logger)
				if err != nil {
					return err
				}
				defer b.Close()
				if err := evidence.NewChain(b.Client(), b.Prefix()).CompareLive(cmd.Context(), entries, res.Head); err != nil {
					var p *evidence.Problem
					if errors.As(err, &p) {
						return notVerified(fmt.Errorf("against the live chain: %w", err))
					}
					return &exitError{code: 2, err: err}
				}
				res.Notes = append(res.Notes, fmt.Sprintf("the head and %d entries match the live chain", len(entries)))
				res.Notes = dropNote(res.Notes, "offline")
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, res.Summary())
			for _, n := range res.Notes {
				fmt.Fprintln(out, "  note:", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "Ed25519 public key file to check signatures with")
	cmd.Flags().StringVar(&configFile, "config", "", "city config: its reports.signing_key (public half) and redis.url")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis URL: compare the head and entries with the live chain")
	cmd.Flags().StringVar(&prefix, "prefix", "bidwatch:", "key prefix in Redis")
	return cmd
}

func notVerified(err error) error {
	return &exitError{code: 1, err: fmt.Errorf("NOT VERIFIED: %w", err)}
}

func dropNote(notes []string, containing string) []string {
	var out []string
	for _, n := range notes {
		if !strings.Contains(n, containing) {
			out = append(out, n)
		}
	}
	return out
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxVerifyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > maxVerifyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxVerifyFile)
	}
	return data, nil
}

// verifyKey is the public key signatures are checked against: --pubkey,
// else the config's signing key's public half, else none.
func verifyKey(pubkey, configFile string) (ed25519.PublicKey, error) {
	if pubkey != "" {
		data, err := os.ReadFile(pubkey)
		if err != nil {
			return nil, &exitError{code: 3, err: fmt.Errorf("--pubkey: %w", err)}
		}
		if pub, err := evidence.ParsePublicKey(data); err == nil {
			return pub, nil
		}
		priv, err := config.ParseSigningKey(data)
		if err != nil {
			return nil, &exitError{code: 3, err: fmt.Errorf("--pubkey %s: not an Ed25519 public or private key", pubkey)}
		}
		return priv.Public().(ed25519.PublicKey), nil
	}
	if configFile == "" {
		return nil, nil
	}
	c, err := loadCityConfig(configFile)
	if err != nil {
		return nil, err
	}
	priv, err := c.Reports.LoadSigningKey()
	if err != nil || priv == nil {
		return nil, err
	}
	return priv.Public().(ed25519.PublicKey), nil
}
