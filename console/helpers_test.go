package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/bidwatch/bidwatch/console/auth"
	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/dispatch"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait in these tests that is not about timing itself.
const wait = 5 * time.Second

// The test city's users, one per role, and their password.
const (
	password   = "correct-horse-battery-staple"
	ackSecret  = "ack-link-secret-0b7d4a91e2"
	linkPerson = "wang" // a duty officer in the city's dispatch people
)

var testUsers = []struct {
	name, display string
	role          auth.Role
}{
	{"screen", "机房大屏", auth.RoleViewer},
	{"zhang", "张工", auth.RoleOperator},
	{"li", "李主任", auth.RoleSupervisor},
	{"admin", "管理员", auth.RoleAdmin},
}

// envOptions change how newEnv builds a console.
type envOptions struct {
	// city changes the demo city before the console is built.
	city func(*config.Config)
	// buffer is each viewer's send buffer (0: the console's default).
	buffer int
	// loginRate is the login limit; zero is one high enough for any test
	// but the brute-force one.
	loginRate redis_rate.Limit
	// trustForwarded trusts X-Forwarded-For (the brute-force test varies
	// the address with it).
	trustForwarded bool
	// alignTicks starts the console 50 ms into a second, so its ticks are
	// sent at tickPhase past each second (see env.tickSent).
	alignTicks bool
}

// tickPhase is how far into each second an aligned console ticks.
const tickPhase = 50 * time.Millisecond

// env is a console on a private redis-server, served on a loopback
// httptest server, with the test city's users. It records every response
// the tests get and every line the console logs, for the secrets test.
type env struct {
	t      testing.TB
	city   *config.Config
	redis  *bustest.Server
	bus    *bus.Bus
	store  *incident.RedisStore
	auth   *auth.Store
	ack    *dispatch.AckSigner
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	logs   *lockedBuffer
	// runAt is when Run started: its ticker fires a whole number of
	// seconds after.
	runAt time.Time

	mu   sync.Mutex
	seen []exchange
	seqs map[string]uint64
}

// exchange is one response a test got: what the secrets test searches.
type exchange struct {
	what   string
	header http.Header
	body   []byte
	// cookie is the session token the request carried ("" for none).
	cookie string
}

// lockedBuffer is a bytes.Buffer safe for the logger's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newEnv starts a console for t and stops everything when t ends.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	city := config.DemoCity()
	city.Dispatch.People = append(city.Dispatch.People, config.Person{ID: linkPerson, Name: "王工"})
	if o.city != nil {
		o.city(city)
	}
	e := &env{t: t, city: city, logs: &lockedBuffer{}, seqs: map[string]uint64{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.redis = bustest.StartRedis(t)
	b, err := bus.Open(context.Background(), bus.Options{URL: e.redis.URL(), Prefix: "t:", Logger: logger})
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	e.bus = b
	e.store = incident.NewRedisStore(b.Client(), b.Prefix(), city.Watchdog.Incidents)
	e.auth = auth.NewStore(b.Client(), b.Prefix())
	e.auth.BcryptCost = bcrypt.MinCost
	e.auth.LoginRate = o.loginRate
	if e.auth.LoginRate.IsZero() {
		e.auth.LoginRate = redis_rate.PerMinute(100_000)
	}
	ctx := context.Background()
	for _, u := range testUsers {
		if _, err := e.auth.AddUser(ctx, u.name, u.display, u.role, password); err != nil {
			t.Fatalf("add user %s: %v", u.name, err)
		}
	}
	e.ack = dispatch.NewAckSigner(config.AckLinks{Secret: config.Secret(ackSecret), BaseURL: "http://console.test", ValidFor: time.Hour})

	e.srv, err = New(Options{
		City: city, Bus: b, Incidents: e.store, Auth: e.auth, Ack: e.ack,
		TrustForwarded: o.trustForwarded, Buffer: o.buffer, Logger: logger,
	})
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}

	// The console runs until the test ends: its viewers are told it is
	// going (their request contexts end with runCtx), then the server and
	// Run stop, then Redis.
	runCtx, cancel := context.WithCancel(context.Background())
	e.ts = httptest.NewUnstartedServer(e.srv.Handler())
	e.ts.Config.BaseContext = func(net.Listener) context.Context { return runCtx }
	e.ts.Start()
	e.client = e.ts.Client()
	ran := make(chan struct{})
	if o.alignTicks {
		// Pacing, not synchronisation: the ticks' phase is what is set.
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second + tickPhase).Sub(now))
	}
	e.runAt = time.Now()
	go func() {
		defer close(ran)
		e.srv.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ran:
		case <-time.After(wait):
			t.Errorf("console Run did not stop within %v", wait)
		}
		e.ts.Close()
		eventually(t, wait, "every live viewer gone", func() bool { return e.srv.Hub().Viewers() == 0 })
	})
	return e
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// session is a signed-in browser: its cookie and CSRF token.
type session struct {
	user, token, csrf string
}

