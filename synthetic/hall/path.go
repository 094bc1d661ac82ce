package hall

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Path is the network path between one place and the hall: a TCP relay
// whose delay can be raised and which can be cut, so a drill or a test can
// make the hall slow or unreachable from one sub-center only while the
// others see it fine. Point that place's participants at Addr instead of
// the hall. It relays TCP only (event streams, WHEP/WHIP signalling, the
// admin API); WebRTC media flows over UDP, outside it.
//
// A hall serves named paths of its own ([Hall.AddPath]); NewPath makes a
// free-standing one.
type Path struct {
	location string // "" for a free-standing path
	ln       net.Listener
	target   string
	delay    atomic.Int64 // added to the hall → participant direction
	cut      atomic.Bool
	relayed  atomic.Int64 // participant connections relayed now

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{} // closed by Close: delayed writes stop waiting
	wg     sync.WaitGroup
	once   sync.Once
}

// PathFault is what is wrong with a path: the admin API's body for
// POST /admin/paths/{location}. The zero PathFault is a clean path.
type PathFault struct {
	// DelayMS delays everything the hall sends through the path.
	DelayMS float64 `json:"delay_ms,omitempty"`
	// Cut closes every relayed connection and every new one.
	Cut bool `json:"cut,omitempty"`
}

// ErrBadPath is wrapped by the errors of a bad path: a bad location, a
// duplicate one, a delay out of range.
var ErrBadPath = errors.New("bad path")

// Validate reports a delay out of range.
func (f PathFault) Validate() error {
	if math.IsNaN(f.DelayMS) || f.DelayMS < 0 || f.DelayMS > maxDelayMS {
		return fmt.Errorf("%w: delay_ms: %v out of range (want 0 to %d)", ErrBadPath, f.DelayMS, maxDelayMS)
	}
	return nil
}

// NewPath starts a relay on 127.0.0.1 (a free port) to target (host:port).
func NewPath(target string) (*Path, error) {
	return newPath("", "127.0.0.1:0", target)
}

// newPath starts a relay on listen to target.
func newPath(location, listen, target string) (*Path, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("network path to %s: %w", target, err)
	}
	p := &Path{location: location, ln: ln, target: target, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Location is the place the path leads from; "" for a free-standing path.
func (p *Path) Location() string { return p.location }

// Addr is the host:port to use in place of the hall's.
func (p *Path) Addr() string { return p.ln.Addr().String() }

// Conns is the number of connections relayed now.
func (p *Path) Conns() int { return int(p.relayed.Load()) }

// SetDelay delays everything the hall sends through the path by d, as a
// congested or rerouted link would; 0 restores it.
func (p *Path) SetDelay(d time.Duration) { p.delay.Store(int64(max(d, 0))) }

// SetCut cuts the path: every relayed connection is closed and new ones are
// closed as soon as they arrive, until SetCut(false).
func (p *Path) SetCut(cut bool) {
	p.cut.Store(cut)
	if cut {
		p.closeConns()
	}
}

// SetFault replaces the path's delay and cut with f's. It returns an error
// wrapping ErrBadPath, and changes nothing, if the delay is out of range.
func (p *Path) SetFault(f PathFault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	p.SetDelay(msDuration(f.DelayMS))
	p.SetCut(f.Cut)
	return nil
}

// ClearFault restores the path: no delay, not cut.
func (p *Path) ClearFault() {
	p.SetDelay(0)
	p.SetCut(false)
}

// Fault is the path's delay and cut now.
func (p *Path) Fault() PathFault {
	return PathFault{
		DelayMS: float64(p.delay.Load()) / float64(time.Millisecond),
		Cut:     p.cut.Load(),
	}
}

// Close stops the relay, closes its connections and waits for its
// goroutines. Close is idempotent.
func (p *Path) Close() error {
	var err error
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		close(p.done)
		p.mu.Unlock()
		err = p.ln.Close()
		p.closeConns()
		p.wg.Wait()
	})
	return err
}

func (p *Path) closeConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// track registers c for closing; false if the path is closed.
func (p *Path) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Path) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *Path) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.cut.Load() {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

// relay joins one participant connection to a new connection to the hall.
func (p *Path) relay(c net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	p.relayed.Add(1)
	defer p.relayed.Add(-1)
	defer p.untrack(c, up)
	if p.cut.Load() { // cut between the accept and the track
		c.Close()
		up.Close()
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); up.Close(); done <- struct{}{} }()
	go func() { p.delayedCopy(c, up); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// chunk is data read from the hall, with when it arrived.
type chunk struct {
	data []byte
	at   time.Time
}

// delayedCopy copies src to dst, holding each chunk until its arrival time
// plus the path's delay. Reading and writing run apart, so the delay does
// not add up from chunk to chunk. It returns once the reader has ended.
func (p *Path) delayedCopy(dst, src net.Conn) {
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 16<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{data: buf[:n], at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		src.Close() // unblocks the reader
		for range q {
		}
	}()
	for ch := range q {
		if d := time.Until(ch.at.Add(time.Duration(p.delay.Load()))); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return
			}
		}
		if _, err := dst.Write(ch.data); err != nil {
			return
		}
	}
}
