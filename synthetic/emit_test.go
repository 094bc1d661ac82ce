package synthetic

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func TestEmitterSeqGapFreeAndDropsCounted(t *testing.T) {
	out := make(chan sample.Sample, 2)
	e := Emitter{Out: out, Transport: sample.TransportWS, Room: "r", Participant: "p"}
	// Two fit, two find the channel full, then the consumer catches up.
	for i, want := range []bool{true, true, false, false} {
		if got := e.Emit(sample.Sample{}); got != want {
			t.Fatalf("emit %d delivered = %v, want %v", i, got, want)
		}
	}
	a, b := <-out, <-out
	if !e.Emit(sample.Sample{}) {
		t.Fatal("emit after draining was not delivered")
	}
	c := <-out
	for i, s := range []sample.Sample{a, b, c} {
		if s.Seq != uint64(i+1) || s.Room != "r" || s.Participant != "p" || s.Transport != sample.TransportWS {
			t.Errorf("sample %d = seq %d room %q participant %q transport %q", i, s.Seq, s.Room, s.Participant, s.Transport)
		}
	}
	if a.SamplesDropped != 0 || b.SamplesDropped != 0 || c.SamplesDropped != 2 {
		t.Errorf("SamplesDropped = %d, %d, %d; want 0, 0, 2", a.SamplesDropped, b.SamplesDropped, c.SamplesDropped)
	}
}

func TestSetLatency(t *testing.T) {
	var s sample.Sample
	SetLatency(&s, []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}, nil)
	if s.RTTCount != 3 || s.RTTMedianMS != 20 || s.RTTMaxMS != 30 {
		t.Errorf("rtt = %d %.1f %.1f, want 3 20 30", s.RTTCount, s.RTTMedianMS, s.RTTMaxMS)
	}
	if s.LagCount != 0 || s.LagMedianMS != 0 {
		t.Errorf("lag set without measurements: %d %.1f", s.LagCount, s.LagMedianMS)
	}
}
