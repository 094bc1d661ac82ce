package drills

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// benchRun is a run of n drills, one a minute, each on its own server,
// and the incidents of a busy day around it: one per drill, answered, and
// `others` elsewhere.
func benchRun(n, others int) (Run, []incident.Incident) {
	r := Run{ID: "bench", State: RunFinished, StartedAt: t0, EndedAt: at(time.Duration(n+5) * m)}
	var incs []incident.Incident
	for i := range n {
		srv := fmt.Sprintf("srv-%d", i)
		start := time.Duration(i) * m
		r.Drills = append(r.Drills, Drill{Index: i, Name: srv + " down", Title: srv + " down", StartedAt: at(start), StoppedAt: at(start + 40*s),
			Faults: []Fault{{Kind: "server", Target: srv, Servers: []string{srv}, Rooms: []string{srv + "-room"}}},
			Expect: []Expect{{Cause: "server", Subject: srv}}})
		incs = append(incs, mk("INC-"+srv, "server:"+srv, start+20*s, start+10*s,
			map[string]time.Duration{"alert": start + 25*s, "acknowledged": start + 2*m, "resolved": start + 5*m}))
	}
	for i := range others {
		at := time.Duration(i%1440)*m - 12*time.Hour
		incs = append(incs, mk(fmt.Sprintf("INC-X%d", i), fmt.Sprintf("room:other-%d", i), at, at, map[string]time.Duration{"resolved": at + 10*m}))
	}
	return r, incs
}

// BenchmarkScore scores a 20-drill run against 2,000 incidents.
func BenchmarkScore(b *testing.B) {
	r, incs := benchRun(20, 2000)
	b.ReportAllocs()
	for b.Loop() {
		Score(r, incs, targets, DefaultGrace, at(24*time.Hour))
	}
}

// BenchmarkWriteHTML renders the report of a 20-drill run.
func BenchmarkWriteHTML(b *testing.B) {
	r, incs := benchRun(20, 200)
	sc := Score(r, incs, targets, DefaultGrace, at(24*time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if err := sc.WriteHTML(io.Discard, time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
