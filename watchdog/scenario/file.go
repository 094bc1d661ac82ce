package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// File is one scenario, as written.
type File struct {
	// Name says what it shows, in a line.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// City is the topology: "demo" (the built-in demo city) or a bidwatch
	// configuration file, relative to the scenario file.
	City string `yaml:"city"`
	// Watchdog overrides keys of the city's watchdog section (same keys).
	Watchdog yaml.Node `yaml:"watchdog"`
	// Start is the simulated start time (RFC 3339); default
	// 2026-12-01T09:00:00+08:00.
	Start string `yaml:"start"`
	// Duration is how long to simulate.
	Duration time.Duration `yaml:"duration"`
	// Tick is the period of the leader's evaluations; default 1s (one per
	// probe window).
	Tick time.Duration `yaml:"tick"`
	// Probes are the probes per location (a sub-center id): probe ids are
	// "<location>-1", "<location>-2", …; default yz: 2, gy: 2.
	Probes map[string]int `yaml:"probes"`
	// Participants per probe, room and transport; default 2.
	Participants int `yaml:"participants"`
	// Transports probed: ws, webrtc; default ws.
	Transports []string `yaml:"transports"`
	// Rooms probed; default every room of the city.
	Rooms []string `yaml:"rooms"`
	// BaseRTT is every participant's round-trip time without a fault;
	// default 20ms.
	BaseRTT time.Duration `yaml:"base_rtt"`
	// HealthLatency is how long a health check takes; default 50ms.
	HealthLatency time.Duration `yaml:"health_latency"`
	Faults        []Fault       `yaml:"faults"`
	Actions       []Act         `yaml:"actions"`
	Expect        []Expect      `yaml:"expect"`
	// Others allows incidents the expectations do not name; by default
	// each incident must match one expectation.
	Others bool `yaml:"others"`
}

// Fault is one fault on the timeline. It names exactly one target: server,
// path (a probe location's network path), uplink (a site's own line), room
// or probe.
type Fault struct {
	// At is when it starts; For how long it lasts (0: to the end).
	At  time.Duration `yaml:"at"`
	For time.Duration `yaml:"for"`
	// Flap makes it come and go while it lasts: on for On, every Flap.
	Flap time.Duration `yaml:"flap"`
	On   time.Duration `yaml:"on"`

	Server string `yaml:"server"`
	Path   string `yaml:"path"`
	Uplink string `yaml:"uplink"`
	Room   string `yaml:"room"`
	Probe  string `yaml:"probe"`

	// Only, when set, limits the fault to these rooms (a path slow to one
	// server's address only, say).
	Only []string `yaml:"only"`
	// Effect is what the participants suffer: for a path, an uplink, a
	// room or a probe, written inline.
	Effect `yaml:",inline"`
	// Health are a server's readings while it lasts (cpu_pct: 97); Down
	// fails every health check; ScrapeFails fails its prometheus checks.
	Health      map[string]float64 `yaml:"health"`
	Down        bool               `yaml:"down"`
	ScrapeFails bool               `yaml:"scrape_fails"`
	// Rooms is what a server's fault does to every room that depends on
	// it, seen from everywhere.
	Rooms *Effect `yaml:"rooms"`
	// Silent: a probe sends nothing — no Samples, no heartbeats.
	Silent bool `yaml:"silent"`
}

// Effect is what a fault does to the participants it touches.
type Effect struct {
	// RTT is added to their round-trip time.
	RTT time.Duration `yaml:"rtt"`
	// Cut: they cannot connect (down, with a dropout when it starts).
	Cut bool `yaml:"cut"`
	// Drop: they are dropped (a dropout) every DropEvery (default 5s) and
	// reconnect at once.
	Drop      bool          `yaml:"drop"`
	DropEvery time.Duration `yaml:"drop_every"`
	// Stutter is the share of time they are frozen, in percent.
	Stutter float64 `yaml:"stutter"`
}

func (e *Effect) zero() bool { return e.RTT == 0 && !e.Cut && !e.Drop && e.Stutter == 0 }

// Act is a person's action on an incident.
type Act struct {
	At time.Duration `yaml:"at"`
	// Key names the incident: the latest with this cause key
	// ("server:jd-media-1").
	Key string `yaml:"key"`
	// Do is acknowledge, mitigate, resolve, note, signoff or reclassify.
	Do    string `yaml:"do"`
	By    string `yaml:"by"`
	Text  string `yaml:"text"`
	Class string `yaml:"class"`
}

// Window is a span of simulated time, [from, to], from the start.
type Window []time.Duration

