package rtc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/mediaclip"
	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// clipSenderOptions configures a clipSender.
type clipSenderOptions struct {
	Codec       mediaclip.Codec
	KeyInterval time.Duration
	// StartFrame is the clip frame sent first (a viewer that joins at once
	// joins that far into a GOP).
	StartFrame int
	// SettingEngine, nil for loopback.
	SettingEngine *webrtc.SettingEngine
}

// clipSender is a WHEP server unlike the synthetic hall: a pion sender of a
// real clip, looped at 25 fps from its first viewer on, that offers no frame
// stamp, sends RTCP sender reports and ignores NACK and PLI — as a media
// server relaying an encoder that cannot make keyframes on demand (mediamtx
// fed by ffmpeg) does.
type clipSender struct {
	url string
	mu  sync.Mutex
	// startAt is when the sender sent its first frame, firstKeyAt its
	// first keyframe (zero before).
	startAt, firstKeyAt time.Time
}

// times returns when the sender sent its first frame and its first keyframe.
func (s *clipSender) times() (start, firstKey time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startAt, s.firstKeyAt
}

func newClipSender(t testing.TB, o clipSenderOptions) *clipSender {
	t.Helper()
	clip, err := mediaclip.Open(o.Codec, o.KeyInterval)
	if err != nil {
		t.Fatal(err)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	se := o.SettingEngine
	if se == nil {
		se = media.LoopbackSettingEngine()
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(*se))
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var pay rtp.Payloader = &codecs.VP8Payloader{EnablePictureID: true}
	if o.Codec == mediaclip.H264 {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
		pay = &codecs.H264Payloader{}
	}
	video, err := webrtc.NewTrackLocalStaticRTP(capability, "video", "clip")
	if err != nil {
		t.Fatal(err)
	}
	s := &clipSender{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	viewer := make(chan struct{})
	var viewerOnce sync.Once
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-viewer:
		}
		// Frames go out by the clock since the start (a late tick sends
		// what is due at once), RTP timestamps at their scheduled times.
		period := time.Second / time.Duration(clip.FPS)
		tick := time.NewTicker(period / 4)
		defer tick.Stop()
		seq, pos := uint16(1000), o.StartFrame%len(clip.Frames)
		start := time.Now()
		n := 0
		for {
			for due := int(time.Since(start)/period) + 1; n < due; n++ {
				f := clip.Frames[pos]
				pos = (pos + 1) % len(clip.Frames)
				payloads := pay.Payload(1200, f.Data)
				for i, b := range payloads {
					_ = video.WriteRTP(&rtp.Packet{
						Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1, SequenceNumber: seq,
							Timestamp: uint32(n * 90000 / clip.FPS)},
						Payload: b,
					})
					seq++
				}
				s.mu.Lock()
				if n == 0 {
					s.startAt = time.Now()
				}
				if f.Key && s.firstKeyAt.IsZero() {
					s.firstKeyAt = time.Now()
				}
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
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
		pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateConnected {
				viewerOnce.Do(func() { close(viewer) })
			}
		})
		sender, err := pc.AddTrack(video)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		wg.Add(1)
		go func() { // RTCP read so the interceptors run; PLI and NACK ignored
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
		answerWHEP(w, pc, string(offer))
	}))
	t.Cleanup(func() {
		hs.Close()
		mu.Lock()
		for _, pc := range pcs {
			_ = pc.GracefulClose()
		}
		mu.Unlock()
		cancel()
		wg.Wait()
	})
	s.url = hs.URL + "/whep"
	return s
}

// answerWHEP answers a WHEP offer on pc as a server without trickle ICE
// does: the answer once ICE gathering is complete (at most 5 s), 201 and a
// Location.
func answerWHEP(w http.ResponseWriter, pc *webrtc.PeerConnection, offer string) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		http.Error(w, "ICE gathering did not complete within 5 s", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/session/1")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}
