package remedy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/bidwatch/bidwatch/internal/config"
)

// runCommand runs a program directly, never through a shell: the path and
// each argument are expanded separately and passed as one argument each,
// whatever they hold (quotes, ";", newlines, "$(…)"). The output is the
// combined output, truncated, and the exit code.
func runCommand(ctx context.Context, _ Env, st *config.RunbookStep, d Data) (string, error) {
	argv, err := renderArgs(st.Command, d)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = st.Command.Dir
	out, err := cmd.CombinedOutput()
	text := truncate(strings.TrimRight(string(out), "\n"))
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return strings.TrimLeft(fmt.Sprintf("%s\nexit %d", text, exit.ExitCode()), "\n"), fmt.Errorf("%s: %w: exit %d", argv[0], ErrExit, exit.ExitCode())
	case err != nil:
		return text, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return strings.TrimLeft(text+"\nexit 0", "\n"), nil
}

// renderArgs expands the path and every argument, each on its own.
func renderArgs(c *config.CommandAction, d Data) ([]string, error) {
	path, err := render("path", c.Path, d)
	if err != nil {
		return nil, err
	}
	argv := []string{path}
	for i, a := range c.Args {
		v, err := render(fmt.Sprintf("args[%d]", i), a, d)
		if err != nil {
			return nil, err
		}
		argv = append(argv, v)
	}
	return argv, nil
}
