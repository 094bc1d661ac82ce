package remedy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/internal/config"
)

// Errors callers test for.
var (
	// ErrTemplate: a step's template does not parse or expand.
	ErrTemplate = errors.New("bad template")
	// ErrStatus: an HTTP step got a status it does not take for done.
	ErrStatus = errors.New("unexpected status")
	// ErrExit: a command step exited non-zero.
	ErrExit = errors.New("command failed")
	// ErrNoAction: a step writes no action (or more than one).
	ErrNoAction = errors.New("step has no single action")
)

// maxOutput bounds the output a step keeps (the record is for people).
const maxOutput = 2 << 10

// Env is what actions use.
type Env struct {
	HTTP  *http.Client
	Clock clockwork.Clock
}

// Action runs one step for an incident's data, within ctx (which carries the
// step's timeout), and returns what it printed, truncated, and an error
// when it failed.
type Action func(ctx context.Context, env Env, st *config.RunbookStep, d Data) (string, error)

// Actions returns the actions by the step field that selects them; a fresh
// map on each call.
func Actions() map[string]Action {
	return map[string]Action{
		"http":        runHTTP,
		"command":     runCommand,
		"wait_probes": runWait,
	}
}

// KindOf names a step's action, or "" when it writes none or several.
func KindOf(st *config.RunbookStep) string {
	var kinds []string
	if st.HTTP != nil {
		kinds = append(kinds, "http")
	}
	if st.Command != nil {
		kinds = append(kinds, "command")
	}
	if st.WaitProbes > 0 {
		kinds = append(kinds, "wait_probes")
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// RunStep runs one step with its timeout.
func RunStep(ctx context.Context, env Env, st *config.RunbookStep, d Data) (string, error) {
	act, ok := Actions()[KindOf(st)]
	if !ok {
		return "", fmt.Errorf("step %q: %w", st.Name, ErrNoAction)
	}
	timeout := stepTimeout(st)
	if st.WaitProbes > 0 && timeout < st.WaitProbes {
		timeout = st.WaitProbes + stepTimeout(&config.RunbookStep{})
	}
	ctx, cancel := clockwork.WithTimeout(ctx, env.Clock, timeout)
	defer cancel()
	out, err := act(ctx, env, st, d)
	if err != nil {
		return out, fmt.Errorf("step %q: %w", st.Name, err)
	}
	return out, nil
}

// Describe says what a step would do, its templates expanded (a dry run's
// plan); secrets never show.
func Describe(st *config.RunbookStep, d Data) string {
	switch KindOf(st) {
	case "http":
		u, err := render("url", st.HTTP.URL, d)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%s %s", method(st.HTTP), u)
	case "command":
		argv, err := renderArgs(st.Command, d)
		if err != nil {
			return err.Error()
		}
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		return "run " + strings.Join(quoted, " ")
	case "wait_probes":
		return fmt.Sprintf("wait %s for the probes", st.WaitProbes)
	}
	return "no action"
}

// render expands one template value over the data; an unknown field is an
// error, never "<no value>".
func render(name, text string, d Data) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w: %v", name, text, ErrTemplate, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("%s %q: %w: %v", name, text, ErrTemplate, err)
	}
	return b.String(), nil
}

// truncate keeps the first maxOutput bytes, cut on a rune boundary.
func truncate(s string) string { return truncateTo(s, maxOutput) }

// truncateTo keeps the first n bytes, cut on a rune boundary.
func truncateTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}
