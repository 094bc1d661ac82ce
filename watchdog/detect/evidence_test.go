package detect

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

// The demo city's yz-web-1 has two checks, http[0] and prometheus[1], each
// every 15 s: a reading is unknown once older than 30 s.
const srv = "yz-web-1"

// reading is one of yz-web-1's health checks' outcomes at some second.
type reading struct {
	at     int
	check  string
	ok     bool
	values map[string]float64
}

func httpOK(s int) reading   { return reading{at: s, check: "http[0]", ok: true} }
func httpFail(s int) reading { return reading{at: s, check: "http[0]"} }
func prom(s int, values map[string]float64) reading {
	return reading{at: s, check: "prometheus[1]", ok: true, values: values}
}
func promFail(s int) reading { return reading{at: s, check: "prometheus[1]"} }
func cpu(v float64) map[string]float64 {
	return map[string]float64{"cpu_pct": v}
}

// every returns the readings of mk at from, from+15 s, … through to.
func every(from, to int, mk func(s int) reading) []reading {
	var out []reading
	for s := from; s <= to; s += 15 {
		out = append(out, mk(s))
	}
	return out
}

// replay steps the engine every second from t0 through until, each time
// after adding the readings taken by then, and calls check after each step.
func replay(e *Engine, rs []reading, until int, check func(s int, now time.Time)) {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b reading) int { return a.at - b.at })
	for s := 0; s <= until; s++ {
		for len(rs) > 0 && rs[0].at <= s {
			r := rs[0]
			rs = rs[1:]
			kind, _, _ := strings.Cut(r.check, "[")
			hr := health.Reading{Server: srv, Check: r.check, Kind: kind, At: at(float64(r.at)), OK: r.ok, Values: r.values}
			if !r.ok {
				hr.Error = "status 503"
			}
			e.AddReading(hr)
		}
		e.Step(at(float64(s)))
		if check != nil {
			check(s, at(float64(s)))
		}
	}
}

func findingIDs(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID())
	}
	return out
}

// sameLines reports whether every line contains the matching want, and
// there are as many of each.
func sameLines(lines, want []string) bool {
	if len(lines) != len(want) {
		return false
	}
	for i := range lines {
		if !strings.Contains(lines[i], want[i]) {
			return false
		}
	}
	return true
}

func episode(since, until time.Time) *Episode { return &Episode{Since: since, Until: until} }

func sameEpisode(a, b *Episode) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Since.Equal(b.Since) && a.Until.Equal(b.Until)
}

func showEpisode(ep *Episode) string {
	if ep == nil {
		return "none"
	}
	return fmt.Sprintf("%s–%s", ep.Since.Format("15:04:05"), ep.Until.Format("15:04:05"))
}

