package ws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall"
	"github.com/bidwatch/bidwatch/synthetic/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startHall serves a synthetic hall on loopback with a fast event period.
func startHall(t testing.TB, period time.Duration) (*hall.Hall, string) {
	t.Helper()
	h, err := hall.New(hall.Options{Period: period})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// run is one participant running in the background, collecting its samples
// and events for the test to look at.
type run struct {
	t        testing.TB
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once

	mu      sync.Mutex
	samples []sample.Sample
	events  []synthetic.Event
	notify  chan struct{}
}

func startParticipant(t testing.TB, cfg ws.Config) *run {
	t.Helper()
	r := &run{t: t, done: make(chan error, 1), notify: make(chan struct{}, 1)}
	also := cfg.OnEvent
	cfg.OnEvent = func(e synthetic.Event) {
		if also != nil {
			also(e)
		}
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
	p, err := ws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan sample.Sample, 16)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for {
			select {
			case s := <-out:
				r.mu.Lock()
				r.samples = append(r.samples, s)
				r.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		err := p.Run(ctx, out)
		<-collected
		r.done <- err
	}()
	t.Cleanup(r.stop)
	return r
}

// stop cancels the participant and waits, bounded, for Run to return.
func (r *run) stop() {
	r.stopOnce.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				r.t.Errorf("Run returned %v", err)
			}
		case <-time.After(3 * time.Second):
			r.t.Fatal("participant did not stop within 3 s of cancel")
		}
	})
}

// waitEvent waits, bounded, for an event of kind at or after from.
func (r *run) waitEvent(kind synthetic.EventKind, from time.Time, within time.Duration) synthetic.Event {
	r.t.Helper()
	deadline := time.After(within)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e.Kind == kind && !e.At.Before(from) {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			r.t.Fatalf("no %s event within %v", kind, within)
		}
	}
}

func (r *run) countEvents(kind synthetic.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// waitSamples waits, bounded, until n samples have arrived and returns them.
func (r *run) waitSamples(n int, within time.Duration) []sample.Sample {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.samples) >= n {
			s := append([]sample.Sample(nil), r.samples...)
			r.mu.Unlock()
			return s
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("fewer than %d samples within %v", n, within)
	return nil
}

func (r *run) allSamples() []sample.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sample.Sample(nil), r.samples...)
}

func fastConfig(url string) ws.Config {
	return ws.Config{
		URL:          url,
		Room:         "room-1",
		Participant:  "p-test",
		PingInterval: 100 * time.Millisecond,
		TickPeriod:   100 * time.Millisecond,
		ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: time.Second,
		Window:       500 * time.Millisecond,
	}
}

func TestRTTUnderInjectedLatency(t *testing.T) {
	tests := []struct {
		name      string
		latencyMS float64
		lo, hi    float64
	}{
		{name: "no injection", latencyMS: 0, lo: 0, hi: 5},
		{name: "50 ms one-way delay", latencyMS: 50, lo: 45, hi: 55},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, base := startHall(t, 100*time.Millisecond)
			if err := h.Room("room-1").SetFault(hall.Fault{LatencyMS: tc.latencyMS}); err != nil {
				t.Fatal(err)
			}
			r := startParticipant(t, fastConfig(base+"/rooms/room-1/events"))
			got := r.waitSamples(6, 5*time.Second)
			sum := synthetic.Summarize(got[1:], synthetic.DefaultThresholds()) // the first window is partial
			t.Logf("RTT p50 %.2f ms p95 %.2f ms; lag p50 %v", sum.RTT.P50, sum.RTT.P95, sum.Lag)
			if sum.RTT.P50 < tc.lo || sum.RTT.P50 > tc.hi {
				t.Errorf("RTT p50 = %.2f ms, want %.0f–%.0f ms", sum.RTT.P50, tc.lo, tc.hi)
			}
			if sum.Dropouts != 0 || sum.Stutter.Count != 0 {
				t.Errorf("dropouts %d, stutter %d: want none", sum.Dropouts, sum.Stutter.Count)
			}
			if sum.Lag == nil {
				t.Fatal("no lag measured from the hall's timestamps")
			}
			if sum.Lag.P50 < tc.lo || sum.Lag.P50 > tc.hi+5 {
				t.Errorf("lag p50 = %.2f ms, want about %.0f ms", sum.Lag.P50, tc.latencyMS)
			}
		})
	}
}

