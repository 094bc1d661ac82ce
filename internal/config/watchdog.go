package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Watchdog configures the watchdog: how it consumes the probes' Samples, the
// detectors' thresholds and hysteresis, correlation, incident classes and
// deadlines, and maintenance windows. docs/watchdog.md explains each key.
type Watchdog struct {
	// Listen is where the watchdog serves Prometheus /metrics; "" serves
	// none. `bidwatch watchdog --listen` overrides it.
	Listen    string            `yaml:"listen"`
	Consumer  WatchdogConsumer  `yaml:"consumer"`
	Leader    WatchdogLeader    `yaml:"leader"`
	Detect    Detect            `yaml:"detect"`
	Correlate Correlate         `yaml:"correlate"`
	Incidents IncidentPolicy    `yaml:"incidents"`
	Maintain  []MaintenanceSpec `yaml:"maintenance"`
}

// WatchdogConsumer says how a watchdog replica reads the samples stream with
// its consumer group.
type WatchdogConsumer struct {
	// Batch is how many entries one read asks for.
	Batch int `yaml:"batch"`
	// Block is how long a read waits for new entries.
	Block time.Duration `yaml:"block"`
	// ClaimIdle: an entry delivered to a replica and not acknowledged for
	// this long is claimed by another (the first replica is taken for dead).
	ClaimIdle time.Duration `yaml:"claim_idle"`
}

// WatchdogLeader says how the one leader replica, which runs detection,
// correlation, health collection and timers, is elected and how often it
// evaluates.
type WatchdogLeader struct {
	// LeaseTTL is how long the leader's lease lasts unless renewed; a dead
	// leader is replaced within it.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Tick is how often the leader evaluates even when no data arrives.
	Tick time.Duration `yaml:"tick"`
	// TakeoverGrace: a new leader resolves no incident in its first
	// TakeoverGrace, while its detectors rebuild their windows.
	TakeoverGrace time.Duration `yaml:"takeover_grace"`
}

// Hysteresis keeps a flapping condition from making many incidents: a
// condition must hold for For before it fires, and be clear for ClearAfter
// before it ends.
type Hysteresis struct {
	For        time.Duration `yaml:"for"`
	ClearAfter time.Duration `yaml:"clear_after"`
}

// Detect holds the detectors' thresholds.
type Detect struct {
	Latency    LatencyRule      `yaml:"latency"`
	Stutter    StutterRule      `yaml:"stutter"`
	Dropout    DropoutRule      `yaml:"dropout"`
	ServerDown ServerDownRule   `yaml:"server_down"`
	Saturation []SaturationRule `yaml:"saturation"`
	// Stale: a probe whose last Sample of a room is older than this no
	// longer counts as observing the room.
	Stale time.Duration `yaml:"stale"`
	// Recent: a sample finding fires on its rule's window, and keeps
	// holding while the last Recent of data still shows the symptom, so it
	// ends when the symptoms do rather than a whole window later.
	Recent time.Duration `yaml:"recent"`
	// ProbeSilentAfter: a running probe whose heartbeat is older than this
	// (or three of its own heartbeat intervals, if longer) is silent: a
	// probe problem, not a room problem.
	ProbeSilentAfter time.Duration `yaml:"probe_silent_after"`
}

// LatencyRule: the p95 of the round-trip times a probe measured in a room
// over Window is above Degraded (critical above Critical).
type LatencyRule struct {
	Window     time.Duration `yaml:"window"`
	Degraded   time.Duration `yaml:"degraded"`
	Critical   time.Duration `yaml:"critical"`
	For        time.Duration `yaml:"for"`
	ClearAfter time.Duration `yaml:"clear_after"`
}

// StutterRule: the share of time a probe's participants spent stuttering
// (frozen video, late events) over Window is above Pct percent.
type StutterRule struct {
	Window     time.Duration `yaml:"window"`
	Pct        float64       `yaml:"pct"`
	For        time.Duration `yaml:"for"`
	ClearAfter time.Duration `yaml:"clear_after"`
}

