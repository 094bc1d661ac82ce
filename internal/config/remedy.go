package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Remedy configures automatic remediation (自动处置): runbooks (处置预案)
// the leading watchdog runs when an incident matches, the guardrails
// around them, and the freeze windows when none may act. docs/remedy.md
// describes it.
//
//	remedy:
//	  dry_run: false
//	  freeze:
//	    - {name: 解密期间, days: all, from: "09:00", to: "09:30", rooms: [yz-hall-1]}
//	  runbooks:
//	    - name: restart-gateway
//	      match: {causes: [server, room], roles: [ws-gateway]}
//	      steps:
//	        - {name: restart, http: {method: POST, url: "http://gw-admin/restart/{{.Server}}", token: secret}, timeout: 10s}
//	        - {name: settle, wait_probes: 5s}
//	      verify_within: 60s
//	      cooldown: 10m
//	      max_per_hour: 3
type Remedy struct {
	// DryRun records what each runbook would do, and does nothing.
	DryRun bool `yaml:"dry_run"`
	// Freeze are the windows when no runbook acts (unless it allows it).
	Freeze []FreezeWindow `yaml:"freeze"`
	// Runbooks are tried in order; the first that matches an incident
	// runs.
	Runbooks []Runbook `yaml:"runbooks"`
}

// FreezeWindow is a recurring time of day when restarting things would hurt
// more than the fault: an opening's decryption (解密), say. Empty Rooms and
// SubCenters mean everywhere.
type FreezeWindow struct {
	Name string `yaml:"name"`
	// Days are "all", "weekdays", "weekends" or a list such as "mon,wed".
	Days string `yaml:"days"`
	// From and To are clock times (HH:MM) in dispatch.time_zone; To may be
	// 24:00, and a window may cross midnight (22:00 to 06:00).
	From       string   `yaml:"from"`
	To         string   `yaml:"to"`
	Rooms      []string `yaml:"rooms"`
	SubCenters []string `yaml:"sub_centers"`
}

// Runbook is what staff would do for one kind of fault, as steps, and how
// to tell it worked.
type Runbook struct {
	Name string `yaml:"name"`
	// Enabled is true unless written false.
	Enabled *bool         `yaml:"enabled"`
	Match   RunbookMatch  `yaml:"match"`
	Steps   []RunbookStep `yaml:"steps"`
	// VerifyWithin: after the steps, the probes must see the symptom gone
	// within this long, or the runbook failed (escalate, and count the
	// failure; two in a row suspend the runbook).
	VerifyWithin time.Duration `yaml:"verify_within"`
	// Cooldown is the least time between two runs on the same target (the
	// incident's subject).
	Cooldown time.Duration `yaml:"cooldown"`
	// MaxPerHour bounds the runs of this runbook in any hour (redis_rate).
	MaxPerHour int `yaml:"max_per_hour"`
	// AllowInFreeze lets it act inside a freeze window.
	AllowInFreeze bool `yaml:"allow_in_freeze"`
}

// On reports whether the runbook is enabled in the config.
func (r *Runbook) On() bool { return r.Enabled == nil || *r.Enabled }

// RunbookMatch says which incidents a runbook is for. Every list written
// must match (an empty one matches anything); at least one must be written.
type RunbookMatch struct {
	// Causes: server, uplink, network, room.
	Causes []string `yaml:"causes"`
	// Roles of the incident's servers: web, ws-gateway, media, db.
	Roles      []string `yaml:"roles"`
	Rooms      []string `yaml:"rooms"`
	SubCenters []string `yaml:"sub_centers"`
	// Classes: minor, partial, outage, major.
	Classes []string `yaml:"classes"`
}

