package rollup

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// exactQuantile is the nearest-rank q-quantile of vs.
func exactQuantile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func TestHistQuantileWithinOneBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		vs   func() []float64
	}{
		{"uniform 1..1000 ms", func() []float64 {
			var v []float64
			for i := 1; i <= 1000; i++ {
				v = append(v, float64(i))
			}
			return v
		}},
		{"constant 42 ms", func() []float64 { return slices.Repeat([]float64{42}, 500) }},
		{"log-normal around 40 ms", func() []float64 {
			var v []float64
			for range 20000 {
				v = append(v, math.Exp(math.Log(40)+0.8*rng.NormFloat64()))
			}
			return v
		}},
		{"bimodal 5 ms and 900 ms", func() []float64 {
			var v []float64
			for i := range 10000 {
				if i%10 == 0 {
					v = append(v, 900+rng.Float64()*50)
				} else {
					v = append(v, 5+rng.Float64())
				}
			}
			return v
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := c.vs()
			var h Hist
			for _, v := range vs {
				h.Add(v)
			}
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 1} {
				got, want := h.Quantile(q), exactQuantile(vs, q)
				if r := got / want; r < 1/HistGrowth || r > HistGrowth {
					t.Errorf("p%g: %.3f, exact %.3f: more than one bucket off", q*100, got, want)
				}
			}
		})
	}
	var empty Hist
	if !math.IsNaN(empty.Quantile(0.95)) {
		t.Error("an empty histogram's quantile is not NaN")
	}
}

func TestBucketBounds(t *testing.T) {
	for _, v := range []float64{0, 0.1, 0.5, 0.55, 1, 3.7, 300, 1000, 65000, 1e9} {
		i := Bucket(v)
		lo, hi := BucketBounds(i)
		if v < lo || v >= hi {
			t.Errorf("%g in bucket %d = [%g, %g)", v, i, lo, hi)
		}
	}
	if Bucket(math.NaN()) != 0 || Bucket(-1) != 0 {
		t.Error("NaN and negatives belong in bucket 0")
	}
}

// randomSamples makes n varied Samples of one room over an hour.
func randomSamples(rng *rand.Rand, n int, start time.Time) []*sample.Sample {
	var out []*sample.Sample
	for i := range n {
		s := smp(start.Add(time.Duration(rng.IntN(3600))*time.Second), []string{"", "S1", "S2"}[rng.IntN(3)], "r1",
			[]string{"yz", "jd"}[rng.IntN(2)], []sample.Transport{sample.TransportWS, sample.TransportWebRTC}[rng.IntN(2)], rng.Float64()*800)
		s.WindowMS = float64(200 + rng.IntN(801))
		s.ConnectedMS = float64(rng.IntN(int(s.WindowMS) + 1))
		if i%3 == 0 {
			s.RTTCount = 0
		}
		if i%7 == 0 {
			s.FreezeCount, s.FreezeMS = 1, float64(rng.IntN(2000))
		}
		s.Dropouts, s.Reconnects, s.MissedSeq = rng.IntN(2), rng.IntN(2), rng.IntN(3)
		s.LagMedianMS = rng.Float64() * 400
		out = append(out, s)
	}
	return out
}

func TestStatsMergeIsFoldOfUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		a, b int
	}{{"both empty", 0, 0}, {"one empty", 0, 50}, {"other empty", 50, 0}, {"one each", 1, 1}, {"many", 400, 700}} {
		t.Run(c.name, func(t *testing.T) {
			all := randomSamples(rng, c.a+c.b, start)
			var a, b, u Stats
			for i, s := range all {
				if i < c.a {
					a.Add(s, testTh)
				} else {
					b.Add(s, testTh)
				}
				u.Add(s, testTh)
			}
			a.Merge(&b)
			if !reflect.DeepEqual(a, u) {
				t.Errorf("merge:\n%+v\nfold of the union:\n%+v", a, u)
			}
			if u.DownMS+u.DegradedMS > u.ObservedMS || u.SessionMS+u.PatrolMS != u.ObservedMS {
				t.Errorf("down+degraded over observed, or session+patrol not observed: %+v", u)
			}
		})
	}
}

