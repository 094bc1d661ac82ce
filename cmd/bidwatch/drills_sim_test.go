package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/hall/drill"
	"github.com/bidwatch/bidwatch/watchdog/scenario"
)

// TestDemoDrillsOnSimulatedTime plays the demo's whole drill script — as
// `bidwatch demo` plays it, with the watchdog's default timings, probes at
// yz and gy — through the watchdog's decisions on simulated time, and holds
// every drill's incident to its expectations: its cause, rooms and place,
// opened within its target of the drill's start, resolved within its target
// of the drill's end, a relapse reopening the earlier incident, and no
// incident the drills do not expect (no cross-merge).
func TestDemoDrillsOnSimulatedTime(t *testing.T) {
	script, err := drill.Demo()
	if err != nil {
		t.Fatal(err)
	}
	text := drillScenario(t, script)
	s, err := scenario.Parse([]byte(text), ".", "demo drills", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := scenario.Run(ctx, s, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	o.Report(&b, testing.Verbose())
	if !o.Pass {
		t.Fatalf("\n%s\nscenario:\n%s", b.String(), text)
	}
	t.Log("\n" + b.String())
}

// drillScenario writes a drill script as a scenario: each drill's faults
// on its span, and one expectation per expected cause key — opened within
// its first drill's target, its automatic resolution within its last
// drill's, reopened once per relapse.
func drillScenario(t *testing.T, s *drill.Script) string {
	t.Helper()
	var b strings.Builder
	spans := s.Timeline()
	fmt.Fprintf(&b, "name: %q\nduration: %s\nprobes: {yz: 2, gy: 2}\nfaults:\n", s.Name, s.Length())
	for i, d := range s.Drills {
		sp := spans[i]
		for _, f := range d.Faults {
			fmt.Fprintf(&b, "  - at: %s\n    for: %s\n", sp.Start, sp.End-sp.Start)
			switch f.Kind() {
			case "server":
				fmt.Fprintf(&b, "    server: %s\n", f.Server)
				if f.Health.Down {
					b.WriteString("    down: true\n")
				}
				if f.Health.CPUPct != nil {
					fmt.Fprintf(&b, "    health: {cpu_pct: %g}\n", *f.Health.CPUPct)
				}
				if f.RoomsFault != nil {
					fmt.Fprintf(&b, "    rooms: {%s}\n", effect(t, *f.RoomsFault, d.Repeat))
				}
			case "room":
				fmt.Fprintf(&b, "    room: %s\n    %s\n", f.Room, strings.ReplaceAll(effect(t, f.RoomFault, d.Repeat), ", ", "\n    "))
			case "path":
				fmt.Fprintf(&b, "    path: %s\n", f.Path)
				if f.Delay > 0 {
					fmt.Fprintf(&b, "    rtt: %s\n", f.Delay)
				}
				if f.Cut {
					b.WriteString("    cut: true\n")
				}
			}
		}
	}
	type want struct {
		e               drill.Expect
		first, last     int
		relapses        int
		openBy, resolve time.Duration
	}
	var order []string
	wants := map[string]*want{}
	for i, d := range s.Drills {
		for _, e := range d.Expect {
			w := wants[e.Key()]
			if w == nil {
				w = &want{e: e, first: i}
				wants[e.Key()] = w
				order = append(order, e.Key())
			} else if e.Relapse {
				w.relapses++
			} else {
				t.Fatalf("drill %d expects a new %s incident after an earlier one: not a relapse", i, e.Key())
			}
			w.last = i
			w.resolve = e.ResolveWithin
			if i == w.first {
				w.openBy = e.OpenWithin
			}
		}
	}
	b.WriteString("expect:\n")
	for _, k := range order {
		w := wants[k]
		first, last := spans[w.first], spans[w.last]
		fmt.Fprintf(&b, "  - cause: %s\n    subject: %s\n    opened: [%s, %s]\n    decided: [%s, %s]\n    reopens: %d\n",
			w.e.Cause, w.e.Subject, first.Start, first.Start+w.openBy, last.End, last.End+w.resolve, w.relapses)
		if len(w.e.Place) > 0 {
			fmt.Fprintf(&b, "    sub_centers: [%s]\n", strings.Join(w.e.Place, ", "))
		}
		if len(w.e.Rooms) > 0 {
			fmt.Fprintf(&b, "    rooms: [%s]\n", strings.Join(w.e.Rooms, ", "))
		}
	}
	return b.String()
}

// effect writes a hall fault as a scenario effect, inline.
func effect(t *testing.T, f hall.Fault, repeat time.Duration) string {
	t.Helper()
	var parts []string
	if f.LatencyMS > 0 {
		parts = append(parts, fmt.Sprintf("rtt: %gms", f.LatencyMS))
	}
	if f.Drop {
		parts = append(parts, "drop: true")
		if repeat > 0 {
			parts = append(parts, "drop_every: "+repeat.String())
		}
	}
	if f.Refuse {
		parts = append(parts, "cut: true")
	}
	if len(parts) == 0 {
		t.Fatalf("a drill fault the scenario cannot model: %+v", f)
	}
	return strings.Join(parts, ", ")
}
