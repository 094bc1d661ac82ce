package media

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// nackBufferLen is how many packets per viewer stream the NACK responder
// keeps for retransmission: about 4 s of the 2 s GOP clip.
const nackBufferLen = 1024

// Stats counts a room's RTCP feedback from its viewers and what the sender
// did about it, since the server started.
type Stats struct {
	// PLIs and FIRs count the keyframe requests received.
	PLIs, FIRs uint64
	// NACKs counts the NACK packets received; NACKedSeqs the sequence
	// numbers they asked for.
	NACKs, NACKedSeqs uint64
	// KeyframesForced counts the keyframes sent early: for a PLI or FIR
	// (at most one per 500 ms), when the bitrate-drop fault switches
	// rendition, or when the room's own video takes over from a WHIP
	// publisher's.
	KeyframesForced uint64
	// Frames counts the video frames the room's sender sent of its clip.
	Frames uint64
}

type roomCounters struct {
	plis, firs, nacks, nackedSeqs, forced, frames atomic.Uint64
}

// Stats returns the room's feedback counters.
func (s *Server) Stats(room string) (Stats, error) {
	rm, ok := s.rooms[room]
	if !ok {
		return Stats{}, fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	c := &rm.counters
	return Stats{
		PLIs: c.plis.Load(), FIRs: c.firs.Load(), NACKs: c.nacks.Load(), NACKedSeqs: c.nackedSeqs.Load(),
		KeyframesForced: c.forced.Load(), Frames: c.frames.Load(),
	}, nil
}

// roomInterceptorFactory makes the room's interceptor for each of its
// PeerConnections. It is added first to the room's interceptor registry, so
// it is the nearest the network: it reads RTCP before the NACK responder
// and writes RTP after it.
type roomInterceptorFactory struct{ r *room }

func (f roomInterceptorFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &roomInterceptor{r: f.r}, nil
}

// roomInterceptor counts the viewers' NACK, PLI and FIR, asks the sender for
// a keyframe on PLI and FIR, hides NACKs from the responder under the
// no-retransmit fault, and applies the loss fault to the packets the
// responder has already kept.
type roomInterceptor struct {
	interceptor.NoOp
	r *room
}

func (i *roomInterceptor) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			if attr == nil {
				attr = interceptor.Attributes{}
			}
			pkts, err := attr.GetRTCPPackets(b[:n])
			if err != nil {
				return n, attr, nil // not ours to judge: the next reader sees it
			}
			if !i.r.feedback(pkts) || !i.r.noRetransmit.Load() {
				return n, attr, nil
			}
			kept := make([]rtcp.Packet, 0, len(pkts))
			for _, p := range pkts {
				if _, ok := p.(*rtcp.TransportLayerNack); !ok {
					kept = append(kept, p)
				}
			}
			if len(kept) == 0 {
				continue // only NACKs: nobody above sees them
			}
			raw, err := rtcp.Marshal(kept)
			if err != nil || len(raw) > len(b) {
				continue
			}
			return copy(b, raw), interceptor.Attributes{}, nil
		}
	})
}

func (i *roomInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	ls := &lossStream{
		r:     i.r,
		video: strings.HasPrefix(strings.ToLower(info.MimeType), "video/"),
		ssrc:  info.SSRC,
		rng:   rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == ls.ssrc && ls.drop(h.SequenceNumber) {
			return h.MarshalSize() + len(payload), nil // sent, and lost on the way
		}
		return writer.Write(h, payload, a)
	})
}

// feedback counts the viewers' RTCP feedback and asks for a keyframe on PLI
// or FIR; it reports whether pkts hold a NACK.
func (r *room) feedback(pkts []rtcp.Packet) (nack bool) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerNack:
			nack = true
			r.counters.nacks.Add(1)
			for _, pair := range p.Nacks {
				r.counters.nackedSeqs.Add(uint64(len(pair.PacketList())))
			}
		case *rtcp.PictureLossIndication:
			r.counters.plis.Add(1)
			r.requestKeyframe()
		case *rtcp.FullIntraRequest:
			r.counters.firs.Add(1)
			r.requestKeyframe()
		}
	}
	return nack
}

func (r *room) requestKeyframe() {
	r.keyMu.Lock()
	defer r.keyMu.Unlock()
	r.keys.request()
}

// takeKeyframe asks the key gate about the frame about to be sent.
func (r *room) takeKeyframe(now time.Time, natural bool) bool {
	r.keyMu.Lock()
	defer r.keyMu.Unlock()
	return r.keys.next(now, natural)
}

// lossStream is the loss fault on one viewer's stream. Packets come in
// sequence order; one whose number is not newer than the newest seen is a
// retransmission (the NACK responder's), which passes.
type lossStream struct {
	r     *room
	video bool
	ssrc  uint32

	mu      sync.Mutex
	rng     *rand.Rand
	started bool
	newest  uint16
}

func (ls *lossStream) drop(seq uint16) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.started && (seq == ls.newest || seq-ls.newest >= 0x8000) {
		ls.r.drops.retransmitted(ls.video)
		return false
	}
	ls.started, ls.newest = true, seq
	pct := ls.r.lossPct()
	dropped := pct > 0 && ls.rng.Float64()*100 < pct
	ls.r.drops.record(ls.video, ls.ssrc, seq, dropped)
	return dropped
}
