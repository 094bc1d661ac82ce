package hall

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait in these tests.
const wait = 3 * time.Second

// testHall is a hall served on a loopback httptest server.
type testHall struct {
	*Hall
	srv   *httptest.Server
	wsURL string // ws://127.0.0.1:port
}

// startHall starts a hall with a short period unless opts sets one; both
// the hall and the server are closed when the test ends.
func startHall(t *testing.T, opts Options) *testHall {
	t.Helper()
	if opts.Period == 0 {
		opts.Period = 20 * time.Millisecond
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return &testHall{Hall: h, srv: srv, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// inMsg is any message from the hall.
type inMsg struct {
	Type        string          `json:"type"`
	Room        string          `json:"room"`
	Participant string          `json:"participant"`
	Seq         uint64          `json:"seq"`
	TS          int64           `json:"ts"`
	PeriodMS    int64           `json:"period_ms"`
	Kind        string          `json:"kind"`
	Data        json.RawMessage `json:"data"`
	Error       string          `json:"error"`
	at          time.Time       // when it was read
}

type pong struct {
	payload string
	at      time.Time
}

// client is a test participant: a reader goroutine feeds msgs and pongs
// until the connection ends; err is the read error once done is closed.
type client struct {
	t     *testing.T
	ws    *websocket.Conn
	msgs  chan inMsg
	pongs chan pong
	done  chan struct{}
	err   error
}

// dial upgrades to a room's event stream, with an optional header.
func (th *testHall) dial(room string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial(th.wsURL+"/rooms/"+room+"/events", hdr)
}

// connect dials a room and starts reading; the test fails if it cannot.
func (th *testHall) connect(t *testing.T, room string, hdr http.Header) *client {
	t.Helper()
	ws, _, err := th.dial(room, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", room, err)
	}
	c := &client{t: t, ws: ws, msgs: make(chan inMsg, 4096), pongs: make(chan pong, 64), done: make(chan struct{})}
	ws.SetPongHandler(func(s string) error {
		select {
		case c.pongs <- pong{s, time.Now()}:
		default:
		}
		return nil
	})
	go func() {
		defer close(c.done)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			m := inMsg{at: time.Now()}
			if err := json.Unmarshal(b, &m); err != nil {
				m = inMsg{Type: "unparsable", Error: string(b), at: time.Now()}
			}
			select {
			case c.msgs <- m:
			default: // a test that does not read events drops them
			}
		}
	}()
	t.Cleanup(func() {
		_ = ws.Close()
		select {
		case <-c.done:
		case <-time.After(wait):
			t.Errorf("client reader did not end")
		}
	})
	return c
}

// join connects, joins as participant p and returns the joined reply.
func (th *testHall) join(t *testing.T, room, p string) (*client, inMsg) {
	t.Helper()
	c := th.connect(t, room, nil)
	c.send(fmt.Sprintf(`{"type":"join","room":%q,"participant":%q}`, room, p))
	m := c.nextType("joined", wait)
	return c, m
}

// send writes a text message.
func (c *client) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next message, failing after d.
func (c *client) next(d time.Duration) inMsg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		c.t.Fatalf("connection ended while waiting for a message: %v", c.err)
	case <-time.After(d):
		c.t.Fatalf("no message within %s", d)
	}
	return inMsg{}
}

// nextType returns the next message of type typ, skipping others.
func (c *client) nextType(typ string, d time.Duration) inMsg {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := c.next(time.Until(deadline))
		if m.Type == typ {
			return m
		}
	}
}

// drain discards the messages already received.
func (c *client) drain() {
	for {
		select {
		case <-c.msgs:
		default:
			return
		}
	}
}

// ping sends an RFC 6455 ping and returns the round-trip time, or ok false
// if no pong came within d.
func (c *client) ping(payload string, d time.Duration) (rtt time.Duration, ok bool) {
	c.t.Helper()
	sent := time.Now()
	if err := c.ws.WriteControl(websocket.PingMessage, []byte(payload), sent.Add(time.Second)); err != nil {
		c.t.Fatalf("ping: %v", err)
	}
	timeout := time.After(d)
	for {
		select {
		case p := <-c.pongs:
			if p.payload == payload {
				return p.at.Sub(sent), true
			}
		case <-timeout:
			return 0, false
		}
	}
}

// closed waits for the connection to end and returns the read error.
func (c *client) closed(d time.Duration) error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(d):
		c.t.Fatalf("connection still open after %s", d)
	}
	return nil
}

// eventually polls cond until it holds, failing after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
