package console

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// Redis goes away under a running console: the screens keep their feed
// and are told what they show is stale (source.ok false), /healthz says
// so, the API answers 503 rather than "signed out"; once Redis is back the
// console carries on by itself, the same session still valid.
func TestRedisAway(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.login("screen")
	v := e.viewer(s, dialOpts{})
	source := func(m liveMsg) bool {
		var tk struct {
			Type   string       `json:"type"`
			Source SourceStatus `json:"source"`
		}
		return json.Unmarshal(m.data, &tk) == nil && tk.Type == "tick" && tk.Source.OK
	}
	v.next(10*time.Second, "a tick saying the source is fine", source)

	e.redis.Stop()
	v.next(15*time.Second, "a tick saying the source is stale", func(m liveMsg) bool { return m.kind() == "tick" && !source(m) })
	if r := e.call("GET", "/healthz", nil); r.code != http.StatusServiceUnavailable {
		t.Errorf("healthz with Redis away: %s, want 503", r)
	}
	if r := e.call("GET", "/api/overview", nil, as(s)); r.code != http.StatusServiceUnavailable {
		t.Errorf("overview with Redis away: %s, want 503 (not a sign-out)", r)
	}

	e.redis.Restart()
	v.next(20*time.Second, "a tick saying the source is back", source)
	if r := e.call("GET", "/healthz", nil); r.code != http.StatusOK {
		t.Errorf("healthz with Redis back: %s", r)
	}
}
