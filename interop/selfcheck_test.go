package interop

import (
	"context"
	"testing"
	"time"
)

// clips are the hall's committed clips (internal/mediaclip), one per codec:
// 320x180, 25 fps, a keyframe every 2 s.
var clips = map[string]string{
	"vp8":  "../internal/mediaclip/testdata/vp8-gop50.ivf",
	"h264": "../internal/mediaclip/testdata/h264-gop50.h264",
}

// watchSeconds is how long each watch decodes, from its first picture.
const watchSeconds = 5

// TestAiortcSelfCheck proves the harness: aiortc watches aiortc, each codec
// negotiated as asked, and decodes at least 90 % of 25 fps × the seconds
// with no decode error.
func TestAiortcSelfCheck(t *testing.T) {
	for _, tc := range []struct{ codec, mime string }{{"vp8", "video/VP8"}, {"h264", "video/H264"}} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel() // the codecs side by side: the package stays under a minute
			srv := Serve(t, ServeOptions{Codec: tc.codec, Clip: clips[tc.codec]})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := Watch(ctx, srv.URL, watchSeconds)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d frames decoded in %.2f s (%.1f fps), %d keyframes, %dx%d, first picture after %.0f ms",
				tc.codec, r.FramesDecoded, r.SpanS, r.FPS, r.Keyframes, r.Width, r.Height, r.FirstFrameMS)
			if r.Codec != tc.mime || r.AudioCodec != "audio/opus" {
				t.Errorf("negotiated %q and %q, want %q and audio/opus", r.Codec, r.AudioCodec, tc.mime)
			}
			if want := 9 * 25 * watchSeconds / 10; r.FramesDecoded < want {
				t.Errorf("decoded %d frames, want at least %d (90 %% of 25 fps × %d s)", r.FramesDecoded, want, watchSeconds)
			}
			if r.DecodeErrors != 0 || r.BeforeKeyframe != 0 {
				t.Errorf("%d decode errors (%q), %d frames before the first keyframe; want none",
					r.DecodeErrors, r.DecodeErrorMessages, r.BeforeKeyframe)
			}
			if r.Width != 320 || r.Height != 180 {
				t.Errorf("decoded %dx%d, want the clip's 320x180", r.Width, r.Height)
			}
			if r.AudioFrames == 0 {
				t.Error("no audio frame decoded")
			}
			if len(r.PTS) != r.FramesDecoded || r.RTPOrigin == nil {
				t.Errorf("%d pts for %d frames, origin %v", len(r.PTS), r.FramesDecoded, r.RTPOrigin)
			}
			if n := r.Frames90k(25); n < r.FramesDecoded || n > r.FramesDecoded+1 {
				t.Errorf("the pictures' timestamps span %d frames at 25 fps, %d decoded: frames missing", n, r.FramesDecoded)
			}

			rep, err := srv.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sessions != 1 || len(rep.Reports) != 1 || rep.Reports[0].Ended != "deleted" {
				t.Errorf("server saw %d sessions %+v; want one, ended by the watch's DELETE", rep.Sessions, rep.Reports)
			}
		})
	}
}
