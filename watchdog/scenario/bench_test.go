package scenario

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// faultKinds are the benchmark's faults, one per cause kind, on the demo
// city with its default timings (latency window 10 s, clear_after 30 s,
// health checks every 15 s, CPU `for` 30 s), seen by two probes at yz and
// two at gy — and, for an uplink, also at jd.
var faultKinds = []struct {
	name, probes, fault, cause, subject string
}{
	{"server", "{yz: 2, gy: 2}", "server: jd-media-1\n    health: {cpu_pct: 97}\n    rooms: {rtt: 600ms}", "server", "jd-media-1"},
	{"network", "{yz: 2, gy: 2}", "path: gy\n    rtt: 700ms", "network", "gy"},
	{"room", "{yz: 2, gy: 2}", "room: yz-hall-1\n    cut: true", "room", "yz-hall-1"},
	{"uplink", "{yz: 2, gy: 2, jd: 2}", "uplink: yz\n    rtt: 800ms", "uplink", "yz"},
}

// BenchmarkFaultToIncident runs each kind of fault 20 times on simulated
// time, the fault starting at a different phase of the probes' windows and
// the health checks each time, and reports fault → incident opened and
// fault over → incident resolved (the decision; resolved_at itself is when
// the symptoms ended), p50 and p95, in seconds of simulated time. One
// benchmark iteration is the 20 runs of one kind.
func BenchmarkFaultToIncident(b *testing.B) {
	const runs = 20
	for _, k := range faultKinds {
		b.Run(k.name, func(b *testing.B) {
			var opened, resolved []float64
			for b.Loop() {
				opened, resolved = opened[:0], resolved[:0]
				for i := range runs {
					at := 60*time.Second + time.Duration(i)*1370*time.Millisecond
					hold := time.Minute
					text := fmt.Sprintf("name: %s\nduration: %s\nprobes: %s\nfaults:\n  - at: %s\n    for: %s\n    %s\nexpect: []\nothers: true\n",
						k.name, at+hold+2*time.Minute, k.probes, at, hold, k.fault)
					s, err := Parse([]byte(text), ".", k.name, nil)
					if err != nil {
						b.Fatal(err)
					}
					o, err := Run(context.Background(), s, Options{})
					if err != nil {
						b.Fatal(err)
					}
					i := slices.IndexFunc(o.Incidents, func(inc incident.Incident) bool {
						return string(inc.Cause) == k.cause && inc.Subject == k.subject
					})
					if i < 0 || len(o.Incidents) != 1 {
						b.Fatalf("run %d: want one %s incident, got %d", i, k.cause, len(o.Incidents))
					}
					inc := o.Incidents[i]
					opened = append(opened, inc.OpenedAt.Sub(s.start.Add(at)).Seconds())
					var decided time.Time
					for _, e := range inc.Timeline {
						if e.Kind == "resolved" {
							decided = e.At
						}
					}
					resolved = append(resolved, decided.Sub(s.start.Add(at+hold)).Seconds())
				}
			}
			b.ReportMetric(pct(opened, 50), "open-p50-s")
			b.ReportMetric(pct(opened, 95), "open-p95-s")
			b.ReportMetric(pct(resolved, 50), "resolve-p50-s")
			b.ReportMetric(pct(resolved, 95), "resolve-p95-s")
		})
	}
}

// pct is the p-th percentile of xs, the nearest rank.
func pct(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
