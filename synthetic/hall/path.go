package hall

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Path is the network path between one place and the hall: a loopback TCP
// relay whose delay can be raised and which can be cut, so a drill or a test
// can make the hall slow or unreachable from one sub-center only while the
// others see it fine. Point that place's participants at Addr instead of
// the hall. It relays TCP only (event streams and WHEP/WHIP signalling);
// WebRTC media flows over UDP, outside it.
type Path struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // added to the hall → participant direction
	cut    atomic.Bool

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewPath starts a relay on 127.0.0.1 to target (host:port).
func NewPath(target string) (*Path, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("network path to %s: %w", target, err)
	}
	p := &Path{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port to use in place of the hall's.
func (p *Path) Addr() string { return p.ln.Addr().String() }

// SetDelay delays everything the hall sends through the path by d, as a
// congested or rerouted link would; 0 restores it.
func (p *Path) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// SetCut cuts the path: every relayed connection is closed and new ones are
// closed as soon as they arrive, until SetCut(false).
func (p *Path) SetCut(cut bool) {
	p.cut.Store(cut)
	if cut {
		p.closeConns()
	}
}

// Close stops the relay and waits for its goroutines.
func (p *Path) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.closeConns()
	p.wg.Wait()
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
	defer p.untrack(c, up)
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
// not add up from chunk to chunk.
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
	for ch := range q {
		if d := time.Duration(p.delay.Load()); d > 0 {
			time.Sleep(time.Until(ch.at.Add(d)))
		}
		if _, err := dst.Write(ch.data); err != nil {
			src.Close() // unblocks the reader
			for range q {
			}
			return
		}
	}
}
