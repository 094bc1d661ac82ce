package media

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Rooms == nil {
		opts.Rooms = []RoomSpec{{ID: "room-1"}, {ID: "coord-1", Kind: KindCoordinationRoom}}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, hs.URL
}

// TestWHEPSendsMedia checks the media a viewer gets: 25 fps of VP8 frames
// stamped in the header extension, counters in order, the clip's ~140
// kbit/s, 50 audio packets/s.
func TestWHEPSendsMedia(t *testing.T) {
	_, base := newTestServer(t, Options{})
	v := newViewer(t, base+"/rooms/room-1/whep")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, frames, _, _ := v.snapshot(); frames > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p0, b0, f0, a0, _ := v.snapshot()
	time.Sleep(4 * time.Second)
	p1, b1, f1, a1, stamps := v.snapshot()
	fps := float64(f1-f0) / 4
	kbps := float64(b1-b0) * 8 / 1000 / 4
	aps := float64(a1-a0) / 4
	t.Logf("%.1f fps, %.0f kbit/s payload, %.0f audio packets/s, %d packets", fps, kbps, aps, p1-p0)
	if fps < 24 || fps > 26 {
		t.Errorf("fps %.1f, want 25", fps)
	}
	if kbps < 100 || kbps > 300 {
		t.Errorf("bitrate %.0f kbit/s, want 100…300", kbps)
	}
	if aps < 48 || aps > 52 {
		t.Errorf("audio %.1f packets/s, want 50", aps)
	}
	if len(stamps) < 100 {
		t.Fatalf("%d stamped frames of %d", len(stamps), f1)
	}
	for i := 1; i < len(stamps); i++ {
		if stamps[i].Frame != stamps[i-1].Frame+1 || stamps[i].Source != SourceHall {
			t.Fatalf("stamp %d: %+v after %+v", i, stamps[i], stamps[i-1])
		}
		if lag := time.Since(stamps[i].Sent); lag < 0 || lag > 10*time.Second {
			t.Fatalf("stamp %d sent %v", i, stamps[i].Sent)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{"duplicate and bad kind and bad id", Options{Rooms: []RoomSpec{
			{ID: "a"}, {ID: "a"}, {ID: "b", Kind: "cinema"}, {ID: "c/d"},
		}}, []string{`rooms[1].id: "a": duplicate room`, `rooms[2].kind: "cinema"`, `rooms[3].id: "c/d"`}},
		{"fps", Options{FPS: 1000}, []string{"fps 1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestHTTPErrors checks every refusal of the WHEP/WHIP endpoints and the
// session URLs: status and a message that says what is wrong.
func TestHTTPErrors(t *testing.T) {
	s, base := newTestServer(t, Options{})
	if err := s.SetFault("coord-1", Fault{RefuseSessions: true}); err != nil {
		t.Fatal(err)
	}
	offerless := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	tests := []struct {
		name, method, path, ctype, body string
		wantStatus                      int
		wantBody                        string
	}{
		{"unknown room", "POST", "/rooms/nope/whep", "application/sdp", offerless, 404, `unknown room "nope"`},
		{"garbage offer", "POST", "/rooms/room-1/whep", "application/sdp", "hello", 400, "malformed SDP offer"},
		{"empty offer", "POST", "/rooms/room-1/whep", "application/sdp", "", 400, "empty body"},
		{"offer without media", "POST", "/rooms/room-1/whep", "application/sdp", offerless, 400, "no media sections"},
		{"wrong content type", "POST", "/rooms/room-1/whep", "application/json", "{}", 415, "want application/sdp"},
		{"GET", "GET", "/rooms/room-1/whep", "", "", 405, "POST an SDP offer"},
		{"WHIP on an opening hall", "POST", "/rooms/room-1/whip", "application/sdp", offerless, 404, "WHIP is only for coordination rooms"},
		{"refusing", "POST", "/rooms/coord-1/whep", "application/sdp", offerless, 503, "refuses new sessions"},
		{"refusing WHIP", "POST", "/rooms/coord-1/whip", "application/sdp", offerless, 503, "refuses new sessions"},
		{"PATCH (trickle)", "PATCH", "/rooms/room-1/whep/abc", "application/trickle-ice-sdpfrag", "a=x", 405, "trickle ICE is not supported"},
		{"DELETE unknown session", "DELETE", "/rooms/room-1/whep/abc", "", "", 404, `no session "abc"`},
		{"OPTIONS", "OPTIONS", "/rooms/room-1/whep", "", "", 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("%s %s = %s %q; want %d containing %q", tc.method, tc.path, resp.Status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestFaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if err := s.SetFault("nope", Fault{}); err == nil || !strings.Contains(err.Error(), `unknown room "nope"`) {
		t.Errorf("SetFault on an unknown room: %v", err)
	}
	bad := Fault{PacketLossPct: 120, MediaDelayMS: -1, BitratePct: -5, FreezeMS: -1}
	err := s.SetFault("room-1", bad)
	for _, w := range []string{"packet_loss_pct: 120", "media_delay_ms: -1", "bitrate_pct: -5", "freeze_ms: -1"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	f := Fault{PacketLossPct: 5, KillICE: true, DurationMS: 150}
	if err := s.SetFault("room-1", f); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Fault("room-1"); got != f {
		t.Errorf("Fault = %+v, want %+v", got, f)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, _ := s.Fault("room-1")
		if got == (Fault{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fault with duration_ms 150 still set: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.rooms["room-1"].killICE.Load() {
		t.Error("kill ICE still up after the fault expired")
	}
	if err := s.SetFault("room-1", Fault{RefuseSessions: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearFault("room-1"); err != nil {
		t.Fatal(err)
	}
	if s.rooms["room-1"].refuse.Load() {
		t.Error("refusing after ClearFault")
	}
}

// TestCloseEndsSessions: Close closes every PeerConnection (the viewer sees
// its connection close) and leaves no goroutine behind.
func TestCloseEndsSessions(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	s, err := New(Options{Rooms: []RoomSpec{{ID: "room-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	hs := httptest.NewServer(mux)
	v := newViewer(t, hs.URL+"/rooms/room-1/whep")
	closed := make(chan struct{})
	var once sync.Once
	v.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateClosed || st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateDisconnected {
			once.Do(func() { close(closed) })
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for s.Sessions() != 1 || func() bool { _, _, f, _, _ := v.snapshot(); return f == 0 }() {
		if time.Now().After(deadline) {
			t.Fatal("viewer never got a frame")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if s.Sessions() != 0 {
		t.Errorf("%d sessions after Close", s.Sessions())
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("the viewer did not see its connection end")
	}
	v.close()
	hs.Close()
	goleak.VerifyNone(t, opt)
}

// TestDeleteEndsSession: DELETE on the Location ends the session.
func TestDeleteEndsSession(t *testing.T) {
	s, base := newTestServer(t, Options{})
	v := newViewer(t, base+"/rooms/room-1/whep")
	if !strings.HasPrefix(v.location, "/rooms/room-1/whep/") {
		t.Fatalf("Location %q", v.location)
	}
	if s.Sessions() != 1 {
		t.Fatalf("%d sessions", s.Sessions())
	}
	req, _ := http.NewRequest(http.MethodDelete, base+v.location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || s.Sessions() != 0 {
		t.Errorf("DELETE = %s, %d sessions left", resp.Status, s.Sessions())
	}
	http.DefaultClient.CloseIdleConnections()
}
