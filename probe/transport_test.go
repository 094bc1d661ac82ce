package probe

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

func TestTransportsRegistry(t *testing.T) {
	reg := Transports()
	if got := strings.Join(TransportNames(reg), ","); got != "webrtc,ws" {
		t.Fatalf("transports = %s", got)
	}
	// A room without the URL a transport needs is not applicable, not an error.
	room := config.Room{ID: "hall-1"}
	for name, f := range reg {
		if _, err := f(ParticipantSpec{Room: room, Probe: config.DefaultProbe(), Name: "x"}); !errors.Is(err, ErrNotApplicable) {
			t.Errorf("%s with no URL: err = %v, want ErrNotApplicable", name, err)
		}
	}
}

// The real WebSocket participant, against the synthetic hall: the agent
// probes a session and its Samples arrive, measured and stamped.
func TestAgentWithWebSocketParticipant(t *testing.T) {
	h, err := hall.New(hall.Options{Rooms: []hall.RoomSpec{{ID: "hall-1"}}, Period: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer func() {
		srv.Close()
		_ = h.Close()
	}()

	b := openBus(t, "", "t-ws:")
	path := schedulePath(t)
	writeSchedule(t, path, sessionYAML{id: "S-1", room: "hall-1", opensAt: time.Now().Add(500 * time.Millisecond), dur: time.Second})
	probe := config.DefaultProbe()
	probe.Window = 250 * time.Millisecond
	probe.PingInterval = 100 * time.Millisecond
	probe.WS.TickPeriod = 100 * time.Millisecond
	_, stop := startAgent(t, Options{
		ID: "probe-a", Location: "sc-1", Bus: b, Probe: probe,
		Rooms:        []config.Room{{ID: "hall-1", Kind: config.RoomOpeningHall, EventsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/hall-1/events"}},
		Participants: map[string]int{"ws": 2}, ScheduleFile: path, Lead: 100 * time.Millisecond, Tail: 100 * time.Millisecond,
		PatrolInterval: -1, HeartbeatInterval: time.Second, Logger: testLogger(t),
	})
	waitFor(t, 5*time.Second, "the session to end", func() bool {
		var n int
		for _, s := range streamSamples(t, b) {
			if s.Connected && s.RTTCount > 0 {
				n++
			}
		}
		return n >= 8
	})
	time.Sleep(time.Second) // past the tail
	stop()

	samples := streamSamples(t, b)
	byParticipant := map[string][]sample.Sample{}
	for _, s := range samples {
		if s.Transport != sample.TransportWS || s.Room != "hall-1" || s.Session != "S-1" || s.Probe != "probe-a" {
			t.Fatalf("sample %+v", s)
		}
		byParticipant[s.Participant] = append(byParticipant[s.Participant], s)
	}
	if len(byParticipant) != 2 {
		t.Fatalf("%d participants in the stream, want 2", len(byParticipant))
	}
	for p, ss := range byParticipant {
		for i, s := range ss {
			if s.Seq != uint64(i+1) {
				t.Fatalf("%s: seq %d at %d", p, s.Seq, i)
			}
		}
		if last := ss[len(ss)-1].WindowStart; last.After(time.Now()) {
			t.Errorf("%s: window in the future", p)
		}
	}
}

// The config's list of transports and the registry agree, so validation
// accepts exactly what the agent can run.
func TestTransportsMatchConfig(t *testing.T) {
	got := strings.Join(TransportNames(Transports()), ",")
	want := strings.Join(slices.Sorted(slices.Values(config.ParticipantTransports)), ",")
	if got != want {
		t.Errorf("registry %s, config.ParticipantTransports %s", got, want)
	}
}

// The real WebRTC participant, against the synthetic hall's media side: the
// agent watches a coordination room over WHEP (and publishes over WHIP), and
// its Samples arrive with video measures.
func TestAgentWithWebRTCParticipant(t *testing.T) {
	h, err := hall.New(hall.Options{Rooms: []hall.RoomSpec{{ID: "coord-1", Kind: hall.KindCoordinationRoom}}, Period: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer func() {
		srv.Close()
		_ = h.Close()
	}()

	b := openBus(t, "", "t-rtc:")
	path := schedulePath(t)
	writeSchedule(t, path, sessionYAML{id: "S-1", room: "coord-1", opensAt: time.Now().Add(300 * time.Millisecond), dur: 3 * time.Second})
	_, stop := startAgent(t, Options{
		ID: "probe-a", Location: "sc-1", Bus: b, Probe: config.DefaultProbe(),
		Rooms: []config.Room{{ID: "coord-1", Kind: config.RoomCoordination,
			WHEPURL: srv.URL + "/rooms/coord-1/whep", WHIPURL: srv.URL + "/rooms/coord-1/whip"}},
		Participants: map[string]int{"webrtc": 1}, ScheduleFile: path, Lead: 100 * time.Millisecond, Tail: 100 * time.Millisecond,
		PatrolInterval: -1, HeartbeatInterval: time.Second, Logger: testLogger(t),
	})
	waitFor(t, 10*time.Second, "video samples", func() bool {
		n := 0
		for _, s := range streamSamples(t, b) {
			if s.Transport == sample.TransportWebRTC && s.Connected && s.Frames > 0 {
				n++
			}
		}
		return n >= 2
	})
	stop()
	for _, s := range streamSamples(t, b) {
		if s.Transport != sample.TransportWebRTC || s.Room != "coord-1" || s.Session != "S-1" || s.Location != "sc-1" {
			t.Fatalf("sample %+v", s)
		}
	}
}