func TestStallIsOneStutterEpisode(t *testing.T) {
	h, base := startHall(t, 100*time.Millisecond)
	r := startParticipant(t, fastConfig(base+"/rooms/room-1/events"))
	r.waitEvent(synthetic.EventConnected, time.Time{}, 3*time.Second)
	time.Sleep(700 * time.Millisecond)
	if err := h.Room("room-1").SetFault(hall.Fault{StallMS: 2000}); err != nil {
		t.Fatal(err)
	}
	stallAt := time.Now()
	// Flagged while the stall still goes on: within the next window.
	r.waitEvent(synthetic.EventStutter, stallAt, 1500*time.Millisecond)
	if time.Since(stallAt) > 2*time.Second {
		t.Errorf("stutter flagged only %v after the stall began, after it ended", time.Since(stallAt))
	}
	time.Sleep(3 * time.Second)
	r.stop()
	sum := synthetic.Summarize(r.allSamples(), synthetic.DefaultThresholds())
	t.Logf("stutter: %d episode(s), %.0f ms", sum.Stutter.Count, sum.Stutter.TotalMS)
	if sum.Stutter.Count != 1 {
		t.Errorf("stutter episodes = %d, want exactly 1", sum.Stutter.Count)
	}
	if sum.Stutter.TotalMS < 1700 || sum.Stutter.TotalMS > 2300 {
		t.Errorf("stutter time = %.0f ms, want 2000 ± 300 ms", sum.Stutter.TotalMS)
	}
	if sum.Dropouts != 0 {
		t.Errorf("dropouts = %d, want 0", sum.Dropouts)
	}
	if sum.MissedSeq != 0 {
		t.Errorf("missed seq = %d, want 0: a stall delays events, it does not lose them", sum.MissedSeq)
	}
}

func TestDropAllIsADropoutThenAReconnect(t *testing.T) {
	h, base := startHall(t, 100*time.Millisecond)
	r := startParticipant(t, fastConfig(base+"/rooms/room-1/events"))
	r.waitEvent(synthetic.EventConnected, time.Time{}, 3*time.Second)
	time.Sleep(300 * time.Millisecond)
	dropAt := time.Now()
	if err := h.Room("room-1").SetFault(hall.Fault{Drop: true}); err != nil {
		t.Fatal(err)
	}
	d := r.waitEvent(synthetic.EventDropout, dropAt, time.Second)
	t.Logf("dropout detected %v after the drop", d.At.Sub(dropAt))
	if lat := d.At.Sub(dropAt); lat > 100*time.Millisecond {
		t.Errorf("dropout detected %v after the drop, want under 100 ms", lat)
	}
	rc := r.waitEvent(synthetic.EventReconnected, dropAt, 3*time.Second)
	if rc.Outage <= 0 || rc.Outage > 2*time.Second {
		t.Errorf("outage = %v, want a positive length under the backoff ceiling", rc.Outage)
	}
	time.Sleep(600 * time.Millisecond) // let the window with the reconnect close
	var dropouts, reconnects int
	var outage, lastOutage float64
	for _, s := range r.allSamples() {
		dropouts += s.Dropouts
		reconnects += s.Reconnects
		outage += s.OutageMS
		lastOutage += s.LastOutageMS
	}
	if dropouts != 1 || reconnects != 1 {
		t.Errorf("dropouts %d, reconnects %d: want 1 and 1", dropouts, reconnects)
	}
	want := float64(rc.Outage) / 1e6
	if lastOutage < want-1 || lastOutage > want+1 || outage < want-20 || outage > want+20 {
		t.Errorf("outage in samples: total %.0f ms, last %.0f ms; want about %.0f ms", outage, lastOutage, want)
	}
}

