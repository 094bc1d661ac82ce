package dispatch

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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
	ids  map[string]int
	down bool
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		down := r.down
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
func city(t *testing.T, urls map[string]string) *config.Config {
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
	t     *testing.T
	rdb   redis.UniversalClient
	store *incident.RedisStore
	d     *Dispatcher
	stop  func()
}

func newRig(t *testing.T, c *config.Config, opts Options) *rig {
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
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
