package probe

import (
	"maps"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// haURLOptions make a client notice a dead or frozen node quickly.
const haURLOptions = "dial_timeout=300ms&read_timeout=1s&write_timeout=1s"

// haAgents runs two probe agents publishing through url, each with two
// fake participants in one room emitting every 50 ms.
type haAgents struct {
	recs  []*recorder
	stops []func()
	addrs []string
}

func startHAAgents(t *testing.T, url, prefix string) *haAgents {
	t.Helper()
	h := &haAgents{}
	path := schedulePath(t)
	writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now(), dur: time.Hour})
	for _, id := range []string{"probe-a", "probe-b"} {
		b := openBus(t, url, prefix)
		rec := newRecorder()
		opts := fakeOptions(t, b, rec, 50*time.Millisecond)
		opts.ID = id
		opts.ScheduleFile, opts.SpoolDir, opts.MetricsListen = path, t.TempDir(), "127.0.0.1:0"
		opts.FlushTimeout = 20 * time.Second
		a, stop := startAgent(t, opts)
		h.recs = append(h.recs, rec)
		h.stops = append(h.stops, stop)
		h.addrs = append(h.addrs, a.MetricsAddr())
	}
	return h
}

// sent is how many samples the agents added to the stream.
func (h *haAgents) sent(t *testing.T) float64 {
	n := 0.0
	for _, a := range h.addrs {
		n += scrape(t, a, "bidwatch_probe_samples_sent_total")
	}
	return n
}

// waitProgress waits until the agents have added n more samples.
func (h *haAgents) waitProgress(t *testing.T, n float64, within time.Duration) {
	t.Helper()
	from := h.sent(t)
	waitFor(t, within, "the agents to publish again", func() bool { return h.sent(t) >= from+n })
}

// stopAndCheck stops the agents (they drain their spools) and checks the
// stream url holds every participant's seq 1..emitted, once, in order.
func (h *haAgents) stopAndCheck(t *testing.T, url, prefix string) {
	t.Helper()
	for _, stop := range h.stops {
		stop()
	}
	emitted := map[string]uint64{}
	for _, rec := range h.recs {
		_, _, _, e := rec.participants()
		maps.Copy(emitted, e)
	}
	b := openBus(t, url, prefix)
	samples := streamSamples(t, b)
	checkComplete(t, samples, emitted)
	t.Logf("%d samples of %d participants, gap-free and duplicate-free", len(samples), len(emitted))
}

// TestFailoverPlanned: SENTINEL FAILOVER three times in a row while two
// agents publish. The old master takes writes until the clients switch and
// then throws them away; WAIT tells the agents those were never confirmed,
// so they stay in the spool and go to the new master.
func TestFailoverPlanned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master, a replica and three sentinels")
	}
	h := bustest.StartSentinel(t)
	url := h.URL() + "&" + haURLOptions
	agents := startHAAgents(t, url, "ha:")
	agents.waitProgress(t, 100, 10*time.Second)
	for i := range 3 {
		asked := time.Now()
		h.Failover()
		switched := time.Now()
		agents.waitProgress(t, 50, 30*time.Second)
		t.Logf("failover %d: switched %v after SENTINEL FAILOVER; 50 more samples acknowledged %v after the switch",
			i+1, switched.Sub(asked).Round(time.Millisecond), time.Since(switched).Round(time.Millisecond))
	}
	agents.stopAndCheck(t, url, "ha:")
}

// TestFailoverMasterKilled: the master SIGKILLed; the sentinels promote the
// replica, which has no replica of its own until the old node is back:
// nothing is confirmed meanwhile, and nothing is lost.
func TestFailoverMasterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master, a replica and three sentinels")
	}
	h := bustest.StartSentinel(t)
	url := h.URL() + "&" + haURLOptions
	agents := startHAAgents(t, url, "ha:")
	agents.waitProgress(t, 100, 10*time.Second)
	old := h.Master()
	old.Stop() // SIGKILL
	h.WaitSwitched(old)
	h.Restart(old)
	agents.waitProgress(t, 50, 30*time.Second)
	agents.stopAndCheck(t, url, "ha:")
}

// TestFailoverMasterFrozen: the master SIGSTOPped for 9 s. redis_up turns
// 0 within a second of the first publish that goes unanswered; the
// sentinels fail over; the thawed old master is demoted and its last
// writes thrown away; nothing is lost.
func TestFailoverMasterFrozen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master, a replica and three sentinels")
	}
	h := bustest.StartSentinel(t)
	url := h.URL() + "&" + haURLOptions
	agents := startHAAgents(t, url, "ha:")
	agents.waitProgress(t, 100, 10*time.Second)
	old := h.Master()
	if err := old.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	waitFor(t, 3*time.Second, "redis_up 0", func() bool { return scrape(t, agents.addrs[0], "bidwatch_probe_redis_up") == 0 })
	// Samples come every 50 ms, so the first publish to go unanswered
	// starts within 50 ms of the freeze.
	if d := time.Since(frozen); d > 1100*time.Millisecond {
		t.Errorf("redis_up turned 0 %v after the master froze, want within 1 s of the first unanswered publish", d)
	} else {
		t.Logf("redis_up 0 %v after the master froze", d.Round(time.Millisecond))
	}
	time.Sleep(9*time.Second - time.Since(frozen))
	if err := old.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	h.WaitSwitched(old)
	agents.waitProgress(t, 50, 30*time.Second)
	if up := scrape(t, agents.addrs[0], "bidwatch_probe_redis_up"); up != 1 {
		t.Errorf("redis_up = %v after the failover", up)
	}
	agents.stopAndCheck(t, url, "ha:")
}

// TestClusterSlotMigration: a 3-master Cluster, a hash-tagged prefix, and
// the prefix's slot migrated to another master while two agents publish.
func TestClusterSlotMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	c := bustest.StartCluster(t)
	const prefix = "{sz}:"
	url := c.URL() + "&" + haURLOptions
	agents := startHAAgents(t, url, prefix)
	agents.waitProgress(t, 100, 10*time.Second)
	key := prefix + bus.KeySamples
	from := c.Owner(key)
	to := (from + 1) % 3
	c.MigrateSlot(bustest.Slot(key), from, to, 20*time.Millisecond)
	if got := c.Owner(key); got != to {
		t.Fatalf("slot owner %d after migration, want %d", got, to)
	}
	agents.waitProgress(t, 100, 30*time.Second)
	agents.stopAndCheck(t, url, prefix)
}
