package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

// crashHelperEnv carries the child agent's settings (JSON) from
// TestAgentKilledDuringOutage to TestCrashHelperAgent.
const crashHelperEnv = "BIDWATCH_PROBE_CRASH_HELPER"

type crashHelperConfig struct {
	URL, Prefix, Spool, Schedule string
}

// TestCrashHelperAgent is the agent process TestAgentKilledDuringOutage
// kills: it runs an agent with fake participants until it is killed,
// printing "METRICS addr" once and "EMIT participant seq" for every Sample
// handed to the agent (stdout is unbuffered: a line printed is a Sample
// the agent has). Run alone, it skips.
func TestCrashHelperAgent(t *testing.T) {
	raw := os.Getenv(crashHelperEnv)
	if raw == "" {
		t.Skip("the agent process of TestAgentKilledDuringOutage")
	}
	var cfg crashHelperConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := bus.Open(context.Background(), bus.Options{URL: cfg.URL, Prefix: cfg.Prefix, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := newRecorder()
	var out sync.Mutex
	rec.onEmit = func(name string, seq uint64) {
		out.Lock()
		fmt.Fprintf(os.Stdout, "EMIT %s %d\n", name, seq)
		out.Unlock()
	}
	opts := fakeOptions(t, b, rec, 100*time.Millisecond)
	opts.Logger = logger
	opts.ScheduleFile, opts.SpoolDir, opts.MetricsListen = cfg.Schedule, cfg.Spool, "127.0.0.1:0"
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "METRICS %s\n", a.MetricsAddr())
	_ = a.Run(context.Background()) // until killed
}

// agentProcess is a TestCrashHelperAgent child.
type agentProcess struct {
	cmd     *exec.Cmd
	metrics chan string
	done    chan struct{}

	mu      sync.Mutex
	emitted map[string]uint64
	at      map[string][]time.Time // when each seq was handed over, by participant
	stderr  bytes.Buffer
}

func startAgentProcess(t *testing.T, cfg crashHelperConfig) *agentProcess {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperAgent$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+string(raw))
	p := &agentProcess{cmd: cmd, metrics: make(chan string, 1), done: make(chan struct{}),
		emitted: map[string]uint64{}, at: map[string][]time.Time{}}
	cmd.Stderr = &syncWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "METRICS":
				p.metrics <- f[1]
			case len(f) == 3 && f[0] == "EMIT":
				seq, _ := strconv.ParseUint(f[2], 10, 64)
				p.mu.Lock()
				p.emitted[f[1]] = seq
				p.at[f[1]] = append(p.at[f[1]], time.Now())
				p.mu.Unlock()
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { p.kill(t) })
	return p
}

func (p *agentProcess) metricsAddr(t *testing.T) string {
	t.Helper()
	select {
	case a := <-p.metrics:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("agent process did not start within 30 s")
		return ""
	}
}

// kill SIGKILLs the process and waits for it.
func (p *agentProcess) kill(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Error("agent process did not exit after SIGKILL")
	}
}

