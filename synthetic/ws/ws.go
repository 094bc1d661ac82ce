package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// ErrSilent is the dropout error when the server stops answering pings.
var ErrSilent = errors.New("server stopped answering pings")

// Participant is a synthetic participant on a hall's WebSocket event stream. One owner
// goroutine runs the session (k6's model): a read pump turns frames into
// channel messages and a single select handles pings, pongs, data, errors,
// windows and cancellation.
type Participant struct {
	cfg       Config
	format    messageFormat
	join      []byte
	heartbeat []byte
	dialer    *websocket.Dialer
	header    http.Header
	log       *slog.Logger
}

// New checks cfg and returns a participant ready to Run.
func New(cfg Config) (*Participant, error) {
	cfg = cfg.WithDefaults()
	format, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("websocket participant: %w", err)
	}
	h := http.Header{}
	for k, v := range cfg.Header {
		h[k] = append([]string(nil), v...)
	}
	if cfg.Token != "" {
		h.Set("Authorization", "Bearer "+cfg.Token)
	}
	expand := strings.NewReplacer("{room}", cfg.Room, "{participant}", cfg.Participant)
	var join []byte
	if cfg.Join != "-" {
		join = []byte(expand.Replace(cfg.Join))
	}
	return &Participant{
		cfg:       cfg,
		format:    format,
		join:      join,
		heartbeat: []byte(expand.Replace(cfg.Heartbeat)),
		header:    h,
		dialer: &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: cfg.ConnectTimeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  512,
			WriteBufferPool:  &sync.Pool{},
		},
		log: cfg.Logger.With("component", "ws-participant", "participant", cfg.Participant, "room", cfg.Room),
	}, nil
}

// dialResult is the outcome of one connection attempt.
type dialResult struct {
	conn *websocket.Conn
	took time.Duration
	err  error
}

// wsSession is one participant's run. The owner goroutine (run) dials,
// writes, keeps the timers and closes windows; the read pump of the current
// connection records pongs and messages straight into the measures under mu,
// so a frame costs no hand-off between goroutines — that is what lets one
// process hold ten thousand participants.
type wsSession struct {
	p   *Participant
	out synthetic.Emitter

	mu    sync.Mutex // guards win, ticks and pings
	win   *windowAcc
	ticks tickTracker
	pings []pendingPing

	// owner only
	conn         *websocket.Conn
	readErr      chan error
	stopRead     chan struct{}
	readDone     chan struct{}
	nextPingID   uint64
	attempt      int
	dialing      bool
	lastDialErr  string
	pingTicker   *time.Ticker
	backoffTimer *time.Timer
}

type pendingPing struct {
	id   uint64
	sent time.Time
}

// Run joins the room and measures until ctx is done, emitting one Sample per
// window on out. It never blocks on out: a Sample the consumer has no room
// for is dropped and counted in the next one. Run returns nil when ctx ends.
func (p *Participant) Run(ctx context.Context, out chan<- sample.Sample) error {
	now := time.Now()
	s := &wsSession{
		p:     p,
		out:   synthetic.Emitter{Out: out, Transport: sample.TransportWS, Room: p.cfg.Room, Participant: p.cfg.Participant},
		win:   newWindowAcc(now, p.cfg.Window),
		ticks: newTickTracker(p.cfg.TickPeriod, p.cfg.StutterFactor),
	}
	return s.run(ctx)
}