func TestStatsAdd(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		s    sample.Sample
		want Stats
	}{
		{"good", sample.Sample{Session: "S", WindowStart: at, WindowMS: 1000, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 20},
			Stats{Samples: 1, ObservedMS: 1000, SessionMS: 1000, RTTSumMS: 20, FirstMS: at.UnixMilli(), LastMS: at.UnixMilli() + 1000}},
		{"slow", sample.Sample{WindowStart: at, WindowMS: 1000, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: 400},
			Stats{Samples: 1, ObservedMS: 1000, DegradedMS: 1000, PatrolMS: 1000, RTTSumMS: 400, FirstMS: at.UnixMilli(), LastMS: at.UnixMilli() + 1000}},
		{"half down, frozen", sample.Sample{Session: "S", WindowStart: at, WindowMS: 1000, ConnectedMS: 500, FreezeCount: 1, FreezeMS: 300, Dropouts: 1},
			Stats{Samples: 1, ObservedMS: 1000, DownMS: 500, DegradedMS: 500, SessionMS: 1000, Freezes: 1, FreezeMS: 300, Dropouts: 1, FirstMS: at.UnixMilli(), LastMS: at.UnixMilli() + 1000}},
		{"nothing measured", sample.Sample{Session: "S", WindowStart: at, WindowMS: 0}, Stats{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got Stats
			got.Add(&c.s, testTh)
			if c.s.RTTCount > 0 {
				c.want.RTT[Bucket(c.s.RTTMedianMS)] = 1
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestPackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	var hours []HourStats
	for h := 0; h < 24; h += 1 + rng.IntN(3) {
		var st Stats
		for _, s := range randomSamples(rng, 1+rng.IntN(300), base.Add(time.Duration(h)*time.Hour)) {
			st.Add(s, testTh)
		}
		hours = append(hours, HourStats{Hour: base.Add(time.Duration(h) * time.Hour), Stats: st})
	}
	b, err := EncodeDay(base, hours)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeDay(b)
	if err != nil {
		t.Fatal(err)
	}
	var total Stats
	for i := range hours {
		total.Merge(&hours[i].Stats)
	}
	if !d.Base.Equal(base) || !reflect.DeepEqual(d.Hours, hours) || !reflect.DeepEqual(d.Total, total) {
		t.Errorf("day round trip differs")
	}
	t.Logf("a day of %d hours packs into %d bytes", len(hours), len(b))
	if _, err := EncodeDay(base, []HourStats{hours[1], hours[0]}); err == nil {
		t.Error("hours out of order packed")
	}

	sess := Session{Room: "r1"}
	for i, d := range []Dim{{"r1", "yz", "ws"}, {"r1", "jd", "webrtc"}} {
		sess.Dims = append(sess.Dims, SessionDim{Dim: d, Stats: hours[i].Stats})
	}
	got, err := DecodeSession(EncodeSession(&sess))
	if err != nil || !reflect.DeepEqual(got, sess) {
		t.Errorf("session round trip: %+v, %v", got, err)
	}

	rows := []HealthRow{
		{Server: "db", Check: "prometheus[0]", Start: base, Checks: 60, Failed: 2, N: 60, Sum: 600.5, Min: 1, Max: 40},
		{Server: "db", Check: "prometheus[0]", Metric: "cpu_pct", Start: base.Add(time.Hour), N: 60, Sum: 3000, Min: 10, Max: 95.5},
		{Server: "web", Check: "http[0]", Start: base.Add(23 * time.Hour), Checks: 1, Failed: 1},
	}
	hb, err := EncodeHealthDay(base, rows)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeHealthDay(hb); err != nil || !reflect.DeepEqual(got, rows) {
		t.Errorf("health round trip: %+v, %v", got, err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	base := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	var st Stats
	st.Add(smp(base, "S", "r1", "yz", "ws", 20), testTh)
	good, _ := EncodeDay(base, []HourStats{{Hour: base, Stats: st}})
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"another format", append([]byte{packSession}, good[1:]...)},
		{"a future format", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", append(slices.Clone(good), 0)},
		{"overlong varint", []byte{packDay, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"bucket past the last", []byte{packDay, 1, 3, 0, 1, byte(HistBuckets), 2, 0}},
		{"zero bucket count", []byte{packDay, 1, 3, 0, 1, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeDay(c.b); err == nil {
				t.Errorf("decoded %x", c.b)
			}
		})
	}
	if _, err := DecodeSession([]byte{packSession, 0, 0xff, 0x7f}); err == nil {
		t.Error("a session with a huge room decoded")
	}
	if _, err := DecodeHealthDay([]byte{packHealth, 1, 0xff, 0xff, 0xff, 0x7f}); err == nil {
		t.Error("a health day of a billion rows decoded")
	}
}
