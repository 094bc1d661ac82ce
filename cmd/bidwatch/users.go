package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
)

// usersFlags are the flags every `bidwatch users` subcommand takes.
type usersFlags struct {
	config, redis, prefix string
	json                  bool
}

// newUsersCmd is `bidwatch users`: the console's users and their API
// tokens.
func newUsersCmd(logger *slog.Logger) *cobra.Command {
	f := &usersFlags{}
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Add, change and disable the console's users; make and revoke API tokens",
		Long: `users manages who may use the console and "bidwatch incidents", kept in
Redis: a name (letters, digits, '.', '_', '-' or CJK characters), a display
name shown and recorded in timelines (张工), a role and a bcrypt password hash.

Roles, each allowed what the one before it is and more: viewer (sees
everything), operator (acknowledges, notes, mitigates, resolves, reclassifies,
probes a room now), supervisor (signs fault records off, 中心签字认可), admin.

A password is read twice without echo from a terminal, or as one line from
standard input otherwise (echo "$PW" | bidwatch users add ...). Changing a
password or disabling a user ends the user's sessions; a disabled user's API
tokens stop working until the user is enabled again.

Exit status: 0 done, 1 refused (no such user, a name taken, no such token),
2 Redis unreachable, 3 usage error (a bad name, role or password).`,
		Example: `  bidwatch users add zhang --role operator --display 张工 --redis redis://10.0.0.5:6379
  bidwatch users add li --role supervisor --display 李主任 --config city.yaml
  bidwatch users token li --label laptop --config city.yaml > ~/.bidwatch-token
  bidwatch users list --config city.yaml`,
		Args: cobra.NoArgs,
	}
	registerRedisFlags(cmd, &f.config, &f.redis, &f.prefix, "for redis.url and redis.prefix")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON (list, tokens)")
	cmd.AddCommand(
		newUsersAddCmd(f, logger),
		newUsersPasswdCmd(f, logger),
		newUsersRoleCmd(f, logger),
		newUsersSwitchCmd(f, logger, "disable", "Disable a user: no login, sessions ended, API tokens refused", (*auth.Store).Disable, "disabled; their sessions are ended and their API tokens refused"),
		newUsersSwitchCmd(f, logger, "enable", "Enable a disabled user again", (*auth.Store).Enable, "enabled"),
		newUsersListCmd(f, logger),
		newUsersTokenCmd(f, logger),
		newUsersTokensCmd(f, logger),
		newUsersRevokeCmd(f, logger),
	)
	return cmd
}

// withUsers opens the user store the flags name, runs fn and closes it.
func withUsers(cmd *cobra.Command, f *usersFlags, logger *slog.Logger, fn func(context.Context, *auth.Store) error) error {
	b, _, err := openRedis(cmd.Context(), f.config, f.redis, f.prefix, cmd, logger)
	if err != nil {
		return err
	}
	defer func(b *bus.Bus) { _ = b.Close() }(b)
	return fn(cmd.Context(), auth.NewStore(b.Client(), b.Prefix()))
}

// usersError maps a user store error to an exit code.
func usersError(err error) error {
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case errors.Is(err, auth.ErrInvalid):
		return &exitError{code: 3, err: err}
	case errors.Is(err, auth.ErrNoUser), errors.Is(err, auth.ErrUserExists), errors.Is(err, auth.ErrTokenExists),
		errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrDisabled):
		return &exitError{code: 1, err: err}
	}
	return &exitError{code: 2, err: err}
}

func newUsersAddCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	var role, display string
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE",
		Short: "Add a user, reading the password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := auth.ValidName(name); err != nil {
				return &exitError{code: 3, err: err}
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return &exitError{code: 3, err: fmt.Errorf("--role: %w", err)}
			}
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if _, err := s.Get(ctx, name); err == nil {
					return fmt.Errorf("%w: %q", auth.ErrUserExists, name)
				}
				pw, err := readNewPassword(cmd, name)
				if err != nil {
					return err
				}
				u, err := s.AddUser(ctx, name, display, r, pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s, %s\n", u.Actor(), u.Role)
				return nil
			}))
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "viewer, operator, supervisor or admin")
	cmd.Flags().StringVar(&display, "display", "", "the name shown and recorded in timelines, e.g. 张工")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newUsersPasswdCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password, ending the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if _, err := s.Get(ctx, name); err != nil {
					return err
				}
				pw, err := readNewPassword(cmd, name)
				if err != nil {
					return err
				}
				if err := s.SetPassword(ctx, name, pw); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed; their sessions are ended\n", name)
				return nil
			}))
		},
	}
}

func newUsersRoleCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "role NAME ROLE",
		Short: "Set a user's role (viewer, operator, supervisor, admin)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(args[1])
			if err != nil {
				return &exitError{code: 3, err: err}
			}
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if err := s.SetRole(ctx, args[0], r); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", args[0], r)
				return nil
			}))
		},
	}
}

// newUsersSwitchCmd builds disable and enable.
func newUsersSwitchCmd(f *usersFlags, logger *slog.Logger, use, short string, fn func(*auth.Store, context.Context, string) error, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if err := fn(s, ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", args[0], done)
				return nil
			}))
		},
	}
}

func newUsersListCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the users: name, display name, role, state, API tokens, last change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				users, err := s.List(ctx)
				if err != nil {
					return err
				}
				if f.json {
					return writeUsersJSON(cmd.OutOrStdout(), users)
				}
				rows := [][]string{{"NAME", "DISPLAY", "ROLE", "STATE", "TOKENS", "CHANGED"}}
				for _, u := range users {
					tokens, err := s.Tokens(ctx, u.Name)
					if err != nil {
						return err
					}
					state := "active"
					if u.Disabled {
						state = "disabled"
					}
					rows = append(rows, []string{u.Name, orDefaultString(u.Display, "-"), string(u.Role), state,
						fmt.Sprint(len(tokens)), u.ChangedAt.In(time.Local).Format("2006-01-02 15:04")})
				}
				return writeUserColumns(cmd.OutOrStdout(), rows)
			}))
		},
	}
}

func newUsersTokenCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	var label string
	cmd := &cobra.Command{
		Use:   "token NAME",
		Short: "Make an API token acting as a user; it is printed once",
		Long: `token makes an API token that acts as the user, with the user's role at
the time of each use: for scripts (Authorization: Bearer TOKEN) and for
"bidwatch incidents" (--token-file or $BIDWATCH_TOKEN). Only its SHA-256 is
kept, so it is printed this once, alone on standard output. --label names
it for "users tokens" and "users revoke" (default: cli- and the time).`,
		Example: `  bidwatch users token li --label laptop --config city.yaml > ~/.bidwatch-token && chmod 600 ~/.bidwatch-token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if label == "" {
				label = "cli-" + time.Now().Format("20060102-150405")
			}
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				u, err := s.Get(ctx, args[0])
				if err != nil {
					return err
				}
				token, err := s.NewToken(ctx, u.Name, label)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), token)
				fmt.Fprintf(cmd.ErrOrStderr(), "API token %q acting as %s, %s. It cannot be shown again: keep it in a file only you can read and give it with --token-file FILE or $BIDWATCH_TOKEN.\n", label, u.Actor(), u.Role)
				return nil
			}))
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "a name for the token, new among the user's (default cli-TIME)")
	return cmd
}

func newUsersTokensCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "tokens NAME",
		Short: "List a user's API tokens by label (never the tokens)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if _, err := s.Get(ctx, args[0]); err != nil {
					return err
				}
				tokens, err := s.Tokens(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json {
					return writeUsersJSON(cmd.OutOrStdout(), tokens)
				}
				rows := [][]string{{"LABEL", "CREATED"}}
				for _, t := range tokens {
					rows = append(rows, []string{t.Label, t.CreatedAt.In(time.Local).Format("2006-01-02 15:04")})
				}
				return writeUserColumns(cmd.OutOrStdout(), rows)
			}))
		},
	}
}

func newUsersRevokeCmd(f *usersFlags, logger *slog.Logger) *cobra.Command {
	var label string
	cmd := &cobra.Command{
		Use:   "revoke NAME --label LABEL",
		Short: "Revoke a user's API token by its label",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usersError(withUsers(cmd, f, logger, func(ctx context.Context, s *auth.Store) error {
				if err := s.RevokeToken(ctx, args[0], label); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "token %q of %s revoked\n", label, args[0])
				return nil
			}))
		},
	}
	cmd.Flags().StringVar(&label, "label", "", "the token's label (bidwatch users tokens NAME lists them)")
	_ = cmd.MarkFlagRequired("label")
	return cmd
}

// readNewPassword reads a new password for a user: twice without echo when
// standard input is a terminal, one line of it otherwise.
func readNewPassword(cmd *cobra.Command, name string) (string, error) {
	in, errOut := cmd.InOrStdin(), cmd.ErrOrStderr()
	if file, ok := in.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(errOut, prompt)
			b, err := term.ReadPassword(int(file.Fd()))
			fmt.Fprintln(errOut)
			return string(b), err
		}
		first, err := read(fmt.Sprintf("New password for %s: ", name))
		if err != nil {
			return "", &exitError{code: 3, err: fmt.Errorf("read the password: %w", err)}
		}
		again, err := read("Again: ")
		if err != nil {
			return "", &exitError{code: 3, err: fmt.Errorf("read the password: %w", err)}
		}
		if first != again {
			return "", &exitError{code: 3, err: errors.New("the two passwords differ: nothing changed")}
		}
		return first, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", &exitError{code: 3, err: errors.New("no password: standard input is not a terminal, so give the password as one line on it")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func writeUsersJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}

// writeUserColumns prints rows as left-aligned columns two spaces apart,
// padding by the width a terminal gives each character: a Chinese
// character takes two columns (text/tabwriter counts it as one).
func writeUserColumns(out io.Writer, rows [][]string) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], termWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-termWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// termWidth is how many terminal columns s takes: two for each East
// Asian wide or fullwidth character, one for the others.
func termWidth(s string) int {
	n := 0
	for _, r := range s {
		n++
		if wideRune(r) {
			n++
		}
	}
	return n
}

// wideRune reports whether r is East Asian wide or fullwidth (the ranges of
// Unicode's EastAsianWidth W and F that Chinese, Japanese and Korean text
// uses).
func wideRune(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115F, // Hangul Jamo
		r >= 0x2E80 && r <= 0x303E, // CJK radicals, punctuation
		r >= 0x3041 && r <= 0x33FF, // kana, CJK symbols
		r >= 0x3400 && r <= 0x4DBF, // CJK extension A
		r >= 0x4E00 && r <= 0x9FFF, // CJK unified ideographs
		r >= 0xA000 && r <= 0xA4CF, // Yi
		r >= 0xAC00 && r <= 0xD7A3, // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF, // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F, // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFF60, // fullwidth forms
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x20000 && r <= 0x3FFFD: // CJK extensions B and on
		return true
	}
	return false
}
