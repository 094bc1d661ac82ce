package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// tickWait is how long a tick may take to come: one a second, and some.
const tickWait = 3 * time.Second

// The first message is the hello (the overview); ticks follow every
// second.
func TestLiveHelloThenTicks(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.viewer(e.login("screen"), dialOpts{})
	var first liveMsg
	select {
	case first = <-v.msgs:
	case <-time.After(wait):
		t.Fatal("no hello")
	}
	var hello struct {
		Type string `json:"type"`
		Overview
	}
	if err := json.Unmarshal(first.data, &hello); err != nil || hello.Type != "hello" {
		t.Fatalf("first message %.200s (%v), want the hello", first.data, err)
	}
	if hello.City.ID != "yangzhou" || len(hello.SubCenters) != len(e.city.SubCenters) {
		t.Errorf("hello: city %+v, %d sub-centers", hello.City, len(hello.SubCenters))
	}
	var ts []int64
	for range 2 {
		m := v.next(tickWait, "a tick", ofKind("tick"))
		var tk tickMsg
		if err := json.Unmarshal(m.data, &tk); err != nil {
			t.Fatal(err)
		}
		if len(tk.Rooms) != len(e.city.Rooms) {
			t.Errorf("tick has %d rooms, want %d", len(tk.Rooms), len(e.city.Rooms))
		}
		ts = append(ts, tk.T)
	}
	if ts[1] <= ts[0] {
		t.Errorf("tick times %v do not advance", ts)
	}
}

// Incident changes reach the viewers as they happen, and the tiles of
// their rooms follow the active incidents.
func TestLiveIncidentEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.viewer(e.login("screen"), dialOpts{})
	v.next(tickWait, "a tick", ofKind("tick")) // Run follows the events by now
	zhang := e.login("zhang")

	inc := e.openIncident("jd-hall-1", vocab.SeverityCritical, time.Now())
	event := func(kind string) func(liveMsg) bool {
		return func(m liveMsg) bool {
			var ev struct {
				Type     string `json:"type"`
				Event    string `json:"event"`
				Actor    string `json:"actor"`
				Incident struct {
					ID    string `json:"id"`
					State string `json:"state"`
				} `json:"incident"`
			}
			if m.kind() != "incident" || json.Unmarshal(m.data, &ev) != nil {
				return false
			}
			return ev.Event == kind && ev.Incident.ID == inc.ID
		}
	}
	v.next(wait, "the opened event", event("opened"))
	v.next(tickWait, "jd-hall-1 down for its critical incident", roomTick(t, "jd-hall-1", StateDown))

	if r := e.call("POST", "/api/incidents/"+inc.ID+"/ack", map[string]string{"text": "on my way"}, as(zhang)); r.code != http.StatusOK {
		t.Fatalf("ack: %s", r)
	}
	m := v.next(wait, "the acknowledged event", event("acknowledged"))
	if !strings.Contains(string(m.data), `"actor":"张工 (zhang)"`) {
		t.Errorf("acknowledged event does not name the actor: %s", m.data)
	}
	if r := e.call("POST", "/api/incidents/"+inc.ID+"/resolve", map[string]string{"text": "switch replaced"}, as(zhang)); r.code != http.StatusOK {
		t.Fatalf("resolve: %s", r)
	}
	v.next(wait, "the resolved event", event("resolved"))
	v.next(tickWait, "jd-hall-1 idle once its incident is resolved", roomTick(t, "jd-hall-1", StateIdle))
}

// A viewer that asks for a room gets its views' recent points each tick.
func TestLiveRoomViews(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.viewer(e.login("screen"), dialOpts{})
	if err := v.conn.WriteMessage(websocket.TextMessage, []byte(`{"room":"yz-hall-1"}`)); err != nil {
		t.Fatal(err)
	}
	stop := e.feedSamples(t, []string{"yz-hall-1"})
	defer stop()
	m := v.next(wait, "the room's views", ofKind("room"))
	var rm struct {
		Room  string             `json:"room"`
		Views map[string][]Point `json:"views"`
	}
	if err := json.Unmarshal(m.data, &rm); err != nil {
		t.Fatal(err)
	}
	if rm.Room != "yz-hall-1" || len(rm.Views["yz/ws"]) == 0 || len(rm.Views["yz/webrtc"]) == 0 {
		t.Errorf("room message: %s", m.data)
	}
	v.next(tickWait, "yz-hall-1 ok", roomTick(t, "yz-hall-1", StateOK))
}

