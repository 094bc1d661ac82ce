package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRemedyDefaults(t *testing.T) {
	c, err := Parse(withSections(`
remedy:
  freeze:
    - {name: 解密期间, from: "09:00", to: "09:30"}
  runbooks:
    - name: restart-gateway
      match: {causes: [server], roles: [ws-gateway]}
      steps:
        - http: {url: "http://127.0.0.1:7400/admin/servers/{{.Server}}/restart"}
        - wait_probes: 45s
        - {name: settle, wait_probes: 5s}
        - command: {path: /usr/local/bin/gwctl, args: [restart, "{{.Server}}"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Remedy
	if r.DryRun || len(r.Runbooks) != 1 || len(r.Freeze) != 1 {
		t.Fatalf("remedy = %+v", r)
	}
	if got := r.Freeze[0].Days; got != "all" {
		t.Errorf("freeze days = %q, want all", got)
	}
	rb := r.Runbooks[0]
	if !rb.On() || rb.VerifyWithin != 2*time.Minute || rb.Cooldown != 10*time.Minute || rb.MaxPerHour != 3 || rb.AllowInFreeze {
		t.Errorf("runbook defaults: %+v", rb)
	}
	want := []struct {
		name    string
		timeout time.Duration
	}{
		{"step 1", 30 * time.Second},
		{"step 2", 45 * time.Second}, // a wait longer than the default timeout
		{"settle", 30 * time.Second},
		{"step 4", 30 * time.Second},
	}
	for i, w := range want {
		if s := rb.Steps[i]; s.Name != w.name || s.Timeout != w.timeout {
			t.Errorf("steps[%d]: name %q timeout %s, want %q %s", i, s.Name, s.Timeout, w.name, w.timeout)
		}
	}
	if m := rb.Steps[0].HTTP.Method; m != "POST" {
		t.Errorf("http method = %q, want POST", m)
	}
	if d := DefaultRunbook(); d.VerifyWithin != DefaultRunbookVerifyWithin || d.Cooldown != DefaultRunbookCooldown || d.MaxPerHour != DefaultRunbookMaxPerHour || !d.On() {
		t.Errorf("DefaultRunbook() = %+v", d)
	}
	if got, ok := c.Remedy.Runbook("restart-gateway"); !ok || got != &c.Remedy.Runbooks[0] {
		t.Errorf("Runbook(restart-gateway) = %v, %v", got, ok)
	}
	if _, ok := c.Remedy.Runbook("nope"); ok {
		t.Error("Runbook(nope) found")
	}
	// No remedy section: nothing to do, and valid.
	d, err := Parse(DemoYAML())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Remedy, Remedy{}) {
		t.Errorf("remedy without a section = %+v", d.Remedy)
	}
}

func TestRemedySection(t *testing.T) {
	c, err := Parse(withSections(`
remedy:
  dry_run: true
  freeze:
    - {name: 解密期间, days: weekdays, from: "09:00", to: "09:30", rooms: [yz-hall-1], sub_centers: [jd]}
    - {name: 夜间, days: "fri,sat", from: "22:00", to: "24:00"}
  runbooks:
    - name: restart-gateway
      enabled: false
      match: {causes: [server, room], roles: [ws-gateway], rooms: [yz-hall-1, jd-hall-1], sub_centers: [yz], classes: [partial, outage]}
      steps:
        - name: restart
          timeout: 10m
          http:
            method: PUT
            url: "https://{{.Server}}.admin.example:8443/restart?incident={{.ID | urlquery}}"
            headers: {X-Incident: "{{.ID}}", X-Rooms: "{{range .Rooms}}{{.}} {{end}}"}
            body: '{"cause":"{{.Cause}}","subject":"{{.Subject}}","class":"{{.Class}}","room":"{{.Room}}","sub_center":"{{.SubCenter}}"}'
            token: s3cr3t-token
            ok_status: [200, 202, 599, 100]
        - {name: settle, wait_probes: 10m}
        - command: {path: /opt/hall/bin/move-room, args: ["{{.Room}}", "--to", "{{printf \"%s-standby\" .Server}}"], dir: /opt/hall}
      verify_within: 1h
      cooldown: 0s
      max_per_hour: 60
      allow_in_freeze: true
    - name: clear-room-1
      match: {classes: [minor]}
      steps: [{wait_probes: 1ns}]
      verify_within: 1ns
      max_per_hour: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Remedy
	if !r.DryRun || len(r.Runbooks) != 2 {
		t.Fatalf("remedy = %+v", r)
	}
	rb := r.Runbooks[0]
	if rb.On() || !rb.AllowInFreeze || rb.Cooldown != 0 || rb.MaxPerHour != 60 || rb.VerifyWithin != time.Hour {
		t.Errorf("runbook = %+v", rb)
	}
	h := rb.Steps[0].HTTP
	if h.Method != "PUT" || h.Token.Reveal() != "s3cr3t-token" || len(h.OKStatus) != 4 || rb.Steps[0].Timeout != 10*time.Minute {
		t.Errorf("http step = %+v", rb.Steps[0])
	}
	if s := rb.Steps[1]; s.WaitProbes != 10*time.Minute || s.Timeout != 10*time.Minute {
		t.Errorf("wait step = %+v", s)
	}
	if cmd := rb.Steps[2].Command; cmd.Path != "/opt/hall/bin/move-room" || len(cmd.Args) != 3 || cmd.Dir != "/opt/hall" {
		t.Errorf("command step = %+v", cmd)
	}
}

// The other side of each bound, and each rule; testdata/invalid-remedy.yaml
// has them together.
func TestRemedyInvalid(t *testing.T) {
	const step = `steps: [{wait_probes: 1s}]`
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bounds", `remedy: {runbooks: [{name: a, match: {causes: [server]}, ` + step + `, verify_within: 61m, cooldown: -1s, max_per_hour: 61}]}`, []string{
			`remedy.runbooks[0].verify_within: must be at most 1h0m0s, got 1h1m0s`,
			`remedy.runbooks[0].cooldown: must not be negative, got -1s`,
			`remedy.runbooks[0].max_per_hour: must be between 1 and 60 runs an hour, got 61`,
		}},
		{"zeros", `remedy: {runbooks: [{name: a, match: {causes: [server]}, ` + step + `, verify_within: 0s, max_per_hour: 0}]}`, []string{
			`remedy.runbooks[0].verify_within: must be positive, got 0s`,
			`remedy.runbooks[0].max_per_hour: must be between 1 and 60 runs an hour, got 0`,
		}},
		{"name", `remedy: {runbooks: [{name: ` + strings.Repeat("a", 65) + `, match: {causes: [server]}, ` + step + `}, {match: {causes: [server]}, ` + step + `}]}`, []string{
			`remedy.runbooks[0].name: invalid name "` + strings.Repeat("a", 65) + `" (want at most 64 lowercase letters, digits or '-')`,
			`remedy.runbooks[1].name: required`,
		}},
		{"step timeouts", `remedy: {runbooks: [{name: a, match: {causes: [server]}, steps: [{wait_probes: 11m}, {wait_probes: 2m, timeout: 1m}, {wait_probes: -1s}, {wait_probes: 1s, timeout: 601s}, {wait_probes: 1s, timeout: -1s}]}]}`, []string{
			`remedy.runbooks[0].steps[0].wait_probes: must be at most 10m0s, got 11m0s`,
			`remedy.runbooks[0].steps[1].timeout: must be at least wait_probes (2m0s), got 1m0s`,
			`remedy.runbooks[0].steps[2].wait_probes: must be positive, got -1s`,
			`remedy.runbooks[0].steps[3].timeout: must be at most 10m0s, got 10m1s`,
			`remedy.runbooks[0].steps[4].timeout: must be positive, got -1s`,
		}},
		{"shells", `remedy: {runbooks: [{name: a, match: {causes: [server]}, steps: [{command: {path: /bin/sh, args: [-c, "x"]}}, {command: {path: /usr/bin/bash}}, {command: {path: dash}}, {command: {path: /bin/zsh}}, {command: {path: "/bin/systemctl restart gw"}}]}]}`, []string{
			`remedy.runbooks[0].steps[0].command.path: no shell: run the program itself, its arguments in args (got "/bin/sh")`,
			`remedy.runbooks[0].steps[1].command.path: no shell: run the program itself, its arguments in args (got "/usr/bin/bash")`,
			`remedy.runbooks[0].steps[2].command.path: no shell: run the program itself, its arguments in args (got "dash")`,
			`remedy.runbooks[0].steps[3].command.path: no shell: run the program itself, its arguments in args (got "/bin/zsh")`,
			`remedy.runbooks[0].steps[4].command.path: want the program's path alone, its arguments in args (got "/bin/systemctl restart gw")`,
		}},
		{"templates", `remedy: {runbooks: [{name: a, match: {causes: [server]}, steps: [{http: {url: "http://x/{{.Room.Name}}", body: "{{.ID", headers: {X-A: "{{nope .ID}}"}}}, {command: {path: /bin/true, args: ["{{index .Rooms 1}}", "{{.server}}", "{{template \"x\"}}"]}}]}]}`, []string{
			`remedy.runbooks[0].steps[0].http.url: invalid template "http://x/{{.Room.Name}}": <.Room.Name>: can't evaluate field Name in type string`,
			`remedy.runbooks[0].steps[0].http.headers.X-A: invalid template "{{nope .ID}}": function "nope" not defined`,
			`remedy.runbooks[0].steps[0].http.body: invalid template "{{.ID": unclosed action`,
			`remedy.runbooks[0].steps[1].command.args[1]: invalid template "{{.server}}": unknown field .server (want .ID, .Cause, .Subject, .Server, .Room, .Rooms, .SubCenter or .Class)`,
			`remedy.runbooks[0].steps[1].command.args[2]: invalid template "{{template \"x\"}}": <{{template "x"}}>: template "x" not defined`,
		}},
		{"http", `remedy: {runbooks: [{name: a, match: {causes: [server]}, steps: [{http: {method: GET, url: "https:///x", body: "{}", headers: {authorization: x, "X Y": "a\nb"}, token: t0ken, ok_status: [99, 600]}}, {http: {method: post, url: "{{.Server}}/restart"}}]}]}`, []string{
			`remedy.runbooks[0].steps[0].http.url: no host in URL "https:///x"`,
			`remedy.runbooks[0].steps[0].http.headers["X Y"]: invalid header name "X Y"`,
			`remedy.runbooks[0].steps[0].http.headers["X Y"]: value must not contain line breaks or NUL`,
			`remedy.runbooks[0].steps[0].http.headers.authorization: conflicts with remedy.runbooks[0].steps[0].http.token (sent as Authorization); set one of them`,
			`remedy.runbooks[0].steps[0].http.body: a GET request takes no body`,
			`remedy.runbooks[0].steps[0].http.ok_status[0]: want an HTTP status (100-599), got 99`,
			`remedy.runbooks[0].steps[0].http.ok_status[1]: want an HTTP status (100-599), got 600`,
			`remedy.runbooks[0].steps[1].http.method: unknown method "post" (want GET, POST, PUT, PATCH or DELETE)`,
			`remedy.runbooks[0].steps[1].http.url: want http:// or https://, got "yz-wsgw-1/restart"`,
		}},
		{"freeze", `remedy: {freeze: [{name: " ", days: "", from: "", to: ""}, {name: x, days: weekday, from: "9am", to: "24:01"}, {name: y, days: "mon-fri", from: "09:00", to: "09:00"}]}`, []string{
			`remedy.freeze[0].name: required`,
			`remedy.freeze[0].days: invalid days "" (want all, weekdays, weekends, or days like mon,wed or mon-fri)`,
			`remedy.freeze[0].from: required: a time of day (HH:MM)`,
			`remedy.freeze[0].to: required: a time of day (HH:MM, or 24:00)`,
			`remedy.freeze[1].days: invalid days "weekday" (want all, weekdays, weekends, or days like mon,wed or mon-fri)`,
			`remedy.freeze[1].from: invalid time of day "9am" (want HH:MM, like 08:30)`,
			`remedy.freeze[1].to: invalid time of day "24:01" (want HH:MM, like 08:30)`,
			`remedy.freeze[2].to: must differ from from (09:00): the window would be empty`,
		}},
		// A value that does not decode is not validated as well.
		{"types", `remedy: {runbooks: [{name: a, match: {causes: [server]}, steps: [{wait_probes: soon}], max_per_hour: many}]}`, []string{
			`remedy.runbooks[0].steps[0].wait_probes (line 2): cannot parse "soon" as a duration`,
			`remedy.runbooks[0].max_per_hour (line 2): cannot parse "many" as an integer`,
			`remedy.runbooks[0].steps[0]: nothing to do: set one of http, command or wait_probes`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("city: {id: x, name: X}\n" + tt.yaml + "\n"))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(err.Error(), "t0ken") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestRunbookTemplate(t *testing.T) {
	tmpl, err := RunbookTemplate(`{{.ID}} {{.Cause}} {{.Subject}} {{.Server}} {{.Room}} {{len .Rooms}} {{.SubCenter}} {{.Class}}`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	v := RunbookVars{ID: "INC-7", Cause: "room", Subject: "r", Server: "", Room: `a"; rm -rf /`, Rooms: []string{"a", "b", "c"}, SubCenter: "jd", Class: "major"}
	if err := tmpl.Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `INC-7 room r  a"; rm -rf / 3 jd major`; got != want {
		t.Errorf("expanded %q, want %q", got, want)
	}
	if _, err := RunbookTemplate("{{.Sever}}"); err == nil || err.Error() != "unknown field .Sever (want .ID, .Cause, .Subject, .Server, .Room, .Rooms, .SubCenter or .Class)" {
		t.Errorf("RunbookTemplate({{.Sever}}) error = %v", err)
	}
}

func TestParseFreezeDays(t *testing.T) {
	// Sunday first.
	tests := map[string][7]bool{
		"all":         {true, true, true, true, true, true, true},
		"weekdays":    {false, true, true, true, true, true, false},
		"Weekends":    {true, false, false, false, false, false, true},
		"mon,wed":     {false, true, false, true, false, false, false},
		"fri-mon":     {true, true, false, false, false, true, true},
		" sat , sun ": {true, false, false, false, false, false, true},
	}
	for s, want := range tests {
		if got, err := ParseFreezeDays(s); err != nil || got != want {
			t.Errorf("ParseFreezeDays(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "weekday", "mon;tue", "mon,"} {
		if _, err := ParseFreezeDays(s); err == nil {
			t.Errorf("ParseFreezeDays(%q) succeeded", s)
		}
	}
}

func TestFreezeWindowActive(t *testing.T) {
	at := func(day, clock string) time.Time { // day: 2026-03-02 is a Monday
		ts, err := time.Parse("2006-01-02 15:04", day+" "+clock)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		w    FreezeWindow
		at   time.Time
		want bool
	}{
		{FreezeWindow{Days: "all", From: "09:00", To: "09:30"}, at("2026-03-02", "09:00"), true},
		{FreezeWindow{Days: "all", From: "09:00", To: "09:30"}, at("2026-03-02", "09:29"), true},
		{FreezeWindow{Days: "all", From: "09:00", To: "09:30"}, at("2026-03-02", "09:30"), false},
		{FreezeWindow{Days: "all", From: "09:00", To: "09:30"}, at("2026-03-02", "08:59"), false},
		{FreezeWindow{Days: "weekends", From: "09:00", To: "09:30"}, at("2026-03-02", "09:10"), false},
		{FreezeWindow{Days: "weekends", From: "09:00", To: "09:30"}, at("2026-03-07", "09:10"), true},
		{FreezeWindow{Days: "mon", From: "20:00", To: "24:00"}, at("2026-03-02", "23:59"), true},
		// Across midnight: Friday night into Saturday morning, not Saturday night.
		{FreezeWindow{Days: "fri", From: "22:00", To: "06:00"}, at("2026-03-06", "23:00"), true},
		{FreezeWindow{Days: "fri", From: "22:00", To: "06:00"}, at("2026-03-07", "05:59"), true},
		{FreezeWindow{Days: "fri", From: "22:00", To: "06:00"}, at("2026-03-07", "23:00"), false},
		{FreezeWindow{Days: "fri", From: "22:00", To: "06:00"}, at("2026-03-06", "05:00"), false},
		// A window that does not validate is never active.
		{FreezeWindow{Days: "all", From: "09:00", To: "09:00"}, at("2026-03-02", "09:00"), false},
		{FreezeWindow{Days: "", From: "00:00", To: "24:00"}, at("2026-03-02", "09:00"), false},
	}
	for _, tt := range tests {
		if got := tt.w.Active(tt.at); got != tt.want {
			t.Errorf("%+v.Active(%s) = %v, want %v", tt.w, tt.at.Format("Mon 15:04"), got, tt.want)
		}
	}
}

// A step's token never shows in the problems of the configuration that has it.
func TestRemedyTokenNotShown(t *testing.T) {
	_, err := Load("testdata/invalid-remedy.yaml")
	if err == nil {
		t.Fatal("invalid-remedy.yaml is valid")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the token:\n%v", err)
	}
}