func TestEngineServerView(t *testing.T) {
	var zero time.Time
	ok := func(s int) []reading { return []reading{httpOK(s), prom(s, cpu(20))} }
	tests := []struct {
		name     string
		edit     func(d *config.Detect)
		readings []reading
		until    int
		// want
		state     ServerState
		since     time.Time
		checkedAt time.Time
		failing   bool
		findings  []string
		evidence  []string
		last      *Episode
	}{
		{name: "never read: unknown", until: 0, state: ServerUnknown},
		{name: "one check of two reported: ok, not yet checked", readings: []reading{httpOK(0)}, until: 5,
			state: ServerOK},
		{name: "both reported: checked at the older of their latest readings",
			readings: []reading{httpOK(0), prom(5, cpu(20)), httpOK(15)}, until: 20,
			state: ServerOK, checkedAt: at(5)},
		{name: "readings two intervals old: still ok", readings: ok(0), until: 30,
			state: ServerOK, checkedAt: at(0)},
		{name: "readings older than two intervals: unknown", readings: ok(0), until: 31,
			state: ServerUnknown, checkedAt: at(0)},
		{name: "one fresh check is enough", readings: append(ok(0), httpOK(15), httpOK(30)), until: 31,
			state: ServerOK, checkedAt: at(0)},
		{name: "one failure: failing, not down", readings: []reading{httpFail(0), prom(0, cpu(20))}, until: 5,
			state: ServerOK, checkedAt: at(0), failing: true},
		{name: "a stale failed check is not failing", readings: append([]reading{httpFail(0)}, every(0, 30, func(s int) reading { return prom(s, cpu(20)) })...), until: 31,
			state: ServerOK, checkedAt: at(0)},
		{name: "two failures in a row: down",
			readings: append(every(0, 15, httpFail), every(0, 15, func(s int) reading { return prom(s, cpu(20)) })...), until: 20,
			state: ServerDown, since: at(15), checkedAt: at(15),
			findings: []string{"server_down/yz-web-1/http[0]"}, evidence: []string{"http check failed 2 times in a row: status 503 since 09:30:15Z"},
			last: episode(at(15), zero)},
		{name: "failures apart are not in a row",
			readings: append([]reading{httpFail(0), httpOK(15), httpFail(30)}, every(0, 30, func(s int) reading { return prom(s, cpu(20)) })...), until: 30,
			state: ServerOK, checkedAt: at(30), failing: true},
		{name: "cpu beyond its limit, not yet for 30 s: strained",
			readings: append(every(0, 15, httpOK), every(0, 15, func(s int) reading { return prom(s, cpu(95)) })...), until: 29,
			state: ServerStrained, since: at(0), checkedAt: at(15),
			evidence: []string{"cpu_pct 95.0 above 90 since 09:30:00Z (not yet for 30s)"}, last: episode(at(0), zero)},
		{name: "cpu beyond its limit for 30 s: saturated",
			readings: append(every(0, 30, httpOK), every(0, 30, func(s int) reading { return prom(s, cpu(95)) })...), until: 30,
			state: ServerSaturated, since: at(0), checkedAt: at(30),
			findings: []string{"saturation/yz-web-1/cpu_pct"}, evidence: []string{"cpu_pct 95.0 above 90 since 09:30:00Z"},
			last: episode(at(0), zero)},
		{name: "db connections beyond their limit: saturated at once",
			readings: []reading{httpOK(0), prom(0, map[string]float64{"db_conns_pct": 90, "cpu_pct": 20})}, until: 0,
			state: ServerSaturated, since: at(0), checkedAt: at(0),
			findings: []string{"saturation/yz-web-1/db_conns_pct"}, evidence: []string{"db_conns_pct 90.0 above 85"},
			last: episode(at(0), zero)},
		{name: "certificate expiring: below its limit",
			readings: []reading{httpOK(0), prom(0, map[string]float64{"tls_expiry_days": 5})}, until: 0,
			state: ServerSaturated, since: at(0), checkedAt: at(0),
			findings: []string{"saturation/yz-web-1/tls_expiry_days"}, evidence: []string{"tls_expiry_days 5.0 below 14"},
			last: episode(at(0), zero)},
		{name: "readings no rule names are ignored",
			readings: []reading{httpOK(0), prom(0, map[string]float64{"mem_pct": 99, "unmapped": 1e9})}, until: 0,
			state: ServerOK, checkedAt: at(0)},
		{name: "a rule written for another reading applies",
			edit: func(d *config.Detect) {
				d.Saturation = append(d.Saturation, config.SaturationRule{Reading: "mem_pct", Op: config.OpAbove, Limit: 95})
			},
			readings: []reading{httpOK(0), prom(0, map[string]float64{"mem_pct": 99})}, until: 0,
			state: ServerSaturated, since: at(0), checkedAt: at(0),
			findings: []string{"saturation/yz-web-1/mem_pct"}, evidence: []string{"mem_pct 99.0 above 95"}, last: episode(at(0), zero)},
		{name: "down outranks saturated",
			readings: append(every(0, 15, httpFail), every(0, 15, func(s int) reading { return prom(s, map[string]float64{"db_conns_pct": 90}) })...), until: 15,
			state: ServerDown, since: at(0), checkedAt: at(15),
			findings: []string{"saturation/yz-web-1/db_conns_pct", "server_down/yz-web-1/http[0]"},
			evidence: []string{"db_conns_pct 90.0 above 85", "http check failed 2 times"}, last: episode(at(0), zero)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(tt.edit)
			replay(e, tt.readings, tt.until, nil)
			ev := e.Evidence(at(float64(tt.until)))
			if len(ev.Servers) != 20 {
				t.Errorf("%d server views, want every one of the demo city's 20", len(ev.Servers))
			}
			v, found := ev.Servers[srv]
			if !found {
				t.Fatalf("no view of %s", srv)
			}
			if v.ID != srv || v.Checks != 2 {
				t.Errorf("id %q checks %d", v.ID, v.Checks)
			}
			if v.State != tt.state || !v.Since.Equal(tt.since) || !v.CheckedAt.Equal(tt.checkedAt) || v.Failing != tt.failing {
				t.Errorf("state %s since %s checked at %s failing %v; want %s %s %s %v",
					v.State, v.Since, v.CheckedAt, v.Failing, tt.state, tt.since, tt.checkedAt, tt.failing)
			}
			if got := findingIDs(v.Findings); !slices.Equal(got, tt.findings) {
				t.Errorf("findings %q, want %q", got, tt.findings)
			}
			if !sameLines(v.Evidence, tt.evidence) {
				t.Errorf("evidence %q, want lines with %q", v.Evidence, tt.evidence)
			}
			if !sameEpisode(v.Last, tt.last) {
				t.Errorf("last spell %s, want %s", showEpisode(v.Last), showEpisode(tt.last))
			}
			if v.State.Sick() && !v.Holding() {
				t.Errorf("sick and not clearing, yet not holding: %+v", v)
			}
			// Another server never read is unknown.
			if o := ev.Servers["jd-db-1"]; o.State != ServerUnknown || !o.CheckedAt.IsZero() {
				t.Errorf("jd-db-1: %+v", o)
			}
		})
	}
}

