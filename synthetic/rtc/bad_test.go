package rtc

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

func TestNewRTCValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no URL", Config{}, `WHEP URL ""`},
		{"ftp", Config{WHEPURL: "ftp://x/whep"}, "scheme must be http or https"},
		{"whep+ftp", Config{WHEPURL: "whep+ftp://x/whep"}, "scheme must be http or https"},
		{"ws", Config{WHEPURL: "ws://x/rooms/a/events"}, "scheme must be http or https"},
		{"no host", Config{WHEPURL: "http:///whep"}, "no host"},
		{"bad WHIP", Config{WHEPURL: "http://x/whep", WHIPURL: "rtmp://x/live"}, "WHIP URL"},
		{"backoff upside down", Config{WHEPURL: "http://x/whep", ReconnectMin: time.Minute, ReconnectMax: time.Second}, "min 1m0s above max 1s"},
		{"whep+https", Config{WHEPURL: "whep+https://media.example/rooms/a/whep"}, ""},
		{"http", Config{WHEPURL: "http://127.0.0.1:7400/rooms/a/whep", WHIPURL: "whip+http://127.0.0.1:7400/rooms/a/whip"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("New: %v", err)
				}
				if p.whep.Scheme != "https" && p.whep.Scheme != "http" {
					t.Errorf("scheme %q", p.whep.Scheme)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(tc.name, "backoff") && !errors.Is(err, synthetic.ErrBadURL) {
				t.Errorf("error %v is not ErrBadURL", err)
			}
		})
	}
}

// TestRTCBadInput runs the bad-input cases side by side — they wait, not
// work, and go test would run only GOMAXPROCS parallel subtests at a time —
// and checks, once all are done, that no goroutine of theirs (pion's
// included) outlived them.
func TestRTCBadInput(t *testing.T) {
	noLeaks(t)
	var wg sync.WaitGroup
	for _, c := range badCases(t) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(&caseT{T: t, name: c.name})
		}()
	}
	wg.Wait()
}

// caseT reports a concurrent case's failures on the parent test, named.
// Fatal ends the case's goroutine (runtime.Goexit), not the test's.
type caseT struct {
	*testing.T
	name string
}

func (c *caseT) Errorf(format string, args ...any) {
	c.T.Helper()
	c.T.Errorf(c.name+": "+format, args...)
}

func (c *caseT) Fatalf(format string, args ...any) {
	c.T.Helper()
	c.T.Errorf(c.name+": "+format, args...)
	runtime.Goexit()
}

func (c *caseT) Fatal(args ...any) {
	c.T.Helper()
	c.T.Error(append([]any{c.name + ":"}, args...)...)
	runtime.Goexit()
}

type badCase struct {
	name string
	run  func(t *caseT)
}

func badCases(t *testing.T) []badCase {
	cases := []badCase{
		{"silent server", silentServer},
		{"garbage RTP", garbageRTP},
		{"slow consumer", slowConsumer},
	}
	for _, tc := range badServerCases(t) {
		cases = append(cases, badCase{"server: " + tc.name, func(t *caseT) { badServer(t, tc) }})
	}
	return cases
}

type badServerCase struct {
	name        string
	status      int
	contentType string
	body        string
	wantErr     string
}

func badServerCases(t *testing.T) []badServerCase {
	readSDP := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return []badServerCase{
		{"garbage answer", 201, "application/sdp", readSDP("garbage.sdp"), "not valid SDP"},
		{"answer without media", 201, "application/sdp", readSDP("no-media.sdp"), "no media sections"},
		{"every media section rejected", 201, "application/sdp", readSDP("rejected.sdp"), "no audio or video accepted"},
		{"answer without ICE credentials", 201, "application/sdp", readSDP("no-ice.sdp"), "apply WHEP answer"},
		{"empty answer", 201, "application/sdp", "", "empty answer"},
		{"HTML instead of SDP", 201, "text/html", "<html>login</html>", `Content-Type "text/html"`},
		{"404", 404, "text/plain", "unknown room \"x\"", `404 Not Found: unknown room "x"`},
		{"401", 401, "text/plain", "token expired\nmore", "401 Unauthorized: token expired"},
		{"503", 503, "text/plain", "", "503 Service Unavailable"},
		{"500", 500, "", "boom", "500 Internal Server Error: boom"},
	}
}

// badServer joins a server that answers WHEP wrongly: a clear error in
// the Samples, a bounded number of retries (no busy loop), no connection,
// no panic.
func badServer(t *caseT, tc badServerCase) {
	var posts, deletes atomic.Int32
	var auth atomic.Value
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1)
			return
		}
		posts.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		_, _ = io.Copy(io.Discard, r.Body)
		if tc.contentType != "" {
			w.Header().Set("Content-Type", tc.contentType)
		}
		w.Header().Set("Location", "/session/1")
		w.WriteHeader(tc.status)
		_, _ = io.WriteString(w, tc.body)
	}))
	defer hs.Close()
	p, err := New(Config{
		WHEPURL:        "whep+" + hs.URL + "/rooms/x/whep",
		AuthHeader:     "Bearer s3cret",
		ConnectTimeout: 2 * time.Second,
		ReconnectMin:   100 * time.Millisecond,
		ReconnectMax:   400 * time.Millisecond,
		SettingEngine:  media.LoopbackSettingEngine(),
	})
	if err != nil {
		t.Fatal(err)
	}
	samples := runFor(t, p, 2500*time.Millisecond, nil)
	var errs []string
	for _, s := range samples {
		if s.Connected || s.Frames > 0 || s.Dropouts > 0 {
			t.Errorf("connected to a bad server: %+v", s)
		}
		if s.Error != "" {
			errs = append(errs, s.Error)
		}
	}
	if !strings.Contains(strings.Join(errs, "\n"), tc.wantErr) {
		t.Errorf("errors %q, want one containing %q", errs, tc.wantErr)
	}
	if strings.Contains(strings.Join(errs, " "), "s3cret") {
		t.Errorf("the auth header leaked into an error")
	}
	if n := posts.Load(); n < 2 || n > 15 {
		t.Errorf("%d POSTs in 2.5 s; want a few retries with backoff", n)
	}
	if got, _ := auth.Load().(string); got != "Bearer s3cret" {
		t.Errorf("Authorization %q", got)
	}
	if tc.status == 201 && deletes.Load() == 0 {
		t.Errorf("a session the server created was never DELETEd")
	}
}

