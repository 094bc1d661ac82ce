package hall

import (
	"strings"
	"testing"
	"time"
)

func TestPathDelaysAndCuts(t *testing.T) {
	th := startHall(t, Options{})
	p, err := NewPath(strings.TrimPrefix(th.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	via := *th
	via.wsURL = "ws://" + p.Addr()

	c, joined := via.join(t, "room-1", "p-1")
	if joined.Type != "joined" {
		t.Fatalf("through the path: got %+v, want joined", joined)
	}
	rtt, ok := c.ping("a", 2*time.Second)
	if !ok || rtt > 20*time.Millisecond {
		t.Fatalf("clean path: rtt %v ok %v", rtt, ok)
	}

	p.SetDelay(80 * time.Millisecond)
	rtt, ok = c.ping("b", 2*time.Second)
	if !ok || rtt < 75*time.Millisecond || rtt > 150*time.Millisecond {
		t.Errorf("path delayed 80 ms: rtt %v ok %v", rtt, ok)
	}
	// The delay does not add up over many frames: events keep their pace.
	c.drain()
	time.Sleep(300 * time.Millisecond)
	if rtt, ok = c.ping("c", 2*time.Second); !ok || rtt > 150*time.Millisecond {
		t.Errorf("after a burst of events: rtt %v ok %v, want still about 80 ms", rtt, ok)
	}

	p.SetCut(true)
	if err := c.closed(2 * time.Second); err == nil {
		t.Error("cut path: connection not closed")
	}
	if _, _, err := via.dial("room-1", nil); err == nil {
		t.Error("cut path: a new connection got through")
	}
	p.SetCut(false)
	p.SetDelay(0)
	c2, joined := via.join(t, "room-1", "p-2")
	if joined.Type != "joined" {
		t.Fatalf("restored path: got %+v", joined)
	}
	c2.ws.Close()
	// The hall itself was fine all along for everyone else.
	direct, _ := th.join(t, "room-1", "p-3")
	direct.ws.Close()
}
