package media

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/framestamp"
)

// viewerOpts shapes a test viewer's offer and receive path.
type viewerOpts struct {
	// codecs offered for video: "vp8", "h264"; nil offers pion's defaults.
	codecs []string
	// noStamp leaves the frame-stamp extension out of the offer.
	noStamp bool
	// nack runs pion's NACK generator, as a browser does.
	nack bool
	// drop, if set, drops received video packets before the NACK
	// generator sees them (a receive-side loss).
	drop func(seq uint16) bool
	// status is the WHEP POST's expected status; 0 means 201.
	status int
}

// viewer is a bare pion WHEP client recording what arrives.
type viewer struct {
	pc       *webrtc.PeerConnection
	location string
	answer   string
	body     string // the error body when the POST was refused
	wg       sync.WaitGroup

	mu        sync.Mutex
	packets   int
	bytes     int
	audio     int
	stampID   uint8
	videoSSRC uint32
	audioSSRC uint32
	codec     string
	videoSeqs []uint16 // every video packet's sequence number, in arrival order
	audioSeqs []uint16
	arrivals  map[uint16]int // how often each video sequence number arrived
	frames    []rxFrame
	cur       []*rtp.Packet // packets of the frame being assembled
	lastEnd   int           // sequence number of the last marker, -1 before one
}

// rxFrame is one received video frame.
type rxFrame struct {
	ts      uint32
	whole   bool // every packet arrived and it depacketized
	key     bool
	data    []byte // the depacketized frame (VP8, or H.264 Annex B)
	stamp   framestamp.Stamp
	stamped bool
	ext     bool // the first packet carried a header extension
	at      time.Time
}

func newViewer(t *testing.T, url string) *viewer { return newViewerOpts(t, url, viewerOpts{}) }

func newViewerOpts(t *testing.T, url string, o viewerOpts) *viewer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if o.codecs == nil {
		if err := me.RegisterDefaultCodecs(); err != nil {
			t.Fatal(err)
		}
	} else {
		fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
		for i, c := range o.codecs {
			cp := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}
			if c == "h264" {
				cp = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
					SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
			}
			if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: cp, PayloadType: webrtc.PayloadType(96 + i)}, webrtc.RTPCodecTypeVideo); err != nil {
				t.Fatal(err)
			}
		}
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111,
		}, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if !o.noStamp {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: framestamp.URI}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if o.drop != nil {
		ir.Add(dropFactory{drop: o.drop})
	}
	if o.nack {
		gen, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(20 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ir.Add(gen)
	}
	se := LoopbackSettingEngine()
	if o.drop != nil {
		// The dropped packet was decrypted before the interceptor dropped
		// it: SRTP's replay check would refuse its retransmission, which
		// a packet lost on the network does not meet.
		se.DisableSRTPReplayProtection(true)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(*se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc, arrivals: map[uint16]int{}, lastEnd: -1}
	t.Cleanup(v.close)
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		v.wg.Add(2)
		go func() {
			defer v.wg.Done()
			drainRTCP(recv)
		}()
		go func() {
			defer v.wg.Done()
			video := tr.Kind() == webrtc.RTPCodecTypeVideo
			v.mu.Lock()
			if video {
				v.videoSSRC, v.codec = uint32(tr.SSRC()), strings.ToLower(tr.Codec().MimeType)
				v.stampID = stampID(recv.GetParameters().HeaderExtensions)
			} else {
				v.audioSSRC = uint32(tr.SSRC())
			}
			v.mu.Unlock()
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				v.mu.Lock()
				v.packets++
				v.bytes += len(p.Payload)
				if video {
					v.onVideo(p)
				} else {
					v.audio++
					v.audioSeqs = append(v.audioSeqs, p.SequenceNumber)
				}
				v.mu.Unlock()
			}
		}()
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("ICE gathering did not complete within 5 s")
	}
	resp, err := http.Post(url, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := o.status
	if want == 0 {
		want = http.StatusCreated
	}
	if resp.StatusCode != want {
		t.Fatalf("WHEP POST: %s: %s", resp.Status, body)
	}
	if resp.StatusCode != http.StatusCreated {
		v.body = string(body)
		return v
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer Content-Type %q", ct)
	}
	v.location, v.answer = resp.Header.Get("Location"), string(body)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	return v
}

