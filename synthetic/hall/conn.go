package hall

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one participant's connection. Two goroutines serve it: the HTTP
// handler's goroutine reads (serve, readLoop), and a writer started by serve
// drains the outbox (writeLoop). Every frame the hall sends goes through the
// outbox, so faults apply to all of them alike.
type conn struct {
	room   *Room
	ws     *websocket.Conn
	id     uint64
	remote string
	since  time.Duration // upgrade time on the hall's clock

	// Guarded by room.mu.
	joined      bool
	participant string
	idx         int // position in room.conns; -1 once removed

	mu      sync.Mutex // guards the outbox fields below
	rng     *rand.Rand // loss and jitter draws
	out     outbox
	closing *closeReq // a close frame to send, then close
	closed  bool

	wake       chan struct{} // capacity 1: the outbox changed
	done       chan struct{} // closed when the connection is cut
	writerDone chan struct{} // closed when writeLoop has returned
	cutOnce    sync.Once
}

// closeReq is a close frame the writer sends before closing.
type closeReq struct {
	code   int
	reason string
}

// serve runs a new connection to its end on the calling goroutine, the
// connection's reader; it starts the writer and waits for it before returning.
func (r *Room) serve(ws *websocket.Conn, remote string) {
	h := r.hall
	n := h.connSeq.Add(1)
	c := &conn{
		room:       r,
		ws:         ws,
		id:         n,
		remote:     remote,
		since:      h.now(),
		idx:        -1,
		rng:        rand.New(rand.NewPCG(h.seed(n), n)),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if !r.add(c) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "hall closing"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	r.log.Debug("connected", "conn", n, "remote", remote)
	go c.writeLoop()
	err := c.readLoop()
	c.closeAbrupt()
	r.remove(c)
	<-c.writerDone
	r.log.Debug("disconnected", "conn", n, "remote", remote, "reason", err)
}

// readLoop reads the participant's messages until the connection ends.
// RFC 6455 pings are answered through the outbox by the ping handler, which
// the library calls from inside ReadMessage.
func (c *conn) readLoop() error {
	c.ws.SetReadLimit(c.room.hall.opts.ReadLimit)
	c.ws.SetPingHandler(func(appData string) error {
		now, fs := c.room.hall.now(), c.room.fault.Load()
		if c.pongNow(now, fs) {
			// The usual case, nothing queued and no fault: answer at once
			// from here rather than wake the writer.
			_ = c.ws.WriteControl(websocket.PongMessage, []byte(appData), time.Now().Add(writeTimeout))
			return nil
		}
		c.enqueue(outItem{kind: itemPong, data: []byte(appData)}, now, fs)
		return nil
	})
	for {
		mt, msg, err := c.ws.ReadMessage()
		if err != nil {
			// An oversize message: the library has sent 1009 already.
			return err
		}
		c.handle(mt, msg)
	}
}

// pongNow reports whether a pong may skip the outbox: nothing is queued
// ahead of it and no fault delays, drops or holds frames.
func (c *conn) pongNow(now time.Duration, fs *faultState) bool {
	if d, j := fs.delay(now); d > 0 || j > 0 || fs.isSilent(now) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && c.closing == nil && c.out.ctrl.len() == 0 && c.out.data.len() == 0 && c.out.lastDue <= now
}

// handle acts on one message from the participant. A message the hall does
// not understand gets an error frame; the connection stays open.
func (c *conn) handle(mt int, msg []byte) {
	if mt != websocket.TextMessage {
		c.sendError("binary messages are not part of the protocol; send JSON text messages")
		return
	}
	var m clientMsg
	if err := json.Unmarshal(msg, &m); err != nil {
		c.sendError(describeJSONError(err))
		return
	}
	switch m.Type {
	case msgJoin:
		c.room.join(c, m)
	case msgHeartbeat:
		c.sendText(mustJSON(heartbeatAckMsg{Type: msgHeartbeatAck, TS: unixMicro(time.Now())}))
	case "":
		c.sendError(`missing "type" (want "join" or "heartbeat")`)
	default:
		c.sendError(fmt.Sprintf(`unknown message type %q (want "join" or "heartbeat")`, m.Type))
	}
}

// describeJSONError turns a decoding error into a message for the sender.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%q: want a %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("want a JSON object, got %s", te.Value)
	}
	return "malformed JSON: " + err.Error()
}

// sendText queues a text frame (an ack or an error) on the data path.
func (c *conn) sendText(b []byte) {
	c.enqueue(outItem{kind: itemText, data: b}, c.room.hall.now(), c.room.fault.Load())
}

// sendError queues an error frame.
func (c *conn) sendError(msg string) {
	c.sendText(mustJSON(errorMsg{Type: msgError, Error: msg}))
}

// requestClose asks the writer to send a close frame and close.
func (c *conn) requestClose(code int, reason string) {
	c.mu.Lock()
	if c.closing == nil && !c.closed {
		c.closing = &closeReq{code: code, reason: reason}
	}
	c.mu.Unlock()
	c.wakeup()
}

// closeAbrupt cuts the TCP connection without a close frame, like a crashed
// gateway. The reader and the writer then end. Safe to call many times.
func (c *conn) closeAbrupt() {
	c.cutOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.out.reset()
		c.mu.Unlock()
		close(c.done)
		_ = c.ws.NetConn().Close()
	})
}

// wakeup tells the writer its outbox changed, without blocking.
func (c *conn) wakeup() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