func (s *wsSession) run(ctx context.Context) error {
	cfg := s.p.cfg
	dials := make(chan dialResult, 1)
	dialCtx, cancelDial := context.WithCancel(ctx)
	defer cancelDial()

	windowTimer := time.NewTimer(time.Until(s.win.end))
	defer windowTimer.Stop()
	s.pingTicker = time.NewTicker(cfg.PingInterval)
	defer s.pingTicker.Stop()
	var heartC <-chan time.Time
	if cfg.Heartbeat != "" {
		heart := time.NewTicker(cfg.HeartbeatInterval)
		defer heart.Stop()
		heartC = heart.C
	}
	s.backoffTimer = time.NewTimer(0) // first attempt at once
	defer s.backoffTimer.Stop()

	defer func() {
		s.closeConn()
		if s.dialing { // collect an attempt under way so its conn is closed
			if r := <-dials; r.conn != nil {
				r.conn.Close()
			}
		}
	}()

	for {
		select {
		case <-ctx.Done():
			// The last, partial window is measured too.
			now := time.Now()
			s.mu.Lock()
			s.win.cut(now)
			s.mu.Unlock()
			s.closeWindow(now)
			return nil

		case <-s.backoffTimer.C:
			s.dialing = true
			go s.dial(dialCtx, dials)

		case r := <-dials:
			s.dialing = false
			s.connected(r)

		case err := <-s.readErr:
			s.dropout(err)

		case now := <-s.pingTicker.C:
			s.ping(now)

		case <-heartC:
			if s.conn != nil {
				s.write(websocket.TextMessage, s.p.heartbeat)
			}

		case <-windowTimer.C:
			s.closeWindow(time.Now())
			windowTimer.Reset(time.Until(s.win.end))
		}
	}
}

// dial makes one connection attempt; it runs in its own goroutine so the
// owner keeps emitting windows while a slow server makes it wait.
func (s *wsSession) dial(ctx context.Context, out chan<- dialResult) {
	start := time.Now()
	conn, resp, err := s.p.dialer.DialContext(ctx, s.p.cfg.URL, s.p.header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("dial %s: %w (HTTP %s)", s.p.cfg.URL, err, resp.Status)
		} else {
			err = fmt.Errorf("dial %s: %w", s.p.cfg.URL, err)
		}
	}
	out <- dialResult{conn: conn, took: time.Since(start), err: err}
}

func (s *wsSession) connected(r dialResult) {
	cfg := s.p.cfg
	now := time.Now()
	if r.err != nil {
		s.attempt++
		s.mu.Lock()
		s.win.err = r.err.Error()
		s.mu.Unlock()
		if s.lastDialErr != r.err.Error() {
			s.p.log.Warn("connect failed", "attempt", s.attempt, "err", r.err)
			s.lastDialErr = r.err.Error()
		}
		s.emit(synthetic.Event{Kind: synthetic.EventConnectFail, At: now, Err: r.err})
		s.backoffTimer.Reset(synthetic.Backoff(s.attempt, cfg.ReconnectMin, cfg.ReconnectMax))
		return
	}
	s.conn = r.conn
	s.attempt = 0
	s.lastDialErr = ""
	s.conn.SetReadLimit(cfg.ReadLimit)
	s.readErr = make(chan error, 1)
	s.stopRead = make(chan struct{})
	s.readDone = make(chan struct{})
	s.pingTicker.Reset(cfg.PingInterval)

	s.mu.Lock()
	s.pings = s.pings[:0]
	s.ticks.start(now)
	outage, reconnected := s.win.connect(now, r.took)
	s.mu.Unlock()
	go s.readPump(s.conn, s.readErr, s.stopRead, s.readDone)

	if reconnected {
		s.p.log.Info("reconnected", "outage", outage, "connect", r.took)
		s.emit(synthetic.Event{Kind: synthetic.EventReconnected, At: now, Duration: r.took, Outage: outage})
	} else {
		s.p.log.Debug("connected", "connect", r.took)
		s.emit(synthetic.Event{Kind: synthetic.EventConnected, At: now, Duration: r.took})
	}
	// After the event: a join that cannot be written is a dropout, told after it.
	if s.p.join != nil {
		s.write(websocket.TextMessage, s.p.join)
	}
}

func (s *wsSession) write(typ int, data []byte) {
	if s.conn == nil {
		return
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.p.cfg.PingInterval))
	if err := s.conn.WriteMessage(typ, data); err != nil {
		s.dropout(fmt.Errorf("write: %w", err))
	}
}

