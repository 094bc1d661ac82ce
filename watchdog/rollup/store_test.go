package rollup

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/health"
)

const testPrefix = "{city}:"

func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

var testTh = Thresholds{DegradedRTT: 300 * time.Millisecond}

func testIngest() *Ingest {
	return &Ingest{Prefix: testPrefix, Thresholds: testTh, RawRetention: 48 * time.Hour, RollupRetention: 400 * 24 * time.Hour}
}

func entries(t testing.TB, ss []*sample.Sample) []Entry {
	t.Helper()
	out := make([]Entry, len(ss))
	for i, s := range ss {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = Entry{Sample: s, Raw: string(b)}
	}
	return out
}

type rowKey struct {
	dim   Dim
	start int64
}

func collectRows(t testing.TB, read func(fn func(Row) error) error) map[rowKey]Stats {
	t.Helper()
	out := map[rowKey]Stats{}
	if err := read(func(r Row) error {
		k := rowKey{r.Dim, r.Start.Unix()}
		if _, dup := out[k]; dup {
			t.Errorf("row %v twice", k)
		}
		out[k] = r.Stats
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func collectSessions(t testing.TB, r Reader, from, to time.Time) map[string]Stats {
	t.Helper()
	out := map[string]Stats{}
	if err := r.Sessions(context.Background(), from, to, func(s SessionRow) error {
		out[s.Session+"/"+s.Dim.Key()] = s.Stats
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// fixture: two rooms seen from two locations over two transports across
// the Shanghai midnight of 1–2 March, a session and patrols, some windows
// degraded, some down.
func fixture(loc *time.Location) []*sample.Sample {
	mid := time.Date(2026, 3, 2, 0, 0, 0, 0, loc)
	var out []*sample.Sample
	i := 0
	for t := mid.Add(-90 * time.Minute); t.Before(mid.Add(90 * time.Minute)); t = t.Add(7 * time.Second) {
		for _, room := range []string{"r1", "r2"} {
			for _, l := range []string{"yz", "jd"} {
				for _, tr := range []sample.Transport{sample.TransportWS, sample.TransportWebRTC} {
					i++
					session := ""
					if t.After(mid.Add(-30*time.Minute)) && t.Before(mid.Add(30*time.Minute)) {
						session = "S-" + room
					}
					s := smp(t, session, room, l, tr, float64(5+i%400))
					if i%13 == 0 {
						s.ConnectedMS, s.Connected = 200, false
						s.Dropouts = 1
					}
					if i%17 == 0 {
						s.FreezeCount, s.FreezeMS = 1, 250
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func TestRedisStoreMatchesMemAcrossPacking(t *testing.T) {
	testStoreMatchesMem(t, testRedis(t))
}

// testStoreMatchesMem folds the fixture into Redis and into a Mem and
// reads both back, live, half packed, with a late Sample and all packed.
func testStoreMatchesMem(t *testing.T, rdb *redis.Client) {
	loc := shanghai(t)
	ctx := context.Background()
	ss := fixture(loc)
	in := testIngest()
	mem := NewMem(testTh, loc)
	for lo := 0; lo < len(ss); lo += 300 {
		part := ss[lo:min(lo+300, len(ss))]
		if err := in.Apply(ctx, rdb, entries(t, part)); err != nil {
			t.Fatal(err)
		}
		for _, s := range part {
			mem.Add(s)
		}
	}
	store := NewRedisStore(rdb, testPrefix, loc, in.RollupRetention)
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 3, 0, 0, 0, 0, loc)

	check := func(stage string) {
		t.Helper()
		for _, c := range []struct {
			name      string
			got, want map[rowKey]Stats
		}{
			{"hourly", collectRows(t, func(fn func(Row) error) error { return store.Hourly(ctx, from, to, fn) }),
				collectRows(t, func(fn func(Row) error) error { return mem.Hourly(ctx, from, to, fn) })},
			{"daily", collectRows(t, func(fn func(Row) error) error { return store.Daily(ctx, loc, from, to, fn) }),
				collectRows(t, func(fn func(Row) error) error { return mem.Daily(ctx, loc, from, to, fn) })},
			{"daily UTC", collectRows(t, func(fn func(Row) error) error { return store.Daily(ctx, time.UTC, from, to, fn) }),
				collectRows(t, func(fn func(Row) error) error { return mem.Daily(ctx, time.UTC, from, to, fn) })},
		} {
			if len(c.want) == 0 {
				t.Fatalf("%s %s: the fixture made no rows", stage, c.name)
			}
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s %s: %d rows from Redis, %d from Mem; differ", stage, c.name, len(c.got), len(c.want))
				for k, v := range c.want {
					if g := c.got[k]; !reflect.DeepEqual(g, v) {
						t.Errorf("  %v:\n got %+v\nwant %+v", k, g, v)
						break
					}
				}
			}
		}
		if got, want := collectSessions(t, store, from, to), collectSessions(t, mem, from, to); !reflect.DeepEqual(got, want) || len(want) != 8 {
			t.Errorf("%s sessions: got %v\nwant %v", stage, got, want)
		}
	}
	check("live")
	days := collectRows(t, func(fn func(Row) error) error { return store.Daily(ctx, loc, from, to, fn) })
	if len(days) != 16 { // 2 days × 2 rooms × 2 locations × 2 transports
		t.Fatalf("%d day rows, want 16", len(days))
	}

	// The first day can be packed three hours after its midnight; the
	// second cannot yet.
	res, err := store.Compact(ctx, time.Date(2026, 3, 2, 4, 0, 0, 0, loc), DefaultGrace, DefaultQuiet)
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 8 || res.Sessions != 2 || res.More {
		t.Errorf("compact: %+v, want 8 days and 2 sessions", res)
	}
	check("day 1 packed")
	if n := rdb.Exists(ctx, testPrefix+KeyHour+"2026030115:r1|yz|ws").Val(); n != 0 {
		t.Error("a packed hour is still there")
	}
	if n := rdb.Exists(ctx, testPrefix+KeyDay+"20260301:r1|yz|ws").Val(); n != 1 {
		t.Error("no packed day")
	}
	// Packing again changes nothing.
	if res, err := store.Compact(ctx, time.Date(2026, 3, 2, 4, 0, 0, 0, loc), DefaultGrace, DefaultQuiet); err != nil || res.Days != 0 || res.Sessions != 0 {
		t.Errorf("compact again: %+v, %v", res, err)
	}

	// A late Sample (a spool replayed) for the packed day: read at once,
	// packed into the day on the next pass.
	late := smp(time.Date(2026, 3, 1, 23, 0, 0, 0, loc), "", "r1", "yz", sample.TransportWS, 900)
	if err := in.Apply(ctx, rdb, entries(t, []*sample.Sample{late})); err != nil {
		t.Fatal(err)
	}
	mem.Add(late)
	check("late sample")
	if _, err := store.Compact(ctx, time.Date(2026, 3, 5, 0, 0, 0, 0, loc), DefaultGrace, DefaultQuiet); err != nil {
		t.Fatal(err)
	}
	check("all packed")
	if n := rdb.ZCard(ctx, testPrefix+KeyHours).Val(); n != 0 {
		t.Errorf("%d live hours left", n)
	}
}

func TestRawArchiveHoldsTheExactBytes(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	// An hour ago (the raw lists expire 48 h after their hour).
	at := time.Now().UTC().Truncate(time.Hour).Add(-time.Second)
	h0, h1 := HourName(at), HourName(at.Add(time.Second))
	ss := []*sample.Sample{smp(at, "S", "r1", "yz", sample.TransportWS, 10), smp(at.Add(time.Second), "S", "r1", "yz", sample.TransportWS, 11), smp(at, "", "r2", "jd", sample.TransportWS, 12)}
	es := entries(t, ss)
	es[0].Raw = `{"odd":  "spacing kept",` + es[0].Raw[1:]
	if err := testIngest().Apply(ctx, rdb, es); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]string{
		testPrefix + KeyRaw + "r1:" + h0: {es[0].Raw},
		testPrefix + KeyRaw + "r1:" + h1: {es[1].Raw},
		testPrefix + KeyRaw + "r2:" + h0: {es[2].Raw},
	} {
		got, err := rdb.LRange(ctx, key, 0, -1).Result()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, %v; want %q", key, got, err, want)
		}
		exp := rdb.ExpireTime(ctx, key).Val()
		hour, _ := time.Parse(hourFmt, key[len(key)-10:])
		if want := hour.Add(time.Hour + 48*time.Hour).Unix(); int64(exp/time.Second) != want {
			t.Errorf("%s expires at %d, want %d", key, int64(exp/time.Second), want)
		}
	}
	// Patrol Samples make no session.
	if n := rdb.ZCard(ctx, testPrefix+KeySessions).Val(); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	h := rdb.HGetAll(ctx, testPrefix+KeyHour+h0+":r2|jd|ws").Val()
	if h["p"] != "1000" || h["s"] != "" || h["n"] != "1" {
		t.Errorf("patrol hour: %v", h)
	}
}

func TestRedisHealthMatchesMem(t *testing.T) {
	testHealthMatchesMem(t, testRedis(t))
}

func testHealthMatchesMem(t *testing.T, rdb *redis.Client) {
	loc := shanghai(t)
	ctx := context.Background()
	store := NewRedisStore(rdb, testPrefix, loc, 400*24*time.Hour)
	mem := NewMem(testTh, loc)
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, loc)
	for i := range 40 {
		r := health.Reading{Server: fmt.Sprintf("s%d", i%3), Check: "prometheus[0]", At: start.Add(time.Duration(i) * 7 * time.Minute),
			OK: i%5 != 0, LatencyMS: float64(i) + 0.25, Values: map[string]float64{"cpu_pct": float64(i % 100), "db_conns_pct": 50}}
		if err := store.AddReading(ctx, r); err != nil {
			t.Fatal(err)
		}
		mem.AddReading(r)
	}
	from, to := start.Add(-time.Hour), start.Add(10*time.Hour)
	collect := func(r Reader) map[HealthKey]HealthRow {
		out := map[HealthKey]HealthRow{}
		if err := r.Health(ctx, from, to, func(h HealthRow) error {
			out[HealthKey{h.Server, h.Check, h.Metric, h.Start.UTC()}] = h
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	near := func(a, b map[HealthKey]HealthRow) bool {
		if len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y := b[k]
			x.Start, y.Start = x.Start.UTC(), y.Start.UTC()
			if d := x.Sum - y.Sum; d > 1e-9 || d < -1e-9 {
				return false
			}
			x.Sum = y.Sum
			if x != y {
				return false
			}
		}
		return true
	}
	want := collect(mem)
	if got := collect(store); !near(got, want) {
		t.Fatalf("live health:\n got %v\nwant %v", got, want)
	}
	res, err := store.Compact(ctx, start.Add(48*time.Hour), DefaultGrace, DefaultQuiet)
	if err != nil || res.HealthDays != 2 {
		t.Fatalf("compact %+v, %v", res, err)
	}
	if got := collect(store); !near(got, want) {
		t.Fatalf("packed health:\n got %v\nwant %v", got, want)
	}
}
