package hall

import (
	"time"

	"github.com/gorilla/websocket"
)

// Bounds of a connection's outbox. A participant that cannot keep up (or a
// stall far longer than any drill needs) is cut rather than allowed to grow
// the hall's memory without bound.
const (
	maxQueuedData = 4096 // events, acks and errors waiting
	maxQueuedCtrl = 64   // pongs waiting
	writeTimeout  = 10 * time.Second
	closeGrace    = time.Second // wait for the peer's close reply
)

// itemKind is what an outbound frame is.
type itemKind uint8

const (
	itemEvent itemKind = iota // a room event, pre-framed, may be lost
	itemText                  // an ack or an error frame
	itemPong                  // an RFC 6455 pong
)

// outItem is one frame waiting to be written.
type outItem struct {
	due  time.Duration // on the hall's clock, after injected delay
	kind itemKind
	pm   *websocket.PreparedMessage // itemEvent
	data []byte                     // itemText, itemPong
}

// fifo is a first-in first-out queue that reuses its array once drained.
type fifo struct {
	items []outItem
	head  int
}

func (q *fifo) len() int        { return len(q.items) - q.head }
func (q *fifo) peek() *outItem  { return &q.items[q.head] }
func (q *fifo) push(it outItem) { q.items = append(q.items, it) }

func (q *fifo) pop() outItem {
	it := q.items[q.head]
	q.items[q.head] = outItem{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return it
}

// outbox holds a connection's frames until they are due. Events, acks and
// errors wait in data, pongs in ctrl: a stall holds data only, as a hung
// server whose WebSocket library still pongs. Due times never decrease
// across both queues, so frames leave in the order they were queued.
type outbox struct {
	data, ctrl fifo
	lastDue    time.Duration
}

func (o *outbox) reset() { *o = outbox{} }

// enqueue queues a frame on c under the room's faults at now: nothing while
// silent, events lost with the loss probability, and every frame delayed by
// latency plus jitter (and its servers' latency) but never before the frame queued ahead of it.
func (c *conn) enqueue(it outItem, now time.Duration, fs *faultState) {
	if fs.isSilent(now) {
		return
	}
	c.mu.Lock()
	if c.closed || c.closing != nil {
		c.mu.Unlock()
		return
	}
	if it.kind == itemEvent {
		if p := fs.lossProb(now); p > 0 && c.rng.Float64() < p {
			c.mu.Unlock()
			return
		}
	}
	d, jitter := fs.delay(now)
	d += c.room.hostLatency(now)
	if jitter > 0 {
		d += time.Duration(c.rng.Int64N(int64(jitter)))
	}
	it.due = max(now+d, c.out.lastDue)
	c.out.lastDue = it.due
	q, limit := &c.out.data, maxQueuedData
	if it.kind == itemPong {
		q, limit = &c.out.ctrl, maxQueuedCtrl
	}
	full := q.len() >= limit
	if !full {
		q.push(it)
	}
	c.mu.Unlock()
	if full {
		c.room.log.Warn("outbox full, cutting connection", "conn", c.id, "remote", c.remote)
		c.closeAbrupt()
		return
	}
	c.wakeup()
}

// step is what the writer does next.
type step struct {
	item  outItem
	write bool          // write item now
	close *closeReq     // send this close frame and end
	wait  time.Duration // sleep this long, or until woken; < 0: until woken
	end   bool          // the connection is closed
}

// next decides the writer's next step at now.
func (c *conn) next(now time.Duration, fs *faultState) step {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return step{end: true}
	case c.closing != nil:
		return step{close: c.closing}
	}
	s := step{wait: -1}
	if c.out.ctrl.len() > 0 {
		due := c.out.ctrl.peek().due
		if due <= now {
			return step{item: c.out.ctrl.pop(), write: true}
		}
		s.wait = due - now
	}
	if c.out.data.len() > 0 {
		due := max(c.out.data.peek().due, fs.stallUntil)
		if due <= now {
			return step{item: c.out.data.pop(), write: true}
		}
		if s.wait < 0 || due-now < s.wait {
			s.wait = due - now
		}
	}
	return s
}

// writeLoop is the connection's writer: it writes each frame when due and
// ends when the connection is closed.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := c.room.hall.now()
		fs := c.room.fault.Load()
		s := c.next(now, fs)
		switch {
		case s.end:
			return
		case s.close != nil:
			c.sendClose(s.close, fs.isSilent(now))
			return
		case s.write:
			if err := c.write(s.item, fs.isSilent(now)); err != nil {
				c.room.log.Debug("write failed", "conn", c.id, "err", err)
				c.closeAbrupt()
				return
			}
			continue
		case s.wait < 0:
			select {
			case <-c.wake:
			case <-c.done:
			}
		default:
			if timer == nil {
				timer = time.NewTimer(s.wait)
			} else {
				timer.Reset(s.wait)
			}
			select {
			case <-timer.C:
			case <-c.wake:
			case <-c.done:
			}
		}
	}
}

// write writes one frame; while silent, the frame is lost instead.
func (c *conn) write(it outItem, silent bool) error {
	if silent {
		return nil
	}
	deadline := time.Now().Add(writeTimeout)
	switch it.kind {
	case itemPong:
		return c.ws.WriteControl(websocket.PongMessage, it.data, deadline)
	case itemEvent:
		_ = c.ws.SetWriteDeadline(deadline)
		if err := c.ws.WritePreparedMessage(it.pm); err != nil {
			return err
		}
		c.room.eventsSent.Add(1)
		return nil
	default:
		_ = c.ws.SetWriteDeadline(deadline)
		return c.ws.WriteMessage(websocket.TextMessage, it.data)
	}
}

// sendClose sends a close frame (unless silent), gives the peer a moment
// to answer, then cuts the connection.
func (c *conn) sendClose(cl *closeReq, silent bool) {
	if !silent {
		msg := websocket.FormatCloseMessage(cl.code, cl.reason)
		if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err == nil {
			t := time.NewTimer(closeGrace)
			select {
			case <-c.done:
			case <-t.C:
			}
			t.Stop()
		}
	}
	c.closeAbrupt()
}
