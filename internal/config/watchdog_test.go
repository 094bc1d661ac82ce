package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// watchdogCity is a minimal city for the watchdog section's tests; %s is
// replaced by the watchdog section.
const watchdogCity = `city: {id: t, name: T}
sub_centers:
  - {id: c, name: C, kind: center}
servers:
  - {id: media-1, name: M, role: media, sub_center: c}
rooms:
  - {id: hall-1, name: H, kind: opening-hall, sub_center: c, events_url: "ws://127.0.0.1:1/rooms/hall-1/events", servers: [media-1]}
`

func TestWatchdogDefaults(t *testing.T) {
	c, err := Parse([]byte(watchdogCity))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Watchdog
	if w.Detect.Latency.Degraded != 300*time.Millisecond || w.Detect.Latency.Critical != time.Second || w.Detect.Latency.Window != 10*time.Second {
		t.Errorf("latency defaults: %+v", w.Detect.Latency)
	}
	if w.Detect.Stutter.Pct != 5 || w.Detect.Stutter.Window != 30*time.Second {
		t.Errorf("stutter defaults: %+v", w.Detect.Stutter)
	}
	if w.Detect.ServerDown.Failures != 2 || w.Detect.Dropout.For != 0 {
		t.Errorf("server_down/dropout defaults: %+v %+v", w.Detect.ServerDown, w.Detect.Dropout)
	}
	if len(w.Detect.Saturation) != 4 || w.Detect.Saturation[0].Reading != "cpu_pct" || w.Detect.Saturation[0].Limit != 90 || w.Detect.Saturation[0].For != 30*time.Second {
		t.Errorf("saturation defaults: %+v", w.Detect.Saturation)
	}
	for class, want := range map[vocab.Class]time.Duration{vocab.ClassMinor: time.Hour, vocab.ClassPartial: 2 * time.Hour, vocab.ClassOutage: 4 * time.Hour, vocab.ClassMajor: 24 * time.Hour} {
		if got, ok := w.Incidents.Deadlines.Of(class); !ok || got != want {
			t.Errorf("deadline %s = %s, want %s", class, got, want)
		}
	}
	if err := Defaults().Validate(); err == nil {
		t.Log("Defaults() has no city: expected to be invalid, and it is not checked further")
	}
}

func TestWatchdogWritten(t *testing.T) {
	c, err := Parse([]byte(watchdogCity + `watchdog:
  listen: 127.0.0.1:9102
  detect:
    latency: {for: 2s, clear_after: 5s}
    saturation:
      - {reading: mem_pct, limit: 95}
      - {reading: tls_expiry_days, op: below, limit: 7, clear_after: 0s}
  incidents:
    reopen_within: 10m
    deadlines: {minor: 30m}
    rules:
      - {cause: server, role: media, class: major}
  maintenance:
    - name: 周日维护
      servers: [media-1]
      start: "2026-11-01T02:00:00+08:00"
      duration: 2h
      every: 168h
`))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Watchdog
	if w.Listen != "127.0.0.1:9102" || w.Detect.Latency.For != 2*time.Second || w.Detect.Latency.ClearAfter != 5*time.Second || w.Detect.Latency.Degraded != 300*time.Millisecond {
		t.Errorf("latency: %+v", w.Detect.Latency)
	}
	sat := w.Detect.Saturation
	if len(sat) != 2 || sat[0].Op != OpAbove || sat[0].ClearAfter != 30*time.Second || sat[1].Op != OpBelow || sat[1].ClearAfter != 0 {
		t.Errorf("saturation: %+v", sat)
	}
	if !sat[0].Breached(96) || sat[0].Breached(95) || !sat[1].Breached(6) || sat[1].Breached(7) {
		t.Error("Breached compares wrongly")
	}
	if w.Incidents.Deadlines.Minor != 30*time.Minute || w.Incidents.Deadlines.Major != 24*time.Hour {
		t.Errorf("deadlines: %+v", w.Incidents.Deadlines)
	}
	if len(w.Incidents.Rules) != 1 || w.Incidents.Rules[0].String() != "cause=server, role=media → major" {
		t.Errorf("rules: %+v", w.Incidents.Rules)
	}
	m := w.Maintain[0]
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for ts, want := range map[string]bool{
		"2026-11-01T01:59:59+08:00": false,
		"2026-11-01T02:00:00+08:00": true,
		"2026-11-01T03:59:59+08:00": true,
		"2026-11-01T04:00:00+08:00": false,
		"2026-11-08T02:30:00+08:00": true,
		"2026-11-09T02:30:00+08:00": false,
	} {
		if got := m.Active(at(ts)); got != want {
			t.Errorf("Active(%s) = %v, want %v", ts, got, want)
		}
	}
}

