package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/evidence"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// newEvidenceCmd is `bidwatch evidence ROOM --at TIME`: what each location
// measured in a room around a disputed moment, and its verifiable export.
func newEvidenceCmd(logger *slog.Logger) *cobra.Command {
	var (
		at, per, export, configFile, redisURL, prefix string
		around                                        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "evidence ROOM --at TIME",
		Short: "What each location measured in a room around a moment, and its sealed export (保护证据)",
		Long: `evidence answers "was the room reachable from <location> at <time>?" from the
raw Samples the watchdog archived: for every probe location and transport,
each synthetic participant's windows — online share, round trip, lag,
stutter, loss, dropouts, errors — per minute (or per second with
--per second), and the evidence seal that covers them (未封存: not sealed
yet: a session still running, or late Samples awaiting a new seal).

TIME is in the report time zone (reports.timezone, default Asia/Shanghai)
unless it carries an offset: "2026-11-02 10:03", "10:03" (today), or RFC 3339.
--around is how far either side of it to look (default 5m).

--export FILE writes the verifiable document (format bidwatch-evidence/1:
the Samples byte for byte, the incident versions touching the room, each
seal's leaf digests, the chain to its head; the head signed when
reports.signing_key is set). "bidwatch verify FILE" checks it anywhere.

Raw Samples are kept reports.raw_retention (48h by default); for an older
moment the hourly roll-ups are shown instead and nothing can be exported.

"bidwatch evidence keygen" makes a signing key. docs/evidence.md walks
through answering a dispute.

Exit status: 0 shown (and exported), 1 --export with nothing sealed to
export, 2 Redis unreachable or the file not written, 3 usage error.`,
		Example: `  bidwatch evidence hall-1 --at "2026-11-02 10:03" --config city.yaml
  bidwatch evidence hall-1 --at 10:03 --around 2m --per second --redis redis://10.0.0.5:6379
  bidwatch evidence hall-1 --at "2026-11-02 10:03" --config city.yaml --export evidence-hall-1.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			room := args[0]
			if at == "" {
				return &exitError{code: 3, err: errors.New("--at TIME is required: the moment in dispute, like \"2026-11-02 10:03\"")}
			}
			if around <= 0 || around > 24*time.Hour {
				return &exitError{code: 3, err: fmt.Errorf("--around %s: want a duration from 1s to 24h", around)}
			}
			step := map[string]time.Duration{"minute": time.Minute, "second": time.Second}[per]
			if step == 0 {
				return &exitError{code: 3, err: fmt.Errorf("--per %q: want minute or second", per)}
			}
			b, c, err := openRedis(cmd.Context(), configFile, redisURL, prefix, cmd, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			reports := config.DefaultReports()
			names := map[string]string{}
			if c != nil {
				reports = c.Reports
				for _, sc := range c.SubCenters {
					names[sc.ID] = sc.Name
				}
			}
			loc := reports.Location()
			now := time.Now()
			when, err := evidence.ParseAt(at, loc, now)
			if err != nil {
				return &exitError{code: 3, err: fmt.Errorf("--at %w", err)}
			}
			key, err := reports.LoadSigningKey()
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			from, to := when.Add(-around), when.Add(around)
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "房间 %s · %s 前后 %s（%s – %s，%s）\n", room, when.In(loc).Format("2006-01-02 15:04:05"), around,
				from.In(loc).Format("15:04:05"), to.In(loc).Format("15:04:05"), loc)
			opts := evidence.TableOptions{Per: step, Loc: loc, At: when, Names: names}

			x := evidence.NewExporter(b.Client(), b.Prefix())
			if to.Before(now.Add(-reports.RawRetention)) {
				fmt.Fprintf(out, "原始样本只保留 %s（reports.raw_retention），这一时刻的已删除，无法导出；以下是各小时汇总（roll-up）：\n", reports.RawRetention)
				var rows []rollup.Row
				store := rollup.NewRedisStore(b.Client(), b.Prefix(), loc, reports.RollupRetention)
				err := store.Hourly(ctx, from.Truncate(time.Hour), to, func(r rollup.Row) error {
					if r.Dim.Room == room {
						rows = append(rows, r)
					}
					return nil
				})
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				if err := evidence.WriteHourly(out, rows, opts); err != nil {
					return &exitError{code: 2, err: err}
				}
				if export != "" {
					return &exitError{code: 1, err: errors.New("nothing exported: the raw Samples of that moment are gone")}
				}
				return nil
			}
			versions, err := roomIncidents(cmd, b.Client(), b.Prefix(), room, from, to)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			doc, samples, err := x.Export(ctx, evidence.Window{Room: room, From: from, To: to, Incidents: versions,
				Subject: fmt.Sprintf("room %s, %s ± %s", room, when.In(loc).Format(time.RFC3339), around)}, now, key)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := evidence.WriteTable(out, samples, opts); err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintln(out, "\n封存：")
			if err := evidence.WriteSeals(out, doc); err != nil {
				return &exitError{code: 2, err: err}
			}
			if export == "" {
				return nil
			}
			if len(doc.Records) == 0 {
				return &exitError{code: 1, err: errors.New("nothing exported: no sealed records in that window yet (a session is sealed a few minutes after its last Sample)")}
			}
			data, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := os.WriteFile(export, append(data, '\n'), 0o644); err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d records, %d chain entries, head %s written to %s\n", len(doc.Records), len(doc.Chain), doc.Head, export)
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the moment: 2026-11-02 10:03 (report time zone), 10:03 (today) or RFC 3339")
	cmd.Flags().DurationVar(&around, "around", 5*time.Minute, "how far either side of --at to show")
	cmd.Flags().StringVar(&per, "per", "minute", "rows per minute or per second")
	cmd.Flags().StringVar(&export, "export", "", "write the verifiable evidence document to FILE")
	cmd.Flags().StringVar(&configFile, "config", "", "city config: redis.url, reports.timezone, raw_retention, signing_key, sub-center names")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis URL (overrides the config's)")
	cmd.Flags().StringVar(&prefix, "prefix", "bidwatch:", "key prefix in Redis")
	cmd.AddCommand(newEvidenceKeygenCmd())
	return cmd
}

// roomIncidents are the current versions of the incidents touching room
// that were open at some point of [from, to).
func roomIncidents(cmd *cobra.Command, rdb redis.UniversalClient, prefix, room string, from, to time.Time) ([]evidence.Version, error) {
	store := incident.NewRedisStore(rdb, prefix, config.DefaultWatchdog().Incidents)
	incs, err := store.List(cmd.Context(), incident.Filter{To: to})
	if err != nil {
		return nil, err
	}
	var out []evidence.Version
	for _, inc := range incs {
		if !slices.Contains(inc.Place.Rooms, room) || (!inc.ResolvedAt.IsZero() && inc.ResolvedAt.Before(from)) {
			continue
		}
		doc, err := incident.Canonical(inc)
		if err != nil {
			return nil, err
		}
		out = append(out, evidence.Version{ID: inc.ID, Version: inc.Version, Doc: doc})
	}
	return out, nil
}

// newEvidenceKeygenCmd is `bidwatch evidence keygen`: a new signing key.
func newEvidenceKeygenCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "keygen -o FILE",
		Short: "Make an Ed25519 signing key for reports.signing_key",
		Long: `keygen writes a new Ed25519 private key (its 32-byte seed, hex) to FILE,
readable by its owner only, and prints the public key (hex) and its key id.
Set reports.signing_key: FILE in the config; give the public key to whoever
checks exports (bidwatch verify --pubkey). The file is refused if it exists.`,
		Example: `  bidwatch evidence keygen -o /etc/bidwatch/evidence.key > evidence.pub`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return &exitError{code: 3, err: errors.New("-o FILE is required: where the private key goes")}
			}
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			_, err = fmt.Fprintln(f, hex.EncodeToString(priv.Seed()))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(pub))
			fmt.Fprintf(cmd.ErrOrStderr(), "private key written to %s (key id %s); the public key is on stdout\n", output, evidence.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the private key to (created, mode 0600)")
	return cmd
}
