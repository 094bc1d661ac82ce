package config

import (
	"errors"
	"fmt"
	"io"
	"net/http"
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