// DropoutRule: a participant lost its connection, or was connected less than
// DownConnectedPct percent of a window. It fires at once (For is 0 by
// default) and ends after ClearAfter without one.
type DropoutRule struct {
	DownConnectedPct float64       `yaml:"down_connected_pct"`
	For              time.Duration `yaml:"for"`
	ClearAfter       time.Duration `yaml:"clear_after"`
}

// ServerDownRule: a health check failed Failures times in a row.
type ServerDownRule struct {
	Failures   int           `yaml:"failures"`
	ClearAfter time.Duration `yaml:"clear_after"`
}

// SaturationRule: a health reading (cpu_pct, db_conns_pct, disk_pct,
// mem_pct, tls_expiry_days, …) is beyond Limit: above it, or below it when Op
// is "below".
type SaturationRule struct {
	Reading    string        `yaml:"reading"`
	Op         string        `yaml:"op"`
	Limit      float64       `yaml:"limit"`
	For        time.Duration `yaml:"for"`
	ClearAfter time.Duration `yaml:"clear_after"`
}

// The comparisons of a saturation rule.
const (
	OpAbove = "above"
	OpBelow = "below"
)

// Breached reports whether a reading's value is beyond the rule's limit.
func (s *SaturationRule) Breached(v float64) bool {
	if s.Op == OpBelow {
		return v < s.Limit
	}
	return v > s.Limit
}

// Hyst returns the rule's hysteresis.
func (s *SaturationRule) Hyst() Hysteresis { return Hysteresis{For: s.For, ClearAfter: s.ClearAfter} }

// Hyst returns the rule's hysteresis.
func (l *LatencyRule) Hyst() Hysteresis { return Hysteresis{For: l.For, ClearAfter: l.ClearAfter} }

// Hyst returns the rule's hysteresis.
func (s *StutterRule) Hyst() Hysteresis { return Hysteresis{For: s.For, ClearAfter: s.ClearAfter} }

// Hyst returns the rule's hysteresis.
func (d *DropoutRule) Hyst() Hysteresis { return Hysteresis{For: d.For, ClearAfter: d.ClearAfter} }

// Correlate configures correlation.
type Correlate struct {
	// Settle: a problem seen from only part of the locations (a network
	// path, a single probe) must hold this long before it is believed, so a
	// room that degrades everywhere is not first taken for a network fault
	// because one location's Samples arrived first.
	Settle time.Duration `yaml:"settle"`
	// HealthWait: when rooms degrade, their servers are checked at once;
	// a room problem waits up to HealthWait for those readings before it
	// is put on the room itself, so the first record already names a
	// server that is the cause.
	HealthWait time.Duration `yaml:"health_wait"`
}

// IncidentPolicy sets incident classes, deadlines and reopening.
type IncidentPolicy struct {
	// ReopenWithin: a problem that comes back within this long after its
	// incident was resolved reopens it instead of opening a new one.
	ReopenWithin time.Duration `yaml:"reopen_within"`
	// Deadlines are the resolution deadlines per class.
	Deadlines Deadlines `yaml:"deadlines"`
	// Rules classify an incident: the first rule that matches gives its
	// class; when none does, it is minor. Writing rules replaces the
	// defaults.
	Rules []ClassRule `yaml:"rules"`
}

// Deadlines are the resolution deadlines of the SLA classes.
type Deadlines struct {
	Minor   time.Duration `yaml:"minor"`
	Partial time.Duration `yaml:"partial"`
	Outage  time.Duration `yaml:"outage"`
	Major   time.Duration `yaml:"major"`
}

// Of returns the deadline of a class, and false for an unknown class.
func (d Deadlines) Of(class vocab.Class) (time.Duration, bool) {
	switch class {
	case vocab.ClassMinor:
		return d.Minor, true
	case vocab.ClassPartial:
		return d.Partial, true
	case vocab.ClassOutage:
		return d.Outage, true
	case vocab.ClassMajor:
		return d.Major, true
	}
	return 0, false
}

