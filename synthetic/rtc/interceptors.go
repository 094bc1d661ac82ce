package rtc

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// The NACK generator's settings: a browser's pacing (libwebrtc NACKs a gap
// within a few tens of milliseconds and gives up on a packet after about 10
// tries), every missing packet asked for (skip-last-N 0).
const (
	nackInterval   = 20 * time.Millisecond
	nackMaxPerSeq  = 10
	nackSkipLastN  = 0
	nackBufferSize = 512
)

// feedbackSink is told of the RTCP feedback a connection sends: the NACKed
// sequence numbers of a stream, and keyframe requests. It is called before
// the packet leaves, so a retransmission can never arrive before its NACK is
// known.
type feedbackSink interface {
	nackSent(ssrc uint32, seqs []uint16)
	pliSent(ssrc uint32)
}

// feedbackCounterFactory makes the counting interceptor of one connection's
// PeerConnection.
type feedbackCounterFactory struct{ sink feedbackSink }

func (f feedbackCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &feedbackCounter{sink: f.sink}, nil
}

// feedbackCounter reports every NACK and PLI written, whoever wrote it (the
// NACK generator, the PLI policy through PeerConnection.WriteRTCP). It sits
// nearest the network in the chain, so every RTCP write passes through it.
type feedbackCounter struct {
	interceptor.NoOp
	sink feedbackSink
}

func (c *feedbackCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				var seqs []uint16
				for _, pair := range p.Nacks {
					seqs = append(seqs, pair.PacketList()...)
				}
				c.sink.nackSent(p.MediaSSRC, seqs)
			case *rtcp.PictureLossIndication:
				c.sink.pliSent(p.MediaSSRC)
			}
		}
		return w.Write(pkts, a)
	})
}

// newViewAPI is the pion API of one WHEP connection: the participant's codecs
// and header extensions, and the interceptors of a browser's receiver —
// extra first (nearest the network; tests only), then the feedback counter,
// pion's NACK generator (active only on a stream whose answer negotiated
// nack) and RTCP receiver reports.
func newViewAPI(me *webrtc.MediaEngine, se *webrtc.SettingEngine, sink feedbackSink, extra ...interceptor.Factory) (*webrtc.API, error) {
	ir := &interceptor.Registry{}
	for _, f := range extra {
		ir.Add(f)
	}
	ir.Add(feedbackCounterFactory{sink: sink})
	gen, err := nack.NewGeneratorInterceptor(
		nack.GeneratorInterval(nackInterval),
		nack.GeneratorMaxNacksPerPacket(nackMaxPerSeq),
		nack.GeneratorSkipLastN(nackSkipLastN),
		nack.GeneratorSize(nackBufferSize),
	)
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	ir.Add(gen)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(*se)), nil
}
