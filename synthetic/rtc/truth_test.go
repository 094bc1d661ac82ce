package rtc

// The must-show tests of media truth (issue 13): what the participant reports
// against what the sender knows it did — the hall's drop log, a packet the
// test itself lost, a freeze of the sender, a keyframe that came late. Against
// the real synthetic hall in process (and, where the hall cannot play the
// part, a pion sender of the same clips), for VP8 and H.264 each. Each test's
// cases run side by side.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/bidwatch/bidwatch/internal/mediaclip"
	"github.com/bidwatch/bidwatch/synthetic"
	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

var truthCodecs = []string{media.CodecVP8, media.CodecH264}

// TestTruthLoss: the hall drops 5 % (no NACK answered) or 10 % (NACKs
// answered) of the packets it sends the participant → the session's loss per
// kind is within ±0.3 points of the share the hall's drop log says it dropped
// over exactly the sequence numbers the participant expected. A packet
// recovered by retransmission was still lost on the way.
func TestTruthLoss(t *testing.T) {
	noLeaks(t)
	type lossCase struct {
		room         string
		codec        string
		pct          float64
		noRetransmit bool
	}
	var cases []lossCase
	var rooms []media.RoomSpec
	for _, codec := range truthCodecs {
		for _, c := range []lossCase{{pct: 5, noRetransmit: true}, {pct: 10}} {
			c.codec, c.room = codec, fmt.Sprintf("loss-%s-%g", codec, c.pct)
			cases = append(cases, c)
			rooms = append(rooms, media.RoomSpec{ID: c.room, Codec: codec})
		}
	}
	h := newTestHall(t, media.Options{Rooms: rooms})
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%g%%", tc.codec, tc.pct), func(t *testing.T) {
			t.Parallel()
			if err := h.srv.SetFault(tc.room, media.Fault{PacketLossPct: tc.pct, NoRetransmit: tc.noRetransmit}); err != nil {
				t.Fatal(err)
			}
			p, err := New(loopbackConfig(h, tc.room))
			if err != nil {
				t.Fatal(err)
			}
			samples := runFor(t, p, 6*time.Second, nil)
			sum := synthetic.Summarize(samples, synthetic.DefaultThresholds())
			md := p.meter.last
			if md == nil || sum.Video == nil || sum.Audio == nil {
				t.Fatalf("no connection measured: %+v", sum)
			}
			log, err := h.srv.Dropped(tc.room)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []struct {
				name string
				st   *stream
				ks   *synthetic.KindSummary
			}{{"video", &md.video, sum.Video}, {"audio", &md.audio, sum.Audio}} {
				lc := k.st.seq.total()
				if k.ks.Packets != lc.expected || k.ks.Lost != lc.lost {
					t.Errorf("%s: the Samples add up to %d lost of %d, the stream counted %d of %d",
						k.name, k.ks.Lost, k.ks.Packets, lc.lost, lc.expected)
				}
				first, last := k.st.seq.base, k.st.seq.highest
				if k.st.seq.carry != 0 || last-first+1 != lc.expected {
					t.Fatalf("%s: sequence numbers %d…%d do not make the %d expected", k.name, first, last, lc.expected)
				}
				dropped := 0
				for _, seq := range log.Seqs[k.st.ssrc] {
					if int64(seq-uint16(first)) <= last-first {
						dropped++
					}
				}
				truth := 100 * float64(dropped) / float64(lc.expected)
				if math.Abs(k.ks.LossPct-truth) > 0.3 {
					t.Errorf("%s: loss %.2f %%, the hall dropped %.2f %% (%d of %d)", k.name, k.ks.LossPct, truth, dropped, lc.expected)
				}
				t.Logf("%s: loss %.2f %%, the hall dropped %.2f %% (%d of the %d packets expected); %d retransmitted",
					k.name, k.ks.LossPct, truth, dropped, lc.expected, lc.retransmitted)
				if k.name == "video" && !tc.noRetransmit && lc.retransmitted == 0 {
					t.Errorf("video: no retransmission although NACKs are answered (%d NACKs sent)", sum.NACKCount)
				}
			}
			// Every Opus packet of the hall is 20 ms: the samples concealed
			// are the audio packets lost.
			if sum.ConcealedPct == nil || math.Abs(*sum.ConcealedPct-sum.Audio.LossPct) > 0.01 {
				t.Errorf("concealed %v %%, want the audio loss %.2f %%", sum.ConcealedPct, sum.Audio.LossPct)
			}
		})
	}
}