// fakeWHEP is a WHEP server that answers properly (pion, loopback) and
// then does what send does with the video track: nothing, or garbage.
func fakeWHEP(t *caseT, send func(ctx context.Context, video *webrtc.TrackLocalStaticRTP)) string {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
		webrtc.WithSettingEngine(*media.LoopbackSettingEngine()))
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "fake")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); send(ctx, video) }()
	var mu sync.Mutex
	var pcs []*webrtc.PeerConnection
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return
		}
		offer, _ := io.ReadAll(r.Body)
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		pcs = append(pcs, pc)
		mu.Unlock()
		if _, err := pc.AddTrack(video); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		answerWHEP(w, pc, string(offer))
	}))
	t.Cleanup(func() {
		hs.Close()
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, pc := range pcs {
			_ = pc.GracefulClose()
		}
	})
	return hs.URL + "/whep"
}

// silentServer: ICE and DTLS connect, but not a packet of media comes: a
// clear error, never "connected".
func silentServer(t *caseT) {
	url := fakeWHEP(t, func(ctx context.Context, _ *webrtc.TrackLocalStaticRTP) { <-ctx.Done() })
	p, err := New(Config{
		WHEPURL: url, ConnectTimeout: 1500 * time.Millisecond,
		ReconnectMin: 200 * time.Millisecond, ReconnectMax: 400 * time.Millisecond,
		SettingEngine: media.LoopbackSettingEngine(),
	})
	if err != nil {
		t.Fatal(err)
	}
	samples := runFor(t, p, 3500*time.Millisecond, nil)
	var errs []string
	for _, s := range samples {
		if s.Connected || s.Frames > 0 {
			t.Errorf("connected to a silent server: %+v", s)
		}
		if s.Error != "" {
			errs = append(errs, s.Error)
		}
	}
	if len(errs) == 0 || !strings.Contains(errs[0], "no video frame within 1.5s") {
		t.Errorf("errors %q, want “no video frame within 1.5s”", errs)
	}
}

// garbageRTP: the server sends random RTP (random sequence numbers,
// timestamps, markers and payloads) on the video track: no frame is made of
// it, the participant reports a clear error, and nothing panics.
func garbageRTP(t *caseT) {
	url := fakeWHEP(t, func(ctx context.Context, video *webrtc.TrackLocalStaticRTP) {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			payload := make([]byte, r.IntN(1200))
			for i := range payload {
				payload[i] = byte(r.Uint32())
			}
			_ = video.WriteRTP(&rtp.Packet{
				Header: rtp.Header{
					Version: 2, SequenceNumber: uint16(r.Uint32()), Timestamp: r.Uint32(), Marker: r.IntN(3) == 0,
				},
				Payload: payload,
			})
		}
	})
	p, err := New(Config{
		WHEPURL: url, ConnectTimeout: 1500 * time.Millisecond, NoMediaTimeout: time.Second,
		ReconnectMin: 200 * time.Millisecond, ReconnectMax: 400 * time.Millisecond,
		SettingEngine: media.LoopbackSettingEngine(),
	})
	if err != nil {
		t.Fatal(err)
	}
	samples := runFor(t, p, 3500*time.Millisecond, nil)
	var errs []string
	for _, s := range samples {
		if s.Error != "" {
			errs = append(errs, s.Error)
		}
		if s.Connected {
			t.Errorf("garbage made a connection: %+v", s)
		}
	}
	all := strings.Join(errs, "\n")
	if !strings.Contains(all, "no video frame within 1.5s (") || !strings.Contains(all, "RTP packets discarded as invalid") {
		t.Errorf("errors %q, want “no video frame within 1.5s (N RTP packets discarded as invalid)”", errs)
	}
}

// slowConsumer: Samples nobody reads are dropped, not queued, and counted
// in the next delivered one; Seq stays gap-free.
func slowConsumer(t *caseT) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	p, err := New(Config{WHEPURL: hs.URL, Window: 200 * time.Millisecond, ReconnectMin: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sample.Sample, 1)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	time.Sleep(1100 * time.Millisecond) // ~5 windows; 1 fits
	var got []sample.Sample
	deadline := time.After(2 * time.Second)
	for len(got) < 3 {
		select {
		case s := <-out:
			got = append(got, s)
		case <-deadline:
			t.Fatalf("only %d samples", len(got))
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	for i, s := range got {
		if s.Seq != uint64(i+1) {
			t.Errorf("sample %d: seq %d", i, s.Seq)
		}
	}
	if got[0].SamplesDropped != 0 || got[1].SamplesDropped < 3 {
		t.Errorf("dropped counts %d, %d; want 0, ≥ 3", got[0].SamplesDropped, got[1].SamplesDropped)
	}
}