// feedSamples publishes an ok sample a second for each room, over both
// transports, as a probe at the room's sub-center would, until stop.
func (e *env) feedSamples(t testing.TB, rooms []string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	pub := func() {
		now := time.Now()
		var ss []sample.Sample
		for _, id := range rooms {
			r, _ := e.city.Room(id)
			ss = append(ss,
				sampleAt(id, r.SubCenter, sample.TransportWS, "ws-"+id, now, nil),
				sampleAt(id, r.SubCenter, sample.TransportWebRTC, "rtc-"+id, now, nil))
		}
		e.publishCtx(ctx, ss...)
	}
	pub()
	go func() {
		defer close(done)
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				pub()
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(wait):
				t.Errorf("sample feed did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// publishCtx is publish for a background goroutine: errors are reported,
// not fatal, and a cancelled ctx is no error.
func (e *env) publishCtx(ctx context.Context, ss ...sample.Sample) {
	if err := e.publishErr(ctx, ss...); err != nil && ctx.Err() == nil {
		e.t.Errorf("publish: %v", err)
	}
}

// The live feed is same-origin only, and for signed-in users only.
func TestLiveRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	screen := e.login("screen")
	cases := []struct {
		name string
		s    session
		o    dialOpts
		code int
	}{
		{"another origin", screen, dialOpts{origin: "http://evil.example"}, http.StatusForbidden},
		{"an origin on another port", screen, dialOpts{origin: "http://127.0.0.1:1"}, http.StatusForbidden},
		{"no session", session{}, dialOpts{}, http.StatusUnauthorized},
		{"a session that does not exist", session{token: "not-a-session"}, dialOpts{}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := e.dial(tc.s, tc.o)
			if err == nil {
				conn.Close()
				t.Fatal("the feed opened")
			}
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != tc.code {
				code := 0
				if resp != nil {
					code = resp.StatusCode
				}
				t.Errorf("dial: %v, HTTP %d, want %d", err, code, tc.code)
			}
		})
	}
	if n := e.srv.Hub().Viewers(); n != 0 {
		t.Errorf("%d viewers after refusals", n)
	}
}

// A viewer that stops reading is dropped, and counted, while the others
// keep receiving: its messages queue up in the kernel's socket buffers,
// then its writer blocks, then its small send buffer fills.
func TestLiveStalledViewerDropped(t *testing.T) {
	e := newEnv(t, envOptions{buffer: 4})
	screen := e.login("screen")
	var good []*liveClient
	for range 3 {
		good = append(good, e.viewer(screen, dialOpts{}))
	}
	stalled := e.viewer(screen, dialOpts{stalled: true, rcvBuf: 4096})
	eventually(t, wait, "4 viewers", func() bool { return e.srv.Hub().Viewers() == 4 })

	// Messages of 256 KiB, each sent once every good viewer has the one
	// before: the good ones never fall behind, the stalled one does. The
	// kernel buffers a few MiB before a write blocks.
	pad := strings.Repeat("x", 256<<10)
	for i := 0; e.srv.Hub().Dropped() == 0; i++ {
		if i == 200 {
			t.Fatalf("50 MiB sent and the stalled viewer not dropped (viewers %d)", e.srv.Hub().Viewers())
		}
		broadcast(t, e.srv.Hub(), fmt.Appendf(nil, `{"type":"bulk","n":%d,"pad":"%s"}`, i, pad))
		want := fmt.Sprintf(`{"type":"bulk","n":%d,`, i)
		for _, g := range good {
			g.next(wait, "bulk "+want, func(m liveMsg) bool { return strings.HasPrefix(string(m.data), want) })
		}
	}
	if d := e.srv.Hub().Dropped(); d != 1 {
		t.Errorf("dropped %d, want 1", d)
	}
	eventually(t, wait, "the stalled viewer gone", func() bool { return e.srv.Hub().Viewers() == 3 })
	for i, g := range good {
		g.next(tickWait, fmt.Sprintf("a tick for good viewer %d", i), ofKind("tick"))
	}
	// The stalled screen, reading at last, finds its connection closed
	// after what was buffered.
	done := make(chan error, 1)
	go func() {
		_ = stalled.conn.SetReadDeadline(time.Now().Add(wait))
		for {
			if _, _, err := stalled.conn.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the stalled viewer's connection was not closed: %v", err)
		}
	case <-time.After(2 * wait):
		t.Fatal("reading the stalled viewer's connection did not end")
	}
}

// broadcast sends a message to every viewer, failing the test if that
// blocks: a slow viewer must never hold the feed up.
func broadcast(t testing.TB, h *Hub, msg []byte) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Broadcast(msg)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Broadcast blocked")
	}
}

