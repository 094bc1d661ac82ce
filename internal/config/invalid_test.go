package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseInvalid loads each testdata/invalid-*.yaml and checks the exact
// problems it gives, in order.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"invalid-empty.yaml", []string{
			`no configuration (the document is empty)`,
		}},
		{"invalid-syntax.yaml", []string{
			`line 3: invalid YAML: did not find expected key`,
		}},
		{"invalid-root.yaml", []string{
			`line 1: want a mapping of city, sub_centers, servers, rooms and probe, got a list`,
		}},
		{"invalid-two-docs.yaml", []string{
			`line 3: a second YAML document; want one`,
		}},
		{"invalid-unknown-key.yaml", []string{
			`rooms[0].evnts_url (line 9): unknown key`,
			`probe.ws.tokn (line 12): unknown key`,
			`probe.treshold (line 13): unknown key`,
			`rooms[0].events_url: required for an opening-hall`,
		}},
		{"invalid-duration.yaml", []string{
			`probe.window (line 3): cannot parse "10" as a duration`,
			`probe.ping_interval (line 4): cannot parse "fast" as a duration`,
			`probe.ws.tick_period (line 6): cannot parse "1 second" as a duration`,
		}},
		{"invalid-type.yaml", []string{
			`city (line 1): want a mapping, got a list`,
			`sub_centers (line 2): want a list, got a mapping`,
			`rooms (line 3): want a list, got "3"`,
			`servers[0].health (line 6): want a list, got a mapping`,
			`probe.missed_pongs (line 8): cannot parse "many" as an integer`,
			`probe.read_limit (line 9): cannot parse "1.5" as an integer`,
			`probe.ws.headers (line 11): want a mapping, got a list`,
			`probe.ws.stutter_factor (line 12): cannot parse "twice" as a number`,
			`probe.thresholds.stutter_pct (line 14): want a finite number, got ".nan"`,
			`servers[0].name: required`,
			`servers[0].role: required (want web, ws-gateway, media or db)`,
			`servers[0].sub_center: required: a sub-center id`,
		}},
		{"invalid-duplicate-key.yaml", []string{
			`city (line 8): duplicate key (first at line 1)`,
			`city.id (line 4): duplicate key (first at line 2)`,
			`probe.window (line 7): duplicate key (first at line 6)`,
		}},
		{"invalid-duplicate-id.yaml", []string{
			`sub_centers[1].id: duplicate id "yz" (first at sub_centers[0])`,
			`servers[1].id: duplicate id "web-1" (first at servers[0])`,
			`rooms[0].servers[1]: duplicate server "web-1" (also rooms[0].servers[0])`,
			`rooms[1].id: duplicate id "yz-hall-1" (first at rooms[0])`,
		}},
		{"invalid-unknown-ref.yaml", []string{
			`servers[0].sub_center: unknown sub-center "hanjiang"`,
			`servers[1].sub_center: required: a sub-center id`,
			`rooms[1].sub_center: unknown sub-center "guangling"`,
			`rooms[2].servers[0]: unknown server "ws-gw-3"`,
			`rooms[2].servers[1]: required: a server id`,
		}},
		{"invalid-kind.yaml", []string{
			`sub_centers[1].kind: unknown kind "district" (want center or sub-center)`,
			`sub_centers[2].kind: a city has one center, and sub_centers[0] ("yz") is it`,
			`servers[1].role: unknown role "cache" (want web, ws-gateway, media or db)`,
			`rooms[0].kind: unknown kind "hall" (want opening-hall or coordination-room)`,
		}},
		{"invalid-video-codec.yaml", []string{
			`rooms[2].video_codec: unknown codec "av2" (want vp8 or h264)`,
		}},
		{"invalid-ts-unit.yaml", []string{
			`probe.ws.ts_unit: unknown unit "minutes" (want auto, s, ms, us, ns or rfc3339)`,
		}},
		{"invalid-url.yaml", []string{
			`rooms[0].events_url: want ws:// or wss://, got "https://hall.example/rooms/yz-hall-1/events"`,
			`rooms[0].whep_url: want http:// or https://, got "wss://media.example/whep/yz-hall-1"`,
			`rooms[0].whip_url: not allowed for an opening-hall (only a coordination-room publishes)`,
			`rooms[1].events_url: required for an opening-hall`,
			`rooms[2].events_url: no host in URL "wss:///no-host"`,
			`rooms[2].whip_url: invalid URL "http://xxxxx@media.example/whip/%zz"`,
			`rooms[3]: nothing to probe: set events_url, whep_url or whip_url`,
			`rooms[4].whep_url: want http:// or https://, got "ftp://user:xxxxx@media.example/whep"`,
		}},
		{"invalid-dispatch.yaml", []string{
			`dispatch.time_zone: unknown time zone "Mars/Olympus" (want an IANA name such as Asia/Shanghai)`,
			`dispatch.console_url: want http:// or https://, got "ftp://console.example/INC-000001"`,
			`dispatch.center_class: unknown class "severe" (want minor, partial, outage or major)`,
			`dispatch.receiver_rate: invalid rate "20 per minute" (want a count per s, min or h, like 20/min)`,
			`dispatch.escalate.deadline_pcts[1]: want increasing percentages between 1 and 99, got 50`,
			`dispatch.escalate.deadline_pcts[2]: want increasing percentages between 1 and 99, got 100`,
			`dispatch.retry.max: must be at least initial (2s), got 1s`,
			`dispatch.ack.secret: required with base_url: at least 16 characters`,
			`dispatch.channels[1].name: duplicate channel "jd-ding" (first at dispatch.channels[0])`,
			`dispatch.channels[1].secret: a wecom channel takes no secret`,
			`dispatch.channels[1].rate: invalid rate "fast" (want a count per s, min or h, like 20/min)`,
			`dispatch.channels[2].smtp: invalid address "mail.example.gov.cn" (want host:port)`,
			`dispatch.channels[2].from: invalid address "not an address"`,
			`dispatch.channels[2].password: username and password go together`,
			`dispatch.channels[3].type: unknown type "sms" (want dingtalk, email, feishu, webhook or wecom)`,
			`dispatch.channels[4].url: required: the URL to post to`,
			`dispatch.channels[4].smtp: smtp, username, password, from and to are for email channels`,
			`dispatch.people[0].email: invalid address "zhang@"`,
			`dispatch.people[0].channels[0]: unknown channel "jd-sms"`,
			`dispatch.people[1].id: duplicate person "zhang" (first at dispatch.people[0])`,
			`dispatch.people[1].name: required`,
			`dispatch.roster[0].levels[0].channels[1]: unknown channel "nowhere"`,
			`dispatch.roster[0].levels[0].shifts[0].days: unknown day "fry" in "mon-fry" (want mon … sun, ranges like mon-fri, or all)`,
			`dispatch.roster[0].levels[0].shifts[0].from: invalid time of day "8:30am" (want HH:MM, like 08:30)`,
			`dispatch.roster[0].levels[0].shifts[0].to: invalid time of day "25:00" (want HH:MM, like 08:30)`,
			`dispatch.roster[0].levels[0].shifts[0].people[1]: unknown person "li"`,
			`dispatch.roster[0].levels[0].shifts[1].people: required: who is on duty`,
			`dispatch.roster[0].levels[1]: reaches nobody: set channels or shifts`,
			`dispatch.roster[1].sub_center: unknown sub-center "gy"`,
			`dispatch.roster[1].levels: required: at least one level`,
			`dispatch.roster[2].sub_center: a second roster for "jd" (first at dispatch.roster[0])`,
		}},
		{"invalid-reports.yaml", []string{
			`reports.drill.colour (line 21): unknown key`,
			`reports.timezone: "Asia/Yangzhou" is not a time zone: an IANA name like Asia/Shanghai`,
			`reports.raw_retention: 10m0s is too short: at least 1h0m0s (evidence of a disputed minute needs its raw Samples)`,
			`reports.rollup_retention: 1h0m0s is too short: at least 24h0m0s`,
			`reports.signing_key: open testdata/no-such-key: no such file or directory`,
			`reports.deliver[0].periods[1]: "fortnight" is not a period: one of day, week, month, quarter, half, year`,
			`reports.deliver[0].channels[1]: no dispatch channel is named "wecom-ops"`,
			`reports.deliver[0].scope: no room is named "room-9"`,
			`reports.deliver[1].periods: required: one or more of day, week, month, quarter, half, year`,
			`reports.deliver[1].channels: required: the dispatch channels the report goes to`,
			`reports.deliver[1].scope: "district:yz" is not a scope: city, sub-center:<id> or room:<id>`,
			`reports.deliver[1].after: must not be negative`,
			`reports.drill.detect: must be a positive duration, like 1m, got 0s`,
		}},
		{"invalid-console.yaml", []string{
			`console.trust_forwarded (line 9): cannot parse "yes" as true or false`,
			`console.theme (line 12): unknown key`,
			`console.listen: invalid address "8080" (want host:port)`,
			`console.public_url: want the console's address only (no user, query or fragment), got "https://ops:xxxxx@bidwatch.example/?x=1"`,
			`console.session_ttl: must be at most 7 days (168h0m0s), got 240h0m0s`,
			`console.login_rate: must be between 1 and 1000 attempts a minute, got 0`,
			`console.history: must be between 1m0s and 1h0m0s, got 30s`,
			`console.bcrypt_cost: must be between 4 and 14, got 31`,
		}},
		{"invalid-remedy.yaml", []string{
			`remedy.runbooks[2].when (line 32): unknown key`,
			`remedy.freeze[0].days: invalid days "mon-fry" (want all, weekdays, weekends, or days like mon,wed or mon-fri)`,
			`remedy.freeze[0].to: invalid time of day "25:00" (want HH:MM, like 08:30)`,
			`remedy.freeze[0].rooms[0]: unknown room "yz-hall-9"`,
			`remedy.freeze[0].sub_centers[0]: unknown sub-center "jd"`,
			`remedy.runbooks[0].name: invalid name "Restart_Gateway" (want at most 64 lowercase letters, digits or '-')`,
			`remedy.runbooks[0].match.causes[1]: unknown cause "probe" (want server, uplink, network or room)`,
			`remedy.runbooks[0].match.roles[0]: unknown role "gateway" (want web, ws-gateway, media or db)`,
			`remedy.runbooks[0].match.rooms[0]: unknown room "yz-hall-2"`,
			`remedy.runbooks[0].match.sub_centers[0]: unknown sub-center "gy"`,
			`remedy.runbooks[0].match.classes[0]: unknown class "severe" (want minor, partial, outage or major)`,
			`remedy.runbooks[0].steps[0].http.method: unknown method "FETCH" (want GET, POST, PUT, PATCH or DELETE)`,
			`remedy.runbooks[0].steps[0].http.url: invalid template "http://gw-admin/restart/{{.Sevrer}}": unknown field .Sevrer (want .ID, .Cause, .Subject, .Server, .Room, .Rooms, .SubCenter or .Class)`,
			`remedy.runbooks[0].steps[1]: set only one of http, command or wait_probes, not http and wait_probes`,
			`remedy.runbooks[0].steps[1].http.url: want http:// or https://, got "ftp://gw-admin/yz-wsgw-1"`,
			`remedy.runbooks[0].steps[2].command.path: no shell: run the program itself, its arguments in args (got "/bin/bash")`,
			`remedy.runbooks[0].steps[3].command.path: want an absolute path, got "bin/gwctl"`,
			`remedy.runbooks[0].steps[3].command.args[0]: invalid template "{{.Room": unclosed action`,
			`remedy.runbooks[0].steps[3].command.dir: want an absolute path, got "tmp"`,
			`remedy.runbooks[0].verify_within: must be at most 1h0m0s, got 2h0m0s`,
			`remedy.runbooks[0].max_per_hour: must be between 1 and 60 runs an hour, got 100`,
			`remedy.runbooks[1].match: required: at least one of causes, roles, rooms, sub_centers or classes (a runbook for every incident is too broad)`,
			`remedy.runbooks[1].steps: required: at least one step`,
			`remedy.runbooks[2].name: duplicate runbook "clear-room" (first at remedy.runbooks[1])`,
			`remedy.runbooks[2].steps[0].timeout: must be at most 10m0s, got 1h0m0s`,
		}},
		{"invalid-health.yaml", []string{
			`servers[0].health[0].type: unknown type "icmp" (want http, prometheus or tcp)`,
			`servers[0].health[1].type: required (want http, prometheus or tcp)`,
			`servers[0].health[2].url: want http:// or https://, got "ws://web.example/healthz"`,
			`servers[0].health[2].expect_status: want an HTTP status (100-599), got 700`,
			`servers[0].health[2].body_match: invalid regexp "(ok": missing closing )`,
			`servers[0].health[2].address: not used by http checks`,
			`servers[0].health[2].timeout: must be less than interval (10s), got 10s`,
			`servers[0].health[3].url: required`,
			`servers[0].health[3].interval: must be positive, got -1s`,
			`servers[0].health[3].timeout: must be positive, got 0s`,
			`servers[1].health[0].address: required (host:port)`,
			`servers[1].health[1].address: invalid address "db.example" (want host:port)`,
			`servers[1].health[2].address: invalid port in "db.example:99999" (want 1-65535)`,
			`servers[1].health[2].url: not used by tcp checks`,
			`servers[1].health[2].expect_status: not used by tcp checks`,
			`servers[1].health[3].address: invalid address ":5432" (want host:port)`,
			`servers[1].health[4].metrics["CPU %"]: invalid reading name "CPU %" (want lowercase letters, digits and _)`,
			`servers[1].health[4].metrics.db_conns_pct: invalid series name "hall db conns"`,
			`servers[1].health[4].metrics.disk_pct: required: the series to read`,
			`servers[1].health[4].body_match: not used by prometheus checks`,
		}},
		{"invalid-probe.yaml", []string{
			`probe.window: must be positive, got 0s`,
			`probe.ping_interval: must be positive, got -1s`,
			`probe.missed_pongs: must be at least 1, got 0`,
			`probe.connect_timeout: must be positive, got 0s`,
			`probe.reconnect_max: must be at least reconnect_min (5s), got 1s`,
			`probe.read_limit: must be at least 1 byte, got 0`,
			`probe.ws.headers.Authorization: conflicts with probe.ws.token (sent as Authorization); set one of them`,
			`probe.ws.headers["Bad Header"]: invalid header name "Bad Header"`,
			`probe.ws.headers.Sec-WebSocket-Key: set by the WebSocket handshake; cannot be configured`,
			`probe.ws.headers.X-Multi: value must not contain line breaks or NUL`,
			`probe.ws.token: must not contain control characters`,
			`probe.ws.join: unknown placeholder "{session}" (want {room} or {participant})`,
			`probe.ws.heartbeat_interval: required when heartbeat is set`,
			`probe.ws.seq_pointer: invalid JSON pointer "seq": must be empty or start with "/"`,
			`probe.ws.ts_pointer: invalid JSON pointer "/a~2b": "~" must be followed by 0 or 1`,
			`probe.ws.tick_period: must not be negative, got -1s`,
			`probe.ws.stutter_factor: must be greater than 1, got 1`,
			`probe.thresholds.rtt_critical: must be greater than rtt_degraded (2s), got 1s`,
			`probe.thresholds.stutter_pct: must be between 0 and 100, got 150`,
			`probe.thresholds.lag_degraded: must be positive, got 0s`,
			`probe.thresholds.down_connected_pct: must be between 0 and 100, got -1`,
			`probe.thresholds.first_frame_late: must be positive, got 0s`,
		}},
		{"invalid-heartbeat.yaml", []string{
			`probe.ws.heartbeat: required when heartbeat_interval is set`,
		}},
		{"invalid-missing.yaml", []string{
			`city.id: required`,
			`city.name: required`,
			`sub_centers[0].id: required`,
			`sub_centers[0].name: required`,
			`sub_centers[0].kind: required (want center or sub-center)`,
			`servers[0].id: required`,
			`servers[0].name: required`,
			`servers[0].role: required (want web, ws-gateway, media or db)`,
			`servers[0].sub_center: required: a sub-center id`,
			`rooms[0].id: required`,
			`rooms[0].name: required`,
			`rooms[0].kind: required (want opening-hall or coordination-room)`,
			`rooms[0].sub_center: required: a sub-center id`,
			`rooms[0]: nothing to probe: set events_url, whep_url or whip_url`,
			`rooms[1].id: required`,
			`rooms[1].name: required`,
			`rooms[1].kind: required (want opening-hall or coordination-room)`,
			`rooms[1].sub_center: required: a sub-center id`,
			`rooms[1]: nothing to probe: set events_url, whep_url or whip_url`,
		}},
		{"invalid-id.yaml", []string{
			`city.id: invalid id "Yangzhou" (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`,
			`sub_centers[0].id: invalid id "江都" (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`,
			`sub_centers[1].id: invalid id "-yz" (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`,
			`servers[0].id: invalid id "web 1" (want at most 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit)`,
		}},
		{"invalid-docs-example.yaml", []string{
			`rooms[0].evnts_url (line 24): unknown key`,
			`probe.ping_interval (line 34): cannot parse "fast" as a duration`,
			`probe.missed_pongs (line 35): cannot parse "many" as an integer`,
			`city.name: required`,
			`servers[1].id: duplicate id "jd-web-1" (first at servers[0])`,
			`servers[1].role: unknown role "cache" (want web, ws-gateway, media or db)`,
			`servers[2].sub_center: unknown sub-center "hanjiang"`,
			`servers[2].health[0].type: unknown type "icmp" (want http, prometheus or tcp)`,
			`servers[2].health[1].timeout: must be less than interval (15s), got 1m0s`,
			`servers[2].health[2].address: invalid address "db.example" (want host:port)`,
			`rooms[0].events_url: required for an opening-hall`,
			`rooms[1].whep_url: want http:// or https://, got "wss://media.example/whep/jd-hall-2"`,
			`rooms[1].whip_url: not allowed for an opening-hall (only a coordination-room publishes)`,
			`rooms[1].servers[0]: unknown server "ws-gw-3"`,
			`probe.ws.join: unknown placeholder "{session}" (want {room} or {participant})`,
			`probe.ws.ts_unit: unknown unit "minutes" (want auto, s, ms, us, ns or rfc3339)`,
			`probe.thresholds.rtt_critical: must be greater than rtt_degraded (2s), got 1s`,
		}},
		// Many problems of every sort: all of them come back together,
		// decoding problems (with lines) first.
		{"invalid-many.yaml", []string{
			`rooms[0].evnts_url (line 12): unknown key`,
			`probe.ping_interval (line 15): cannot parse "fast" as a duration`,
			`city.name: required`,
			`servers[0].role: unknown role "cache" (want web, ws-gateway, media or db)`,
			`servers[0].health[0].timeout: must be less than interval (15s), got 1m0s`,
			`rooms[0].events_url: required for an opening-hall`,
			`rooms[0].servers[0]: unknown server "ws-gw-3"`,
			`probe.ws.ts_unit: unknown unit "minutes" (want auto, s, ms, us, ns or rfc3339)`,
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatalf("Load succeeded, want %d problems", len(tt.want))
			}
			if c != nil {
				t.Errorf("Load returned a config with its error")
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			if n := len(fieldErrors(t, err)); n != len(tt.want) {
				t.Errorf("%d FieldErrors joined, want %d", n, len(tt.want))
			}
		})
	}
	// Every invalid-*.yaml in testdata is a case above.
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no test case", f)
		}
	}
}

// fieldErrors returns the FieldErrors an error from Parse joins.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T does not join errors", err)
	}
	var out []*FieldError
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("joined error %T (%v) is not a *FieldError", e, e)
		}
		out = append(out, fe)
	}
	return out
}

// TestDocsExample keeps the error example in docs/configuration.md true.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load("testdata/invalid-docs-example.yaml")
	if err == nil {
		t.Fatal("invalid-docs-example.yaml is valid")
	}
	var want strings.Builder
	want.WriteString("$ bidwatch config validate city.yaml\n")
	for _, line := range strings.Split(err.Error(), "\n") {
		want.WriteString("city.yaml: " + line + "\n")
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Errorf("docs/configuration.md does not show what invalid-docs-example.yaml gives:\n%s", want.String())
	}
}
