package watchdog

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// These tests run the whole pipeline over loopback: the synthetic hall,
// real WebSocket participants publishing their Samples to a private
// redis-server, and the watchdog reading them with health checks against
// the hall's simulated servers.

var yzRooms = []string{"yz-coord-1", "yz-hall-1", "yz-hall-2"}

// settle lets the participants join and the windows fill before a fault.
func settle(t *testing.T, w *running, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if got := incidents(t, w.Watchdog); len(got) != 0 {
		t.Fatalf("incidents before any fault:\n%s", describe(got))
	}
}

// TestE2ESaturatedMediaServer: the media server's CPU goes high and its
// three rooms lag, seen from two locations → exactly one incident, cause
// the server, the three rooms listed, class partial (cause server). CPU's
// `for` is its default 30 s, longer than the test: a server merely suspect
// takes the blame for its rooms.
func TestE2ESaturatedMediaServer(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	for i := range city.Watchdog.Detect.Saturation {
		if city.Watchdog.Detect.Saturation[i].Reading == "cpu_pct" {
			city.Watchdog.Detect.Saturation[i].For = 30 * time.Second
		}
	}
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	rooms := append(slices.Clone(yzRooms), "jd-hall-1")
	startProbe(t, b, city, "yz-probe", "yz", "", rooms, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", rooms, 2)
	settle(t, w, 3*time.Second)

	cpu := 97.0
	if err := h.Server("yz-media-1").SetHealth(hall.Health{CPUPct: &cpu}); err != nil {
		t.Fatal(err)
	}
	for _, r := range yzRooms {
		if err := h.Room(r).SetFault(hall.Fault{LatencyMS: 400}); err != nil {
			t.Fatal(err)
		}
	}
	fault := time.Now()
	waitFor(t, 10*time.Second, "an incident", func() bool { return len(incidents(t, w.Watchdog)) > 0 })
	t.Logf("fault → incident in %s", time.Since(fault).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // every room lagging by now; nothing else opens
	got := incidents(t, w.Watchdog)
	if len(got) != 1 {
		t.Fatalf("want exactly one incident, got:\n%s", describe(got))
	}
	inc := got[0]
	if inc.Cause != "server" || inc.Subject != "yz-media-1" || strings.Join(inc.Place.Rooms, ",") != strings.Join(yzRooms, ",") {
		t.Fatalf("incident: %s", describe(got))
	}
	if inc.Class != vocab.ClassPartial || !inc.Deadline.Equal(inc.OpenedAt.Add(2*time.Hour)) {
		t.Errorf("class %s deadline %s", inc.Class, inc.Deadline)
	}
	if inc.Phenomenon.RTTP95MS < 300 || !strings.Contains(inc.CauseText, "cpu_pct 97.0 above 90") || !slices.Contains(inc.Place.SubCenters, "yz") {
		t.Errorf("record: p95 %g cause %q place %+v", inc.Phenomenon.RTTP95MS, inc.CauseText, inc.Place)
	}

	h.Server("yz-media-1").ClearHealth()
	for _, r := range yzRooms {
		h.Room(r).ClearFault()
	}
	waitFor(t, 20*time.Second, "the incident resolved", func() bool {
		return incidents(t, w.Watchdog)[0].State == incident.StateResolved
	})
	if got := incidents(t, w.Watchdog); len(got) != 1 {
		t.Fatalf("after recovery:\n%s", describe(got))
	}
}

// TestE2ENetworkPathToLocation: the path from location jd to the hall is
// cut (both jd probes lose every room), while yz sees the rooms fine → one
// incident, cause network path to jd, both rooms in it.
func TestE2ENetworkPathToLocation(t *testing.T) {
	t.Parallel()
	city, _ := e2eCity(t)
	hallAddr := strings.TrimPrefix(strings.Split(city.Rooms[0].EventsURL, "/rooms/")[0], "ws://")
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	jdPath := startPath(t, hallAddr)
	rooms := []string{"gy-hall-1", "by-hall-1"}
	startProbe(t, b, city, "jd-probe-1", "jd", jdPath.Addr(), rooms, 1)
	startProbe(t, b, city, "jd-probe-2", "jd", jdPath.Addr(), rooms, 1)
	startProbe(t, b, city, "yz-probe", "yz", "", rooms, 1)
	settle(t, w, 3*time.Second)

	jdPath.SetCut(true)
	fault := time.Now()
	waitFor(t, 10*time.Second, "an incident", func() bool { return len(incidents(t, w.Watchdog)) > 0 })
	t.Logf("cut → incident in %s", time.Since(fault).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	got := incidents(t, w.Watchdog)
	if len(got) != 1 || got[0].Cause != "network" || got[0].Subject != "jd" || strings.Join(got[0].Place.Rooms, ",") != "by-hall-1,gy-hall-1" {
		t.Fatalf("want one incident, network path to jd, both rooms:\n%s", describe(got))
	}
	if !strings.Contains(got[0].CauseText, "network path to jd") {
		t.Errorf("cause text %q", got[0].CauseText)
	}
	jdPath.SetCut(false)
	waitFor(t, 20*time.Second, "the incident resolved", func() bool {
		return incidents(t, w.Watchdog)[0].State == incident.StateResolved
	})
}

// TestE2EProbeLocal: one probe's own path fails while its neighbour at the
// same location, and the other location, see the room fine → no incident,
// recorded as probe health.
func TestE2EProbeLocal(t *testing.T) {
	t.Parallel()
	city, _ := e2eCity(t)
	hallAddr := strings.TrimPrefix(strings.Split(city.Rooms[0].EventsURL, "/rooms/")[0], "ws://")
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	own := startPath(t, hallAddr)
	rooms := []string{"yzg-hall-1"}
	startProbe(t, b, city, "yzg-probe-1", "yzg", own.Addr(), rooms, 2)
	startProbe(t, b, city, "yzg-probe-2", "yzg", "", rooms, 2)
	startProbe(t, b, city, "yz-probe", "yz", "", rooms, 2)
	settle(t, w, 3*time.Second)

	own.SetCut(true)
	ctx := context.Background()
	var entry probeHealthEntry
	waitFor(t, 10*time.Second, "probe health recorded", func() bool {
		data, err := b.Client().HGet(ctx, b.Key(KeyProbeHealth), "yzg-probe-1").Result()
		return err == nil && json.Unmarshal([]byte(data), &entry) == nil
	})
	if entry.State != "local_fault" || !slices.Contains(entry.Rooms, "yzg-hall-1") {
		t.Errorf("probe health %+v", entry)
	}
	time.Sleep(2 * time.Second)
	if got := incidents(t, w.Watchdog); len(got) != 0 {
		t.Fatalf("a probe-local fault made incidents:\n%s", describe(got))
	}
	own.SetCut(false)
	waitFor(t, 10*time.Second, "probe health cleared", func() bool {
		n, _ := b.Client().HLen(ctx, b.Key(KeyProbeHealth)).Result()
		return n == 0
	})
}

// TestE2EDropoutFlaps: the hall drops every connection of a room: the
// incident opens within 3 s; ten drops in ten seconds (well within
// clear_after of each other) make that one incident, not ten; once the room
// is left alone it resolves after clear_after.
func TestE2EDropoutFlaps(t *testing.T) {
	t.Parallel()
	city, h := e2eCity(t)
	city.Watchdog.Detect.Dropout.ClearAfter = 3 * time.Second
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	events := w.Events(t.Context())
	startProbe(t, b, city, "yz-probe", "yz", "", []string{"jd-hall-1"}, 2)
	startProbe(t, b, city, "jd-probe", "jd", "", []string{"jd-hall-1"}, 2)
	settle(t, w, 3*time.Second)

	room := h.Room("jd-hall-1")
	if err := room.SetFault(hall.Fault{Drop: true}); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	waitFor(t, 3*time.Second, "the incident within 3 s of the dropout", func() bool { return len(incidents(t, w.Watchdog)) > 0 })
	t.Logf("dropout → incident in %s", time.Since(fault).Round(time.Millisecond))
	for range 9 {
		time.Sleep(time.Second)
		if err := room.SetFault(hall.Fault{Drop: true}); err != nil {
			t.Fatal(err)
		}
	}
	lastDrop := time.Now()
	got := incidents(t, w.Watchdog)
	if len(got) != 1 || got[0].State != incident.StateOpen || got[0].Cause != "room" || got[0].Subject != "jd-hall-1" {
		t.Fatalf("after ten flaps, want one open incident:\n%s", describe(got))
	}
	waitFor(t, 15*time.Second, "the incident resolved", func() bool {
		return incidents(t, w.Watchdog)[0].State == incident.StateResolved
	})
	took := time.Since(lastDrop)
	t.Logf("last dropout → resolved in %s (clear_after 3 s + settle 1 s)", took.Round(time.Millisecond))
	if took < 3*time.Second {
		t.Errorf("resolved %s after the last dropout, before clear_after", took)
	}
	inc := incidents(t, w.Watchdog)[0]
	if len(incidents(t, w.Watchdog)) != 1 || inc.Reopens != 0 || inc.Phenomenon.ParticipantsDown < 1 {
		t.Fatalf("after recovery: %s (reopens %d)", describe(incidents(t, w.Watchdog)), inc.Reopens)
	}
	// The events a console would show: opened … resolved, one incident.
	var kinds []string
	timeout := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.Incident.ID != inc.ID {
				t.Errorf("event for another incident: %+v", ev)
			}
			kinds = append(kinds, ev.Kind)
			done = ev.Kind == "resolved"
		case <-timeout:
			done = true
		}
	}
	if len(kinds) < 2 || kinds[0] != "opened" || kinds[len(kinds)-1] != "resolved" {
		t.Errorf("events %v", kinds)
	}
}
