package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
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
			res, entries, err := verifyFile(data, pub)
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

// verifyFile tells the kinds of file apart and verifies one: what it
// holds, and the chain entries (with the head) to compare with the live
// chain.
func verifyFile(data []byte, pub ed25519.PublicKey) (evidence.Result, []evidence.Entry, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(trimmed, []byte(incident.CSVHeadPrefix)):
		line, _, _ := bytes.Cut(trimmed, []byte("\n"))
		h, err := parseHeadLine(strings.TrimPrefix(string(line), incident.CSVHeadPrefix))
		if err != nil {
			return evidence.Result{}, nil, err
		}
		_, rest, _ := bytes.Cut(trimmed, []byte("\n"))
		recs, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
		if err != nil {
			return evidence.Result{}, nil, &evidence.Problem{Where: "CSV", What: evidence.NotDocumented, Detail: err.Error()}
		}
		return evidence.Result{Records: max(len(recs)-1, 0), Head: h, Notes: []string{
			"a CSV export carries the chain head only: its records are not sealed one by one (use --format json, or an evidence export)",
			"offline, the head is only read: give --redis (or --config) to find it in the live chain"}}, nil, nil
	case incident.IsRecordsJSON(trimmed):
		res, err := incident.VerifyJSON(trimmed)
		return res.Result, res.Seals, err
	case bytes.HasPrefix(trimmed, []byte("{")):
		var probe struct {
			Format   string          `json:"format"`
			Evidence json.RawMessage `json:"evidence"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return evidence.Result{}, nil, fmt.Errorf("%w: %v", evidence.ErrNotEvidence, err)
		}
		if probe.Format == evidence.Format {
			d, err := evidence.Decode(bytes.NewReader(trimmed))
			if err != nil {
				return evidence.Result{}, nil, err
			}
			res, err := evidence.VerifyDoc(d, pub)
			return res, d.Chain, err
		}
		if len(probe.Evidence) > 0 {
			return verifyReportHead(probe.Evidence, pub)
		}
	}
	return evidence.Result{}, nil, fmt.Errorf("%w: neither an evidence export, an incidents export nor a report with an evidence block", evidence.ErrNotEvidence)
}

// verifyReportHead checks the evidence block of a report: {head, error}.
func verifyReportHead(raw json.RawMessage, pub ed25519.PublicKey) (evidence.Result, []evidence.Entry, error) {
	var block struct {
		Head  evidence.Head `json:"head"`
		Error string        `json:"error"`
	}
	if err := json.Unmarshal(raw, &block); err != nil {
		return evidence.Result{}, nil, &evidence.Problem{Where: "report evidence block", What: evidence.NotDocumented, Detail: err.Error()}
	}
	if block.Error != "" {
		return evidence.Result{}, nil, &evidence.Problem{Where: "report evidence block", What: evidence.Removed, Detail: "the report was made without the chain head: " + block.Error}
	}
	res := evidence.Result{Head: block.Head}
	res.Notes = append(res.Notes, "a report carries the chain head only: its figures are not sealed one by one")
	if len(block.Head.Signature) > 0 {
		key := pub
		if key == nil {
			key = ed25519.PublicKey(block.Head.PublicKey)
		}
		if err := evidence.CheckHeadSignature(block.Head, key); err != nil {
			return res, nil, &evidence.Problem{Where: "head", What: evidence.SignatureBad, Detail: err.Error()}
		}
		if pub == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s, checked against the key the file carries only: give --pubkey", block.Head.KeyID))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("head signed by key %s: good", block.Head.KeyID))
		}
	}
	return res, nil, nil
}

// parseHeadLine reads "n=… hash=…".
func parseHeadLine(s string) (evidence.Head, error) {
	var h evidence.Head
	var hash string
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "n=%d hash=%s", &h.N, &hash); err != nil {
		return h, &evidence.Problem{Where: "head", What: evidence.Changed, Detail: fmt.Sprintf("%q is not \"n=… hash=…\"", s)}
	}
	d, err := evidence.ParseDigest(hash)
	if err != nil {
		return h, &evidence.Problem{Where: "head", What: evidence.Changed, Detail: err.Error()}
	}
	h.Hash = d
	return h, nil
}