// RunbookStep is one action, with a timeout: exactly one of HTTP, Command
// or WaitProbes is written. Strings in HTTP and Command are Go templates
// over the incident, [RunbookVars] ({{.ID}}, {{.Cause}}, {{.Subject}},
// {{.Server}}, {{.Room}}, {{.Rooms}}, {{.SubCenter}}, {{.Class}}); each
// expands to one value, never to shell syntax. Name defaults to "step N" (N
// its position from 1), Timeout to DefaultRunbookStepTimeout or, for a
// WaitProbes step, the wait when that is longer.
type RunbookStep struct {
	Name    string         `yaml:"name"`
	Timeout time.Duration  `yaml:"timeout"`
	HTTP    *HTTPAction    `yaml:"http"`
	Command *CommandAction `yaml:"command"`
	// WaitProbes waits this long for the probes to see the effect before
	// the next step.
	WaitProbes time.Duration `yaml:"wait_probes"`
}

// HTTPAction is a request to an admin API.
type HTTPAction struct {
	// Method is GET, POST, PUT, PATCH or DELETE; POST unless written.
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token Secret `yaml:"token"`
	// OKStatus are the statuses that mean done (default: any 2xx).
	OKStatus []int `yaml:"ok_status"`
}

// CommandAction runs a program directly, never through a shell: Path and
// each of Args are one argument each, whatever their templates expand to.
type CommandAction struct {
	Path string   `yaml:"path"`
	Args []string `yaml:"args"`
	// Dir is the working directory ("" for the watchdog's).
	Dir string `yaml:"dir"`
}

// Remedy defaults.
const (
	DefaultRunbookVerifyWithin = 2 * time.Minute
	DefaultRunbookCooldown     = 10 * time.Minute
	DefaultRunbookMaxPerHour   = 3
	DefaultRunbookStepTimeout  = 30 * time.Second
	// DefaultHTTPActionMethod is an http step's method unless written.
	DefaultHTTPActionMethod = http.MethodPost
	// DefaultFreezeDays are a freeze window's days unless written.
	DefaultFreezeDays = "all"
)

// Remedy limits.
const (
	maxRunbookVerifyWithin = time.Hour
	maxRunbookPerHour      = 60
	maxRunbookStepTimeout  = 10 * time.Minute
	maxRunbookName         = 64
)

// httpActionMethods are the methods an http step may use.
var httpActionMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// RunbookVars are the values a runbook step's templates see, one incident's:
// {{.Server}} and so on. A field not here is an error in the configuration.
type RunbookVars struct {
	// ID is the incident's id (INC-000042).
	ID string
	// Cause is what the incident is blamed on (vocab.Cause).
	Cause string
	// Subject is what the cause is about: a server id for "server", a
	// sub-center for "uplink", a room for "room".
	Subject string
	// Server is the server the incident is about, "" when none.
	Server string
	// Room is the first room the incident touches; Rooms all of them.
	Room  string
	Rooms []string
	// SubCenter is the sub-center the incident belongs to.
	SubCenter string
	// Class is the incident's SLA class (vocab.Class).
	Class string
}

// runbookVarNames lists RunbookVars' fields, for messages.
var runbookVarNames = []string{".ID", ".Cause", ".Subject", ".Server", ".Room", ".Rooms", ".SubCenter", ".Class"}

// sampleRunbookVars is what templates are tried on when the configuration is
// validated.
func sampleRunbookVars() RunbookVars {
	return RunbookVars{
		ID: "INC-000001", Cause: string(vocab.CauseServer), Subject: "yz-wsgw-1", Server: "yz-wsgw-1",
		Room: "yz-hall-1", Rooms: []string{"yz-hall-1", "yz-hall-2"}, SubCenter: "yz", Class: string(vocab.ClassPartial),
	}
}

// RunbookTemplate parses one of a step's strings (a URL, a header value, a
// body, an argument) as the template it is, and tries it on a sample
// incident, so that a field that is not in [RunbookVars] is found when the
// configuration is read rather than when the runbook runs. The error says
// what is wrong without repeating the text.
func RunbookTemplate(text string) (*template.Template, error) {
	t, err := template.New("step").Option("missingkey=error").Parse(text)
	if err == nil {
		err = t.Execute(io.Discard, sampleRunbookVars())
	}
	if err != nil {
		return nil, errors.New(templateProblem(err))
	}
	return t, nil
}

