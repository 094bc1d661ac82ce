package config

import "time"

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
// over the incident ({{.ID}}, {{.Cause}}, {{.Subject}}, {{.Server}},
// {{.Room}}, {{.Rooms}}, {{.SubCenter}}); each expands to one value, never
// to shell syntax.
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
)