// ClassRule gives Class to an incident that matches every field set: its
// cause, one of its findings' kinds, the role of one of its servers, its
// severity (critical also matches degraded), and at least MinRooms rooms.
type ClassRule struct {
	Class    vocab.Class    `yaml:"class"`
	Cause    vocab.Cause    `yaml:"cause"`
	Finding  vocab.Kind     `yaml:"finding"`
	Role     string         `yaml:"role"`
	Severity vocab.Severity `yaml:"severity"`
	MinRooms int            `yaml:"min_rooms"`
}

// MaintenanceSpec is a maintenance window (维护窗口): while it is on, problems
// of its servers, rooms and sub-centers are recorded but do not page.
type MaintenanceSpec struct {
	Name       string   `yaml:"name"`
	Servers    []string `yaml:"servers"`
	Rooms      []string `yaml:"rooms"`
	SubCenters []string `yaml:"sub_centers"`
	// Start is when the (first) window opens, RFC 3339 with a zone:
	// "2026-11-07T22:00:00+08:00".
	Start string `yaml:"start"`
	// Duration is how long each window lasts.
	Duration time.Duration `yaml:"duration"`
	// Every repeats the window (24h daily, 168h weekly); 0 means once.
	Every time.Duration `yaml:"every"`
}

// StartTime parses Start; a configuration that validated always parses.
func (m *MaintenanceSpec) StartTime() (time.Time, error) {
	return time.Parse(time.RFC3339, m.Start)
}

// Active reports whether the window is on at t.
func (m *MaintenanceSpec) Active(t time.Time) bool {
	start, err := m.StartTime()
	if err != nil || t.Before(start) || m.Duration <= 0 {
		return false
	}
	since := t.Sub(start)
	if m.Every > 0 {
		since %= m.Every
	}
	return since < m.Duration
}

// saturation builds a default saturation rule.
func saturation(reading, op string, limit float64, h Hysteresis) SaturationRule {
	return SaturationRule{Reading: reading, Op: op, Limit: limit, For: h.For, ClearAfter: h.ClearAfter}
}

// DefaultWatchdog returns the watchdog settings used for every key not
// written: DESIGN.md's thresholds (RTT p95 over 10 s above 300 ms degraded,
// 1 s critical; stutter above 5 % of 30 s; a dropout at once; a health check
// failing twice in a row; CPU above 90 % for 30 s; DB connections or disk
// above 85 %) and the contract's deadlines (1 h, 2 h, 4 h, 24 h).
func DefaultWatchdog() Watchdog {
	clear30 := Hysteresis{ClearAfter: 30 * time.Second}
	return Watchdog{
		Consumer: WatchdogConsumer{
			Batch:     1000,
			Block:     time.Second,
			ClaimIdle: 10 * time.Second,
		},
		Leader: WatchdogLeader{
			LeaseTTL:      10 * time.Second,
			Tick:          250 * time.Millisecond,
			TakeoverGrace: 35 * time.Second,
		},
		Detect: Detect{
			Latency:    LatencyRule{Window: 10 * time.Second, Degraded: 300 * time.Millisecond, Critical: time.Second, ClearAfter: clear30.ClearAfter},
			Stutter:    StutterRule{Window: 30 * time.Second, Pct: 5, ClearAfter: clear30.ClearAfter},
			Dropout:    DropoutRule{DownConnectedPct: 50, ClearAfter: clear30.ClearAfter},
			ServerDown: ServerDownRule{Failures: 2, ClearAfter: 30 * time.Second},
			Saturation: []SaturationRule{
				saturation("cpu_pct", OpAbove, 90, Hysteresis{For: 30 * time.Second, ClearAfter: 30 * time.Second}),
				saturation("db_conns_pct", OpAbove, 85, clear30),
				saturation("disk_pct", OpAbove, 85, clear30),
				saturation("tls_expiry_days", OpBelow, 14, clear30),
			},
			Stale:            10 * time.Second,
			Recent:           2 * time.Second,
			ProbeSilentAfter: 30 * time.Second,
		},
		Correlate: Correlate{Settle: 3 * time.Second, HealthWait: 5 * time.Second},
		Incidents: IncidentPolicy{
			ReopenWithin: 30 * time.Minute,
			Deadlines:    Deadlines{Minor: time.Hour, Partial: 2 * time.Hour, Outage: 4 * time.Hour, Major: 24 * time.Hour},
			Rules: []ClassRule{
				{Finding: vocab.KindServerDown, Class: vocab.ClassOutage},
				{Severity: vocab.SeverityCritical, MinRooms: 3, Class: vocab.ClassOutage},
				{Cause: vocab.CauseServer, Class: vocab.ClassPartial},
				{Severity: vocab.SeverityCritical, Class: vocab.ClassPartial},
				{Cause: vocab.CauseNetwork, MinRooms: 2, Class: vocab.ClassPartial},
				{Cause: vocab.CauseUplink, MinRooms: 2, Class: vocab.ClassPartial},
			},
		},
	}
}