// reply is a response, read.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.code, bytes.TrimSpace(r.body)) }

// decode reads a JSON reply into v.
func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("reply %d is not JSON (%v): %s", r.code, err, r.body)
	}
}

// errorText is a JSON error reply's message.
func (r reply) errorText(t testing.TB) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.decode(t, &e)
	return e.Error
}

// reqOpt sets something on a request: its credentials, a header.
type reqOpt func(*http.Request)

// as sends a session's cookie and its CSRF token.
func as(s session) reqOpt {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: s.token})
		r.Header.Set(auth.CSRFHeader, s.csrf)
	}
}

// cookieOnly sends a session's cookie without a CSRF token.
func cookieOnly(s session) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: s.token}) }
}

// bearer sends an API token.
func bearer(token string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// withHeader sets a header (after any other option).
func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// call makes a request to the console and records the response.
func (e *env) call(method, path string, body any, opts ...reqOpt) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	e.record(exchange{what: method + " " + path, header: resp.Header, body: data, cookie: auth.SessionToken(req)})
	return reply{code: resp.StatusCode, header: resp.Header, body: data}
}

func (e *env) record(x exchange) {
	x.header, x.body = x.header.Clone(), bytes.Clone(x.body)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, x)
}

// exchanges returns every response recorded so far.
func (e *env) exchanges() []exchange {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]exchange(nil), e.seen...)
}

// login signs a user in with the test password, or fails the test.
func (e *env) login(name string) session {
	e.t.Helper()
	r := e.call("POST", "/api/login", map[string]string{"name": name, "password": password})
	if r.code != http.StatusOK {
		e.t.Fatalf("login %s: %s", name, r)
	}
	var body struct {
		CSRF string `json:"csrf"`
	}
	r.decode(e.t, &body)
	s := session{user: name, csrf: body.CSRF}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.CookieName {
			s.token = c.Value
		}
	}
	if s.token == "" || s.csrf == "" {
		e.t.Fatalf("login %s: no cookie or no CSRF token: %s %v", name, r, r.header)
	}
	return s
}

// token makes an API token for a user.
func (e *env) token(user, label string) string {
	e.t.Helper()
	tok, err := e.auth.NewToken(context.Background(), user, label)
	if err != nil {
		e.t.Fatalf("token for %s: %v", user, err)
	}
	return tok
}

// sampleAt is a participant's one-second sample of a room ending at end:
// connected, 40 ms round trips, 25 fps over WebRTC. mod changes it.
func sampleAt(room, location string, tr sample.Transport, participant string, end time.Time, mod func(*sample.Sample)) sample.Sample {
	s := sample.Sample{
		Probe: location + "-p1", Location: location, Room: room, Transport: tr, Participant: participant,
		WindowStart: end.Add(-time.Second), WindowMS: 1000,
		Connected: true, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 40, RTTMaxMS: 45, LagMedianMS: 30,
	}
	if tr == sample.TransportWebRTC {
		s.FPS, s.Frames = 25, 25
	}
	if mod != nil {
		mod(&s)
	}
	return s
}