// A viewer whose write times out (the kernel's buffers full, its own send
// buffer not yet) is dropped and counted too.
func TestLiveWriteTimeoutDropped(t *testing.T) {
	e := newEnv(t, envOptions{}) // the default buffer, 16 messages
	screen := e.login("screen")
	good := e.viewer(screen, dialOpts{})
	e.viewer(screen, dialOpts{stalled: true, rcvBuf: 4096})
	eventually(t, wait, "2 viewers", func() bool { return e.srv.Hub().Viewers() == 2 })
	// 10 messages: more bytes than the kernel buffers for the stalled
	// viewer (its socket's send buffer grows to tcp_wmem's maximum), fewer
	// messages than its send buffer holds with the ticks of the next five
	// seconds.
	pad := strings.Repeat("x", max(1<<20, (maxSendBuffer()+4<<20)/10))
	for i := range 10 {
		broadcast(t, e.srv.Hub(), fmt.Appendf(nil, `{"type":"bulk","n":%d,"pad":"%s"}`, i, pad))
		want := fmt.Sprintf(`{"type":"bulk","n":%d,`, i)
		good.next(wait, want, func(m liveMsg) bool { return strings.HasPrefix(string(m.data), want) })
	}
	eventually(t, writeWait+wait, "the stalled viewer gone", func() bool { return e.srv.Hub().Viewers() == 1 })
	if d := e.srv.Hub().Dropped(); d != 1 {
		t.Errorf("dropped %d after a write timed out, want 1", d)
	}
	good.next(tickWait, "a tick for the good viewer", ofKind("tick"))
}

// maxSendBuffer is the most a TCP socket's send buffer grows to
// (tcp_wmem's maximum; 4 MiB, Linux's default, when it cannot be read).
func maxSendBuffer() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		return 4 << 20
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 4 << 20
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return 4 << 20
	}
	return n
}

// Serve stops on its context and tells the live viewers it is going.
func TestServeShutdown(t *testing.T) {
	e := newEnv(t, envOptions{})
	s, err := New(e.srv.opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	h := http.Header{}
	h.Set("Cookie", "bidwatch_session="+e.login("screen").token)
	dctx, dcancel := context.WithTimeout(ctx, wait)
	defer dcancel()
	conn, _, err := websocket.DefaultDialer.DialContext(dctx, "ws://"+ln.Addr().String()+"/api/live", h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if _, data, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(data), `{"type":"hello"`) {
		t.Fatalf("first message %.100s, %v", data, err)
	}
	cancel()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("connection ended with %v, want going away (1001)", err)
		}
		break
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(2 * wait):
		t.Fatal("Serve did not return")
	}
}

