package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// executeIn runs the command line with stdin as standard input.
func executeIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCmd(slog.New(slog.DiscardHandler))
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := 0
	if err := root.ExecuteContext(ctx); err != nil {
		code = 3
		var ee *exitError
		if errors.As(err, &ee) {
			code, err = ee.code, ee.err
		}
		if err != nil {
			stderr.WriteString(err.Error())
		}
	}
	return code, stdout.String(), stderr.String()
}

// TestUsersCommands adds, changes, lists and disables users and makes and
// revokes a token with `bidwatch users`, checking each against the store.
func TestUsersCommands(t *testing.T) {
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	store := auth.NewStore(rdb, "bidwatch:")
	ctx := context.Background()
	run := func(stdin string, args ...string) (int, string, string) {
		return executeIn(t, stdin, append(args, "--redis", srv.URL())...)
	}

	var token string
	steps := []struct {
		stdin string
		args  []string
		code  int
		want  string // in stdout+stderr
	}{
		{"zhang-password\n", []string{"users", "add", "zhang", "--role", "operator", "--display", "张工"}, 0, "added 张工 (zhang), operator"},
		{"li-password\r\n", []string{"users", "add", "li", "--role", "Supervisor", "--display", "李主任"}, 0, "added 李主任 (li), supervisor"},
		{"wang-password", []string{"users", "add", "wang", "--role", "viewer"}, 0, "added wang, viewer"}, // no newline at the end
		{"x-password\n", []string{"users", "add", "zhang", "--role", "viewer"}, 1, `user exists: "zhang"`},
		{"x-password\n", []string{"users", "add", "a b", "--role", "viewer"}, 3, `user name "a b": ' ' is not allowed`},
		{"x-password\n", []string{"users", "add", "chen", "--role", "boss"}, 3, `--role: invalid: unknown role "boss"`},
		{"x-password\n", []string{"users", "add", "chen"}, 3, `"role" not set`},
		{"short\n", []string{"users", "add", "chen", "--role", "viewer"}, 3, "password: want at least 8 characters"},
		{"", []string{"users", "add", "chen", "--role", "viewer"}, 3, "no password"},
		{"", []string{"users", "role", "zhang", "admin"}, 0, "zhang is now admin"},
		{"", []string{"users", "role", "zhang", "operator"}, 0, "zhang is now operator"},
		{"", []string{"users", "role", "zhang", "boss"}, 3, "unknown role"},
		{"", []string{"users", "role", "nobody", "viewer"}, 1, `no such user: "nobody"`},
		{"", []string{"users", "token", "li", "--label", "laptop"}, 0, "cannot be shown again"},
		{"", []string{"users", "token", "li", "--label", "laptop"}, 1, `already has a token labelled "laptop"`},
		{"", []string{"users", "token", "nobody"}, 1, "no such user"},
		{"", []string{"users", "tokens", "li"}, 0, "laptop"},
		{"", []string{"users", "passwd", "nobody"}, 1, "no such user"},
		{"", []string{"users", "disable", "nobody"}, 1, "no such user"},
		{"", []string{"users", "revoke", "li"}, 3, `"label" not set`},
		{"", []string{"users", "revoke", "li", "--label", "desk"}, 1, `user "li" has no token labelled "desk"`},
	}
	for _, s := range steps {
		code, out, errOut := run(s.stdin, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.want) {
			t.Errorf("%v: exit %d (want %d), output %q %q (want %q)", s.args, code, s.code, out, errOut, s.want)
		}
		if s.args[1] == "token" && code == 0 {
			token = strings.TrimSpace(out)
			if !strings.HasPrefix(token, "bw_") || strings.Count(out, "\n") != 1 || strings.Contains(errOut, token) {
				t.Errorf("token: stdout %q must be the token alone, stderr %q without it", out, errOut)
			}
		}
		if s.args[1] == "tokens" && token != "" && strings.Contains(out, token) {
			t.Errorf("tokens prints a token: %q", out)
		}
	}
	if u, err := store.TokenUser(ctx, token); err != nil || u.Name != "li" || u.Role != auth.RoleSupervisor {
		t.Fatalf("the printed token: %+v %v", u, err)
	}
	sess, err := store.Login(ctx, "zhang", "zhang-password", "")
	if err != nil {
		t.Fatalf("login with the password read from stdin: %v", err)
	}
	if _, err := store.Login(ctx, "li", "li-password", ""); err != nil {
		t.Errorf("a CRLF-ended password: %v", err)
	}
	if _, err := store.Login(ctx, "wang", "wang-password", ""); err != nil {
		t.Errorf("a password without a newline: %v", err)
	}

	if code, out, errOut := run("new-zhang-password\n", "users", "passwd", "zhang"); code != 0 || !strings.Contains(out, "sessions are ended") {
		t.Errorf("passwd: %d %q %q", code, out, errOut)
	}
	if _, _, err := store.Lookup(ctx, sess.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("a session after passwd: %v", err)
	}
	if _, err := store.Login(ctx, "zhang", "new-zhang-password", ""); err != nil {
		t.Errorf("the new password: %v", err)
	}

	if code, out, errOut := run("", "users", "disable", "li"); code != 0 || !strings.Contains(out, "li disabled") {
		t.Errorf("disable: %d %q %q", code, out, errOut)
	}
	if _, err := store.TokenUser(ctx, token); !errors.Is(err, auth.ErrDisabled) {
		t.Errorf("a disabled user's token: %v", err)
	}
	code, out, errOut := run("", "users", "list")
	if code != 0 {
		t.Fatalf("list: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "李主任") || !strings.Contains(lines[1], "disabled") || !strings.Contains(lines[2], "wang") || !strings.Contains(lines[3], "张工") {
		t.Fatalf("list:\n%s", out)
	}
	// Columns line up on a terminal: ROLE starts at the same column on every
	// line though 李主任 and 张工 take two columns a character.
	for _, l := range lines[1:] {
		role := strings.Index(l, map[bool]string{true: "supervisor", false: "operator"}[strings.HasPrefix(l, "li")])
		if strings.HasPrefix(l, "wang") {
			role = strings.Index(l, "viewer")
		}
		if role < 0 || termWidth(l[:role]) != termWidth(lines[0][:strings.Index(lines[0], "ROLE")]) {
			t.Errorf("list columns do not line up:\n%s", out)
			break
		}
	}
	if code, out, _ := run("", "users", "list", "--json"); code != 0 || strings.Contains(out, "hash") || strings.Contains(out, "$2a$") {
		t.Errorf("list --json: %d %s", code, out)
	} else {
		var users []auth.User
		if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 3 || users[2].Display != "张工" {
			t.Errorf("list --json: %v %s", err, out)
		}
	}

	if code, _, errOut := run("", "users", "enable", "li"); code != 0 {
		t.Errorf("enable: %d %q", code, errOut)
	}
	if _, err := store.TokenUser(ctx, token); err != nil {
		t.Errorf("token after enable: %v", err)
	}
	if code, out, errOut := run("", "users", "revoke", "li", "--label", "laptop"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %d %q %q", code, out, errOut)
	}
	if _, err := store.TokenUser(ctx, token); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("a revoked token: %v", err)
	}

	// The password never shows in what the commands print or in Redis.
	keys, _ := rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		if rdb.Type(ctx, k).Val() != "hash" {
			continue
		}
		for f, v := range rdb.HGetAll(ctx, k).Val() {
			if strings.Contains(f+v, "zhang-password") || strings.Contains(f+v, token) {
				t.Errorf("%s holds a secret", k)
			}
		}
	}
}

func TestUsersRedisUnreachable(t *testing.T) {
	if code, _, errOut := executeIn(t, "", "users", "list", "--redis", "redis://127.0.0.1:1"); code != 2 {
		t.Errorf("unreachable Redis: exit %d %q, want 2", code, errOut)
	}
	if code, _, errOut := executeIn(t, "", "users", "list"); code != 3 || !strings.Contains(errOut, "no Redis") {
		t.Errorf("no Redis: exit %d %q, want 3", code, errOut)
	}
}

func TestUsersColumnsWidth(t *testing.T) {
	var b bytes.Buffer
	if err := writeUserColumns(&b, [][]string{{"NAME", "DISPLAY", "ROLE"}, {"li", "李主任", "supervisor"}, {"zhang", "张工", "operator"}, {"x", "-", "viewer"}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME   DISPLAY  ROLE\n" +
		"li     李主任   supervisor\n" +
		"zhang  张工     operator\n" +
		"x      -        viewer\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	for s, w := range map[string]int{"": 0, "abc": 3, "张工": 4, "李主任 (li)": 11, "ｆｕｌｌ": 8, "한국": 4} {
		if got := termWidth(s); got != w {
			t.Errorf("termWidth(%q) = %d, want %d", s, got, w)
		}
	}
}
