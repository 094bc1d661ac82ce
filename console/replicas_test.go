package console

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Two consoles on one Redis, as behind a load balancer without stickiness:
// a session made on one works on the other, an action taken through one is
// what the other shows, and each follows the samples stream by itself.
func TestReplicas(t *testing.T) {
	e := newEnv(t, envOptions{})
	other, err := New(Options{City: e.city, Bus: e.bus, Incidents: e.store, Auth: e.auth, Ack: e.ack})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := httptest.NewUnstartedServer(other.Handler())
	ts.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	ts.Start()
	ran := make(chan struct{})
	go func() { defer close(ran); other.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ran:
		case <-time.After(wait):
			t.Error("the second console did not stop")
		}
		ts.Close()
	})
	// on sends a request to the second console.
	on := func(method, path string, s session) int {
		t.Helper()
		rctx, rcancel := context.WithTimeout(context.Background(), wait)
		defer rcancel()
		req, err := http.NewRequestWithContext(rctx, method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		as(s)(req)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	s := e.login("zhang") // on the first
	if code := on("GET", "/api/me", s); code != http.StatusOK {
		t.Fatalf("the first console's session on the second: %d", code)
	}
	inc := e.openIncident("yz-hall-1", vocab.SeverityDegraded, time.Now())
	if code := on("POST", "/api/incidents/"+inc.ID+"/ack", s); code != http.StatusOK {
		t.Fatalf("acknowledge through the second console: %d", code)
	}
	var got struct {
		Incident incident.Incident `json:"incident"`
	}
	e.call("GET", "/api/incidents/"+inc.ID, nil, as(s)).decode(t, &got)
	if got.Incident.State != incident.StateAcknowledged {
		t.Errorf("the first console shows %s after an acknowledge through the second", got.Incident.State)
	}

	// A dropout reaches both consoles' live figures.
	e.publish(sampleAt("gy-hall-1", "yz", sample.TransportWS, "a", time.Now(), func(x *sample.Sample) { x.Connected, x.Dropouts = false, 1 }))
	for name, srv := range map[string]*Server{"first": e.srv, "second": other} {
		eventually(t, wait, name+" console sees gy-hall-1 down", func() bool {
			r, ok := srv.Live().Room("gy-hall-1", time.Now())
			return ok && r.State == StateDown
		})
	}
}
