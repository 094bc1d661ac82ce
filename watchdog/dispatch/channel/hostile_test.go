package channel

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
)

// httpSpecs are the HTTP channels, each pointed at base.
func httpSpecs(base string) []config.Channel {
	return []config.Channel{hookSpec(base), weComSpec(base), dingTalkSpec(base), feishuSpec(base)}
}

// A receiver that never answers: Send returns when its context ends, even
// with a client that has no timeout of its own.
func TestHostileHangingReceiver(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer close(release)
	for _, spec := range httpSpecs(srv.URL) {
		t.Run(spec.Type, func(t *testing.T) {
			env := testEnv(t, nil)
			env.Client = &http.Client{} // no timeout: only the context bounds it
			defer env.Client.CloseIdleConnections()
			start := time.Now()
			retry, err := send(t, mustNew(t, spec, env), sample(), 200*time.Millisecond)
			if err == nil || !retry {
				t.Fatalf("Send = (%v, %v), want a retried error", retry, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Send took %s past a 200 ms context", d)
			}
		})
	}
}

// A reply that is not the provider's JSON: a robot's channel cannot tell
// whether the message went and says retry; the webhook reads no reply.
func TestHostileGarbageReply(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"errcode": <html>garbage`+"\x00\xff")
	}))
	for _, spec := range httpSpecs(srv.URL) {
		t.Run(spec.Type, func(t *testing.T) {
			retry, err := send(t, mustNew(t, spec, testEnv(t, nil)), sample(), 2*time.Second)
			if spec.Type == "webhook" {
				if err != nil {
					t.Fatalf("webhook: %v", err)
				}
				return
			}
			if err == nil || !retry || !strings.Contains(err.Error(), "unreadable reply") {
				t.Fatalf("Send = (%v, %v), want an unreadable reply to retry", retry, err)
			}
		})
	}
}

// A reply that does not end: the channel reads at most maxReply bytes and
// hangs up.
func TestHostileHugeReply(t *testing.T) {
	var cutOff atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		chunk := bytes.Repeat([]byte(`{"errcode":0,`), 4096)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := w.Write(chunk); err != nil {
				cutOff.Add(1)
				return
			}
		}
	}))
	specs := httpSpecs(srv.URL)
	for _, spec := range specs {
		t.Run(spec.Type, func(t *testing.T) {
			start := time.Now()
			retry, err := send(t, mustNew(t, spec, testEnv(t, nil)), sample(), 3*time.Second)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Send took %s reading an endless reply", d)
			}
			if spec.Type == "webhook" {
				if err != nil {
					t.Fatalf("webhook: %v", err)
				}
				return
			}
			if err == nil || !retry || !strings.Contains(err.Error(), "reply longer than") {
				t.Fatalf("Send = (%v, %v), want an over-long reply to retry", retry, err)
			}
		})
	}
	srv.Close() // waits for the handlers
	if n := cutOff.Load(); n < int32(len(specs)) {
		t.Fatalf("%d of %d endless replies were cut off by the client", n, len(specs))
	}
}
