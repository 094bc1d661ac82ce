package health

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRegistryMatchesConfig(t *testing.T) {
	got := slices.Sorted(maps.Keys(Kinds()))
	want := slices.Sorted(maps.Keys(config.KnownHealthKinds))
	if !slices.Equal(got, want) {
		t.Fatalf("collectors %v, config kinds %v", got, want)
	}
}

func run(t *testing.T, c config.HealthCheck, client *http.Client) Reading {
	t.Helper()
	if client == nil {
		client = &http.Client{}
		t.Cleanup(client.CloseIdleConnections)
	}
	city := &config.Config{Servers: []config.Server{{ID: "s1", Health: []config.HealthCheck{c}}}}
	r, err := NewRunner(city, RunnerOptions{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	return r.once(context.Background(), r.jobs[0])
}

func check(kind string, set func(*config.HealthCheck)) config.HealthCheck {
	c := config.DefaultHealthCheck(kind)
	c.Timeout = 500 * time.Millisecond
	set(&c)
	return c
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, `{"status":"ok"}`)
		case "/down":
			http.Error(w, "down", http.StatusServiceUnavailable)
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	tests := []struct {
		name   string
		check  config.HealthCheck
		ok     bool
		errHas string
		status int
	}{
		{"ok", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/ok" }), true, "", 200},
		{"body matches", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/ok"; c.BodyMatch = `"status":"ok"` }), true, "", 200},
		{"body does not match", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/ok"; c.BodyMatch = `degraded` }), false, `body does not match "degraded"`, 200},
		{"wrong status", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/down" }), false, "status 503, want 200", 503},
		{"expected 503", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/down"; c.ExpectStatus = 503 }), true, "", 503},
		{"timeout", check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/slow"; c.Timeout = 100 * time.Millisecond }), false, "context deadline exceeded", 0},
		{"refused", check("http", func(c *config.HealthCheck) { c.URL = "http://" + closedAddr(t) + "/" }), false, "refused", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.check, nil)
			if r.OK != tt.ok || !strings.Contains(r.Error, tt.errHas) || r.Status != tt.status {
				t.Fatalf("reading %+v, want ok %v, error containing %q, status %d", r, tt.ok, tt.errHas, tt.status)
			}
			if r.Server != "s1" || r.Check != "http[0]" || r.Kind != "http" || r.Target != tt.check.URL || r.At.IsZero() {
				t.Errorf("identity %+v", r)
			}
		})
	}
}

func TestHTTPSExpiry(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	r := run(t, check("http", func(c *config.HealthCheck) { c.URL = srv.URL }), srv.Client())
	if !r.OK || r.TLSExpiry.IsZero() || r.Values["tls_expiry_days"] < 1 {
		t.Fatalf("reading %+v", r)
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if r := run(t, check("tcp", func(c *config.HealthCheck) { c.Address = l.Addr().String() }), nil); !r.OK || r.Target != l.Addr().String() {
		t.Errorf("open port: %+v", r)
	}
	if r := run(t, check("tcp", func(c *config.HealthCheck) { c.Address = closedAddr(t) }), nil); r.OK || !strings.Contains(r.Error, "refused") {
		t.Errorf("closed port: %+v", r)
	}
}

// TestPrometheusAgainstHall scrapes the synthetic hall's server metrics and
// sees a CPU fault.
func TestPrometheusAgainstHall(t *testing.T) {
	h, err := hall.New(hall.Options{Servers: []string{"media-1"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()
	metrics := map[string]string{
		"cpu_pct":      "hall_cpu_usage_percent",
		"db_conns_pct": "hall_db_connections_used_percent",
		"disk_pct":     "hall_disk_used_percent",
		"mem_pct":      "hall_memory_used_percent",
	}
	c := check("prometheus", func(c *config.HealthCheck) { c.URL = srv.URL + "/servers/media-1/metrics"; c.Metrics = metrics })
	r := run(t, c, nil)
	if !r.OK || r.Error != "" || len(r.Values) != 4 || r.Values["cpu_pct"] > 30 {
		t.Fatalf("quiet server: %+v", r)
	}
	cpu := 97.0
	if err := h.Server("media-1").SetHealth(hall.Health{CPUPct: &cpu}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, c, nil); r.Values["cpu_pct"] < 95 {
		t.Fatalf("CPU fault not seen: %+v", r)
	}
	c.Metrics = map[string]string{"cpu_pct": "hall_cpu_usage_percent", "gone": "no_such_series"}
	if r := run(t, c, nil); !r.OK || r.Error != "missing series: no_such_series" {
		t.Fatalf("missing series: %+v", r)
	}
	hc := check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/servers/media-1/healthz" })
	if r := run(t, hc, nil); !r.OK {
		t.Fatalf("healthz: %+v", r)
	}
	if err := h.Server("media-1").SetHealth(hall.Health{Down: true}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, hc, nil); r.OK {
		t.Fatalf("healthz of a down server: %+v", r)
	}
}

func TestPrometheusBadScrapes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/garbage":
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, "this is { not metrics\n")
		case "/multi":
			fmt.Fprint(w, "# TYPE disk gauge\ndisk{dev=\"a\"} 40\ndisk{dev=\"b\"} 91.5\n# TYPE reqs counter\nreqs 7\n")
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	mk := func(path string) config.HealthCheck {
		return check("prometheus", func(c *config.HealthCheck) {
			c.URL = srv.URL + path
			c.Metrics = map[string]string{"disk_pct": "disk", "reqs": "reqs"}
		})
	}
	if r := run(t, mk("/garbage"), nil); r.OK || !strings.Contains(r.Error, "parse metrics") {
		t.Errorf("garbage: %+v", r)
	}
	if r := run(t, mk("/500"), nil); r.OK || r.Error != "status 500, want 200" {
		t.Errorf("500: %+v", r)
	}
	if r := run(t, mk("/multi"), nil); !r.OK || r.Values["disk_pct"] != 91.5 || r.Values["reqs"] != 7 {
		t.Errorf("multi: %+v", r)
	}
}

func TestRunnerRunsAtIntervals(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
	}))
	defer srv.Close()
	city := &config.Config{Servers: []config.Server{
		{ID: "a", Health: []config.HealthCheck{check("http", func(c *config.HealthCheck) {
			c.URL = srv.URL + "/a"
			c.Interval = 50 * time.Millisecond
			c.Timeout = 40 * time.Millisecond
		})}},
		{ID: "b", Health: []config.HealthCheck{check("http", func(c *config.HealthCheck) { c.URL = srv.URL + "/b"; c.Interval = time.Hour })}},
	}}
	readings := make(chan Reading, 100)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	r, err := NewRunner(city, RunnerOptions{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { r.Run(ctx, func(rd Reading) { readings <- rd }); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/a"] < 4 || hits["/b"] != 1 {
		t.Errorf("hits %v: want /a about 6 times, /b once", hits)
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