// The acceptance test: 200 viewers on the live feed for a minute,
// one deliberately stalled. The others keep getting their ticks on time,
// the stalled one is dropped, and memory stays bounded.
func TestLiveTwoHundredViewersForAMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute long")
	}
	const (
		viewers = 200
		period  = time.Minute
		minTick = 55 // of 60
		maxGap  = 2500 * time.Millisecond
	)
	e := newEnv(t, envOptions{})
	rooms := make([]string, 0, len(e.city.Rooms))
	for _, r := range e.city.Rooms {
		rooms = append(rooms, r.ID)
	}
	e.feedSamples(t, rooms)
	screen := e.login("screen")

	heap0 := heapAfterGC()
	var stalled *liveClient
	ticks := make([][]time.Time, viewers-1)
	clients := make([]*liveClient, viewers-1)
	for i := range viewers {
		if i == viewers/2 {
			stalled = e.viewer(screen, dialOpts{stalled: true, rcvBuf: 4096})
		}
		if i == viewers-1 {
			break
		}
		clients[i] = e.viewer(screen, dialOpts{onMsg: func(m liveMsg) {
			if m.kind() == "tick" {
				ticks[i] = append(ticks[i], m.at) // only this reader touches ticks[i]
			}
		}})
	}
	_ = stalled
	eventually(t, wait, fmt.Sprintf("%d viewers", viewers), func() bool { return e.srv.Hub().Viewers() == viewers })

	start := time.Now()
	var heaps []uint64
	sample := time.NewTicker(10 * time.Second)
	end := time.After(period)
	for running := true; running; {
		select {
		case <-sample.C:
			heaps = append(heaps, heapAfterGC())
		case <-end:
			running = false
		}
	}
	sample.Stop()
	stop := time.Now()
	heapEnd := heapAfterGC()

	// The stalled viewer stops answering pings too: it is gone by now,
	// 45 s after it last answered, if not sooner for its buffers.
	eventually(t, wait, "the stalled viewer dropped", func() bool { return e.srv.Hub().Viewers() == viewers-1 })
	if d := e.srv.Hub().Dropped(); d != 1 {
		t.Errorf("dropped %d, want 1 (the stalled viewer)", d)
	}
	for _, c := range clients {
		c.close() // after which ticks may be read
	}

	late := 0
	for i, ts := range ticks {
		n, gap, prev := 0, time.Duration(0), start
		for _, at := range ts {
			if at.Before(start) || at.After(stop) {
				continue
			}
			n++
			gap = max(gap, at.Sub(prev))
			prev = at
		}
		gap = max(gap, stop.Sub(prev))
		if n < minTick || gap > maxGap {
			late++
			if late <= 5 {
				t.Errorf("viewer %d: %d ticks in %v (want ≥ %d), longest gap %v (want ≤ %v)", i, n, period, minTick, gap.Round(time.Millisecond), maxGap)
			}
		}
	}
	if late > 0 {
		t.Errorf("%d of %d viewers missed ticks", late, viewers-1)
	}

	// Bounded memory. Both ends of every connection live in this process:
	// the server's 16 KiB write buffer, its 4 KiB read buffer and the
	// request it serves, the client's 4 + 1 KiB buffers and response; the
	// messages queued are shared by all. BenchmarkViewerMemory measures
	// about 42 KiB a viewer, so 200 may take at most 64 KiB each; and once
	// they are connected the heap does not grow over the minute.
	t.Logf("heap: %.1f MiB before connecting, %.1f MiB every 10 s %v, %.1f MiB at the end",
		mib(heap0), mib(heaps[0]), mibs(heaps), mib(heapEnd))
	if grown := int64(heapEnd) - int64(heap0); grown > viewers*64<<10 {
		t.Errorf("heap grew %.1f MiB with %d viewers, want under %.1f MiB", mib(uint64(grown)), viewers, mib(viewers*64<<10))
	}
	if grown := int64(heapEnd) - int64(heaps[0]); grown > 4<<20 {
		t.Errorf("heap grew %.1f MiB over the minute, want under 4 MiB", mib(uint64(grown)))
	}
}

// heapAfterGC is the heap in use after a collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func mibs(bs []uint64) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = fmt.Sprintf("%.1f", mib(b))
	}
	return out
}
