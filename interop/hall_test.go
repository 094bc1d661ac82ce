package interop

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// startHall runs the synthetic hall's media server in process with one
// opening hall sending codec, and returns the room's WHEP URL.
func startHall(t *testing.T, codec string) string {
	t.Helper()
	s, err := media.New(media.Options{Rooms: []media.RoomSpec{{ID: "room-1", Codec: codec}}})
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
	return hs.URL + "/rooms/room-1/whep"
}

// TestAiortcWatchesHall: a real decoder (libvpx, libavcodec) decodes every
// frame the synthetic hall sends, at the hall's 25 fps: what a browser
// watching the hall would show. Frames before the first keyframe are not
// decoded (a browser waits for one too, and asks for it with a PLI); from it
// on, none may fail.
func TestAiortcWatchesHall(t *testing.T) {
	for _, tc := range []struct{ codec, mime string }{{"vp8", "video/VP8"}, {"h264", "video/H264"}} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel() // the codecs side by side: the package stays under a minute
			url := startHall(t, tc.codec)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := WatchCodec(ctx, url, watchSeconds, tc.codec)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d frames decoded in %.2f s (%.1f fps), %d decode errors, %d keyframes, %d frames before the first (%d PLI), %dx%d, connected after %.0f ms, first picture after %.0f ms",
				tc.codec, r.FramesDecoded, r.SpanS, r.FPS, r.DecodeErrors, r.Keyframes, r.BeforeKeyframe, r.PLISent, r.Width, r.Height, r.ConnectMS, r.FirstFrameMS)
			if r.Codec != tc.mime {
				t.Errorf("negotiated %q, want %q", r.Codec, tc.mime)
			}
			if r.DecodeErrors != 0 {
				t.Errorf("%d frames failed to decode (%q); want none", r.DecodeErrors, r.DecodeErrorMessages)
			}
			// Every frame: as many pictures as the wall-clock seconds hold at
			// 25 fps, less 1 % at most; more only by the few a decoder
			// starting up hands out in a burst (up to 120 ms of them).
			want := 25 * watchSeconds
			if r.FramesDecoded < want*99/100 || r.FramesDecoded > want+3 {
				t.Errorf("decoded %d frames in %d s, want %d (25 fps), 1 %% less or 3 more at most", r.FramesDecoded, watchSeconds, want)
			}
			// and by the media clock: no timestamp skipped, 25 fps.
			if n := r.Frames90k(25); n != r.FramesDecoded {
				t.Errorf("the pictures' timestamps span %d frames at 25 fps, %d decoded: frames missing or doubled", n, r.FramesDecoded)
			}
			if n := len(r.PTS); n > 1 {
				fps := float64(n-1) * 90000 / float64(r.PTS[n-1]-r.PTS[0])
				if math.Abs(fps-25) > 0.25 {
					t.Errorf("%.2f fps by the RTP timestamps, want 25 within 1 %%", fps)
				}
			}
			// The watch joined between keyframes (most likely) and asked for
			// one with a PLI, as a browser does: the hall answers at its next
			// frame, within 500 ms even if a forced keyframe just went out.
			if r.BeforeKeyframe > 12 {
				t.Errorf("%d frames before the first keyframe (%d PLI sent): the hall did not answer the PLI within 500 ms", r.BeforeKeyframe, r.PLISent)
			}
			if r.Width == 0 || r.Height == 0 {
				t.Errorf("decoded pictures of %dx%d", r.Width, r.Height)
			}
		})
	}
}
