package watchdog

import (
	"context"
	"flag"
	"testing"
	"time"
)

var long = flag.Bool("watchdog.long", false, "run the long no-fault soak: 216 participants for 2 minutes")

// TestE2ENoFault: many participants, no fault → zero incidents, no probe
// problem, every Sample processed. The suite runs 50 participants for 20 s;
// -watchdog.long runs 216 (nine rooms, two probes, twelve each) for two
// minutes.
func TestE2ENoFault(t *testing.T) {
	t.Parallel()
	perRoom, rooms, d := 5, []string{"yz-hall-1", "yz-hall-2", "jd-hall-1", "gy-hall-1", "by-hall-1"}, 20*time.Second
	if *long {
		perRoom, d = 12, 2*time.Minute
		rooms = append(rooms, "yz-coord-1", "jd-coord-1", "yzg-hall-1", "gy-coord-1")
	}
	city, _ := e2eCity(t)
	b := openBus(t, redisURL(t))
	w := startWatchdog(t, Options{Config: city, Bus: b})
	p1 := startProbe(t, b, city, "yz-probe", "yz", "", rooms, perRoom)
	p2 := startProbe(t, b, city, "jd-probe", "jd", "", rooms, perRoom)
	t.Logf("%d participants for %s", 2*len(rooms)*perRoom, d)
	time.Sleep(d)
	p1.stop()
	p2.stop()
	sent := p1.sent.Load() + p2.sent.Load()
	waitFor(t, 10*time.Second, "every Sample processed", func() bool { return pending(t, b) == 0 && int64(aggregated(t, b)) == sent })
	if got := incidents(t, w.Watchdog); len(got) != 0 {
		t.Fatalf("incidents with no fault:\n%s", describe(got))
	}
	if n, _ := b.Client().HLen(context.Background(), b.Key(KeyProbeHealth)).Result(); n != 0 {
		t.Fatalf("%d probe problems with no fault", n)
	}
	t.Logf("%d Samples, zero incidents", sent)
}