// dropOne is a receive-side interceptor, nearest the network, that loses one
// video packet: the first packet of the delta frame skip frames after the
// participant's second keyframe (so the loss hits a running picture,
// mid-GOP). A retransmission of it passes. It records when it dropped it,
// when the packet before it came, what RTCP feedback went out afterwards, and
// when the retransmission and the next keyframe came.
type dropOne struct {
	skip int

	mu          sync.Mutex
	keys        int
	sinceKey    int
	haveTS      bool
	lastTS      uint32
	prevAt      time.Time // arrival of the packet before the dropped one
	dropped     bool
	seq         uint16
	droppedAt   time.Time
	resentAt    time.Time
	keyAt       time.Time // first keyframe packet after the drop
	nackAt      time.Time // first NACK for seq
	plis        []time.Time
	prevArrival time.Time
}

func (d *dropOne) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropOneIC{d: d}, nil
}

type dropOneIC struct {
	interceptor.NoOp
	d *dropOne
}

func (i *dropOneIC) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return reader
	}
	dp := newDepacketizer(info.MimeType)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			var p rtp.Packet
			if p.Unmarshal(b[:n]) != nil || dp == nil {
				return n, attr, err
			}
			info, _ := dp.parse(p.Payload)
			if !i.d.packet(&p, info.key, time.Now()) {
				return n, attr, err
			}
		}
	})
}

// packet judges one arriving packet; it returns true to lose it.
func (d *dropOne) packet(p *rtp.Packet, key bool, at time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() { d.prevArrival = at }()
	if d.dropped {
		if p.SequenceNumber == d.seq && d.resentAt.IsZero() {
			d.resentAt = at
		}
		if key && d.keyAt.IsZero() {
			d.keyAt = at
		}
		return false
	}
	newFrame := !d.haveTS || p.Timestamp != d.lastTS
	d.haveTS, d.lastTS = true, p.Timestamp
	switch {
	case key && newFrame:
		d.keys++
		d.sinceKey = 0
	case newFrame:
		d.sinceKey++
	}
	if d.keys < 2 || d.sinceKey != d.skip || key || !newFrame {
		return false
	}
	d.dropped, d.seq, d.droppedAt, d.prevAt = true, p.SequenceNumber, at, d.prevArrival
	return true
}

func (i *dropOneIC) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		now := time.Now()
		i.d.mu.Lock()
		if i.d.dropped {
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.PictureLossIndication:
					i.d.plis = append(i.d.plis, now)
				case *rtcp.TransportLayerNack:
					for _, pair := range p.Nacks {
						for _, s := range pair.PacketList() {
							if s == i.d.seq && i.d.nackAt.IsZero() {
								i.d.nackAt = now
							}
						}
					}
				}
			}
		}
		i.d.mu.Unlock()
		return w.Write(pkts, a)
	})
}