// Expect is an incident expected.
type Expect struct {
	Cause   string `yaml:"cause"`
	Subject string `yaml:"subject"`
	// Rooms, SubCenters and Servers, when written, are the place exactly.
	Rooms      []string `yaml:"rooms"`
	SubCenters []string `yaml:"sub_centers"`
	Servers    []string `yaml:"servers"`
	Class      string   `yaml:"class"`
	// State at the end; default resolved (open when Open).
	State string `yaml:"state"`
	// Opened: opened_at within the window. Resolved: resolved_at (when
	// the symptoms ended) within it. Decided: the automatic resolution
	// made within it.
	Opened   Window `yaml:"opened"`
	Resolved Window `yaml:"resolved"`
	Decided  Window `yaml:"decided"`
	// Reopens is how many relapses reopened it.
	Reopens *int `yaml:"reopens"`
	// MergedInto is the cause key of the incident it was merged into.
	MergedInto string `yaml:"merged_into"`
	// Merged is how many incidents were merged into it.
	Merged   *int   `yaml:"merged"`
	Breached *bool  `yaml:"breached"`
	Paging   *bool  `yaml:"paging"`
	MutedBy  string `yaml:"muted_by"`
}

// Scenario is a File read and checked against its city.
type Scenario struct {
	File
	// Path is where it was read from.
	Path  string
	City  *config.Config
	start time.Time
}

// Load reads a scenario file. Every problem is reported with its YAML path.
// city, when not nil, is the topology to use instead of the file's `city:`
// (`bidwatch watchdog test --config city.yaml`); it is not changed.
func Load(path string, city *config.Config) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(data, filepath.Dir(path), path, city)
}