// TestEngineServerTimeline follows one server through time: spells of
// trouble (Last), clearing, stale readings.
func TestEngineServerTimeline(t *testing.T) {
	var zero time.Time
	type point struct {
		at       int
		state    ServerState
		holding  bool
		failing  bool
		clear    time.Time
		evidence []string
		last     *Episode
	}
	promOK := func(s int) reading { return prom(s, cpu(20)) }
	tests := []struct {
		name     string
		edit     func(d *config.Detect)
		readings []reading
		points   []point
	}{
		{
			name: "down, recovered, down again: two spells",
			readings: append(every(0, 90, promOK),
				httpFail(0), httpFail(15), httpOK(30), httpOK(45), httpOK(60), httpFail(75), httpFail(90)),
			points: []point{
				{at: 14, state: ServerOK, failing: true},
				{at: 15, state: ServerDown, holding: true, evidence: []string{"failed 2 times"}, last: episode(at(15), zero)},
				{at: 30, state: ServerDown, clear: at(30), evidence: []string{"failed 2 times"}, last: episode(at(15), at(30))},
				{at: 59, state: ServerDown, clear: at(30), evidence: []string{"failed 2 times"}, last: episode(at(15), at(30))},
				{at: 60, state: ServerOK, last: episode(at(15), at(30))},
				{at: 75, state: ServerOK, failing: true, last: episode(at(15), at(30))},
				{at: 90, state: ServerDown, holding: true, evidence: []string{"failed 2 times"}, last: episode(at(90), zero)},
			},
		},
		{
			name: "trouble back while clearing: the same spell",
			readings: append(every(0, 60, promOK),
				httpFail(0), httpFail(15), httpOK(30), httpFail(45), httpFail(60)),
			points: []point{
				{at: 30, state: ServerDown, clear: at(30), evidence: []string{"failed 2 times"}, last: episode(at(15), at(30))},
				{at: 45, state: ServerDown, clear: at(30), evidence: []string{"failed 2 times"}, last: episode(at(15), at(30))},
				{at: 60, state: ServerDown, holding: true, evidence: []string{"failed 2 times"}, last: episode(at(15), zero)},
			},
		},
		{
			name:     "a down server whose checks go quiet is unknown, not down for ever",
			readings: []reading{httpFail(0), httpFail(15), promOK(0), promOK(15)},
			points: []point{
				{at: 45, state: ServerDown, holding: true, evidence: []string{"failed 2 times"}, last: episode(at(15), zero)},
				{at: 46, state: ServerDown, clear: at(46), evidence: []string{"failed 2 times"}, last: episode(at(15), at(46))},
				{at: 76, state: ServerUnknown, last: episode(at(15), at(46))},
			},
		},
		{
			name:     "strained begins a spell, and ends it when back within limits",
			readings: append(every(0, 30, httpOK), prom(0, cpu(95)), prom(15, cpu(95)), prom(30, cpu(20))),
			points: []point{
				{at: 15, state: ServerStrained, holding: true, evidence: []string{"not yet for 30s"}, last: episode(at(0), zero)},
				{at: 30, state: ServerOK, last: episode(at(0), at(30))},
			},
		},
		{
			// The prometheus scrape fails (not often enough here to call
			// the server down): cpu keeps its last value until it is two
			// intervals old (30 s at 60 s), then its saturation stops
			// holding; once cleared, the reading is gone.
			name: "a failed scrape keeps the reading until it is stale",
			edit: func(d *config.Detect) { d.ServerDown.Failures = 3 },
			readings: append(every(0, 90, httpOK),
				prom(0, cpu(95)), prom(15, cpu(95)), prom(30, cpu(95)), promFail(45), promFail(60)),
			points: []point{
				{at: 29, state: ServerStrained, holding: true, evidence: []string{"cpu_pct 95.0 above 90"}, last: episode(at(0), zero)},
				{at: 30, state: ServerSaturated, holding: true, evidence: []string{"cpu_pct 95.0 above 90"}, last: episode(at(0), zero)},
				{at: 45, state: ServerSaturated, holding: true, failing: true, evidence: []string{"cpu_pct 95.0 above 90"}, last: episode(at(0), zero)},
				{at: 60, state: ServerSaturated, holding: true, failing: true, evidence: []string{"cpu_pct 95.0 above 90"}, last: episode(at(0), zero)},
				{at: 61, state: ServerSaturated, failing: true, clear: at(61), evidence: []string{"cpu_pct"}, last: episode(at(0), at(61))},
				{at: 90, state: ServerSaturated, failing: true, clear: at(61), evidence: []string{"cpu_pct"}, last: episode(at(0), at(61))},
				{at: 91, state: ServerOK, last: episode(at(0), at(61))},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(tt.edit)
			points := map[int]point{}
			until := 0
			for _, p := range tt.points {
				points[p.at] = p
				until = max(until, p.at)
			}
			replay(e, tt.readings, until, func(s int, now time.Time) {
				p, ok := points[s]
				if !ok {
					return
				}
				v := e.Evidence(now).Servers[srv]
				if v.State != p.state || v.Holding() != p.holding || v.Failing != p.failing || !v.ClearSince.Equal(p.clear) {
					t.Errorf("at %d s: state %s holding %v failing %v clear since %s; want %s %v %v %s",
						s, v.State, v.Holding(), v.Failing, v.ClearSince, p.state, p.holding, p.failing, p.clear)
				}
				if !sameLines(v.Evidence, p.evidence) {
					t.Errorf("at %d s: evidence %q, want lines with %q", s, v.Evidence, p.evidence)
				}
				if !sameEpisode(v.Last, p.last) {
					t.Errorf("at %d s: last spell %s, want %s", s, showEpisode(v.Last), showEpisode(p.last))
				}
			})
			if tt.name == "a failed scrape keeps the reading until it is stale" {
				if _, kept := e.readings[readingKey{srv, "cpu_pct"}]; kept {
					t.Errorf("a stale, cleared reading is still kept")
				}
			}
		})
	}
}