// setDefaults fills a saturation rule written in the configuration.
func (s *SaturationRule) setDefaults() {
	s.Op = OpAbove
	s.ClearAfter = 30 * time.Second
}

func (w *Watchdog) validate(errs *problems, c *Config) {
	const p = "watchdog"
	if w.Listen != "" {
		if msg := addressProblem(w.Listen); msg != "" {
			errs.add(p+".listen", "%s", msg)
		}
	}
	if w.Consumer.Batch < 1 {
		errs.add(p+".consumer.batch", "must be at least 1, got %d", w.Consumer.Batch)
	}
	positive(errs, p+".consumer.block", w.Consumer.Block)
	positive(errs, p+".consumer.claim_idle", w.Consumer.ClaimIdle)
	positive(errs, p+".leader.lease_ttl", w.Leader.LeaseTTL)
	positive(errs, p+".leader.tick", w.Leader.Tick)
	nonNegative(errs, p+".leader.takeover_grace", w.Leader.TakeoverGrace)
	w.Detect.validate(errs, p+".detect")
	nonNegative(errs, p+".correlate.settle", w.Correlate.Settle)
	nonNegative(errs, p+".correlate.health_wait", w.Correlate.HealthWait)
	w.Incidents.validate(errs, p+".incidents")
	for i := range w.Maintain {
		w.Maintain[i].validate(errs, indexPath(p+".maintenance", i), c)
	}
}

func (d *Detect) validate(errs *problems, path string) {
	l := &d.Latency
	positive(errs, path+".latency.window", l.Window)
	positive(errs, path+".latency.degraded", l.Degraded)
	if l.Critical <= l.Degraded {
		errs.add(path+".latency.critical", "must be greater than degraded (%s), got %s", l.Degraded, l.Critical)
	}
	l.Hyst().validate(errs, path+".latency")
	positive(errs, path+".stutter.window", d.Stutter.Window)
	if !(d.Stutter.Pct > 0 && d.Stutter.Pct <= 100) {
		errs.add(path+".stutter.pct", "must be above 0 and at most 100, got %g", d.Stutter.Pct)
	}
	d.Stutter.Hyst().validate(errs, path+".stutter")
	percent(errs, path+".dropout.down_connected_pct", d.Dropout.DownConnectedPct)
	d.Dropout.Hyst().validate(errs, path+".dropout")
	if d.ServerDown.Failures < 1 {
		errs.add(path+".server_down.failures", "must be at least 1, got %d", d.ServerDown.Failures)
	}
	nonNegative(errs, path+".server_down.clear_after", d.ServerDown.ClearAfter)
	seen := map[string]int{}
	for i := range d.Saturation {
		s := &d.Saturation[i]
		sp := indexPath(path+".saturation", i)
		switch j, dup := seen[s.Reading]; {
		case s.Reading == "":
			errs.add(sp+".reading", "required: a reading name such as cpu_pct")
		case !readingName.MatchString(s.Reading):
			errs.add(sp+".reading", "invalid reading name %s (want lowercase letters, digits and _)", quote(s.Reading))
		case dup:
			errs.add(sp+".reading", "duplicate reading %s (first at %s)", quote(s.Reading), indexPath(path+".saturation", j))
		default:
			seen[s.Reading] = i
		}
		checkEnum(errs, sp+".op", "op", s.Op, []string{OpAbove, OpBelow})
		s.Hyst().validate(errs, sp)
	}
	positive(errs, path+".stale", d.Stale)
	positive(errs, path+".recent", d.Recent)
	positive(errs, path+".probe_silent_after", d.ProbeSilentAfter)
}

