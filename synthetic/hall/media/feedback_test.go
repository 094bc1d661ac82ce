package media

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestNACK: a viewer that loses one video packet on its side and NACKs it
// gets it retransmitted; under the no-retransmit fault it does not.
func TestNACK(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noRetransmit bool
	}{{"answered", false}, {"no retransmit", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, base := newTestServer(t, Options{Rooms: []RoomSpec{{ID: "r"}}})
			if err := s.SetFault("r", Fault{NoRetransmit: tc.noRetransmit}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen, target, dropped := 0, uint16(0), false
			drop := func(seq uint16) bool {
				mu.Lock()
				defer mu.Unlock()
				seen++
				if seen == 15 {
					target, dropped = seq, true
					return true
				}
				return false
			}
			v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{CodecVP8}, nack: true, drop: drop})
			v.waitFrames(t, 30, 10*time.Second)
			mu.Lock()
			ok := dropped
			seq := target
			mu.Unlock()
			if !ok {
				t.Fatal("no packet dropped")
			}
			arrived := func() int {
				v.mu.Lock()
				defer v.mu.Unlock()
				return v.arrivals[seq]
			}
			deadline := time.Now().Add(time.Second)
			for arrived() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			st, err := s.Stats("r")
			if err != nil {
				t.Fatal(err)
			}
			if st.NACKs == 0 || st.NACKedSeqs == 0 {
				t.Errorf("stats %+v: no NACK counted", st)
			}
			d, _ := s.Dropped("r")
			if tc.noRetransmit {
				if n := arrived(); n != 0 || d.Video.Retransmitted != 0 {
					t.Errorf("packet %d arrived %d times, %d retransmitted; want none under no_retransmit", seq, n, d.Video.Retransmitted)
				}
				return
			}
			if n := arrived(); n != 1 || d.Video.Retransmitted == 0 {
				t.Errorf("packet %d arrived %d times, %d retransmitted; want it once, retransmitted", seq, n, d.Video.Retransmitted)
			}
		})
	}
}

// TestPLI: a PLI gets a keyframe within 100 ms; a second PLI right after
// gets the next only once 500 ms have passed since the first.
func TestPLI(t *testing.T) {
	s, base := newTestServer(t, Options{KeyInterval: 10 * time.Second, Rooms: []RoomSpec{{ID: "r"}}})
	v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{CodecVP8}})
	v.waitFrames(t, 10, 10*time.Second)
	v.mu.Lock()
	ssrc := v.videoSSRC
	v.mu.Unlock()
	pli := func() (time.Time, int) {
		_, _, n, _, _ := v.snapshot()
		at := time.Now()
		if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			t.Fatal(err)
		}
		return at, n
	}
	nextKey := func(from int, within time.Duration) time.Time {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			for _, f := range v.framesSince(from) {
				if f.key {
					return f.at
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("no keyframe within %s", within)
		return time.Time{}
	}
	sent1, n1 := pli()
	key1 := nextKey(n1, time.Second)
	if d := key1.Sub(sent1); d > 100*time.Millisecond {
		t.Errorf("keyframe %s after the PLI, want within 100 ms", d)
	}
	sent2, n2 := pli()
	key2 := nextKey(n2, 2*time.Second)
	if d := key2.Sub(key1); d < 450*time.Millisecond || d > 650*time.Millisecond {
		t.Errorf("second keyframe %s after the first (PLI %s after it), want 500 ms", d, sent2.Sub(key1))
	}
	st, _ := s.Stats("r")
	if st.PLIs != 2 || st.KeyframesForced != 2 {
		t.Errorf("stats %+v: want 2 PLIs, 2 keyframes forced", st)
	}
}

// TestLossLog: under 10 % loss, what the log says was dropped for a viewer
// that does not NACK is exactly what it misses, and about 10 % of it.
func TestLossLog(t *testing.T) {
	s, base := newTestServer(t, Options{Rooms: []RoomSpec{{ID: "r"}}})
	if err := s.SetFault("r", Fault{PacketLossPct: 10}); err != nil {
		t.Fatal(err)
	}
	v := newViewerOpts(t, base+"/rooms/r/whep", viewerOpts{codecs: []string{CodecVP8}})
	v.waitFrames(t, 150, 20*time.Second)
	d, err := s.Dropped("r")
	if err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	kinds := []struct {
		name string
		ssrc uint32
		got  []uint16
	}{{"video", v.videoSSRC, slices.Clone(v.videoSeqs)}, {"audio", v.audioSSRC, slices.Clone(v.audioSeqs)}}
	v.mu.Unlock()
	var expected, lost int
	for _, k := range kinds {
		missing, n := missingSeqs(k.got)
		var logged []uint16
		first, last := k.got[0], k.got[len(k.got)-1]
		for _, seq := range d.Seqs[k.ssrc] {
			if int16(seq-first) > 0 && int16(last-seq) > 0 {
				logged = append(logged, seq)
			}
		}
		if !slices.Equal(missing, logged) {
			t.Errorf("%s: missing %v, the log says %v", k.name, missing, logged)
		}
		expected += n
		lost += len(missing)
	}
	share := float64(lost) / float64(expected) * 100
	t.Logf("%d of %d packets lost (%.1f %%); log %+v %+v", lost, expected, share, d.Video, d.Audio)
	if share < 5 || share > 15 {
		t.Errorf("loss %.1f %%, want about 10", share)
	}
	if d.Video.Dropped == 0 || d.Audio.Dropped == 0 || d.Video.Sent < uint64(expected)/4 {
		t.Errorf("counts %+v %+v", d.Video, d.Audio)
	}
}

// missingSeqs returns the sequence numbers missing between the first and
// the last of got (in arrival order, which loopback keeps), and how many
// the range holds.
func missingSeqs(got []uint16) ([]uint16, int) {
	have := map[uint16]bool{}
	for _, s := range got {
		have[s] = true
	}
	first, last := got[0], got[len(got)-1]
	var missing []uint16
	for s := first; s != last; s++ {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	return missing, int(last-first) + 1
}