func TestRefusedReconnectsBackOff(t *testing.T) {
	h, base := startHall(t, 100*time.Millisecond)
	r := startParticipant(t, fastConfig(base+"/rooms/room-1/events"))
	r.waitEvent(synthetic.EventConnected, time.Time{}, 3*time.Second)
	room := h.Room("room-1")
	if err := room.SetFault(hall.Fault{Refuse: true}); err != nil {
		t.Fatal(err)
	}
	if err := room.SetFault(hall.Fault{Refuse: true, Drop: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	// Backoff from 100 ms doubling to 1 s: about 0.1+0.2+0.4+0.8+1+… — a
	// handful of attempts in 3 s, never a busy loop.
	if n := r.countEvents(synthetic.EventConnectFail); n < 2 || n > 8 {
		t.Errorf("%d connection attempts in 3 s while refused, want 2–8", n)
	}
	room.ClearFault()
	cleared := time.Now()
	r.waitEvent(synthetic.EventReconnected, cleared, 2*time.Second)
}

func TestSilentDeathIsADropoutAfterMissedPongs(t *testing.T) {
	h, base := startHall(t, 100*time.Millisecond)
	cfg := fastConfig(base + "/rooms/room-1/events")
	cfg.TickPeriod = -1 // only pongs decide
	r := startParticipant(t, cfg)
	r.waitEvent(synthetic.EventConnected, time.Time{}, 3*time.Second)
	time.Sleep(250 * time.Millisecond)
	silentAt := time.Now()
	if err := h.Room("room-1").SetFault(hall.Fault{Silent: true}); err != nil {
		t.Fatal(err)
	}
	d := r.waitEvent(synthetic.EventDropout, silentAt, 2*time.Second)
	if !errors.Is(d.Err, ws.ErrSilent) {
		t.Errorf("dropout error = %v, want ErrSilent", d.Err)
	}
	t.Logf("silent death detected %v after it began", d.At.Sub(silentAt))
	// 3 missed pongs at a 100 ms interval: between 300 and 400 ms, plus slack.
	if lat := d.At.Sub(silentAt); lat < 250*time.Millisecond || lat > 600*time.Millisecond {
		t.Errorf("silent death detected after %v, want 300–400 ms", lat)
	}
}

func TestSamplesAreNumberedAndAligned(t *testing.T) {
	_, base := startHall(t, 100*time.Millisecond)
	r := startParticipant(t, fastConfig(base+"/rooms/room-1/events"))
	got := r.waitSamples(4, 4*time.Second)
	for i, s := range got {
		if s.Seq != uint64(i+1) {
			t.Errorf("sample %d has seq %d", i, s.Seq)
		}
		if !s.WindowStart.Equal(s.WindowStart.Truncate(500 * time.Millisecond)) {
			t.Errorf("window start %v not aligned to 500 ms", s.WindowStart)
		}
		if s.Transport != sample.TransportWS || s.Room != "room-1" || s.Participant != "p-test" {
			t.Errorf("identity: %+v", s)
		}
		if i > 0 && !s.WindowStart.Equal(got[i-1].WindowStart.Add(500*time.Millisecond)) {
			t.Errorf("window %d starts at %v, not right after the previous one", i, s.WindowStart)
		}
	}
	if got[2].Messages < 4 || !got[2].Connected || got[2].ConnectedMS < 499 {
		t.Errorf("a full connected window: %+v", got[2])
	}
}

// hostile is a WebSocket server that misbehaves the way act says.
func hostile(t *testing.T, act func(c *websocket.Conn)) string {
	t.Helper()
	up := websocket.Upgrader{}
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer c.Close()
		act(c)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestHostileServers(t *testing.T) {
	drain := func(c *websocket.Conn) {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name       string
		act        func(c *websocket.Conn)
		wantErr    string // in the samples' last error
		wantDrop   bool
		wantLoss   bool
		wantStable bool
	}{
		{
			name: "malformed JSON",
			act: func(c *websocket.Conn) {
				c.WriteMessage(websocket.TextMessage, []byte(`{"seq": 1, "ts":`))
				drain(c)
			},
			wantErr: "not JSON",
		},
		{
			name: "binary garbage",
			act: func(c *websocket.Conn) {
				c.WriteMessage(websocket.BinaryMessage, []byte{0, 0xff, 0xfe, 7})
				drain(c)
			},
			wantErr: "not JSON",
		},
		{
			name: "oversize frame",
			act: func(c *websocket.Conn) {
				c.WriteMessage(websocket.TextMessage, make([]byte, 256<<10))
				drain(c)
			},
			wantErr:  "read limit",
			wantDrop: true,
		},
		{
			name: "close frame with a reason",
			act: func(c *websocket.Conn) {
				c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "maintenance"))
				time.Sleep(100 * time.Millisecond)
			},
			wantErr:  "code 1013 maintenance",
			wantDrop: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := hostile(t, tc.act)
			cfg := fastConfig(url)
			cfg.ReadLimit = 64 << 10
			cfg.ReconnectMin = time.Second
			cfg.ReconnectMax = 2 * time.Second
			r := startParticipant(t, cfg)
			r.waitSamples(3, 4*time.Second)
			r.stop()
			sum := synthetic.Summarize(r.allSamples(), synthetic.DefaultThresholds())
			if !strings.Contains(sum.Error, tc.wantErr) {
				t.Errorf("last error %q, want it to mention %q", sum.Error, tc.wantErr)
			}
			if tc.wantDrop != (sum.Dropouts > 0) {
				t.Errorf("dropouts = %d, want dropout %v", sum.Dropouts, tc.wantDrop)
			}
		})
	}
}

