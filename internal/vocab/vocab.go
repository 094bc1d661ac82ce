// Package vocab holds the words the watchdog's parts and its configuration
// share — finding kinds, causes, severities, SLA classes and the states of
// what probes and health checks show — defined once, so the detectors, the
// correlation, the incident records and the config's validation cannot drift
// apart. It imports nothing but the standard library.
package vocab

import "slices"

// Kind names what a finding is about.
type Kind string

// The kinds of finding.
const (
	KindLatency     Kind = "latency"
	KindStutter     Kind = "stutter"
	KindDropout     Kind = "dropout"
	KindServerDown  Kind = "server_down"
	KindSaturation  Kind = "saturation"
	KindProbeSilent Kind = "probe_silent"
)

// Kinds lists every finding kind.
var Kinds = []Kind{KindLatency, KindStutter, KindDropout, KindServerDown, KindSaturation, KindProbeSilent}

// IncidentKinds are the kinds an incident can hold, which class rules
// match; a silent probe is a probe problem and never makes an incident.
var IncidentKinds = []Kind{KindLatency, KindStutter, KindDropout, KindServerDown, KindSaturation}

// FromSamples reports whether findings of this kind come from what probes
// measured in a room (as opposed to server health or probe heartbeats).
func (k Kind) FromSamples() bool {
	return k == KindLatency || k == KindStutter || k == KindDropout
}

// FromHealth reports whether findings of this kind come from health checks.
func (k Kind) FromHealth() bool { return k == KindServerDown || k == KindSaturation }

// Cause is what a problem is blamed on.
type Cause string

// The causes, the ones that explain most first.
const (
	// CauseServer: a server the rooms depend on has its own problem.
	CauseServer Cause = "server"
	// CauseUplink: the hosting site's own line; its rooms are slow from
	// everywhere but from its own probes.
	CauseUplink Cause = "uplink"
	// CauseNetwork: the network path to one probe location (the viewers'
	// side); the location's duty officer is told.
	CauseNetwork Cause = "network"
	// CauseRoom: the room's own application, its servers healthy.
	CauseRoom Cause = "room"
	// CauseProbe: one probe's own trouble; recorded, never paged.
	CauseProbe Cause = "probe"
)

// Causes lists every cause.
var Causes = []Cause{CauseServer, CauseUplink, CauseNetwork, CauseRoom, CauseProbe}

// IncidentCauses are the causes that make incidents (a probe's own trouble
// does not), which class rules match.
var IncidentCauses = []Cause{CauseServer, CauseUplink, CauseNetwork, CauseRoom}

// Incident reports whether problems of this cause make incidents.
func (c Cause) Incident() bool { return slices.Contains(IncidentCauses, c) }

// Key returns the stable identity of a problem of this cause: "server:yz-media-1".
func (c Cause) Key(subject string) string { return string(c) + ":" + subject }

// Chinese names the cause for people (UI, messages, reports).
func (c Cause) Chinese() string {
	switch c {
	case CauseServer:
		return "服务器"
	case CauseUplink:
		return "站点出口线路"
	case CauseNetwork:
		return "网络线路"
	case CauseRoom:
		return "房间/应用"
	case CauseProbe:
		return "探针"
	}
	return string(c)
}

// Severity says how bad a finding is.
type Severity string

// The severities, least first.
const (
	SeverityDegraded Severity = "degraded"
	SeverityCritical Severity = "critical"
)

// Severities lists the severities, least first.
var Severities = []Severity{SeverityDegraded, SeverityCritical}

// Rank orders severities: degraded 1, critical 2, anything else 0.
func (s Severity) Rank() int { return slices.Index(Severities, s) + 1 }

// Worse returns the worse of two severities.
func Worse(a, b Severity) Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// Class is a contract SLA class: how much an incident affects the service,
// and so how soon it must be resolved.
type Class string

// The SLA classes, least severe first.
const (
	ClassMinor   Class = "minor"   // 一般故障, 1 h
	ClassPartial Class = "partial" // 部分功能故障, 2 h
	ClassOutage  Class = "outage"  // 系统停运, 4 h
	ClassMajor   Class = "major"   // 重大故障, 24 h
)

// Classes lists the SLA classes from the least to the most severe.
var Classes = []Class{ClassMinor, ClassPartial, ClassOutage, ClassMajor}

// Rank orders the classes, minor 0; an unknown class is -1.
func (c Class) Rank() int { return slices.Index(Classes, c) }

// Chinese names the class as the contract does.
func (c Class) Chinese() string {
	switch c {
	case ClassMinor:
		return "一般故障"
	case ClassPartial:
		return "部分功能故障"
	case ClassOutage:
		return "系统停运"
	case ClassMajor:
		return "重大故障"
	}
	return string(c)
}

// View is how one location's probes see a room over one transport, or how a
// server's health looks, right now.
type View string

// The views. Unknown — no fresh data — is never taken for fine nor for
// degraded.
const (
	ViewOK       View = "ok"
	ViewDegraded View = "degraded"
	ViewDown     View = "down"
	ViewUnknown  View = "unknown"
)

// Bad reports whether the view shows trouble.
func (v View) Bad() bool { return v == ViewDegraded || v == ViewDown }

// Strings converts a list of string-like words to strings.
func Strings[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}