func TestWatchdogInvalid(t *testing.T) {
	_, err := Parse([]byte(watchdogCity + `watchdog:
  listen: "localhost"
  consumer: {batch: 0, block: 0s, claim_idle: -1s}
  leader: {lease_ttl: 0s, takeover_grace: -1s}
  detect:
    latency: {degraded: 2s, critical: 1s, for: -1s}
    stutter: {pct: 0}
    dropout: {down_connected_pct: 120}
    server_down: {failures: 0}
    saturation:
      - {reading: "CPU", limit: 1}
      - {reading: disk_pct, op: over, limit: 1}
      - {reading: disk_pct, limit: 2}
      - {limit: 3}
    stale: 0s
    bogus: 1
  correlate: {settle: -1s}
  incidents:
    reopen_within: -1m
    deadlines: {outage: 0s}
    rules:
      - {class: critical}
      - {class: minor, cause: probe, finding: lag, role: cache, severity: high, min_rooms: -1}
  maintenance:
    - name: ""
      start: "tomorrow"
      duration: 0s
    - name: x
      rooms: [hall-9]
      sub_centers: [zz]
      servers: [db-9]
      start: "2026-11-01T02:00:00Z"
      duration: 2h
      every: 1h
`))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	want := []string{
		`watchdog.detect.bogus (line 23): unknown key`,
		`watchdog.listen: invalid address "localhost" (want host:port)`,
		`watchdog.consumer.batch: must be at least 1, got 0`,
		`watchdog.consumer.block: must be positive, got 0s`,
		`watchdog.consumer.claim_idle: must be positive, got -1s`,
		`watchdog.leader.lease_ttl: must be positive, got 0s`,
		`watchdog.leader.takeover_grace: must not be negative, got -1s`,
		`watchdog.detect.latency.critical: must be greater than degraded (2s), got 1s`,
		`watchdog.detect.latency.for: must not be negative, got -1s`,
		`watchdog.detect.stutter.pct: must be above 0 and at most 100, got 0`,
		`watchdog.detect.dropout.down_connected_pct: must be between 0 and 100, got 120`,
		`watchdog.detect.server_down.failures: must be at least 1, got 0`,
		`watchdog.detect.saturation[0].reading: invalid reading name "CPU" (want lowercase letters, digits and _)`,
		`watchdog.detect.saturation[1].op: unknown op "over" (want above or below)`,
		`watchdog.detect.saturation[2].reading: duplicate reading "disk_pct" (first at watchdog.detect.saturation[1])`,
		`watchdog.detect.saturation[3].reading: required: a reading name such as cpu_pct`,
		`watchdog.detect.stale: must be positive, got 0s`,
		`watchdog.correlate.settle: must not be negative, got -1s`,
		`watchdog.incidents.reopen_within: must not be negative, got -1m0s`,
		`watchdog.incidents.deadlines.outage: must be positive, got 0s`,
		`watchdog.incidents.rules[0].class: unknown class "critical" (want minor, partial, outage or major)`,
		`watchdog.incidents.rules[1].cause: unknown cause "probe" (want server, uplink, network or room)`,
		`watchdog.incidents.rules[1].finding: unknown finding "lag" (want latency, stutter, dropout, server_down or saturation)`,
		`watchdog.incidents.rules[1].role: unknown role "cache" (want web, ws-gateway, media or db)`,
		`watchdog.incidents.rules[1].severity: unknown severity "high" (want degraded or critical)`,
		`watchdog.incidents.rules[1].min_rooms: must not be negative, got -1`,
		`watchdog.maintenance[0].name: required`,
		`watchdog.maintenance[0]: nothing to maintain: set servers, rooms or sub_centers`,
		`watchdog.maintenance[0].start: cannot parse "tomorrow" as an RFC 3339 time (like 2026-11-07T22:00:00+08:00)`,
		`watchdog.maintenance[0].duration: must be positive, got 0s`,
		`watchdog.maintenance[1].servers[0]: unknown server "db-9"`,
		`watchdog.maintenance[1].rooms[0]: unknown room "hall-9"`,
		`watchdog.maintenance[1].sub_centers[0]: unknown sub-center "zz"`,
		`watchdog.maintenance[1].every: must be at least duration (2h0m0s), got 1h0m0s`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
