package drill

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait in these tests.
const wait = 3 * time.Second

// testHall is a hall served on loopback with network paths from yz and gy:
// rooms r1 and r2 on servers web-1 and media-1, r3 on web-1 only.
type testHall struct {
	*hall.Hall
	srv *httptest.Server
}

func startHall(t *testing.T) *testHall {
	t.Helper()
	h, err := hall.New(hall.Options{
		Servers: []string{"web-1", "media-1"},
		Rooms: []hall.RoomSpec{
			{ID: "r1", Servers: []string{"web-1", "media-1"}},
			{ID: "r2", Servers: []string{"web-1", "media-1"}},
			{ID: "r3", Servers: []string{"web-1"}},
		},
		Period:  50 * time.Millisecond,
		NoMedia: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	for _, loc := range []string{"yz", "gy"} {
		if _, err := h.AddPath(loc, "", strings.TrimPrefix(srv.URL, "http://")); err != nil {
			t.Fatal(err)
		}
	}
	return &testHall{Hall: h, srv: srv}
}

// state is what the hall's faults are now, in words, for comparing.
func (th *testHall) state() string {
	var parts []string
	for _, s := range th.Servers() {
		if hl := s.Health(); hl != (hall.Health{}) {
			cpu := "-"
			if hl.CPUPct != nil {
				cpu = fmt.Sprint(*hl.CPUPct)
			}
			parts = append(parts, fmt.Sprintf("%s cpu=%s down=%t", s.ID(), cpu, hl.Down))
		}
	}
	for _, r := range th.Rooms() {
		if f := r.Fault(); f != (hall.Fault{}) {
			parts = append(parts, fmt.Sprintf("%s latency=%g", r.ID(), f.LatencyMS))
		}
	}
	for _, p := range th.Paths() {
		if f := p.Fault(); f != (hall.PathFault{}) {
			parts = append(parts, fmt.Sprintf("path %s delay=%g cut=%t", p.Location(), f.DelayMS, f.Cut))
		}
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, "; ")
}

// recorder is a Target that records every call before passing it on, and
// fails those named in fail.
type recorder struct {
	Target
	mu    sync.Mutex
	calls []string
	fail  map[string]error
}

func (r *recorder) record(call string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	return r.fail[call]
}

// take returns the calls so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) SetHealth(ctx context.Context, server string, h hall.Health) error {
	if err := r.record("set health " + server); err != nil {
		return err
	}
	return r.Target.SetHealth(ctx, server, h)
}

func (r *recorder) ClearHealth(ctx context.Context, server string) error {
	if err := r.record("clear health " + server); err != nil {
		return err
	}
	return r.Target.ClearHealth(ctx, server)
}

func (r *recorder) SetRoomFault(ctx context.Context, room string, f hall.Fault) error {
	if err := r.record("set room " + room); err != nil {
		return err
	}
	return r.Target.SetRoomFault(ctx, room, f)
}

func (r *recorder) ClearRoomFault(ctx context.Context, room string) error {
	if err := r.record("clear room " + room); err != nil {
		return err
	}
	return r.Target.ClearRoomFault(ctx, room)
}

func (r *recorder) SetPathFault(ctx context.Context, location string, f hall.PathFault) error {
	if err := r.record("set path " + location); err != nil {
		return err
	}
	return r.Target.SetPathFault(ctx, location, f)
}

func (r *recorder) ClearPathFault(ctx context.Context, location string) error {
	if err := r.record("clear path " + location); err != nil {
		return err
	}
	return r.Target.ClearPathFault(ctx, location)
}