// publish puts samples into the samples stream, numbering each
// participant's samples in order.
func (e *env) publish(ss ...sample.Sample) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.publishErr(ctx, ss...); err != nil {
		e.t.Fatalf("publish: %v", err)
	}
}

func (e *env) publishErr(ctx context.Context, ss ...sample.Sample) error {
	entries := make([]bus.Entry, 0, len(ss))
	e.mu.Lock()
	for _, s := range ss {
		k := s.Probe + "/" + s.Participant
		e.seqs[k]++
		s.Seq = e.seqs[k]
		en, err := bus.NewEntry(s)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		entries = append(entries, en)
	}
	e.mu.Unlock()
	_, err := e.bus.Publish(ctx, entries)
	return err
}

// roomProblem is what correlation reports for one room's own trouble.
func roomProblem(room, subCenter string, sev vocab.Severity, since time.Time) correlate.Problem {
	f := &detect.Finding{Kind: vocab.KindLatency, Severity: sev, Room: room, Probe: subCenter + "-p1", Location: subCenter, Transport: "ws",
		Onset: since, FiredAt: since, Figures: detect.Figures{RTTP95MS: 450, RTTMaxMS: 530}, Text: "RTT p95 above 300 ms"}
	if sev == vocab.SeverityCritical {
		f.Kind, f.Figures, f.Text = vocab.KindDropout, detect.Figures{Down: 2, Dropouts: 2}, "participants dropped"
	}
	p := correlate.Problem{Key: vocab.CauseRoom.Key(room), Cause: vocab.CauseRoom, Subject: room,
		SubCenters: []string{subCenter}, Rooms: []string{room}, Explains: []string{room}, Locations: []string{subCenter},
		Page: true, Findings: []*detect.Finding{f}, Kinds: []vocab.Kind{f.Kind}, Severity: sev, Since: since}
	p.Summary = fmt.Sprintf("%s: %s (%s)", correlate.Describe(&p), f.Kind, sev)
	return p
}

