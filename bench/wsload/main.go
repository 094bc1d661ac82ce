// Command wsload measures what many concurrent WebSocket participants cost:
// it starts `bidwatch hall` as a child process, joins N participants from
// this process (1 event/s and 1 ping/s each), and reports the CPU and
// resident memory of both processes and the RTT the participants measured.
//
//	go run ./bench/wsload -bidwatch bin/bidwatch -n 1000,5000,10000
//
// Everything stays on loopback. Each step is bounded in time.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/ws"
)

func main() {
	bin := flag.String("bidwatch", "bin/bidwatch", "the bidwatch binary whose `hall` is measured")
	counts := flag.String("n", "1,1000,5000,10000", "participant counts, comma-separated (1 gives the unloaded RTT)")
	measure := flag.Duration("measure", 20*time.Second, "steady-state measuring time per step")
	rate := flag.Int("ramp", 2000, "new connections per second while ramping up")
	cpuprofile := flag.String("cpuprofile", "", "write the participants' CPU profile of the last step here")
	flag.Parse()
	profile = *cpuprofile

	var ns []int
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-n: bad count %q", s)
		}
		ns = append(ns, n)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	fmt.Printf("# wsload: %d cores, GOMAXPROCS %d, open files limit %d, %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), lim.Cur, runtime.Version())
	fmt.Println("| participants | hall CPU (cores) | hall RSS (MiB) | probe CPU (cores) | probe RSS (MiB) | both CPU | both RSS (MiB) | RTT p50 (ms) | RTT p95 (ms) | lag p50 (ms) | connected | dropouts |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range ns {
		r, err := step(*bin, n, *measure, *rate)
		if err != nil {
			log.Fatalf("%d participants: %v", n, err)
		}
		fmt.Printf("| %d | %.3f | %.0f | %.3f | %.0f | %.3f | %.0f | %.3f | %.3f | %.3f | %d | %d |\n",
			n, r.hallCPU, r.hallRSS, r.probeCPU, r.probeRSS, r.hallCPU+r.probeCPU, r.hallRSS+r.probeRSS,
			r.rttP50, r.rttP95, r.lagP50, r.connected, r.dropouts)
	}
}

// profile is where -cpuprofile writes.
var profile string

type result struct {
	hallCPU, hallRSS, probeCPU, probeRSS float64
	rttP50, rttP95, lagP50               float64
	connected, dropouts                  int
}

func step(bin string, n int, measure time.Duration, rate int) (result, error) {
	var r result
	addr, err := freeAddr()
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), measure+time.Duration(n/rate+30)*time.Second)
	defer cancel()
	hall := exec.CommandContext(ctx, bin, "hall", "--listen", addr, "--log-level", "warn")
	hall.Stderr = os.Stderr
	stdout, _ := hall.StdoutPipe()
	if err := hall.Start(); err != nil {
		return r, fmt.Errorf("start hall: %w", err)
	}
	defer func() {
		hall.Process.Signal(syscall.SIGTERM)
		hall.Wait()
	}()
	go func() { // drain its banner
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	if err := waitListening(addr, 10*time.Second); err != nil {
		return r, err
	}

	samples := make(chan sample.Sample, 4*n+1024)
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	var wg sync.WaitGroup
	var dialErrs atomic.Int64
	interval := time.Second / time.Duration(rate)
	for i := range n {
		p, err := ws.New(ws.Config{
			URL:         fmt.Sprintf("ws://%s/rooms/room-%d/events", addr, i%4+1),
			Room:        fmt.Sprintf("room-%d", i%4+1),
			Participant: fmt.Sprintf("load-%d", i),
			OnEvent: func(e synthetic.Event) {
				if e.Kind == synthetic.EventConnectFail {
					dialErrs.Add(1)
				}
			},
		})
		if err != nil {
			return r, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(pctx, samples)
		}()
		time.Sleep(interval)
	}
	// Let every participant connect and settle, then measure.
	time.Sleep(3 * time.Second)
	for len(samples) > 0 {
		<-samples
	}
	hall0, err := procCPU(hall.Process.Pid)
	if err != nil {
		return r, err
	}
	self0 := selfCPU()
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return r, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return r, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var rtt, lag []float64
	connected := map[string]bool{}
	timer := time.After(measure)
collect:
	for {
		select {
		case s := <-samples:
			if s.RTTCount > 0 {
				rtt = append(rtt, s.RTTMedianMS)
			}
			if s.LagCount > 0 {
				lag = append(lag, s.LagMedianMS)
			}
			if s.Connected {
				connected[s.Participant] = true
			}
			r.dropouts += s.Dropouts
		case <-timer:
			break collect
		}
	}
	wall := time.Since(start).Seconds()
	hall1, err := procCPU(hall.Process.Pid)
	if err != nil {
		return r, err
	}
	r.hallCPU = (hall1 - hall0) / wall
	r.probeCPU = (selfCPU() - self0) / wall
	r.hallRSS = procRSS(hall.Process.Pid)
	r.probeRSS = procRSS(os.Getpid())
	r.connected = len(connected)
	slices.Sort(rtt)
	slices.Sort(lag)
	r.rttP50, r.rttP95, r.lagP50 = pct(rtt, 50), pct(rtt, 95), pct(lag, 50)

	pcancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	go func() {
		for {
			select {
			case <-samples:
			case <-done:
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return r, fmt.Errorf("participants did not stop within 30 s")
	}
	if e := dialErrs.Load(); e > 0 {
		fmt.Fprintf(os.Stderr, "# %d participants: %d failed connection attempts\n", n, e)
	}
	return r, nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p/100)]
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("hall not listening on %s within %v", addr, within)
}

// procCPU is a process's user+system CPU seconds from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// procRSS is a process's resident set in MiB from /proc/PID/status.
func procRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
