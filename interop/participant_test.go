package interop

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/rtc"
)

// watchParticipant runs bidwatch's WebRTC participant against whepURL for
// d and returns its Samples, the last (partial) window included.
func watchParticipant(t *testing.T, whepURL string, d time.Duration) []sample.Sample {
	t.Helper()
	p, err := rtc.New(rtc.Config{WHEPURL: whepURL, Room: "interop", Participant: "interop-1"})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan sample.Sample, 64)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	var got []sample.Sample
	for {
		select {
		case s := <-out:
			got = append(got, s)
		case err := <-done:
			if err != nil {
				t.Fatalf("participant: %v", err)
			}
			for {
				select {
				case s := <-out:
					got = append(got, s)
				default:
					return got
				}
			}
		case <-time.After(d + 15*time.Second):
			t.Fatal("participant did not stop")
		}
	}
}

// TestParticipantWatchesAiortc: bidwatch's participant watches a WebRTC
// server that is not pion (aiortc, its own VP8 and H.264 encoders, its own
// packetisers) and sees what it sends: connected, the frame rate aiortc
// sends, no freeze, no loss on loopback.
func TestParticipantWatchesAiortc(t *testing.T) {
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel() // the codecs side by side: the package stays under a minute
			srv := Serve(t, ServeOptions{Codec: codec, Clip: clips[codec]})
			samples := watchParticipant(t, srv.URL, 6*time.Second)
			rep, err := srv.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sessions != 1 || len(rep.Reports) != 1 {
				t.Fatalf("aiortc saw %d sessions %+v, want 1", rep.Sessions, rep.Reports)
			}
			sess := rep.Reports[0]
			if want := "video/" + map[string]string{"vp8": "VP8", "h264": "H264"}[codec]; sess.Codec != want {
				t.Errorf("aiortc sent %s, want %s", sess.Codec, want)
			}
			sentFPS := float64(sess.FramesSent) / sess.Seconds

			var frames, full int
			var fullMS float64
			connected := false
			for i, s := range samples {
				t.Logf("window %d: %.0f ms, connected %v (connect %.0f ms, first frame %.0f ms), %d frames, %.1f fps, %d freezes, %.2f %% loss, jitter %.1f ms",
					i, s.WindowMS, s.Connected, s.ConnectMS, s.FirstFrameMS, s.Frames, s.FPS, s.FreezeCount, s.LossPct, s.JitterMS)
				connected = connected || s.Connected
				if s.FreezeCount != 0 || s.LossPct != 0 || s.Dropouts != 0 || s.Error != "" {
					t.Errorf("window %d: %d freezes (%.0f ms), %.2f %% loss, %d dropouts, error %q; want none",
						i, s.FreezeCount, s.FreezeMS, s.LossPct, s.Dropouts, s.Error)
				}
				// Full windows after the one the connection completed in.
				if i > 0 && s.Connected && s.ConnectMS == 0 && s.ConnectedMS >= 999 && s.WindowMS >= 999 {
					frames += s.Frames
					fullMS += s.WindowMS
					full++
				}
			}
			if !connected {
				t.Fatal("never connected")
			}
			if full < 3 {
				t.Fatalf("%d full connected windows, want at least 3", full)
			}
			fps := float64(frames) / fullMS * 1000
			t.Logf("%s: aiortc sent %d frames in %.2f s (%.2f fps); the participant counted %.2f fps over %d full windows",
				codec, sess.FramesSent, sess.Seconds, sentFPS, fps, full)
			if math.Abs(fps-sentFPS) > 0.1*sentFPS {
				t.Errorf("participant counted %.2f fps, aiortc sent %.2f fps: want within 10 %%", fps, sentFPS)
			}
			if math.Abs(fps-25) > 2.5 {
				t.Errorf("participant counted %.2f fps, want 25 ± 2.5 (the clip's rate)", fps)
			}
		})
	}
}

// TestParticipantSeesAiortcFreeze: aiortc's sender stops its video for
// 1.5 s (audio goes on); the participant reports exactly one freeze of
// 1.5 ± 0.1 s, as a browser's webrtc-stats would.
func TestParticipantSeesAiortcFreeze(t *testing.T) {
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel() // the codecs side by side: the package stays under a minute
			srv := Serve(t, ServeOptions{Codec: codec, Clip: clips[codec], PauseAt: 1500 * time.Millisecond, PauseFor: 1500 * time.Millisecond})
			samples := watchParticipant(t, srv.URL, 5*time.Second)
			rep, err := srv.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Reports) != 1 || rep.Reports[0].PausedFrames == 0 {
				t.Fatalf("aiortc's sessions %+v: want one, paused", rep.Reports)
			}
			var count int
			var freezeMS, largest float64
			for i, s := range samples {
				t.Logf("window %d: %.0f ms, %d frames, %d freezes (%.0f ms), largest gap %.0f ms, %.2f %% loss",
					i, s.WindowMS, s.Frames, s.FreezeCount, s.FreezeMS, s.LargestGapMS, s.LossPct)
				count += s.FreezeCount
				freezeMS += s.FreezeMS
				largest = max(largest, s.LargestGapMS)
				if s.LossPct != 0 || s.Dropouts != 0 {
					t.Errorf("window %d: %.2f %% loss, %d dropouts; want none", i, s.LossPct, s.Dropouts)
				}
			}
			t.Logf("%s: aiortc paused %d frames; the participant saw %d freezes, %.0f ms in all, largest gap %.0f ms",
				codec, rep.Reports[0].PausedFrames, count, freezeMS, largest)
			if count != 1 {
				t.Errorf("%d freezes, want 1", count)
			}
			if math.Abs(freezeMS-1500) > 100 || math.Abs(largest-1500) > 100 {
				t.Errorf("freeze of %.0f ms (largest gap %.0f ms), want 1500 ± 100", freezeMS, largest)
			}
		})
	}
}
