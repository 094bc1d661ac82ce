package config

import "time"

// DefaultJoin is the join message sent when the configuration sets none: the
// synthetic hall's protocol.
const DefaultJoin = `{"type":"join","room":"{room}","participant":"{participant}"}`

// DefaultProbe returns the probe settings used for every key not written.
func DefaultProbe() Probe {
	return Probe{
		Window:         time.Second,
		PingInterval:   time.Second,
		MissedPongs:    3,
		ConnectTimeout: 10 * time.Second,
		ReconnectMin:   250 * time.Millisecond,
		ReconnectMax:   30 * time.Second,
		ReadLimit:      1 << 20,
		WS: WSProtocol{
			Join:          DefaultJoin,
			SeqPointer:    "/seq",
			TSPointer:     "/ts",
			TSUnit:        "auto",
			TickPeriod:    time.Second,
			StutterFactor: 2,
		},
		WebRTC: defaultWebRTC(),
		Thresholds: Thresholds{
			RTTDegraded:      300 * time.Millisecond,
			RTTCritical:      time.Second,
			StutterPct:       5,
			LagDegraded:      time.Second,
			DownConnectedPct: 50,
			FirstFrameLate:   3 * time.Second,
		},
	}
}

// Defaults returns a configuration with every default in place and no city,
// sub-centers, servers or rooms: the starting point for a configuration built
// in code.
func Defaults() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

// DefaultHealthCheck returns a health check of the given type (see
// [KnownHealthKinds]) with its defaults in place; the caller sets its target.
func DefaultHealthCheck(kind string) HealthCheck {
	h := HealthCheck{Type: kind}
	h.setDefaults()
	h.kindDefaults()
	return h
}

// setDefaults fills a Config before it is decoded.
func (c *Config) setDefaults() {
	c.Probe = DefaultProbe()
	c.setAgentDefaults()
	c.Watchdog = DefaultWatchdog()
	c.Dispatch = DefaultDispatch()
	c.Console = DefaultConsole()
	c.Reports = DefaultReports()
}

// setDefaults fills a HealthCheck before it is decoded.
func (h *HealthCheck) setDefaults() {
	h.Interval = DefaultHealthInterval
	h.Timeout = 5 * time.Second
}

// DefaultHealthInterval is a health check's interval unless set.
const DefaultHealthInterval = 15 * time.Second

// kindDefaults fills, once its type is known, the defaults that depend on it:
// an http check expects status 200 unless told otherwise (0 is never a
// status, so an explicit 0 means the default too).
func (h *HealthCheck) kindDefaults() {
	if h.Type == HealthHTTP && h.ExpectStatus == 0 {
		h.ExpectStatus = 200
	}
}

// kindDefaults applies every health check's type-dependent defaults.
func (c *Config) kindDefaults() {
	for i := range c.Servers {
		for j := range c.Servers[i].Health {
			c.Servers[i].Health[j].kindDefaults()
		}
	}
	c.Remedy.kindDefaults()
	c.Reports.deliverDefaults()
}
