package hall

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestLatencyDelaysPongsAndEvents(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	if err := th.Room("room-1").SetFault(Fault{LatencyMS: 50}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		rtt, ok := c.ping("lat", wait)
		if !ok {
			t.Fatal("no pong")
		}
		t.Logf("ping %d: rtt %s", i, rtt)
		// 50 ms injected; the rest is loopback and the race detector.
		if rtt < 50*time.Millisecond || rtt > 65*time.Millisecond {
			t.Errorf("ping %d: rtt = %s, want 50 ms", i, rtt)
		}
	}
	c.drain()
	for range 5 {
		m := c.nextType("event", wait)
		if lag := m.at.Sub(time.UnixMicro(m.TS)); lag < 50*time.Millisecond || lag > 80*time.Millisecond {
			t.Errorf("event %d lag = %s, want 50 ms", m.Seq, lag)
		}
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	th := startHall(t, Options{Period: 5 * time.Millisecond})
	c, joined := th.join(t, "room-1", "p")
	if err := th.Room("room-1").SetFault(Fault{LatencyMS: 5, JitterMS: 40}); err != nil {
		t.Fatal(err)
	}
	want := joined.Seq + 1
	for range 40 {
		m := c.nextType("event", wait)
		if m.Seq != want {
			t.Fatalf("seq %d after %d: reordered or lost", m.Seq, want-1)
		}
		want++
	}
}

func TestLossMakesSeqGaps(t *testing.T) {
	th := startHall(t, Options{Period: 2 * time.Millisecond})
	c, _ := th.join(t, "room-1", "p")
	if err := th.Room("room-1").SetFault(Fault{LossPct: 30}); err != nil {
		t.Fatal(err)
	}
	c.drain()
	first := c.nextType("event", wait)
	last, got := first.Seq, 1
	for last < first.Seq+400 {
		m := c.nextType("event", wait)
		if m.Seq <= last {
			t.Fatalf("seq %d after %d", m.Seq, last)
		}
		last = m.Seq
		got++
	}
	lost := 100 * float64(last-first.Seq+1-uint64(got)) / float64(last-first.Seq+1)
	if lost < 20 || lost > 40 {
		t.Errorf("lost %.1f%% of events, want about 30%%", lost)
	}
	// Acks are never lost.
	for range 20 {
		c.send(`{"type":"heartbeat"}`)
		c.nextType("heartbeat_ack", wait)
	}
}

func TestStallHoldsThenFlushesInOrder(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	before := c.nextType("event", wait)
	start := time.Now()
	if err := th.Room("room-1").SetFault(Fault{StallMS: 300}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // events written before the stall arrive
	c.drain()
	// Pongs keep flowing during the stall.
	if rtt, ok := c.ping("stalled", wait); !ok || rtt > 100*time.Millisecond {
		t.Errorf("pong during stall: rtt %s, ok %v", rtt, ok)
	}
	if f := th.Room("room-1").Fault(); f.StallMS <= 0 || f.StallMS > 300 {
		t.Errorf("Fault().StallMS = %d during the stall", f.StallMS)
	}
	c.send(`{"type":"heartbeat"}`)
	var seqs []uint64
	var ack bool
	for len(seqs) < 12 {
		m := c.next(wait)
		switch m.Type {
		case "event":
			seqs = append(seqs, m.Seq)
		case "heartbeat_ack":
			ack = true
		}
		if len(seqs) == 1 || m.Type == "heartbeat_ack" {
			if d := time.Since(start); d < 280*time.Millisecond {
				t.Fatalf("%s %d arrived %s into a 300 ms stall", m.Type, m.Seq, d)
			}
		}
	}
	if !ack {
		t.Error("heartbeat_ack held by the stall never came")
	}
	for i, s := range seqs {
		if s <= before.Seq || (i > 0 && s != seqs[i-1]+1) {
			t.Fatalf("after the stall, seqs %v (before: %d)", seqs, before.Seq)
		}
	}
}

func TestClearFaultEndsStall(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	r := th.Room("room-1")
	if err := r.SetFault(Fault{StallMS: 60_000}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	c.drain()
	r.ClearFault()
	c.nextType("event", wait)
}

func TestDropClosesEveryConnection(t *testing.T) {
	th := startHall(t, Options{})
	a, _ := th.join(t, "room-1", "a")
	b, _ := th.join(t, "room-1", "b")
	other, _ := th.join(t, "room-2", "c")
	r := th.Room("room-1")
	eventually(t, wait, "two conns", func() bool { return r.Conns() == 2 })
	if err := r.SetFault(Fault{Drop: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		err := c.closed(wait)
		if err == nil || websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
			t.Errorf("read error = %v, want an abrupt close", err)
		}
	}
	eventually(t, wait, "conns gone", func() bool { return r.Conns() == 0 })
	if r.Fault().Drop {
		t.Error("drop is one-shot but Fault() still shows it")
	}
	other.drain()
	other.nextType("event", wait) // other rooms are untouched
}

func TestRefuseKeepsExistingConnections(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	r := th.Room("room-1")
	if err := r.SetFault(Fault{Refuse: true}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := th.dial("room-1", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial during refuse: %v, %v", err, resp)
	}
	c.drain()
	c.nextType("event", wait)
	r.ClearFault()
	th.join(t, "room-1", "q")
}

func TestSilentAnswersNothingUntilCleared(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	r := th.Room("room-1")
	if err := r.SetFault(Fault{Silent: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // frames already on the wire
	c.drain()
	if _, ok := c.ping("silent", 200*time.Millisecond); ok {
		t.Error("pong while silent")
	}
	c.send(`{"type":"heartbeat"}`)
	select {
	case m := <-c.msgs:
		t.Fatalf("got %+v while silent", m)
	case <-c.done:
		t.Fatalf("connection ended while silent: %v", c.err)
	case <-time.After(100 * time.Millisecond):
	}
	r.ClearFault()
	c.nextType("event", wait)
	if _, ok := c.ping("back", wait); !ok {
		t.Error("no pong after silence cleared")
	}
}

func TestFaultDurationExpires(t *testing.T) {
	th := startHall(t, Options{})
	c, _ := th.join(t, "room-1", "p")
	r := th.Room("room-1")
	if err := r.SetFault(Fault{Silent: true, LatencyMS: 10, DurationMS: 150}); err != nil {
		t.Fatal(err)
	}
	if f := r.Fault(); !f.Silent || f.DurationMS <= 0 || f.DurationMS > 150 {
		t.Fatalf("Fault() = %+v", f)
	}
	eventually(t, wait, "fault expired", func() bool { return r.Fault() == Fault{} })
	c.drain()
	c.nextType("event", wait)
}

func TestSetFaultRejectsBadValues(t *testing.T) {
	th := startHall(t, Options{})
	r := th.Room("room-1")
	tests := []struct {
		name string
		f    Fault
		key  string
	}{
		{"loss over 100", Fault{LossPct: 150}, "loss_pct"},
		{"negative latency", Fault{LatencyMS: -1}, "latency_ms"},
		{"huge jitter", Fault{JitterMS: 1e9}, "jitter_ms"},
		{"negative stall", Fault{StallMS: -5}, "stall_ms"},
		{"negative duration", Fault{DurationMS: -5}, "duration_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.SetFault(tt.f)
			if !errors.Is(err, ErrBadFault) || !contains(err.Error(), tt.key) {
				t.Fatalf("SetFault(%+v) = %v, want an error naming %s", tt.f, err, tt.key)
			}
			if r.Fault() != (Fault{}) {
				t.Fatalf("a rejected fault changed the room: %+v", r.Fault())
			}
		})
	}
}

func TestSetFaultAll(t *testing.T) {
	th := startHall(t, Options{})
	if err := th.SetFaultAll(Fault{LatencyMS: 20}); err != nil {
		t.Fatal(err)
	}
	for _, r := range th.Rooms() {
		if r.Fault().LatencyMS != 20 {
			t.Errorf("%s: %+v", r.ID(), r.Fault())
		}
	}
	th.ClearFaultAll()
	for _, r := range th.Rooms() {
		if r.Fault() != (Fault{}) {
			t.Errorf("%s after clear: %+v", r.ID(), r.Fault())
		}
	}
}