var (
	templateErr  = regexp.MustCompile(`^template: [^:]*:\d+(?::\d+)?: (?:executing "[^"]*" at (<.*?>): )?(.*)$`)
	unknownField = regexp.MustCompile(`^can't evaluate field (\w+) in type \S*RunbookVars$`)
)

// templateProblem shortens a text/template error to what is wrong.
func templateProblem(err error) string {
	m := templateErr.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	if f := unknownField.FindStringSubmatch(m[2]); f != nil {
		return fmt.Sprintf("unknown field .%s (want %s)", f[1], oneOf(runbookVarNames...))
	}
	if m[1] != "" {
		return m[1] + ": " + m[2]
	}
	return m[2]
}

// Runbook returns the runbook with this name.
func (r *Remedy) Runbook(name string) (*Runbook, bool) {
	i := slices.IndexFunc(r.Runbooks, func(rb Runbook) bool { return rb.Name == name })
	if i < 0 {
		return nil, false
	}
	return &r.Runbooks[i], true
}

// DefaultRunbook returns a runbook with its defaults in place, for one
// built in code; the caller sets its name, match and steps, each step with
// its timeout.
func DefaultRunbook() Runbook {
	r := Runbook{}
	r.setDefaults()
	return r
}

// setDefaults fills a runbook written in the configuration.
func (r *Runbook) setDefaults() {
	r.VerifyWithin = DefaultRunbookVerifyWithin
	r.Cooldown = DefaultRunbookCooldown
	r.MaxPerHour = DefaultRunbookMaxPerHour
}

// setDefaults fills a freeze window written in the configuration.
func (w *FreezeWindow) setDefaults() { w.Days = DefaultFreezeDays }

// kindDefaults fills, once the steps are decoded, the defaults that depend on
// what a step is: its name ("step 1", "step 2"… by position), its timeout
// (DefaultRunbookStepTimeout, or a wait_probes step's wait when that is
// longer; 0 is never a timeout, so an explicit 0 means the default too), and
// an http step's method (POST).
func (r *Remedy) kindDefaults() {
	for i := range r.Runbooks {
		for j := range r.Runbooks[i].Steps {
			s := &r.Runbooks[i].Steps[j]
			if s.Name == "" {
				s.Name = fmt.Sprintf("step %d", j+1)
			}
			if s.Timeout == 0 {
				s.Timeout = max(DefaultRunbookStepTimeout, s.WaitProbes)
			}
			if s.HTTP != nil && s.HTTP.Method == "" {
				s.HTTP.Method = DefaultHTTPActionMethod
			}
		}
	}
}

// ParseFreezeDays reads a freeze window's days — "all", "weekdays",
// "weekends", or days like "mon,wed" and ranges like "mon-fri" — as a set
// of weekdays, Sunday first.
func ParseFreezeDays(s string) ([7]bool, error) {
	switch t := strings.ToLower(strings.TrimSpace(s)); t {
	case "weekdays":
		return ParseDays("mon-fri")
	case "weekends":
		return ParseDays("sat,sun")
	case "":
	default:
		if days, err := ParseDays(t); err == nil {
			return days, nil
		}
	}
	return [7]bool{}, fmt.Errorf("invalid days %s (want all, weekdays, weekends, or days like mon,wed or mon-fri)", quote(s))
}

// Active reports whether t, in dispatch.time_zone, falls inside the window.
// A window that crosses midnight (22:00 to 06:00) belongs to the day it
// starts on. It is false for a window that does not validate.
func (w *FreezeWindow) Active(t time.Time) bool {
	days, err := ParseFreezeDays(w.Days)
	if err != nil {
		return false
	}
	from, err1 := ParseClock(w.From, false)
	to, err2 := ParseClock(w.To, true)
	if err1 != nil || err2 != nil || from == to {
		return false
	}
	y, mo, d := t.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, t.Location())
	now := t.Sub(midnight)
	day := int(t.Weekday())
	if from < to {
		return days[day] && now >= from && now < to
	}
	// Across midnight: the evening of a window day, or the morning after.
	return days[day] && now >= from || days[(day+6)%7] && now < to
}

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