// Parse reads a scenario; dir is where a relative city file is looked up,
// name what to call it; city, when not nil, replaces the file's `city:`.
func Parse(data []byte, dir, name string, city *config.Config) (*Scenario, error) {
	s := &Scenario{Path: name}
	s.File = File{City: "demo", Tick: time.Second, Participants: 2, BaseRTT: 20 * time.Millisecond, HealthLatency: 50 * time.Millisecond,
		Start: "2026-12-01T09:00:00+08:00"}
	if err := config.Decode(data, &s.File, "a scenario"); err != nil {
		return nil, err
	}
	if len(s.Probes) == 0 {
		s.Probes = map[string]int{"yz": 2, "gy": 2}
	}
	if len(s.Transports) == 0 {
		s.Transports = []string{"ws"}
	}
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &config.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case city != nil:
		c := *city
		c.Watchdog.Maintain = slices.Clone(city.Watchdog.Maintain)
		s.City = &c
	case s.File.City == "demo":
		s.City = config.DemoCity()
	default:
		c, err := config.Load(filepath.Join(dir, s.File.City))
		if err != nil {
			add("city", "%v", err)
			return nil, errors.Join(errs...)
		}
		s.City = c
	}
	if s.Watchdog.Kind != 0 {
		w := s.City.Watchdog
		if err := config.DecodeNode(&s.Watchdog, &w, "watchdog"); err != nil {
			return nil, err
		}
		s.City.Watchdog = w
		if err := s.City.Validate(); err != nil {
			return nil, err
		}
	}
	var err error
	if s.start, err = time.Parse(time.RFC3339, s.File.Start); err != nil {
		add("start", "cannot parse %q as an RFC 3339 time", s.File.Start)
	}
	if s.Duration <= 0 {
		add("duration", "required: how long to simulate, such as 10m")
	}
	if s.Tick <= 0 || s.Tick > time.Second {
		add("tick", "must be above 0 and at most 1s, got %s", s.Tick)
	}
	if s.Participants < 1 {
		add("participants", "must be at least 1, got %d", s.Participants)
	}
	for i, t := range s.Transports {
		if t != "ws" && t != "webrtc" {
			add(fmt.Sprintf("transports[%d]", i), "unknown transport %q (want ws or webrtc)", t)
		}
	}
	for loc, n := range s.Probes {
		if n < 1 {
			add("probes."+loc, "must be at least 1, got %d", n)
		}
	}
	for i, r := range s.Rooms {
		if _, ok := s.City.Room(r); !ok {
			add(fmt.Sprintf("rooms[%d]", i), "unknown room %q", r)
		}
	}
	for i := range s.Faults {
		s.checkFault(&s.Faults[i], fmt.Sprintf("faults[%d]", i), add)
	}
	for i, a := range s.Actions {
		p := fmt.Sprintf("actions[%d]", i)
		if !slices.Contains([]string{"acknowledge", "mitigate", "resolve", "note", "signoff", "reclassify"}, a.Do) {
			add(p+".do", "unknown action %q (want acknowledge, mitigate, resolve, note, signoff or reclassify)", a.Do)
		}
		if a.Key == "" {
			add(p+".key", "required: the cause key of the incident, such as server:jd-media-1")
		}
		if a.Do == "reclassify" && vocab.Class(a.Class).Rank() < 0 {
			add(p+".class", "unknown class %q", a.Class)
		}
	}
	if len(s.Expect) == 0 && !s.Others {
		// An empty list is a claim too: nothing should open.
		s.Expect = []Expect{}
	}
	for i := range s.Expect {
		s.checkExpect(&s.Expect[i], fmt.Sprintf("expect[%d]", i), add)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (s *Scenario) checkFault(f *Fault, p string, add func(string, string, ...any)) {
	var targets []string
	for _, t := range []struct{ name, v string }{{"server", f.Server}, {"path", f.Path}, {"uplink", f.Uplink}, {"room", f.Room}, {"probe", f.Probe}} {
		if t.v != "" {
			targets = append(targets, t.name)
		}
	}
	if len(targets) != 1 {
		add(p, "name exactly one of server, path, uplink, room or probe (got %s)", orNone(targets))
		return
	}
	switch {
	case f.Server != "":
		if _, ok := s.City.Server(f.Server); !ok {
			add(p+".server", "unknown server %q", f.Server)
		}
		if !f.Effect.zero() || f.Silent {
			add(p, "a server fault takes health, down, scrape_fails and rooms: {…}, not an effect of its own")
		}
		if len(f.Health) == 0 && !f.Down && !f.ScrapeFails && f.Rooms == nil {
			add(p, "nothing happens: set health, down, scrape_fails or rooms")
		}
	case f.Path != "":
		if s.Probes[f.Path] == 0 {
			add(p+".path", "no probes at %q (probes: %s)", f.Path, strings.Join(sortedKeys(s.Probes), ", "))
		}
	case f.Uplink != "":
		if _, ok := s.City.SubCenter(f.Uplink); !ok {
			add(p+".uplink", "unknown sub-center %q", f.Uplink)
		}
	case f.Room != "":
		if _, ok := s.City.Room(f.Room); !ok {
			add(p+".room", "unknown room %q", f.Room)
		}
	case f.Probe != "":
		if !s.hasProbe(f.Probe) {
			add(p+".probe", "unknown probe %q (probes are <location>-<n>)", f.Probe)
		}
	}
	if f.Server == "" && (len(f.Health) > 0 || f.Down || f.ScrapeFails || f.Rooms != nil) {
		add(p, "health, down, scrape_fails and rooms are for server faults")
	}
	if f.Probe == "" && f.Silent {
		add(p+".silent", "only a probe falls silent")
	}
	if f.Server == "" && f.Effect.zero() && !f.Silent {
		add(p, "nothing happens: set rtt, cut, drop or stutter")
	}
	for i, r := range f.Only {
		if _, ok := s.City.Room(r); !ok {
			add(fmt.Sprintf("%s.only[%d]", p, i), "unknown room %q", r)
		}
	}
	if f.At < 0 || f.For < 0 {
		add(p, "at and for must not be negative")
	}
	if (f.Flap > 0) != (f.On > 0) || f.On > f.Flap {
		add(p, "flap and on go together, with on at most flap")
	}
}

func (s *Scenario) checkExpect(e *Expect, p string, add func(string, string, ...any)) {
	if !slices.Contains(vocab.IncidentCauses, vocab.Cause(e.Cause)) {
		add(p+".cause", "unknown cause %q (want %s)", e.Cause, strings.Join(vocab.Strings(vocab.IncidentCauses), ", "))
	}
	if e.Subject == "" {
		add(p+".subject", "required: the server, site, location or room blamed")
	}
	if e.State == "" {
		e.State = string(incident.StateResolved)
		if e.MergedInto != "" {
			e.State = string(incident.StateMerged)
		}
	}
	if !slices.Contains(incident.States, incident.State(e.State)) {
		add(p+".state", "unknown state %q", e.State)
	}
	if e.Class != "" && vocab.Class(e.Class).Rank() < 0 {
		add(p+".class", "unknown class %q", e.Class)
	}
	for name, w := range map[string]Window{"opened": e.Opened, "resolved": e.Resolved, "decided": e.Decided} {
		if w != nil && (len(w) != 2 || w[0] > w[1]) {
			add(p+"."+name, "want [from, to] with from ≤ to, got %v", []time.Duration(w))
		}
	}
}

func (s *Scenario) hasProbe(id string) bool {
	for loc, n := range s.Probes {
		for i := 1; i <= n; i++ {
			if id == fmt.Sprintf("%s-%d", loc, i) {
				return true
			}
		}
	}
	return false
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