// onVideo records a video packet and assembles frames: a frame is whole
// when its packets run without a gap from the one after the previous marker
// to its own marker, and depacketize.
func (v *viewer) onVideo(p *rtp.Packet) {
	v.videoSeqs = append(v.videoSeqs, p.SequenceNumber)
	v.arrivals[p.SequenceNumber]++
	if v.arrivals[p.SequenceNumber] > 1 {
		return // a retransmission of what already arrived
	}
	if len(v.cur) > 0 && v.cur[0].Timestamp != p.Timestamp {
		v.finish(false) // the previous frame's marker was lost
	}
	v.cur = append(v.cur, p)
	if p.Marker {
		v.finish(true)
	}
}

func (v *viewer) finish(marker bool) {
	ps := v.cur
	v.cur = nil
	// Retransmissions arrive late: put the packets in order.
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && int16(ps[j].SequenceNumber-ps[j-1].SequenceNumber) < 0; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	if v.lastEnd < 0 {
		// The first frame may have begun before the connection: it
		// only tells where the next one starts.
		if marker {
			v.lastEnd = int(ps[len(ps)-1].SequenceNumber)
		}
		return
	}
	f := rxFrame{ts: ps[0].Timestamp, at: time.Now(), ext: ps[0].Extension}
	f.stamp, f.stamped = framestamp.FromHeader(&ps[0].Header, v.stampID)
	whole := marker && ps[0].SequenceNumber == uint16(v.lastEnd+1)
	for i := 1; i < len(ps); i++ {
		whole = whole && ps[i].SequenceNumber == ps[i-1].SequenceNumber+1
	}
	if marker {
		v.lastEnd = int(ps[len(ps)-1].SequenceNumber)
	}
	var err error
	f.data, err = depacketize(v.codec, ps)
	f.whole = whole && err == nil
	if v.codec == "video/h264" {
		f.key = bytes.Contains(f.data, []byte{0, 0, 1, 0x65}) || bytes.Contains(f.data, []byte{0, 0, 1, 0x25})
	} else {
		f.key = len(f.data) > 0 && f.data[0]&1 == 0
	}
	v.frames = append(v.frames, f)
}

func depacketize(codec string, ps []*rtp.Packet) ([]byte, error) {
	var d rtp.Depacketizer = &codecs.VP8Packet{}
	if codec == "video/h264" {
		d = &codecs.H264Packet{}
	}
	var out []byte
	for _, p := range ps {
		b, err := d.Unmarshal(p.Payload)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func (v *viewer) close() {
	_ = v.pc.GracefulClose()
	v.wg.Wait()
}

func (v *viewer) snapshot() (packets, bytes, frames, audio int, stamps []framestamp.Stamp) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range v.frames {
		if f.stamped {
			stamps = append(stamps, f.stamp)
		}
	}
	return v.packets, v.bytes, len(v.frames), v.audio, stamps
}

// framesSince returns a copy of the frames received from index i on.
func (v *viewer) framesSince(i int) []rxFrame {
	v.mu.Lock()
	defer v.mu.Unlock()
	if i > len(v.frames) {
		return nil
	}
	return append([]rxFrame(nil), v.frames[i:]...)
}

// waitFrames waits until n frames arrived, failing the test after d.
func (v *viewer) waitFrames(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if _, _, f, _, _ := v.snapshot(); f >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d frames within %s", n, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dropFactory makes an interceptor that drops received video packets for
// which drop says so, before any later interceptor (the NACK generator)
// sees them.
type dropFactory struct{ drop func(seq uint16) bool }

func (f dropFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropInterceptor{drop: f.drop}, nil
}

type dropInterceptor struct {
	interceptor.NoOp
	drop func(seq uint16) bool
}

func (d *dropInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return r
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			var h rtp.Header
			if _, err := h.Unmarshal(b[:n]); err == nil && d.drop(h.SequenceNumber) {
				continue
			}
			return n, attr, nil
		}
	})
}
