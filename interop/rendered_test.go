package interop

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/rtc"
)

// renderedWatchSeconds is how long aiortc decodes the hall, from its first
// picture, while the participant watches the same room.
const renderedWatchSeconds = 7

// participantUntil runs bidwatch's WebRTC participant against whepURL
// until ctx ends and returns its Samples, the last (partial) window
// included. limit bounds the whole run.
func participantUntil(t *testing.T, ctx context.Context, whepURL string, limit time.Duration) []sample.Sample {
	t.Helper()
	p, err := rtc.New(rtc.Config{WHEPURL: whepURL, Room: "interop", Participant: "interop-rendered"})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan sample.Sample, 64)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
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
		case <-timer.C:
			t.Fatalf("participant still running after %s", limit)
		}
	}
}

// TestRenderedMatchesDecoder is the decoder-based check of the
// participant's frame model: a real decoder (aiortc: libvpx for VP8,
// libavcodec for H.264) and the participant watch the same hall room at
// the same time. Every frame of the hall's clip decodes, and over the
// wall-clock seconds both watched, the participant's rendered frames
// (Sample.Frames) equal the decoder's pictures within 1 %.
//
// The participant has no per-frame hook, so the two are compared by wall
// clock, over the participant's whole one-second windows that lie inside
// aiortc's decoding (a frame's margin at each end). Every viewer of a room
// gets the same packets at the same moments, and both time a frame by its
// completion (the participant renders it then; each of aiortc's decoded
// pictures is dated by its last packet's arrival, not by aiortc's jitter
// buffer and decoder thread, which hold it 40 ms and more). Python's event
// loop may still see a packet some milliseconds late, so one frame at an
// end of the interval can fall on the other side: the bound is 1 % of the
// decoder's count, and never less than that one frame (four to six windows,
// 100 to 150 frames, are compared).
func TestRenderedMatchesDecoder(t *testing.T) {
	for _, tc := range []struct{ codec, mime string }{{"vp8", "video/VP8"}, {"h264", "video/H264"}} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel() // the codecs side by side: the package stays under a minute
			url := startHall(t, tc.codec)

			// aiortc's watch ends the participant's: both watch the same
			// seconds, the participant from before aiortc's first picture.
			pctx, stopParticipant := context.WithCancel(context.Background())
			defer stopParticipant()
			type watched struct {
				r   Report
				err error
			}
			res := make(chan watched, 1)
			go func() {
				defer stopParticipant()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				r, err := WatchCodec(ctx, url, renderedWatchSeconds, tc.codec)
				res <- watched{r, err}
			}()
			samples := participantUntil(t, pctx, url, 90*time.Second)
			w := <-res
			r := w.r
			if w.err != nil {
				t.Fatal(w.err)
			}

			// The decoder: every frame of the hall decodes, none skipped.
			t.Logf("%s: aiortc decoded %d pictures (%d out of the decoder) in %.2f s, %d decode errors, %d keyframes, %d before the first",
				tc.codec, r.FramesDecoded, r.FramesOut, r.SpanS, r.DecodeErrors, r.Keyframes, r.BeforeKeyframe)
			if r.Codec != tc.mime {
				t.Errorf("aiortc negotiated %q, want %q", r.Codec, tc.mime)
			}
			if r.DecodeErrors != 0 {
				t.Errorf("%d frames failed to decode (%q); want none", r.DecodeErrors, r.DecodeErrorMessages)
			}
			if n := r.Frames90k(25); n != r.FramesDecoded {
				t.Errorf("the pictures' timestamps span %d frames at 25 fps, %d decoded: frames missing or doubled", n, r.FramesDecoded)
			}
			if len(r.ArrivedAt) != len(r.PTS) {
				t.Fatalf("%d arrival times for %d pictures", len(r.ArrivedAt), len(r.PTS))
			}
			for i, at := range r.ArrivedAt {
				if at == 0 {
					t.Fatalf("picture %d (pts %d): no packet of its RTP timestamp seen arriving", i, r.PTS[i])
				}
			}
			first, last, ok := r.DecodedSpan()
			if !ok {
				t.Fatal("aiortc decoded nothing")
			}

			// The participant over the same wall-clock interval: its whole
			// windows inside aiortc's decoding, a frame's margin at each end.
			const margin = 40 * time.Millisecond
			var from, to time.Time
			var rendered, received, dropped, windows int
			for i, s := range samples {
				end := s.WindowStart.Add(time.Duration(s.WindowMS * float64(time.Millisecond)))
				inside := s.WindowMS >= 999 && s.Connected && s.ConnectedMS >= 999 &&
					!s.WindowStart.Before(first.Add(margin)) && !end.After(last.Add(-margin))
				dec := r.DecodedBetween(s.WindowStart, end)
				t.Logf("window %d: %.0f ms, %d rendered (%d received, %d dropped, %d keyframes, %d PLI), aiortc %d, %d freezes, %.2f %% loss; compared %v",
					i, s.WindowMS, s.Frames, s.FramesReceived, s.FramesDropped, s.KeyFrames, s.PLICount, dec, s.FreezeCount, s.LossPct, inside)
				if s.Error != "" || s.LossPct != 0 || s.FreezeCount != 0 {
					t.Errorf("window %d: error %q, %.2f %% loss, %d freezes; want none on loopback", i, s.Error, s.LossPct, s.FreezeCount)
				}
				if !inside {
					continue
				}
				if windows > 0 && !s.WindowStart.Equal(to) {
					t.Fatalf("window %d starts at %s, the previous ended at %s: windows not contiguous", i, s.WindowStart, to)
				}
				if windows == 0 {
					from = s.WindowStart
				}
				to = end
				rendered += s.Frames
				received += s.FramesReceived
				dropped += s.FramesDropped
				windows++
			}
			decoded := r.DecodedBetween(from, to)
			diff := rendered - decoded
			pct := 0.0
			if decoded > 0 {
				pct = 100 * float64(diff) / float64(decoded)
			}
			t.Logf("%s: over %d windows (%.2f s): the participant rendered %d frames (%d received, %d dropped), aiortc decoded %d: %+d (%+.2f %%)",
				tc.codec, windows, to.Sub(from).Seconds(), rendered, received, dropped, decoded, diff, pct)
			if windows < 4 {
				t.Fatalf("%d whole windows inside aiortc's decoding, want at least 4 to compare", windows)
			}
			if tol := max(1, decoded/100); abs(diff) > tol {
				t.Errorf("the participant rendered %d frames, aiortc decoded %d: %+.2f %%, want within 1 %% (%d frames)", rendered, decoded, pct, tol)
			}
			if dropped != 0 || received != rendered {
				t.Errorf("the participant received %d frames, rendered %d, dropped %d: want every frame rendered on loopback", received, rendered, dropped)
			}
		})
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