func (p *agentProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// TestAgentKilledDuringOutage: the agent SIGKILLed 1 s, 3 s and 8 s into a
// Redis outage (a power cut at a sub-center, an OOM kill), then Redis and
// the agent restarted: every Sample handed to the agent before the kill is
// in the stream, in order, once; the restarted agent says how many it
// replayed.
func TestAgentKilledDuringOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs agent processes")
	}
	for _, after := range []time.Duration{time.Second, 3 * time.Second, 8 * time.Second} {
		t.Run(after.String(), func(t *testing.T) {
			srv := bustest.StartRedis(t, bustest.WithAOF())
			cfg := crashHelperConfig{URL: srv.URL() + "?dial_timeout=300ms&read_timeout=1s&write_timeout=1s", Prefix: "t-kill:",
				Spool: t.TempDir(), Schedule: schedulePath(t)}
			writeSchedule(t, cfg.Schedule, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now(), dur: time.Hour})
			b := openBus(t, srv.URL(), cfg.Prefix)

			first := startAgentProcess(t, cfg)
			first.metricsAddr(t)
			waitFor(t, 30*time.Second, "samples in the stream", func() bool { return len(streamSamples(t, b)) >= 10 })
			srv.Stop()
			time.Sleep(after)
			killed := time.Now()
			first.kill(t)

			srv.Restart()
			second := startAgentProcess(t, cfg)
			addr := second.metricsAddr(t)
			var records float64
			waitFor(t, 30*time.Second, "the restarted agent to replay the spool", func() bool {
				records = scrape(t, addr, "bidwatch_probe_spool_replay_records")
				return records > 0 && scrape(t, addr, "bidwatch_probe_spool_replayed_total") == records
			})
			if !strings.Contains(second.log(), "replaying them first") || !strings.Contains(second.log(), "the earlier run's samples are replayed") {
				t.Errorf("the restarted agent's log does not say what it replayed:\n%s", second.log())
			}
			second.kill(t)

			// The first run's participants: seq 1..n once each, in order,
			// n covering every Sample handed over more than 50 ms before
			// the kill (one handed over in the last instant may not have
			// reached the spool's write yet).
			first.mu.Lock()
			defer first.mu.Unlock()
			got := map[string][]uint64{}
			for _, s := range streamSamples(t, b) {
				if _, ok := first.emitted[s.Participant]; ok {
					got[s.Participant] = append(got[s.Participant], s.Seq)
				}
			}
			for name, n := range first.emitted {
				seqs := got[name]
				for i, s := range seqs {
					if s != uint64(i+1) {
						t.Fatalf("participant %s: seq %d at position %d (gap, duplicate or disorder)", name, s, i+1)
					}
				}
				must := uint64(0)
				for i, at := range first.at[name] {
					if killed.Sub(at) > 50*time.Millisecond {
						must = uint64(i + 1)
					}
				}
				if uint64(len(seqs)) < must || uint64(len(seqs)) > n {
					t.Errorf("participant %s: %d samples in the stream; %d handed over before the kill (%d of them well before)", name, len(seqs), n, must)
				}
			}
			t.Logf("killed %v into the outage: %v replayed; %d participants complete", after, records, len(first.emitted))
		})
	}
}

// TestAgentReplaysAroundCorruption: a spool left with a damaged record (a
// valid-looking line whose seq was changed) is replayed by the next agent:
// every intact record reaches the stream, the damaged one is reported as
// corruption, and no real Sample is dropped as a duplicate behind it.
func TestAgentReplaysAroundCorruption(t *testing.T) {
	srv := bustest.StartRedis(t)
	b := openBus(t, srv.URL(), "t-corrupt:")
	dir := t.TempDir()
	s := openSpool(t, SpoolOptions{Dir: dir})
	for seq := uint64(1); seq <= 30; seq++ {
		s.Append(entry(t, "old", seq))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	name := segFiles(t, dir)[0]
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// seq 10 becomes 25: published, it would make 11..25 duplicates.
	bad := bytes.Replace(data, []byte(`"seq":10,`), []byte(`"seq":25,`), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("seq 10 not found in the segment")
	}
	if err := os.WriteFile(name, bad, 0o640); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder()
	opts := fakeOptions(t, b, rec, time.Hour)
	opts.SpoolDir, opts.MetricsListen = dir, "127.0.0.1:0"
	a, stop := startAgent(t, opts)
	waitFor(t, 10*time.Second, "the replay", func() bool {
		return scrape(t, a.MetricsAddr(), "bidwatch_probe_spool_replayed_total") == 29
	})
	if c := scrape(t, a.MetricsAddr(), "bidwatch_probe_spool_corrupt_total"); c != 1 {
		t.Errorf("spool_corrupt_total = %v, want 1", c)
	}
	if d := scrape(t, a.MetricsAddr(), "bidwatch_probe_spool_dropped_total"); d != 0 {
		t.Errorf("spool_dropped_total = %v: corruption is not a lost measurement", d)
	}
	stop()
	var seqs []uint64
	for _, s := range streamSamples(t, b) {
		seqs = append(seqs, s.Seq)
	}
	want := []uint64{}
	for seq := uint64(1); seq <= 30; seq++ {
		if seq != 10 {
			want = append(want, seq)
		}
	}
	if fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Errorf("stream seqs %v\nwant %v", seqs, want)
	}
}
