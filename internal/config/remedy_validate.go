package config

import (
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Validation of the remedy section: every problem with its YAML path.

// runbookName is what a runbook's name looks like: it is in Redis keys,
// metric labels and `bidwatch runbooks run NAME`.
var runbookName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// shells are the programs a command step may not run: a command step runs
// one program with its arguments, never a shell line.
var shells = []string{"sh", "bash", "dash", "zsh", "ash", "ksh"}

func (r *Remedy) validate(errs *problems, c *Config) {
	const p = "remedy"
	for i := range r.Freeze {
		r.Freeze[i].validate(errs, indexPath(p+".freeze", i), c)
	}
	names := map[string]int{}
	for i := range r.Runbooks {
		rb := &r.Runbooks[i]
		path := indexPath(p+".runbooks", i)
		switch {
		case rb.Name == "":
			errs.add(path+".name", "required")
		case !runbookName.MatchString(rb.Name):
			errs.add(path+".name", "invalid name %s (want at most %d lowercase letters, digits or '-')", quote(rb.Name), maxRunbookName)
		default:
			if j, dup := names[rb.Name]; dup {
				errs.add(path+".name", "duplicate runbook %s (first at %s)", quote(rb.Name), indexPath(p+".runbooks", j))
			} else {
				names[rb.Name] = i
			}
		}
		rb.validate(errs, path, c)
	}
}

func (rb *Runbook) validate(errs *problems, path string, c *Config) {
	rb.Match.validate(errs, path+".match", c)
	if len(rb.Steps) == 0 {
		errs.add(path+".steps", "required: at least one step")
	}
	for j := range rb.Steps {
		rb.Steps[j].validate(errs, indexPath(path+".steps", j))
	}
	switch {
	case rb.VerifyWithin <= 0:
		errs.add(path+".verify_within", "must be positive, got %s", rb.VerifyWithin)
	case rb.VerifyWithin > maxRunbookVerifyWithin:
		errs.add(path+".verify_within", "must be at most %s, got %s", maxRunbookVerifyWithin, rb.VerifyWithin)
	}
	nonNegative(errs, path+".cooldown", rb.Cooldown)
	if rb.MaxPerHour < 1 || rb.MaxPerHour > maxRunbookPerHour {
		errs.add(path+".max_per_hour", "must be between 1 and %d runs an hour, got %d", maxRunbookPerHour, rb.MaxPerHour)
	}
}

func (m *RunbookMatch) validate(errs *problems, path string, c *Config) {
	if len(m.Causes)+len(m.Roles)+len(m.Rooms)+len(m.SubCenters)+len(m.Classes) == 0 {
		errs.add(path, "required: at least one of causes, roles, rooms, sub_centers or classes (a runbook for every incident is too broad)")
	}
	for i, v := range m.Causes {
		checkEnum(errs, indexPath(path+".causes", i), "cause", v, vocab.Strings(vocab.IncidentCauses))
	}
	for i, v := range m.Roles {
		checkEnum(errs, indexPath(path+".roles", i), "role", v, serverRoles)
	}
	for i, id := range m.Rooms {
		if _, ok := c.Room(id); !ok {
			errs.add(indexPath(path+".rooms", i), "unknown room %s", quote(id))
		}
	}
	for i, id := range m.SubCenters {
		if _, ok := c.SubCenter(id); !ok {
			errs.add(indexPath(path+".sub_centers", i), "unknown sub-center %s", quote(id))
		}
	}
	for i, v := range m.Classes {
		checkEnum(errs, indexPath(path+".classes", i), "class", v, vocab.Strings(vocab.Classes))
	}
}

func (s *RunbookStep) validate(errs *problems, path string) {
	var kinds []string
	if s.HTTP != nil {
		kinds = append(kinds, "http")
	}
	if s.Command != nil {
		kinds = append(kinds, "command")
	}
	if s.WaitProbes != 0 {
		kinds = append(kinds, "wait_probes")
	}
	switch len(kinds) {
	case 0:
		errs.add(path, "nothing to do: set one of http, command or wait_probes")
	case 1:
	default:
		errs.add(path, "set only one of http, command or wait_probes, not %s and %s", strings.Join(kinds[:len(kinds)-1], ", "), kinds[len(kinds)-1])
	}
	switch {
	case s.WaitProbes > maxRunbookStepTimeout && s.Timeout == s.WaitProbes:
		// The default timeout, the wait: wait_probes is reported below.
	case s.Timeout <= 0:
		errs.add(path+".timeout", "must be positive, got %s", s.Timeout)
	case s.Timeout > maxRunbookStepTimeout:
		errs.add(path+".timeout", "must be at most %s, got %s", maxRunbookStepTimeout, s.Timeout)
	case s.WaitProbes > 0 && s.Timeout < s.WaitProbes:
		errs.add(path+".timeout", "must be at least wait_probes (%s), got %s", s.WaitProbes, s.Timeout)
	}
	switch {
	case s.WaitProbes < 0:
		errs.add(path+".wait_probes", "must be positive, got %s", s.WaitProbes)
	case s.WaitProbes > maxRunbookStepTimeout:
		errs.add(path+".wait_probes", "must be at most %s, got %s", maxRunbookStepTimeout, s.WaitProbes)
	}
	if s.HTTP != nil {
		s.HTTP.validate(errs, path+".http")
	}
	if s.Command != nil {
		s.Command.validate(errs, path+".command")
	}
}

// checkTemplate reports a step's string that is not a valid template over
// RunbookVars, and returns what it gives for the sample incident.
func checkTemplate(errs *problems, path, text string) (string, bool) {
	t, err := RunbookTemplate(text)
	if err != nil {
		errs.add(path, "invalid template %s: %v", quote(text), err)
		return "", false
	}
	var b strings.Builder
	if err := t.Execute(&b, sampleRunbookVars()); err != nil {
		return "", false
	}
	return b.String(), true
}

func (h *HTTPAction) validate(errs *problems, path string) {
	checkEnum(errs, path+".method", "method", h.Method, httpActionMethods)
	if h.URL == "" {
		errs.add(path+".url", "required: the URL to send the request to")
	} else if u, ok := checkTemplate(errs, path+".url", h.URL); ok {
		// The URL as a sample incident makes it: {{.Server}} may be its host.
		checkURL(errs, path+".url", u, "http", "https")
	}
	for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
		hp := joinPath(path+".headers", k)
		switch {
		case !headerName.MatchString(k):
			errs.add(hp, "invalid header name %s", quote(k))
		case http.CanonicalHeaderKey(k) == "Authorization" && h.Token != "":
			errs.add(hp, "conflicts with %s.token (sent as Authorization); set one of them", path)
		}
		if strings.ContainsAny(h.Headers[k], "\r\n\x00") {
			errs.add(hp, "value must not contain line breaks or NUL")
		} else {
			checkTemplate(errs, hp, h.Headers[k])
		}
	}
	if h.Body != "" {
		if h.Method == http.MethodGet {
			errs.add(path+".body", "a GET request takes no body")
		} else {
			checkTemplate(errs, path+".body", h.Body)
		}
	}
	if strings.ContainsFunc(h.Token.Reveal(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs.add(path+".token", "must not contain control characters")
	}
	for i, st := range h.OKStatus {
		if st < 100 || st > 599 {
			errs.add(indexPath(path+".ok_status", i), "want an HTTP status (100-599), got %d", st)
		}
	}
}

func (cmd *CommandAction) validate(errs *problems, path string) {
	switch {
	case cmd.Path == "":
		errs.add(path+".path", "required: the program's absolute path")
	case slices.Contains(shells, filepath.Base(cmd.Path)):
		errs.add(path+".path", "no shell: run the program itself, its arguments in args (got %s)", quote(cmd.Path))
	case strings.ContainsAny(cmd.Path, " \t"):
		errs.add(path+".path", "want the program's path alone, its arguments in args (got %s)", quote(cmd.Path))
	case !filepath.IsAbs(cmd.Path):
		errs.add(path+".path", "want an absolute path, got %s", quote(cmd.Path))
	}
	for i, a := range cmd.Args {
		checkTemplate(errs, indexPath(path+".args", i), a)
	}
	if cmd.Dir != "" && !filepath.IsAbs(cmd.Dir) {
		errs.add(path+".dir", "want an absolute path, got %s", quote(cmd.Dir))
	}
}

func (w *FreezeWindow) validate(errs *problems, path string, c *Config) {
	checkName(errs, path+".name", w.Name)
	if _, err := ParseFreezeDays(w.Days); err != nil {
		errs.add(path+".days", "%v", err)
	}
	from, errFrom := ParseClock(w.From, false)
	to, errTo := ParseClock(w.To, true)
	switch {
	case w.From == "":
		errs.add(path+".from", "required: a time of day (HH:MM)")
	case errFrom != nil:
		errs.add(path+".from", "%v", errFrom)
	}
	switch {
	case w.To == "":
		errs.add(path+".to", "required: a time of day (HH:MM, or 24:00)")
	case errTo != nil:
		errs.add(path+".to", "%v", errTo)
	case errFrom == nil && from == to:
		errs.add(path+".to", "must differ from from (%s): the window would be empty", w.From)
	}
	for j, id := range w.Rooms {
		if _, ok := c.Room(id); !ok {
			errs.add(indexPath(path+".rooms", j), "unknown room %s", quote(id))
		}
	}
	for j, id := range w.SubCenters {
		if _, ok := c.SubCenter(id); !ok {
			errs.add(indexPath(path+".sub_centers", j), "unknown sub-center %s", quote(id))
		}
	}
}
