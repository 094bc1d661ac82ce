package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// process is a bidwatch command running in a process of its own.
type process struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
}

// startProcess runs bidwatch (this test binary, as TestMain lets it) with
// args; it is stopped with SIGTERM when the test ends.
func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), "BIDWATCH_TEST_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s said:\n%s", p.name, tail(p.out.String(), 40))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// admin calls the hall's admin API.
func admin(t *testing.T, method, url, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}

// TestSeparateProcesses runs bidwatch as it runs for real, each part its own
// process on the demo city with its default timings: a redis-server, the
// synthetic hall serving a network path per location, a probe agent at yz
// and one at gy each reaching the hall over its own path, and a watchdog.
// gy's line is congested for 2m30s; 30 s in, media server jd-media-1
// saturates and its rooms lag from everywhere for a minute. The export must
// hold exactly two fault records, each with its own cause, rooms and place,
// neither merged into the other; each decided resolved within clear_after +
// 15 s of its own fault's end, its resolved_at within 2 s of when its
// symptoms ended (for the server, its first healthy reading).
func TestSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("takes four minutes of real time")
	}
	t.Parallel()
	rs := bustest.StartRedis(t)
	redisURL := "redis://" + rs.Addr()
	hallAddr, yzPath, gyPath := freeAddr(t), freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cityFile := filepath.Join(dir, "city.yaml")
	text := strings.ReplaceAll(string(config.DemoYAML()), "127.0.0.1:7400", hallAddr)
	if err := os.WriteFile(cityFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	city, err := config.Load(cityFile)
	if err != nil {
		t.Fatal(err)
	}
	var sched strings.Builder
	sched.WriteString("sessions:\n")
	for _, r := range city.Rooms {
		fmt.Fprintf(&sched, "  - {id: e2e-%s, room: %s, title: 端到端, opens_at: %q, expected_duration: 1h}\n", r.ID, r.ID, time.Now().Format(time.RFC3339))
	}
	schedFile := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(schedFile, []byte(sched.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	startProcess(t, "hall", "hall", "--config", cityFile, "--listen", hallAddr, "--no-media", "--path", "yz="+yzPath, "--path", "gy="+gyPath)
	base := "http://" + hallAddr
	waitUntil(t, 15*time.Second, "the hall and its paths", func() bool {
		for _, a := range []string{hallAddr, yzPath, gyPath} {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
	startProcess(t, "watchdog", "watchdog", "--config", cityFile, "--redis", redisURL, "--listen", "", "--id", "wd-e2e")
	for _, p := range []struct{ loc, via string }{{"yz", yzPath}, {"gy", gyPath}} {
		startProcess(t, "probe "+p.loc, "probe", "--config", cityFile, "--location", p.loc, "--via", p.via,
			"--redis", redisURL, "--schedule", schedFile, "--metrics", "", "--spool", filepath.Join(dir, "spool-"+p.loc),
			"--participants", "ws=2")
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	store := incident.NewRedisStore(rdb, "bidwatch:", city.Watchdog.Incidents)
	ctx := context.Background()
	all := func() []incident.Incident {
		incs, err := store.List(ctx, incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return incs
	}
	// The agents join, the windows fill: nothing is wrong yet.
	time.Sleep(20 * time.Second)
	if got := all(); len(got) != 0 {
		t.Fatalf("incidents before any fault: %s", brief(got))
	}

	admin(t, "POST", base+"/admin/paths/gy", `{"delay_ms":700}`)
	congested := time.Now()
	time.Sleep(30 * time.Second)
	admin(t, "POST", base+"/admin/servers/jd-media-1/health", `{"cpu_pct":97}`)
	for _, r := range []string{"jd-hall-1", "jd-coord-1"} {
		admin(t, "POST", base+"/admin/rooms/"+r+"/fault", `{"latency_ms":600}`)
	}
	time.Sleep(time.Minute)
	admin(t, "DELETE", base+"/admin/servers/jd-media-1/health", "")
	for _, r := range []string{"jd-hall-1", "jd-coord-1"} {
		admin(t, "DELETE", base+"/admin/rooms/"+r+"/fault", "")
	}
	serverOver := time.Now()
	// The first healthy reading the watchdog takes of the server ends its
	// symptoms: the watchdog keeps each check's latest reading in Redis.
	var healthy time.Time
	waitUntil(t, 20*time.Second, "a healthy reading of jd-media-1", func() bool {
		data, err := rdb.HGet(ctx, "bidwatch:health", "jd-media-1/prometheus[1]").Result()
		if err != nil {
			return false
		}
		var r struct {
			At     time.Time          `json:"at"`
			Values map[string]float64 `json:"values"`
		}
		if json.Unmarshal([]byte(data), &r) == nil && r.At.After(serverOver) && r.Values["cpu_pct"] < 90 {
			healthy = r.At
			return true
		}
		return false
	})
	time.Sleep(time.Until(congested.Add(150 * time.Second)))
	admin(t, "DELETE", base+"/admin/paths/gy", "")
	pathOver := time.Now()

	clearAfter := city.Watchdog.Detect.Latency.ClearAfter
	waitUntil(t, clearAfter+30*time.Second, "both incidents resolved", func() bool {
		got := all()
		return len(got) >= 2 && !slices.ContainsFunc(got, func(i incident.Incident) bool { return i.State.Active() })
	})
	// What the center would export.
	code, out, errOut := execute(t, "incidents", "export", "--format", "json", "--redis", redisURL, "-o", "-")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	var recs []incident.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if len(recs) != 2 {
		t.Fatalf("want exactly two fault records, got %d: %s", len(recs), out)
	}
	decided := func(inc incident.Incident) time.Time {
		for _, e := range slices.Backward(inc.Timeline) {
			if e.Kind == "resolved" {
				return e.At
			}
		}
		return time.Time{}
	}
	for _, r := range recs {
		inc := r.Incident
		var over, symptomsEnd time.Time
		switch inc.Key {
		case "network:gy":
			over, symptomsEnd = pathOver, pathOver
			if strings.Join(inc.Place.SubCenters, ",") != "gy" {
				t.Errorf("%s: place %v, want gy alone", inc.ID, inc.Place.SubCenters)
			}
		case "server:jd-media-1":
			over, symptomsEnd = serverOver, healthy
			if strings.Join(inc.Place.Rooms, ",") != "jd-coord-1,jd-hall-1" || strings.Join(inc.Place.SubCenters, ",") != "jd" {
				t.Errorf("%s: place %+v", inc.ID, inc.Place)
			}
		default:
			t.Errorf("unexpected record %s %s: %s", inc.ID, inc.Key, inc.CauseText)
			continue
		}
		if inc.State != incident.StateResolved || inc.MergedInto != "" || len(inc.MergedFrom) != 0 {
			t.Errorf("%s %s: state %s, merged into %q, from %v", inc.ID, inc.Key, inc.State, inc.MergedInto, inc.MergedFrom)
		}
		if d := decided(inc).Sub(over); d > clearAfter+15*time.Second || d < 0 {
			t.Errorf("%s %s: decided resolved %s after its fault ended (want within clear_after + 15 s)", inc.ID, inc.Key, d.Round(time.Millisecond))
		}
		if d := inc.ResolvedAt.Sub(symptomsEnd); d > 2*time.Second || d < -2*time.Second {
			t.Errorf("%s %s: resolved_at %s, symptoms ended %s (%s apart; want within 2 s)", inc.ID, inc.Key,
				inc.ResolvedAt.Format(time.RFC3339Nano), symptomsEnd.Format(time.RFC3339Nano), d.Round(time.Millisecond))
		}
		t.Logf("%s %s: opened %s after the fault began; decided resolved %s after it ended; resolved_at − symptoms' end %s",
			inc.ID, inc.Key, inc.OpenedAt.Sub(map[string]time.Time{"network:gy": congested, "server:jd-media-1": congested.Add(30 * time.Second)}[inc.Key]).Round(time.Millisecond),
			decided(inc).Sub(over).Round(time.Millisecond), inc.ResolvedAt.Sub(symptomsEnd).Round(time.Millisecond))
	}
}

func brief(incs []incident.Incident) string {
	var b bytes.Buffer
	for _, i := range incs {
		fmt.Fprintf(&b, "\n  %s %s %s %v", i.ID, i.State, i.Key, i.Place.Rooms)
	}
	return b.String()
}

// waitUntil polls cond every 200 ms until it holds, or fails the test
// after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