func (h Hysteresis) validate(errs *problems, path string) {
	nonNegative(errs, path+".for", h.For)
	nonNegative(errs, path+".clear_after", h.ClearAfter)
}

func (ip *IncidentPolicy) validate(errs *problems, path string) {
	nonNegative(errs, path+".reopen_within", ip.ReopenWithin)
	positive(errs, path+".deadlines.minor", ip.Deadlines.Minor)
	positive(errs, path+".deadlines.partial", ip.Deadlines.Partial)
	positive(errs, path+".deadlines.outage", ip.Deadlines.Outage)
	positive(errs, path+".deadlines.major", ip.Deadlines.Major)
	roles := serverRoles
	for i, r := range ip.Rules {
		rp := indexPath(path+".rules", i)
		checkEnum(errs, rp+".class", "class", string(r.Class), vocab.Strings(vocab.Classes))
		optionalEnum(errs, rp+".cause", "cause", string(r.Cause), vocab.Strings(vocab.IncidentCauses))
		optionalEnum(errs, rp+".finding", "finding", string(r.Finding), vocab.Strings(vocab.IncidentKinds))
		optionalEnum(errs, rp+".role", "role", r.Role, roles)
		optionalEnum(errs, rp+".severity", "severity", string(r.Severity), vocab.Strings(vocab.Severities))
		if r.MinRooms < 0 {
			errs.add(rp+".min_rooms", "must not be negative, got %d", r.MinRooms)
		}
	}
}

func (m *MaintenanceSpec) validate(errs *problems, path string, c *Config) {
	checkName(errs, path+".name", m.Name)
	if len(m.Servers)+len(m.Rooms)+len(m.SubCenters) == 0 {
		errs.add(path, "nothing to maintain: set servers, rooms or sub_centers")
	}
	for j, id := range m.Servers {
		if _, ok := c.Server(id); !ok {
			errs.add(indexPath(path+".servers", j), "unknown server %s", quote(id))
		}
	}
	for j, id := range m.Rooms {
		if _, ok := c.Room(id); !ok {
			errs.add(indexPath(path+".rooms", j), "unknown room %s", quote(id))
		}
	}
	for j, id := range m.SubCenters {
		if _, ok := c.SubCenter(id); !ok {
			errs.add(indexPath(path+".sub_centers", j), "unknown sub-center %s", quote(id))
		}
	}
	if m.Start == "" {
		errs.add(path+".start", "required: an RFC 3339 time such as 2026-11-07T22:00:00+08:00")
	} else if _, err := m.StartTime(); err != nil {
		errs.add(path+".start", "cannot parse %s as an RFC 3339 time (like 2026-11-07T22:00:00+08:00)", quote(m.Start))
	}
	positive(errs, path+".duration", m.Duration)
	switch {
	case m.Every < 0:
		errs.add(path+".every", "must not be negative, got %s", m.Every)
	case m.Every > 0 && m.Every < m.Duration:
		errs.add(path+".every", "must be at least duration (%s), got %s", m.Duration, m.Every)
	}
}

func optionalEnum(errs *problems, path, what, value string, allowed []string) {
	if value != "" && !slices.Contains(allowed, value) {
		errs.add(path, "unknown %s %s (want %s)", what, quote(value), oneOf(allowed...))
	}
}

// String describes a rule for messages and the incident timeline.
func (r ClassRule) String() string {
	s := ""
	add := func(k, v string) {
		if v != "" {
			if s != "" {
				s += ", "
			}
			s += k + "=" + v
		}
	}
	add("cause", string(r.Cause))
	add("finding", string(r.Finding))
	add("role", r.Role)
	add("severity", string(r.Severity))
	if r.MinRooms > 0 {
		add("min_rooms", fmt.Sprint(r.MinRooms))
	}
	if s == "" {
		s = "any"
	}
	return s + " → " + string(r.Class)
}

// nonNegative reports a negative duration.
func nonNegative(errs *problems, path string, d time.Duration) {
	if d < 0 {
		errs.add(path, "must not be negative, got %s", d)
	}
}
