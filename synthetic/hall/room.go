package hall

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Room is one room of the hall: a script of events played on one ticker and
// fanned out to the room's connections, and the room's faults.
type Room struct {
	hall   *Hall
	id     string
	kind   string
	hosts  atomic.Pointer[[]*Server] // replaced whole (under Hall.topoMu) by a move
	script script
	log    *slog.Logger

	fault   atomic.Pointer[faultState] // read on every frame
	faultMu sync.Mutex                 // serialises fault changes

	mu     sync.Mutex // guards seq, conns, closed and each conn's join state
	seq    uint64     // seq of the last event generated
	conns  []*conn    // every upgraded connection, joined or not
	closed bool       // the hall is closing: no new connections

	nconns     atomic.Int64  // len(conns), for metrics without the lock
	eventsSent atomic.Uint64 // event frames written to connections
}

func newRoom(h *Hall, spec RoomSpec) *Room {
	r := &Room{
		hall:   h,
		id:     spec.ID,
		kind:   spec.Kind,
		script: scriptFor(spec.Kind),
		log:    h.log.With("room", spec.ID),
	}
	hosts := make([]*Server, len(spec.Servers))
	for i, id := range spec.Servers {
		hosts[i] = h.srvByID[id]
	}
	r.hosts.Store(&hosts)
	r.fault.Store(noFaults)
	return r
}

// ID is the room's id.
func (r *Room) ID() string { return r.id }

// Kind is KindOpeningHall or KindCoordinationRoom.
func (r *Room) Kind() string { return r.kind }

// Servers returns the ids of the servers hosting the room, in order.
func (r *Room) Servers() []string {
	hosts := *r.hosts.Load()
	ids := make([]string, len(hosts))
	for i, s := range hosts {
		ids[i] = s.id
	}
	return ids
}

// hostLatency is the delay the room's servers' health faults add to its
// frames at now.
func (r *Room) hostLatency(now time.Duration) time.Duration {
	var d time.Duration
	for _, s := range *r.hosts.Load() {
		d += s.latency(now)
	}
	return d
}

// restartingHost is a server of the room in a restart's down gap, or nil.
func (r *Room) restartingHost() *Server {
	now := r.hall.now()
	for _, s := range *r.hosts.Load() {
		if s.restarting(now) {
			return s
		}
	}
	return nil
}

// Conns is the number of open connections to the room, joined or not.
func (r *Room) Conns() int { return int(r.nconns.Load()) }

// Seq is the seq of the room's last event; 0 before the first.
func (r *Room) Seq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// EventsSent is the number of event frames written to the room's
// connections since the hall started.
func (r *Room) EventsSent() uint64 { return r.eventsSent.Load() }

// Fault is the room's fault now: the persistent faults still in force (with
// DurationMS the time they have left) and StallMS the time left of a stall
// in progress. A healthy room returns the zero Fault.
func (r *Room) Fault() Fault {
	f := r.fault.Load().view(r.hall.now())
	if m := r.hall.media; m != nil {
		if mf, err := m.Fault(r.id); err == nil {
			mf.DurationMS = 0 // the shared duration is the WebSocket side's
			f.Fault = mf
		}
	}
	return f
}

// SetFault replaces the room's persistent faults with f's and triggers f's
// one-shots: a stall starts now (a stall already in progress goes on), a
// drop closes every connection now. It returns an error wrapping
// ErrBadFault, and changes nothing, if a value is out of range.
func (r *Room) SetFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if r.hall.media == nil && f.hasMedia() {
		return fmt.Errorf("%w: media faults need the hall's media side (it runs with NoMedia)", ErrBadFault)
	}
	if m := r.hall.media; m != nil {
		if err := m.SetFault(r.id, f.MediaFault()); err != nil {
			return err
		}
	}
	r.faultMu.Lock()
	r.fault.Store(newFaultState(f, r.hall.now(), r.fault.Load()))
	r.faultMu.Unlock()
	r.log.Info("fault set", "latency_ms", f.LatencyMS, "jitter_ms", f.JitterMS, "loss_pct", f.LossPct,
		"stall_ms", f.StallMS, "drop", f.Drop, "refuse", f.Refuse, "silent", f.Silent, "duration_ms", f.DurationMS)
	if f.Drop {
		r.dropAll()
	}
	return nil
}