func (s *wsSession) ping(now time.Time) {
	if s.conn == nil {
		return
	}
	s.mu.Lock()
	missed := len(s.pings)
	if missed < s.p.cfg.MissedPongs {
		s.nextPingID++
		s.pings = append(s.pings, pendingPing{id: s.nextPingID, sent: time.Now()})
	}
	s.mu.Unlock()
	if missed >= s.p.cfg.MissedPongs {
		s.dropoutAt(now, fmt.Errorf("%w: %d pings unanswered", ErrSilent, missed))
		return
	}
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], s.nextPingID)
	if err := s.conn.WriteControl(websocket.PingMessage, payload[:], time.Now().Add(s.p.cfg.PingInterval)); err != nil {
		s.dropout(fmt.Errorf("ping: %w", err))
	}
}

// pong records the answer to a ping; per RFC 6455 it answers any earlier
// unanswered ping too. Called by the read pump.
func (s *wsSession) pong(id uint64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pp := range s.pings {
		if pp.id == id {
			s.win.rtt = append(s.win.rtt, at.Sub(pp.sent))
			s.pings = append(s.pings[:0], s.pings[i+1:]...)
			return
		}
	}
}

// message records one data frame. Called by the read pump; the parse runs
// outside the lock.
func (s *wsSession) message(data []byte, at time.Time) {
	msg, err := s.p.format.parse(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.win.messages++
	if err != nil {
		s.win.badMessages++
		s.win.err = err.Error()
		return
	}
	if msg.hasTS {
		s.win.lag = append(s.win.lag, at.Sub(msg.ts))
	}
	if msg.hasSeq || s.p.format.seq == nil {
		s.ticks.tick(at, msg.seq, msg.hasSeq)
	}
}

// dropout ends the connection after an unexpected loss seen now.
func (s *wsSession) dropout(err error) { s.dropoutAt(time.Now(), err) }

func (s *wsSession) dropoutAt(at time.Time, err error) {
	if s.conn == nil {
		return
	}
	s.closeConn()
	s.mu.Lock()
	s.ticks.stop(at)
	s.win.disconnect(at)
	s.win.dropouts++
	s.win.err = err.Error()
	s.mu.Unlock()
	s.p.log.Warn("dropout", "err", err)
	s.emit(synthetic.Event{Kind: synthetic.EventDropout, At: at, Err: err})
	s.attempt = 1
	s.backoffTimer.Reset(synthetic.Backoff(s.attempt, s.p.cfg.ReconnectMin, s.p.cfg.ReconnectMax))
}

// closeConn closes the connection and waits for its read pump.
func (s *wsSession) closeConn() {
	if s.conn == nil {
		return
	}
	close(s.stopRead)
	s.conn.Close()
	<-s.readDone
	s.conn, s.readErr = nil, nil
}

func (s *wsSession) closeWindow(now time.Time) {
	s.mu.Lock()
	if s.conn != nil {
		s.ticks.windowEnd(s.win.end)
	}
	tw := s.ticks.take()
	smp := s.win.close(tw)
	s.win.next()
	s.mu.Unlock()

	if tw.episodes > 0 {
		s.emit(synthetic.Event{Kind: synthetic.EventStutter, At: now})
	}
	s.out.Emit(smp)
}

func (s *wsSession) emit(e synthetic.Event) {
	if s.p.cfg.OnEvent != nil {
		s.p.cfg.OnEvent(e)
	}
}

// readPump reads frames until the connection fails or stop is closed, and
// records each pong and message as it arrives, timestamped on arrival.
func (s *wsSession) readPump(conn *websocket.Conn, errc chan<- error, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	conn.SetPongHandler(func(data string) error {
		if len(data) == 8 {
			s.pong(binary.BigEndian.Uint64([]byte(data)), time.Now())
		}
		return nil
	})
	for {
		_, data, err := conn.ReadMessage()
		at := time.Now()
		if err != nil {
			select {
			case <-stop: // we closed it
			default:
				errc <- readError(err) // buffered: the one error of this pump
			}
			return
		}
		s.message(data, at)
	}
}

// readError turns a read failure into the error a user can act on.
func readError(err error) error {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("server closed the connection: code %d %s", ce.Code, ce.Text)
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("read: message larger than the read limit: %w", err)
	}
	return fmt.Errorf("read: %w", err)
}
