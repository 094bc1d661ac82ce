package watchdog

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

func TestDown(t *testing.T) {
	ok := sample.Sample{Seq: 5, WindowMS: 1000, Connected: true, ConnectedMS: 1000}
	tests := []struct {
		name string
		mod  func(s *sample.Sample)
		want bool
	}{
		{"connected all window", func(*sample.Sample) {}, false},
		{"a dropout, back since", func(s *sample.Sample) { s.Dropouts, s.Reconnects = 1, 1 }, true},
		{"not connected", func(s *sample.Sample) { s.Connected, s.ConnectedMS = false, 0 }, true},
		{"first window, still connecting", func(s *sample.Sample) { s.Seq, s.Connected, s.ConnectedMS, s.WindowMS = 1, false, 0, 20 }, false},
		{"first window, connect refused", func(s *sample.Sample) { s.Seq, s.Connected, s.Error = 1, false, "dial: connection refused" }, true},
		{"connected 40 % of the window", func(s *sample.Sample) { s.ConnectedMS = 400 }, true},
		{"connected 60 % of the window", func(s *sample.Sample) { s.ConnectedMS = 600 }, false},
		{"a short last window, connected", func(s *sample.Sample) { s.WindowMS, s.ConnectedMS = 120, 120 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.mod(&s)
			if got := down(&s, 50); got != tt.want {
				t.Errorf("down = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReducer(t *testing.T) {
	w0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	r := newReducer(50)
	add := func(room, probe, part string, w time.Time, rtt float64, dropouts int) {
		r.add(&sample.Sample{Room: room, Probe: probe, Location: "yz", Participant: part, Seq: 2, WindowStart: w, WindowMS: 1000,
			Connected: dropouts == 0, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: rtt, RTTMaxMS: rtt + 1, Dropouts: dropouts, FreezeMS: 10})
	}
	add("r1", "p1", "a", w0, 2, 0)
	add("r1", "p1", "b", w0, 4, 1)
	add("r1", "p2", "a", w0, 3, 0)
	add("r1", "p1", "a", w0.Add(time.Second), 5, 0)
	aggs := r.take()
	if len(aggs) != 3 {
		t.Fatalf("%d aggregates: %+v", len(aggs), aggs)
	}
	a := aggs[0]
	if a.Room != "r1" || a.Probe != "p1" || a.Samples != 2 || a.Down != 1 || a.Dropouts != 1 || len(a.RTT) != 2 || a.RTTMaxMS != 5 || a.FreezeMS != 20 || !a.End.Equal(w0.Add(time.Second)) {
		t.Errorf("first aggregate %+v", a)
	}
	if len(r.take()) != 0 {
		t.Error("take did not empty the reducer")
	}
}
