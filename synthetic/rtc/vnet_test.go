package rtc

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic/hall/media"
)

// simNet is a virtual network (pion's vnet): the media server at 10.0.0.1
// and the participant at 10.0.0.2 behind one router. No packet of it touches
// a real interface; only the WHEP signalling goes over loopback HTTP.
// simNetMu serialises building vnets (see newSimNet).
var simNetMu sync.Mutex

type simNet struct {
	server, client *vnet.Net
}

// newSimNet builds the network; oneWay delays every packet on the router,
// lossPct drops that share of the packets arriving at the participant.
func newSimNet(t *testing.T, oneWay time.Duration, lossPct int) *simNet {
	t.Helper()
	// vnet numbers each Net's MAC address from an unguarded package
	// counter: tests that build networks side by side take turns.
	simNetMu.Lock()
	defer simNetMu.Unlock()
	router, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR:          "10.0.0.0/24",
		MinDelay:      oneWay,
		LoggerFactory: logging.NewDefaultLoggerFactory(),
	})
	if err != nil {
		t.Fatal(err)
	}
	server, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := router.AddNet(server); err != nil {
		t.Fatal(err)
	}
	var clientNIC vnet.NIC = client
	if lossPct > 0 {
		// Shuffle mode drops exactly lossPct of every 100 packets, in a
		// random order, so the test measures the participant, not the
		// luck of the draw.
		lf, err := vnet.NewLossFilter(client, lossPct, vnet.WithShuffleLossHandler(100), vnet.WithLossSeed(3))
		if err != nil {
			t.Fatal(err)
		}
		clientNIC = lf
	}
	if err := router.AddNet(clientNIC); err != nil {
		t.Fatal(err)
	}
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Stop() })
	return &simNet{server: server, client: client}
}

// simNetSettings is a SettingEngine for one side of the virtual network.
func simNetSettings(n *vnet.Net) *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetNet(n)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(3*time.Second, 8*time.Second, 500*time.Millisecond)
	return se
}

func newSimNetHall(t *testing.T, vn *simNet) *testHall {
	return newTestHall(t, media.Options{
		Net:           vn.server,
		SettingEngine: simNetSettings(vn.server),
	})
}

// TestRTCVNetDelay: 40 ms one-way → RTT 80 ± 5 ms (ICE and data-channel
// echo), and media lag 40 ms.
func testRTCVNetDelay(t *testing.T) {
	v := newTiming(t)
	defer v.Done()
	samples := simNetRun(t, 40*time.Millisecond, 0, 6500*time.Millisecond)
	steady := steadySamples(samples)
	if len(steady) < 3 {
		v.Errorf("%d steady windows: %+v", len(steady), samples)
		return
	}
	var rtt, lag []float64
	for _, s := range steady {
		if s.RTTCount > 0 {
			rtt = append(rtt, s.RTTMedianMS)
		}
		if s.LagCount > 0 {
			lag = append(lag, s.LagMedianMS)
		}
	}
	r, l := median(rtt), median(lag)
	if r < 75 || r > 85 {
		v.Errorf("RTT %.1f ms (windows %v), want 80 ± 5", r, rtt)
	}
	if l < 38 || l > 50 {
		v.Errorf("lag %.1f ms, want ~40", l)
	}
	t.Logf("RTT %.1f ms over %d windows, lag %.1f ms", r, len(rtt), l)
}

// TestRTCVNetLoss: 5 % of the packets to the participant dropped (every
// kind: media, RTCP, STUN, DTLS) → loss measured 5 ± 1 %, as lost over
// expected packets summed over the windows. Retransmissions the NACKs bring
// count as lost, so NACK does not hide the network's loss.
func testRTCVNetLoss(t *testing.T) {
	v := newTiming(t)
	defer v.Done()
	samples := simNetRun(t, 0, 5, 9500*time.Millisecond)
	steady := steadySamples(samples)
	if len(steady) < 5 {
		v.Errorf("%d steady windows: %+v", len(steady), samples)
		return
	}
	var lost, expected, retransmitted int64
	var per []float64
	for _, s := range steady {
		lost += s.VideoLost + s.AudioLost
		expected += s.VideoPackets + s.AudioPackets
		retransmitted += s.Retransmitted
		per = append(per, s.LossPct)
	}
	loss := 100 * float64(lost) / float64(expected)
	// The vnet drops 5 of every 100 packets reaching the participant, in a
	// shuffled order, but STUN, SCTP and RTCP share the link with the media,
	// so the media's own share varies about 5 % like a binomial draw,
	// σ = √(p(1−p)/n) (about 0.9 pp for 550 packets). Four σ keeps a correct
	// count from failing by chance; the exact check against what the sender
	// dropped is TestTruthLoss.
	tol := 4 * 100 * math.Sqrt(0.05*0.95/float64(expected))
	if math.Abs(loss-5) > tol {
		v.Errorf("loss %.2f %% (%d of %d; per window %.1f), want 5 ± %.1f (4σ)", loss, lost, expected, per, tol)
	}
	if retransmitted == 0 {
		t.Errorf("no packet recovered by retransmission (%d lost): are NACKs sent?", lost)
	}
	t.Logf("loss %.2f %% (%d of %d) over %d windows (per window %.1f), %d retransmitted", loss, lost, expected, len(steady), per, retransmitted)
}

// simNetRun runs one participant for d against the hall's media behind a
// virtual network with the given one-way delay and loss, and returns its
// samples.
func simNetRun(t *testing.T, delay time.Duration, lossPct int, d time.Duration) []sample.Sample {
	t.Helper()
	vn := newSimNet(t, delay, lossPct)
	h := newSimNetHall(t, vn)
	cfg := loopbackConfig(h, "room-1")
	cfg.SettingEngine = simNetSettings(vn.client)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runFor(t, p, d, nil)
}