// ClearFault clears every fault of the room, ends a stall in progress
// (flushing what it held) and ends silence.
func (r *Room) ClearFault() {
	r.faultMu.Lock()
	r.fault.Store(noFaults)
	r.faultMu.Unlock()
	if m := r.hall.media; m != nil {
		_ = m.ClearFault(r.id) // the room exists on both sides
	}
	r.log.Info("fault cleared")
	r.wakeAll()
}

// refusing reports whether new connections are refused now.
func (r *Room) refusing() bool { return r.fault.Load().isRefusing(r.hall.now()) }

// run plays the room's script until stop is closed: one event per period.
func (r *Room) run(stop <-chan struct{}) {
	t := time.NewTicker(r.hall.opts.Period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.tick()
		}
	}
}

// tick generates the next event and queues it on every joined connection.
// The event is encoded and framed once for all of them; its ts is taken
// now, before any injected delay, so the delay shows as lag.
func (r *Room) tick() {
	now := r.hall.now()
	fs := r.expire(now)
	ts := unixMicro(time.Now())

	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	kind, data := r.script(r.seq - 1)
	b := mustJSON(eventMsg{Type: msgEvent, Room: r.id, Seq: r.seq, TS: ts, Kind: kind, Data: data})
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		r.log.Error("prepare event", "seq", r.seq, "err", err)
		return
	}
	joinBy := now - r.hall.opts.JoinTimeout
	for _, c := range r.conns {
		switch {
		case c.joined:
			c.enqueue(outItem{kind: itemEvent, pm: pm}, now, fs)
		case c.since < joinBy:
			c.requestClose(websocket.ClosePolicyViolation, "no valid join within "+r.hall.opts.JoinTimeout.String())
		}
	}
}

// expire ends persistent faults whose duration has passed, keeping a stall
// in progress, and returns the fault state in force.
func (r *Room) expire(now time.Duration) *faultState {
	fs := r.fault.Load()
	if fs.expires == 0 || fs.active(now) {
		return fs
	}
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if r.fault.Load() != fs {
		return r.fault.Load()
	}
	next := noFaults
	if fs.stalled(now) {
		next = &faultState{stallUntil: fs.stallUntil}
	}
	r.fault.Store(next)
	r.log.Info("fault expired")
	return next
}

// add registers a new connection; false if the hall is closing.
func (r *Room) add(c *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	c.idx = len(r.conns)
	r.conns = append(r.conns, c)
	r.nconns.Add(1)
	return true
}

// remove unregisters a connection.
func (r *Room) remove(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.idx < 0 || c.idx >= len(r.conns) || r.conns[c.idx] != c {
		return
	}
	last := len(r.conns) - 1
	r.conns[c.idx] = r.conns[last]
	r.conns[c.idx].idx = c.idx
	r.conns[last] = nil
	r.conns = r.conns[:last]
	c.idx = -1
	r.nconns.Add(-1)
}

// join makes c a member: it answers with the room's current seq and, from
// the next event on, c receives every event. Both happen under the room's
// lock, so the joined reply is followed by exactly the events after its seq.
func (r *Room) join(c *conn, m clientMsg) {
	if m.Participant == "" {
		c.sendError(`join: "participant" is required`)
		return
	}
	if m.Room != "" && m.Room != r.id {
		c.sendError(`join: "room" is "` + m.Room + `" but this connection is to room "` + r.id + `"`)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.joined {
		c.sendError(`join: already joined as "` + c.participant + `"`)
		return
	}
	c.joined = true
	c.participant = m.Participant
	c.sendText(mustJSON(joinedMsg{
		Type: msgJoined, Room: r.id, Participant: m.Participant, Seq: r.seq,
		TS: unixMicro(time.Now()), PeriodMS: r.hall.opts.Period.Milliseconds(),
	}))
	r.log.Debug("participant joined", "participant", m.Participant, "conn", c.id)
}

// dropAll cuts every connection of the room without a close frame.
func (r *Room) dropAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.closeAbrupt()
	}
	if len(r.conns) > 0 {
		r.log.Info("connections dropped", "conns", len(r.conns))
	}
}

// closeAll refuses new connections and asks every connection to close
// with 1001 (going away).
func (r *Room) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, c := range r.conns {
		c.requestClose(websocket.CloseGoingAway, "hall closing")
	}
}

// wakeAll makes every connection's writer look at its queue again, after a
// fault change that may have released held frames.
func (r *Room) wakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.wakeup()
	}
}