// TestTruthOneLostPacket: one packet of a delta frame lost on the way in.
// Unanswered NACKs → exactly one freeze, from the last frame before the loss
// to the keyframe the PLI (150 ms after the gap) brought. NACK answered → the
// retransmission fills the gap in time: no freeze, no PLI.
func TestTruthOneLostPacket(t *testing.T) {
	noLeaks(t)
	var rooms []media.RoomSpec
	for _, codec := range truthCodecs {
		for _, answered := range []string{"nack-answered", "no-retransmit"} {
			rooms = append(rooms, media.RoomSpec{ID: codec + "-" + answered, Codec: codec})
		}
	}
	h := newTestHall(t, media.Options{Rooms: rooms})
	for _, spec := range rooms {
		answered := strings.HasSuffix(spec.ID, "nack-answered")
		t.Run(spec.ID, func(t *testing.T) {
			t.Parallel()
			if !answered {
				if err := h.srv.SetFault(spec.ID, media.Fault{NoRetransmit: true}); err != nil {
					t.Fatal(err)
				}
			}
			v := newTiming(t)
			defer v.Done()
			d := &dropOne{skip: 12} // ~0.5 s into a 2 s GOP
			cfg := loopbackConfig(h, spec.ID)
			// The packet is lost after SRTP took it in: its retransmission
			// (same SSRC and sequence number) would look replayed, which on
			// a real network, where the first one never came, it is not.
			cfg.SettingEngine.DisableSRTPReplayProtection(true)
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p.extra = []interceptor.Factory{d}
			samples := runFor(t, p, 5*time.Second, nil)
			sum := synthetic.Summarize(samples, synthetic.DefaultThresholds())
			d.mu.Lock()
			defer d.mu.Unlock()
			if !d.dropped {
				t.Fatalf("no packet dropped (%d keyframes seen): %+v", d.keys, sum)
			}
			freezes, freezeMS := 0, 0.0
			for _, s := range samples {
				freezes += s.FreezeCount
				freezeMS += s.FreezeMS
			}
			ms := func(from, to time.Time) float64 { return float64(to.Sub(from).Microseconds()) / 1000 }
			if answered {
				if freezes != 0 || len(d.plis) != 0 {
					v.Errorf("%d freezes (%.0f ms), %d PLIs after the loss; want none: the retransmission came %.0f ms after it",
						freezes, freezeMS, len(d.plis), ms(d.droppedAt, d.resentAt))
				}
				if d.resentAt.IsZero() || sum.Retransmitted < 1 {
					t.Errorf("retransmitted %d, retransmission seen %v; want ≥ 1", sum.Retransmitted, !d.resentAt.IsZero())
				}
				t.Logf("NACK %.0f ms after the loss, retransmission %.0f ms; %d freezes, %d retransmitted, %d NACKs",
					ms(d.droppedAt, d.nackAt), ms(d.droppedAt, d.resentAt), freezes, sum.Retransmitted, sum.NACKCount)
				return
			}
			if !d.resentAt.IsZero() {
				t.Fatalf("the hall retransmitted under no_retransmit")
			}
			if len(d.plis) == 0 || d.keyAt.IsZero() {
				t.Fatalf("PLIs %v, keyframe after the loss %v: want a PLI and a keyframe", d.plis, d.keyAt)
			}
			// The freeze runs from the frame before the loss to the keyframe,
			// which the PLI brought (not the clip's own, 1.5 s later).
			want := ms(d.prevAt, d.keyAt)
			if freezes != 1 || math.Abs(freezeMS-want) > 15 {
				v.Errorf("%d freezes of %.0f ms; want exactly 1 of %.0f ms (the frame before the loss to the keyframe)", freezes, freezeMS, want)
			}
			if pli := ms(d.droppedAt, d.plis[0]); pli < 150 || pli > 150+40+60 {
				v.Errorf("first PLI %.0f ms after the loss; want 150 ms after the gap showed (≤ 1 frame later)", pli)
			}
			if k := ms(d.plis[0], d.keyAt); k < 0 || k > 100 {
				v.Errorf("keyframe %.0f ms after the PLI; want the one the PLI asked for (within 100 ms)", k)
			}
			t.Logf("loss → PLI %.0f ms → keyframe %.0f ms; freeze %.0f ms (%d), frames dropped %d, PLIs after the loss %d",
				ms(d.droppedAt, d.plis[0]), ms(d.droppedAt, d.keyAt), freezeMS, freezes, sum.FramesDropped, len(d.plis))
		})
	}
}

// TestTruthSenderFreeze: the hall's video stops for 1.5 s (audio goes on) →
// exactly one freeze of 1.5 ± 0.1 s.
func TestTruthSenderFreeze(t *testing.T) {
	noLeaks(t)
	var rooms []media.RoomSpec
	for _, codec := range truthCodecs {
		rooms = append(rooms, media.RoomSpec{ID: "freeze-" + codec, Codec: codec})
	}
	h := newTestHall(t, media.Options{Rooms: rooms})
	for _, spec := range rooms {
		t.Run(spec.Codec, func(t *testing.T) {
			t.Parallel()
			v := newTiming(t)
			defer v.Done()
			p, err := New(loopbackConfig(h, spec.ID))
			if err != nil {
				t.Fatal(err)
			}
			samples := runFor(t, p, 5*time.Second, func(ctx context.Context) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(2 * time.Second):
				}
				if err := h.srv.SetFault(spec.ID, media.Fault{FreezeMS: 1500}); err != nil {
					t.Error(err)
				}
			})
			count, total, largest := 0, 0.0, 0.0
			for _, s := range samples {
				count += s.FreezeCount
				total += s.FreezeMS
				largest = max(largest, s.LargestGapMS)
			}
			if count != 1 || math.Abs(total-1500) > 100 || math.Abs(largest-1500) > 100 {
				v.Errorf("%d freezes, %.0f ms in all, largest gap %.0f ms; want exactly 1 of 1500 ± 100 ms", count, total, largest)
			}
			t.Logf("%d freeze of %.0f ms, largest gap %.0f ms", count, total, largest)
		})
	}
}

