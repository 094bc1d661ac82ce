package drill

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
		{"invalid-docs-example.yaml", []string{
			`drills[0].faults[0].cpu (line 9): unknown key (a server fault takes server, cpu_pct, mem_pct, db_conns_pct, disk_pct, down or rooms_fault)`,
			`drills[1].hold (line 12): cannot parse "60" as a duration (like 90s or 1m30s)`,
			`drills[1].expect[0].relapse (line 17): no earlier drill expects network "gy": a relapse reopens an earlier drill's incident`,
		}},
		{"invalid-drill.yaml", []string{
			`drills[0].name (line 2): required: what goes wrong, in words for the people drilled`,
			`drills[0].hold (line 2): required: how long the faults hold, like 60s`,
			`drills[0].pause (line 3): must not be negative, got -1s`,
			`drills[0].faults (line 4): required: at least one fault (server, room or path)`,
			`drills[1].name (line 5): required: what goes wrong, in words for the people drilled`,
			`drills[1].hold (line 6): must be positive, got -10s`,
			`drills[1].repeat (line 7): must be at least 100ms, got 10ms`,
			`drills[1].after (line 8): must not be negative, got -5s`,
			`drills[2].repeat (line 14): must be shorter than hold (10s), got 10s`,
		}},
		{"invalid-duplicate-key.yaml", []string{
			`name (line 10): duplicate key (first at line 9)`,
			`drills[0].hold (line 4): duplicate key (first at line 3)`,
			`drills[0].faults[0].drop (line 8): duplicate key (first at line 7)`,
		}},
		{"invalid-empty.yaml", []string{
			`no drill script (the document is empty)`,
		}},
		{"invalid-expect.yaml", []string{
			`drills[0].expect[0].cause (line 9): required (want server, room, network or uplink)`,
			`drills[0].expect[1].cause (line 10): unknown cause "application" (want server, room, network or uplink)`,
			`drills[0].expect[2].subject (line 12): required: the server blamed`,
			`drills[0].expect[2].rooms[1] (line 13): empty id`,
			`drills[0].expect[2].rooms[2] (line 13): duplicate "yz-hall-1" (also rooms[0])`,
			`drills[0].expect[2].place[1] (line 14): duplicate "yz" (also place[0])`,
			`drills[0].expect[2].open_within (line 15): must not be negative, got -1s`,
			`drills[0].pause (line 4): 30s is shorter than expect[3].resolve_within (1m0s): leave the incident time to resolve before the next drill`,
			`drills[0].expect[4] (line 19): room "yz-hall-1" is expected twice (also expect[3])`,
			`drills[1].expect[0].resolve_within (line 27): required: the drill has no pause to default it to`,
			`drills[1].expect[0].relapse (line 29): no earlier drill expects network "gy": a relapse reopens an earlier drill's incident`,
			`drills[1].expect[1].resolve_within (line 30): required: the drill has no pause to default it to`,
		}},
		{"invalid-fault-kind.yaml", []string{
			`drills[0].faults[0] (line 5): want one of server, room or path: what the fault acts on`,
			`drills[0].faults[1] (line 6): server and room in one fault: want one of server, room or path (write a fault for each)`,
			`drills[0].faults[2] (line 9): want a mapping with one of server, room or path, got "gy"`,
			`drills[0].faults[3] (line 10): server, room and path in one fault: want one of server, room or path (write a fault for each)`,
		}},
		{"invalid-limits.yaml", []string{
			`start (line 1): must be at most 168h0m0s, got 200h0m0s`,
			`drills[0].hold (line 4): must be at most 168h0m0s, got 200h0m0s`,
			`drills[0].pause (line 5): must be at most 168h0m0s, got 169h0m0s`,
			`drills[0].after (line 6): must be at most 168h0m0s, got 1000h0m0s`,
			`drills[0].expect[0].open_within (line 13): must be at most 168h0m0s, got 169h0m0s`,
			`drills[0].expect[0].resolve_within (line 14): must be at most 168h0m0s, got 169h0m0s`,
			`drills (line 2): the faults are repeated 108000 times in all: at most 100000 (make repeat longer)`,
		}},
		{"invalid-no-drills.yaml", []string{
			`start (line 2): must not be negative, got -5s`,
			`drills (line 1): required: a list of drills`,
		}},
		{"invalid-root.yaml", []string{
			`line 1: want a mapping of name, start and drills, got a list`,
		}},
		{"invalid-syntax.yaml", []string{
			`line 1: invalid YAML: did not find expected '-' indicator`,
		}},
		{"invalid-two-docs.yaml", []string{
			`line 3: a second YAML document; want one`,
		}},
		{"invalid-type.yaml", []string{
			`start (line 1): cannot parse "soon" as a duration (like 90s or 1m30s)`,
			`drills[0].name (line 3): want a string, got a list`,
			`drills[0].hold (line 4): cannot parse "60" as a duration (like 90s or 1m30s)`,
			`drills[0].pause (line 5): cannot parse "1 minute" as a duration (like 90s or 1m30s)`,
			`drills[0].after (line 6): cannot parse "yes" as a duration (like 90s or 1m30s)`,
			`drills[0].faults[0].drop (line 9): want true or false, got "yes"`,
			`drills[0].faults[0].latency_ms (line 10): cannot parse "slow" as a number`,
			`drills[0].faults[0].stall_ms (line 11): cannot parse "1.5" as an integer`,
			`drills[0].faults[0].jitter_ms (line 12): want a finite number, got ".nan"`,
			`drills[0].faults[1].cpu_pct (line 14): want a number, got a mapping`,
			`drills[0].faults[1].rooms_fault (line 15): want a mapping of room fault fields, got a list`,
			`drills[0].faults[2].cut (line 17): want true or false, got "1"`,
			`drills[0].expect[0].rooms (line 21): want a list, got "yz-hall-1"`,
			`drills[0].expect[0].relapse (line 22): want true or false, got "maybe"`,
			`drills[1].faults (line 25): want a list, got a mapping`,
			`drills[1].expect (line 26): want a list, got "none"`,
		}},
		{"invalid-unknown-key.yaml", []string{
			`drils (line 2): unknown key (want name, start or drills)`,
			`drills[0].hold_for (line 5): unknown key (want name, hold, pause, repeat, after, faults or expect)`,
			`drills[0].faults[0].cpu (line 10): unknown key (a server fault takes server, cpu_pct, mem_pct, db_conns_pct, disk_pct, down or rooms_fault)`,
			`drills[0].faults[0].latency_ms (line 11): unknown key (a server fault takes server, cpu_pct, mem_pct, db_conns_pct, disk_pct, down or rooms_fault)`,
			`drills[0].faults[0].duration_ms (line 12): not used in a drill: the drill's hold says how long`,
			`drills[0].faults[0].rooms_fault.lat (line 13): unknown key (a room fault takes latency_ms, jitter_ms, loss_pct, stall_ms, drop, refuse, silent, freeze_ms, packet_loss_pct, no_retransmit, media_delay_ms, media_jitter_ms, bitrate_pct, kill_ice or refuse_sessions)`,
			`drills[0].faults[0].rooms_fault.duration_ms (line 13): not used in a drill: the drill's hold says how long`,
			`drills[0].faults[1].delay (line 15): unknown key (a room fault takes room, latency_ms, jitter_ms, loss_pct, stall_ms, drop, refuse, silent, freeze_ms, packet_loss_pct, no_retransmit, media_delay_ms, media_jitter_ms, bitrate_pct, kill_ice or refuse_sessions)`,
			`drills[0].faults[2].delay_ms (line 17): unknown key (a path fault takes path, delay or cut)`,
			`drills[0].expect[0].opens_within (line 21): unknown key (want cause, subject, rooms, place, open_within, resolve_within or relapse)`,
			`drills[0].faults[0].rooms_fault (line 13): sets nothing: give a room fault field (latency_ms, drop, …)`,
			`drills[0].faults[1] (line 14): sets nothing: give a room fault field (latency_ms, drop, …)`,
			`drills[0].faults[2] (line 16): sets nothing: give delay or cut: true`,
		}},
		{"invalid-values.yaml", []string{
			`drills[0].faults[0].cpu_pct (line 6): 120 out of range (want 0 to 100)`,
			`drills[0].faults[0].disk_pct (line 7): -1 out of range (want 0 to 100)`,
			`drills[0].faults[0].rooms_fault.latency_ms (line 8): 70000 out of range (want 0 to 60000)`,
			`drills[0].faults[0].rooms_fault.loss_pct (line 8): 101 out of range (want 0 to 100)`,
			`drills[0].faults[0].rooms_fault.packet_loss_pct (line 8): 150: must be within 0…100`,
			`drills[0].faults[0].rooms_fault.media_delay_ms (line 8): 70000: must be within 0…60000`,
			`drills[0].faults[1] (line 9): sets nothing: give a health field (cpu_pct, mem_pct, db_conns_pct, disk_pct, down) or rooms_fault`,
			`drills[0].faults[2].rooms_fault (line 11): sets nothing: give a room fault field (latency_ms, drop, …)`,
			`drills[0].faults[3] (line 12): sets nothing: give a room fault field (latency_ms, drop, …)`,
			`drills[0].faults[4].stall_ms (line 14): -1 out of range (want 0 to 3600000)`,
			`drills[0].faults[4].bitrate_pct (line 15): 2000: must be within 0…1000 (0 = unchanged)`,
			`drills[0].faults[5].delay (line 17): must be within 0s and 1m0s, got 2m0s`,
			`drills[0].faults[6].delay (line 19): must be within 0s and 1m0s, got -1s`,
			`drills[0].faults[7] (line 20): sets nothing: give delay or cut: true`,
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			s, err := Load(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatalf("Load succeeded, want %d problems", len(tt.want))
			}
			if s != nil {
				t.Errorf("Load returned a script with its error")
			}
			checkProblems(t, err, tt.want)
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

// TestCheckInvalid checks each testdata/check-*.yaml, a script fine on its
// own, against a hall it does not fit.
func TestCheckInvalid(t *testing.T) {
	top := Topology{
		Rooms:      []string{"yz-hall-1", "jd-hall-1", "jd-coord-1", "gy-hall-1"},
		Servers:    map[string][]string{"yz-web-1": {"yz-hall-1"}, "jd-media-1": {"jd-hall-1", "jd-coord-1"}, "gy-web-1": {"gy-hall-1"}},
		Paths:      []string{"yz", "gy"},
		SubCenters: []string{"yz", "jd", "gy"},
	}
	tests := []struct {
		file string
		want []string
	}{
		{"check-overlap.yaml", []string{
			`drills[1].faults[0] (line 15): room "jd-hall-1" is faulted by drills[0] too while both hold: overlapping drills must fault different things`,
			`drills[1].faults[1] (line 18): path "gy" is faulted by drills[0] too while both hold: overlapping drills must fault different things`,
			`drills[2].faults[1] (line 25): room "jd-coord-1" is faulted twice in this drill (also faults[0])`,
		}},
		{"check-unknown.yaml", []string{
			`drills[0].faults[0].server (line 6): unknown server "jd-media-9"`,
			`drills[0].faults[1].room (line 8): unknown room "jd-hall-9"`,
			`drills[0].faults[2].path (line 10): no network path from "by" (the hall has paths from yz, gy)`,
			`drills[0].expect[0].subject (line 14): unknown server "jd-media-9"`,
			`drills[0].expect[0].rooms[1] (line 15): unknown room "jd-hall-9"`,
			`drills[0].expect[0].place[1] (line 16): unknown sub-center "jiangdu"`,
			`drills[0].expect[1].subject (line 18): unknown room "jd-hall-9"`,
			`drills[0].expect[2].subject (line 20): unknown sub-center "gaoyou"`,
			`drills[0].expect[3].subject (line 22): unknown sub-center "jiangdu"`,
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			s, err := Load(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("Load: %v (the script is fine on its own)", err)
			}
			checkProblems(t, s.Check(top), tt.want)
		})
	}
	files, err := filepath.Glob("testdata/check-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no test case", f)
		}
	}

	// Without sub-centers, a network subject must be one of the paths and
	// places are not checked.
	s, err := Parse([]byte("drills:\n  - {name: x, hold: 1s, pause: 1s, faults: [{path: gy, cut: true}], expect: [{cause: network, subject: by, place: [nowhere]}, {cause: uplink, subject: nowhere}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	top.SubCenters = nil
	checkProblems(t, s.Check(top), []string{`drills[0].expect[0].subject (line 2): no network path from "by" (the hall has paths from yz, gy)`})
	top.Paths = nil
	checkProblems(t, s.Check(top), []string{
		`drills[0].faults[0].path (line 2): no network path from "gy" (the hall has none)`,
		`drills[0].expect[0].subject (line 2): no network path from "by" (the hall has none)`,
	})
}

// TestDocsExample keeps the error example in docs/hall-protocol.md true.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/hall-protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load("testdata/invalid-docs-example.yaml")
	if err == nil {
		t.Fatal("invalid-docs-example.yaml is valid")
	}
	want := "$ bidwatch hall --drill drills.yaml\nbidwatch: --drill drills.yaml:\n" + err.Error() + "\n```"
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/hall-protocol.md does not show what invalid-docs-example.yaml gives:\n%s", want)
	}
}

// checkProblems checks that err joins exactly the FieldErrors want, in order.
func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want:\n%s", strings.Join(want, "\n"))
	}
	if got, want := err.Error(), strings.Join(want, "\n"); got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T does not join errors", err)
	}
	if n := len(joined.Unwrap()); n != len(want) {
		t.Errorf("%d errors joined, want %d", n, len(want))
	}
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Errorf("joined error %T (%v) is not a *FieldError", e, e)
		}
	}
}
