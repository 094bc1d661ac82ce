package remedy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// wait bounds every wait in these tests that is not about timing itself.
const wait = 10 * time.Second

const prefix = "bidwatch:"

// rig is a private redis-server with an incident store on it, an admin API
// that runbooks call, and the demo city.
type rig struct {
	t     *testing.T
	city  *config.Config
	rdb   *redis.Client
	store *incident.RedisStore
	admin *httptest.Server
	// calls counts the admin API's requests; fix, when set, makes a call
	// clear the incident it names (the probes see the symptom gone).
	calls atomic.Int64
	fix   atomic.Bool
	reg   *prometheus.Registry

	mu        sync.Mutex
	escalated []string
}

func newRig(t *testing.T, remedy config.Remedy) *rig {
	t.Helper()
	srv := bustest.StartRedis(t)
	g := &rig{t: t, city: config.DemoCity(), reg: prometheus.NewRegistry()}
	g.city.Remedy = remedy
	g.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = g.rdb.Close() })
	g.store = incident.NewRedisStore(g.rdb, prefix, g.city.Watchdog.Incidents)
	g.admin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if g.fix.Load() {
			g.clear(id)
		}
		fmt.Fprintf(w, "restarted for %s", id)
	}))
	t.Cleanup(g.admin.Close)
	// Follow the events from the start of the stream, so an incident
	// opened before the runner's first read is not missed.
	if err := g.rdb.Set(context.Background(), prefix+keyCursor, "0-0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

// runbook is a runbook that calls the admin API then waits a little.
func (g *rig) runbook(name string, verify time.Duration) config.Runbook {
	return config.Runbook{
		Name:  name,
		Match: config.RunbookMatch{Causes: []string{"server"}},
		Steps: []config.RunbookStep{
			{Name: "restart", Timeout: 5 * time.Second, HTTP: &config.HTTPAction{URL: g.admin.URL + "/restart/{{.Server}}/{{.ID}}", Token: "admin-token"}},
			{Name: "settle", WaitProbes: 20 * time.Millisecond},
		},
		VerifyWithin: verify,
		Cooldown:     time.Millisecond,
		MaxPerHour:   10,
	}
}

// start runs a Runner until the test ends (or stop is called).
func (g *rig) start() (*Runner, func()) {
	g.t.Helper()
	r, err := New(Options{City: g.city, Store: g.store, Redis: g.rdb, Prefix: prefix, Registry: g.reg, Poll: 20 * time.Millisecond,
		Escalate: func(_ context.Context, inc incident.Incident, reason string) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.escalated = append(g.escalated, inc.ID+": "+reason)
			return nil
		}})
	if err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(wait):
				g.t.Error("the runner did not stop")
			}
		})
	}
	g.t.Cleanup(stop)
	return r, stop
}

// open opens an incident for a gateway's fault.
func (g *rig) open(server string) incident.Incident {
	g.t.Helper()
	now := time.Now()
	since := now.Add(-30 * time.Second)
	f := &detect.Finding{Kind: vocab.KindServerDown, Severity: vocab.SeverityCritical, Server: server, Onset: since, FiredAt: since, Text: "health checks failing"}
	p := correlate.Problem{Key: vocab.CauseServer.Key(server), Cause: vocab.CauseServer, Subject: server,
		SubCenters: []string{"yz"}, Rooms: []string{"yz-hall-1"}, Servers: []string{server}, Roles: []string{"ws-gateway"},
		Page: true, Findings: []*detect.Finding{f}, Kinds: []vocab.Kind{f.Kind}, Severity: f.Severity, Since: since}
	p.Summary = correlate.Describe(&p) + ": server down"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	inc, opened, err := g.store.Open(ctx, p, now)
	if err != nil || !opened {
		g.t.Fatalf("open incident for %s: opened %v, %v", server, opened, err)
	}
	return inc
}

// clear marks an incident's symptoms gone, as the watchdog does when the
// probes stop seeing them.
func (g *rig) clear(id string) {
	now := time.Now()
	_, err := g.store.Change(context.Background(), id, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
		inc.ClearingSince = now
		return inc, nil
	})
	if err != nil {
		g.t.Errorf("clear %s: %v", id, err)
	}
}

func (g *rig) get(id string) incident.Incident {
	g.t.Helper()
	inc, err := g.store.Get(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return inc
}

// ended waits for the attempt to end, and returns it.
func (g *rig) ended(id, runbook string) Attempt {
	g.t.Helper()
	var a Attempt
	eventually(g.t, "attempt of "+runbook+" on "+id+" ended", func() bool {
		var err error
		a, err = NewAttempts(g.rdb, prefix).Load(context.Background(), NewAttempts(g.rdb, prefix).AttemptKey(id, runbook, 0))
		return err == nil && !a.State.Unfinished()
	})
	return a
}

// remedyLines are an incident's timeline entries written by a runbook.
func remedyLines(inc incident.Incident, runbook string) []string {
	var out []string
	for _, e := range inc.Timeline {
		if e.Actor == Actor(runbook) {
			out = append(out, e.Kind+": "+e.Text)
		}
	}
	return out
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// eventually waits until cond holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// value reads a gauge's or a counter's value.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}