// TestTruthFirstFrameLate: a sender that cannot make a keyframe on demand
// (it ignores PLI, as mediamtx relaying ffmpeg does), a keyframe every 10 s,
// joined 1 s after one → first_frame_ms is at least the time to the next
// keyframe (~9 s), and the verdict says the picture came late.
func TestTruthFirstFrameLate(t *testing.T) {
	noLeaks(t)
	for _, codec := range []mediaclip.Codec{mediaclip.VP8, mediaclip.H264} {
		t.Run(string(codec), func(t *testing.T) {
			t.Parallel()
			srv := newClipSender(t, clipSenderOptions{Codec: codec, KeyInterval: 10 * time.Second, StartFrame: mediaclip.FPS})
			// A connect timeout shorter than the wait: while video flows,
			// the participant waits on for a keyframe, as a browser does.
			p, err := New(Config{
				WHEPURL: srv.url, SettingEngine: media.LoopbackSettingEngine(),
				ConnectTimeout: 6 * time.Second, EchoInterval: -1,
			})
			if err != nil {
				t.Fatal(err)
			}
			samples := runFor(t, p, 10500*time.Millisecond, nil)
			sum := synthetic.Summarize(samples, synthetic.DefaultThresholds())
			startAt, keyAt := srv.times()
			if startAt.IsZero() || keyAt.IsZero() {
				t.Fatalf("the sender started %v, sent a keyframe %v: want both", startAt, keyAt)
			}
			toKey := float64(keyAt.Sub(startAt).Microseconds()) / 1000
			if sum.FirstFrameMS == nil {
				t.Fatalf("no first frame: %+v", sum)
			}
			if ff := *sum.FirstFrameMS; ff < toKey-30 || ff > toKey+300 {
				t.Errorf("first_frame_ms %.0f; want the %.0f ms from the first packet to the first keyframe", ff, toKey)
			}
			late := false
			for _, r := range sum.Reasons {
				late = late || strings.Contains(r, "picture came late")
			}
			if !late || sum.Verdict == synthetic.VerdictOK {
				t.Errorf("verdict %s %q; want one that says the picture came late", sum.Verdict, sum.Reasons)
			}
			if sum.PLICount == 0 {
				t.Errorf("no PLI sent while no keyframe came")
			}
			t.Logf("first keyframe %.0f ms after the first packet; first_frame_ms %.0f; %d PLIs unanswered; verdict %s %q",
				toKey, *sum.FirstFrameMS, sum.PLICount, sum.Verdict, sum.Reasons)
		})
	}
}

// TestTruthNoKeyframeInTime: video flows but no keyframe comes within twice
// the connect timeout → not connected, and the error says why.
func testTruthNoKeyframeInTime(t *testing.T) {
	srv := newClipSender(t, clipSenderOptions{Codec: mediaclip.VP8, KeyInterval: 10 * time.Second, StartFrame: mediaclip.FPS})
	p, err := New(Config{
		WHEPURL: srv.url, SettingEngine: media.LoopbackSettingEngine(),
		ConnectTimeout: 1500 * time.Millisecond, ReconnectMin: 5 * time.Second, EchoInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	samples := runFor(t, p, 3500*time.Millisecond, nil)
	var errs []string
	for _, s := range samples {
		if s.Connected || s.Frames > 0 {
			t.Errorf("connected without a decodable frame: %+v", s)
		}
		if s.Error != "" {
			errs = append(errs, s.Error)
		}
	}
	want := "no video frame within 3s: video arrives, but no frame of it can be decoded (no keyframe)"
	if !strings.Contains(strings.Join(errs, "\n"), want) {
		t.Errorf("errors %q, want one saying %q", errs, want)
	}
}