// openIncident opens an incident for a room's trouble at a time.
func (e *env) openIncident(room string, sev vocab.Severity, at time.Time) incident.Incident {
	e.t.Helper()
	r, ok := e.city.Room(room)
	if !ok {
		e.t.Fatalf("no room %s", room)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	inc, opened, err := e.store.Open(ctx, roomProblem(room, r.SubCenter, sev, at.Add(-30*time.Second)), at)
	if err != nil || !opened {
		e.t.Fatalf("open incident for %s: opened %v, %v", room, opened, err)
	}
	return inc
}

// act applies an action straight to the store.
func (e *env) act(id string, a incident.Action) incident.Incident {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	inc, err := e.store.Act(ctx, id, a)
	if err != nil {
		e.t.Fatalf("%s %s: %v", a.Kind, id, err)
	}
	return inc
}

// getIncident reads an incident from the store.
func (e *env) getIncident(id string) incident.Incident {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	inc, err := e.store.Get(ctx, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return inc
}

// liveMsg is a live-feed message as received.
type liveMsg struct {
	at   time.Time
	data []byte
}

// kind is a message's type, read without decoding the rest: every
// message starts {"type":"…".
func (m liveMsg) kind() string {
	const pre = `{"type":"`
	if !bytes.HasPrefix(m.data, []byte(pre)) {
		return ""
	}
	rest := m.data[len(pre):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// liveClient is a live-feed client: a reader goroutine hands its messages to
// onMsg, or to msgs when onMsg is nil.
type liveClient struct {
	t     testing.TB
	conn  *websocket.Conn
	msgs  chan liveMsg
	done  chan struct{}
	once  sync.Once
	err   error // why the reader stopped; read after done
	onMsg func(liveMsg)
}

// dialOpts change how a viewer connects.
type dialOpts struct {
	origin string // "" is the console's own
	// rcvBuf sets the client socket's receive buffer (a stalled screen).
	rcvBuf int
	// stalled never reads: no reader goroutine at all.
	stalled bool
	onMsg   func(liveMsg)
}

// dial opens the live feed as a session.
func (e *env) dial(s session, o dialOpts) (*websocket.Conn, *http.Response, error) {
	origin := o.origin
	if origin == "" {
		origin = e.ts.URL
	}
	h := http.Header{}
	h.Set("Origin", origin)
	if s.token != "" {
		h.Set("Cookie", (&http.Cookie{Name: auth.CookieName, Value: s.token}).String())
	}
	d := websocket.Dialer{HandshakeTimeout: wait, ReadBufferSize: 4096, WriteBufferSize: 1024}
	if o.rcvBuf > 0 {
		nd := net.Dialer{Timeout: wait, Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvBuf)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		d.NetDialContext = nd.DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return d.DialContext(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/live", h)
}

// viewer connects a live-feed client, closed when the test ends.
func (e *env) viewer(s session, o dialOpts) *liveClient {
	e.t.Helper()
	v, err := e.connect(s, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// connect is viewer for any goroutine: it returns its error. The client
// is closed when the test ends.
func (e *env) connect(s session, o dialOpts) (*liveClient, error) {
	conn, resp, err := e.dial(s, o)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return nil, fmt.Errorf("dial the live feed: %w (HTTP %d)", err, code)
	}
	v := &liveClient{t: e.t, conn: conn, done: make(chan struct{}), onMsg: o.onMsg}
	if o.onMsg == nil {
		v.msgs = make(chan liveMsg, 1024)
	}
	e.t.Cleanup(v.close)
	if o.stalled {
		close(v.done)
		return v, nil
	}
	go v.read(e)
	return v, nil
}

func (v *liveClient) read(e *env) {
	defer close(v.done)
	for {
		_, data, err := v.conn.ReadMessage()
		if err != nil {
			v.err = err
			return
		}
		m := liveMsg{at: time.Now(), data: data}
		if v.onMsg != nil {
			v.onMsg(m)
			continue
		}
		if e != nil && m.kind() != "tick" {
			e.record(exchange{what: "live " + m.kind(), body: data})
		}
		select {
		case v.msgs <- m:
		default:
			// The test stopped reading: let the console see a slow
			// viewer rather than block here for ever.
			v.err = fmt.Errorf("test's message buffer full")
			return
		}
	}
}

// close closes the connection and waits for the reader.
func (v *liveClient) close() {
	v.once.Do(func() {
		_ = v.conn.Close()
		select {
		case <-v.done:
		case <-time.After(wait):
			v.t.Errorf("live-feed reader did not stop")
		}
	})
}

// next returns the next message for which match holds, skipping others;
// it fails the test after timeout.
func (v *liveClient) next(timeout time.Duration, what string, match func(liveMsg) bool) liveMsg {
	v.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-v.msgs:
			if match(m) {
				return m
			}
		case <-v.done:
			v.t.Fatalf("live feed ended waiting for %s: %v", what, v.err)
		case <-deadline:
			v.t.Fatalf("no %s on the live feed within %v", what, timeout)
		}
	}
}

// ofKind matches messages of one type.
func ofKind(kind string) func(liveMsg) bool {
	return func(m liveMsg) bool { return m.kind() == kind }
}

// tickMsg is a tick, decoded as far as the tests look.
type tickMsg struct {
	Type  string `json:"type"`
	T     int64  `json:"t"`
	Rooms map[string]struct {
		State    string              `json:"state"`
		RTTMS    float64             `json:"rtt_ms"`
		Dropouts int                 `json:"dropouts"`
		Views    map[string]struct{} `json:"views"`
	} `json:"rooms"`
	Probes []ProbeView `json:"probes"`
}

// roomTick matches a tick in which a room is in a state.
func roomTick(t testing.TB, room, state string) func(liveMsg) bool {
	return func(m liveMsg) bool {
		if m.kind() != "tick" {
			return false
		}
		var tk tickMsg
		if err := json.Unmarshal(m.data, &tk); err != nil {
			t.Errorf("tick is not JSON: %v", err)
			return false
		}
		return tk.Rooms[room].State == state
	}
}
