package hall

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestCloseEndsEverything(t *testing.T) {
	h, err := New(Options{Period: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	th := &testHall{Hall: h, srv: srv, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http")}
	var clients []*client
	for i, room := range []string{"room-1", "room-1", "room-2", "room-4"} {
		c, _ := th.join(t, room, "p"+string(rune('a'+i)))
		clients = append(clients, c)
	}
	pending := th.connect(t, "room-3", nil) // upgraded, never joined
	clients = append(clients, pending)
	if err := th.Room("room-2").SetFault(Fault{LatencyMS: 5000}); err != nil {
		t.Fatal(err) // frames in flight must not hold Close up
	}

	closed := make(chan struct{})
	go func() {
		_ = h.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * closeWait):
		t.Fatal("Close did not return")
	}
	for _, c := range clients {
		if err := c.closed(wait); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("read error = %v, want close 1001", err)
		}
	}
	if _, resp, err := th.dial("room-1", nil); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("dial after Close: %v %v", err, resp)
	}
	srv.Close()
	for _, c := range clients {
		_ = c.ws.Close()
		<-c.done
	}
	goleak.VerifyNone(t)
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
