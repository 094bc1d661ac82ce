package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// receiver is a webhook endpoint that records the messages it gets (by
// their stable id) and can be made to fail.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []channel.Message
	at   []time.Time // when each message in got arrived
	ids  map[string]int
	down bool
	// fails counts the requests answered 503 while down.
	fails int
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		down := r.down
		if down {
			r.fails++
		}
		r.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(req.Body)
		var p struct {
			Message channel.Message `json:"message"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, p.Message)
		r.at = append(r.at, time.Now())
		r.ids[p.Message.ID]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *receiver) messages() []channel.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channel.Message(nil), r.got...)
}

// city is the demo city with a dispatch section: a webhook channel per
// receiver URL given ("jd" → URL), a person on duty at every level all
// day, two levels per roster.
func city(t testing.TB, urls map[string]string) *config.Config {
	t.Helper()
	c := config.DemoCity()
	d := &c.Dispatch
	for sc, url := range urls {
		d.Channels = append(d.Channels, config.Channel{Name: sc + "-hook", Type: "webhook", URL: url, StartTLS: true})
		d.People = append(d.People,
			config.Person{ID: sc + "-duty", Name: sc + " 值班员", Mobile: "13800000001"},
			config.Person{ID: sc + "-boss", Name: sc + " 主任"})
		d.Roster = append(d.Roster, config.Roster{SubCenter: sc, Levels: []config.Level{
			{Name: "值班员", Channels: []string{sc + "-hook"}, Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{sc + "-duty"}}}},
			{Name: "主任", Channels: []string{sc + "-hook"}, Shifts: []config.Shift{{Days: "all", From: "00:00", To: "24:00", People: []string{sc + "-boss"}}}},
		}})
	}
	d.GroupWait = 200 * time.Millisecond
	d.Retry = config.DispatchRetry{Initial: 100 * time.Millisecond, Max: time.Second, GiveUpAfter: time.Minute}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// rig is a dispatcher on a private redis-server with its incident store.
type rig struct {
	t     testing.TB
	rdb   redis.UniversalClient
	store *incident.RedisStore
	d     *Dispatcher
	stop  func()
}

func newRig(t testing.TB, c *config.Config, opts Options) *rig {
	t.Helper()
	rs := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	store := incident.NewRedisStore(rdb, "bidwatch:", c.Watchdog.Incidents)
	opts.City, opts.Redis, opts.Prefix, opts.Store = c, rdb, "bidwatch:", store
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, rdb: rdb, store: store, d: d}
}

// start runs the dispatcher until the test ends.
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.d.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			r.t.Error("dispatcher did not stop within 10 s")
		}
	}
	r.stop = stop
	r.t.Cleanup(stop)
	// Run pins the events cursor at "now" on a first run: let it.
	time.Sleep(200 * time.Millisecond)
}

// open opens an incident for a problem.
func (r *rig) open(p correlate.Problem, now time.Time) incident.Incident {
	r.t.Helper()
	inc, _, err := r.store.Open(context.Background(), p, now)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

func problem(cause vocab.Cause, subject string, subs, rooms []string) correlate.Problem {
	f := &detect.Finding{Kind: vocab.KindLatency, Severity: vocab.SeverityDegraded, Room: rooms[0], Probe: "yz-1", Location: "yz", Text: "RTT p95 620 ms"}
	return correlate.Problem{Key: cause.Key(subject), Cause: cause, Subject: subject, SubCenters: subs, Rooms: rooms, Explains: rooms,
		Findings: []*detect.Finding{f}, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityDegraded, Page: true,
		Since: time.Now(), Summary: cause.Key(subject) + ": latency (degraded)"}
}

// waitFor polls cond every 50 ms until it holds, or fails after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count is how many messages arrived.
func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// timesSeen returns how often each message id arrived.
func (r *receiver) timesSeen() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.ids)
}

// naming returns the messages that name an incident.
func (r *receiver) naming(id string) []channel.Message {
	var out []channel.Message
	for _, m := range r.messages() {
		if slices.ContainsFunc(m.Incidents, func(in channel.Incident) bool { return in.ID == id }) {
			out = append(out, m)
		}
	}
	return out
}

// timeline returns an incident's timeline as stored.
func (r *rig) timeline(id string) []incident.Entry {
	r.t.Helper()
	inc, err := r.store.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc.Timeline
}

// entries returns the timeline entries whose text contains s.
func entries(tl []incident.Entry, s string) []incident.Entry {
	var out []incident.Entry
	for _, e := range tl {
		if strings.Contains(e.Text, s) {
			out = append(out, e)
		}
	}
	return out
}

func dumpTimeline(tl []incident.Entry) string {
	var b strings.Builder
	for _, e := range tl {
		fmt.Fprintf(&b, "\n  %s %s %s: %s", e.At.Format("15:04:05.000"), e.Actor, e.Kind, e.Text)
	}
	return b.String()
}

// pump advances a fake clock in steps of 100 ms, giving the dispatcher a
// moment of real time after each, until cond holds; it fails after d of
// real time.
func pump(t testing.TB, fc *clockwork.FakeClock, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (fake clock at %s)", d, what, fc.Now().Format(time.RFC3339))
		}
		fc.Advance(100 * time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}
}

// idle advances a fake clock by 1.2 s in 100 ms steps with real pauses, so
// that anything due in that time (escalations are worked out every second,
// groups wait group_wait) has been queued and sent.
func idle(fc *clockwork.FakeClock) {
	for range 12 {
		fc.Advance(100 * time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
}

// noticesQueued counts the notices marked queued in the outbox.
func (r *rig) noticesQueued() int {
	r.t.Helper()
	ks, err := r.rdb.Keys(context.Background(), "bidwatch:dispatch:notice:*").Result()
	if err != nil {
		r.t.Fatal(err)
	}
	return len(ks)
}

// restart stops the running dispatcher and starts a new one on the same
// Redis, as a new leader would.
func (r *rig) restart(opts Options) {
	r.t.Helper()
	r.stop()
	c := r.d.city
	opts.City, opts.Redis, opts.Prefix, opts.Store = c, r.rdb, "bidwatch:", r.store
	d, err := New(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
	r.start()
}
