package console

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Hub fans the live feed out to viewers. Each viewer has a bounded send
// buffer; a viewer whose buffer is full (it reads slower than the feed) is
// dropped at once, so one stalled screen never holds the others up. The
// page reconnects by itself and gets a fresh hello.
type Hub struct {
	mu      sync.Mutex
	viewers map[*viewer]struct{}
	buffer  int
	logger  *slog.Logger

	dropped atomic.Int64
	served  atomic.Int64
}

// viewer is one live-feed connection. Its writer goroutine owns the
// connection's writes; gone is closed once when it leaves or is dropped.
type viewer struct {
	send chan []byte
	gone chan struct{}
	once sync.Once
	// room is the room whose views it wants in full ("" for none).
	room atomic.Pointer[string]
}

func (v *viewer) leave() { v.once.Do(func() { close(v.gone) }) }

// NewHub returns a hub whose viewers each buffer up to buffer messages.
func NewHub(buffer int, logger *slog.Logger) *Hub {
	if buffer <= 0 {
		buffer = 16
	}
	return &Hub{viewers: make(map[*viewer]struct{}), buffer: buffer, logger: logger}
}

// Viewers is how many viewers are connected.
func (h *Hub) Viewers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.viewers)
}

// Dropped counts viewers dropped for reading too slowly: their send
// buffer filled, a write to them timed out, or they stopped answering
// pings.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Broadcast queues msg for every viewer, dropping those with no room left.
func (h *Hub) Broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for v := range h.viewers {
		h.offer(v, msg)
	}
}

// offer queues msg for one viewer; the caller holds h.mu.
func (h *Hub) offer(v *viewer, msg []byte) {
	select {
	case v.send <- msg:
	default:
		delete(h.viewers, v)
		v.leave()
		h.dropped.Add(1)
	}
}

// ToRooms queues, for each viewer that asked for a room's full views, the
// message msgs gives for that room (none when it gives nil).
func (h *Hub) ToRooms(msgs func(room string) []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cache := map[string][]byte{}
	for v := range h.viewers {
		r := v.room.Load()
		if r == nil || *r == "" {
			continue
		}
		m, ok := cache[*r]
		if !ok {
			m = msgs(*r)
			cache[*r] = m
		}
		if m != nil {
			h.offer(v, m)
		}
	}
}

func (h *Hub) add(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.viewers[v] = struct{}{}
	h.served.Add(1)
}

// drop removes a viewer that cannot keep up, counting it once however
// many ways it is found out.
func (h *Hub) drop(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.viewers[v]; ok {
		delete(h.viewers, v)
		h.dropped.Add(1)
	}
	v.leave()
}

func (h *Hub) remove(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.viewers, v)
	v.leave()
}

// Timing of a live connection.
const (
	writeWait  = 5 * time.Second
	pingEvery  = 20 * time.Second
	pongWait   = 45 * time.Second
	maxReadMsg = 1024
	// recheckEvery: an open feed re-checks its session this often, so a
	// sign-out, a password change or a disabled user ends it too.
	recheckEvery = 15 * time.Second
)

// serve runs one viewer on an upgraded connection until it leaves, is
// dropped, or ctx ends. hello is sent first.
//
// still, when not nil, is asked every recheckEvery whether the viewer may
// go on watching (its session has not ended, its user not been disabled);
// when it says no, the viewer is told so and closed.
func (h *Hub) serve(ctx context.Context, conn *websocket.Conn, hello []byte, still func() bool) {
	v := &viewer{send: make(chan []byte, h.buffer), gone: make(chan struct{})}
	v.send <- hello
	h.add(v)
	defer h.remove(v)

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer v.leave()
		conn.SetReadLimit(maxReadMsg)
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				if timedOut(err) { // no pong within pongWait: a stalled screen
					h.drop(v)
				}
				return
			}
			var req struct {
				Room *string `json:"room"`
			}
			if json.Unmarshal(data, &req) == nil && req.Room != nil {
				room := *req.Room
				v.room.Store(&room)
			}
		}
	}()

	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	recheck := time.NewTicker(recheckEvery)
	defer recheck.Stop()
	defer func() {
		_ = conn.Close()
		<-readDone
	}()
	for {
		select {
		case <-ctx.Done():
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "console stopping"))
			return
		case <-v.gone:
			// Dropped, or its reader ended. A dropped viewer is told why.
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow: reconnect"))
			return
		case msg := <-v.send:
			_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				// A write that times out is a viewer whose socket buffers
				// are full: with the send buffer still filling, it is as
				// slow as one dropped by offer.
				if timedOut(err) {
					h.drop(v)
				}
				return
			}
		case <-recheck.C:
			if still != nil && !still() {
				_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
				_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "signed out"))
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				if timedOut(err) {
					h.drop(v)
				}
				return
			}
		}
	}
}

// timedOut reports whether a read or write failed on its deadline.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// upgrader accepts same-origin connections only: a page elsewhere cannot
// open the feed with the viewer's cookie.
func upgrader(trustForwarded bool) *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 16 << 10,
		// Write buffers are held only while a message is written, so a
		// thousand idle screens do not each keep 16 KiB.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			return sameOrigin(r, trustForwarded)
		},
		EnableCompression: false,
	}
}
