package interop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWatchRefused: a WHEP endpoint that refuses the offer is an error
// that says what the server answered, not a report of zero frames.
func TestWatchRefused(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such room", http.StatusNotFound)
	}))
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Watch(ctx, hs.URL+"/rooms/none/whep", 1)
	if err == nil || !strings.Contains(err.Error(), "HTTP 404: no such room") {
		t.Fatalf("err = %v, want the server's 404 and its text", err)
	}
	if r.FramesDecoded != 0 || r.Connected {
		t.Errorf("report %+v after a refused offer", r)
	}
}