func TestServerThatNeverUpgrades(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() { // accept and say nothing, ever
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	cfg := fastConfig("ws://" + ln.Addr().String() + "/rooms/room-1/events")
	cfg.ConnectTimeout = 300 * time.Millisecond
	r := startParticipant(t, cfg)
	e := r.waitEvent(synthetic.EventConnectFail, time.Time{}, 2*time.Second)
	if !strings.Contains(e.Err.Error(), "timeout") {
		t.Errorf("error %q does not say it timed out", e.Err)
	}
	got := r.waitSamples(2, 3*time.Second)
	if got[0].Connected || got[1].Error == "" {
		t.Errorf("samples should show a room not connected with an error: %+v", got[1])
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ws.Config
		want string
	}{
		{name: "no URL", cfg: ws.Config{}, want: "no URL"},
		{name: "http scheme", cfg: ws.Config{URL: "http://127.0.0.1:7400/rooms/room-1/events"}, want: `scheme must be ws or wss, not "http"`},
		{name: "no host", cfg: ws.Config{URL: "ws:///rooms"}, want: "no host"},
		{name: "bad pointer", cfg: ws.Config{URL: "ws://h/", SeqPointer: "seq"}, want: `seq pointer: json pointer "seq": must start with /`},
		{name: "bad unit", cfg: ws.Config{URL: "ws://h/", TSUnit: "minutes"}, want: `unknown timestamp unit "minutes"`},
		{name: "backoff upside down", cfg: ws.Config{URL: "ws://h/", ReconnectMin: time.Minute, ReconnectMax: time.Second}, want: "reconnect max 1s: below reconnect min 1m0s"},
		{name: "heartbeat without interval", cfg: ws.Config{URL: "ws://h/", Heartbeat: "{}"}, want: "heartbeat set but heartbeat interval is 0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ws.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHeartbeatIsSentAndAnswered(t *testing.T) {
	_, base := startHall(t, time.Second)
	cfg := fastConfig(base + "/rooms/room-1/events")
	cfg.TickPeriod = time.Second
	cfg.Heartbeat = `{"type":"heartbeat","participant":"{participant}"}`
	cfg.HeartbeatInterval = 100 * time.Millisecond
	r := startParticipant(t, cfg)
	r.waitSamples(4, 4*time.Second)
	r.stop()
	sum := synthetic.Summarize(r.allSamples(), synthetic.DefaultThresholds())
	// About 10 heartbeat acks a second beside 1 event: acks carry a server
	// timestamp but no sequence number, so they give lag, not ticks.
	if sum.Messages < 10 {
		t.Errorf("%d messages in %.0f ms: heartbeats not answered", sum.Messages, sum.DurationMS)
	}
	if sum.Error != "" || sum.MissedSeq != 0 {
		t.Errorf("error %q, missed %d: want none", sum.Error, sum.MissedSeq)
	}
	if sum.Lag == nil {
		t.Error("no lag from the acks' timestamps")
	}
}
