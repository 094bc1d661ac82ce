package rollup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// hourTemplates folds n realistic probed hours (3,600 one-second windows of
// one participant: round trips around 30–60 ms with a tail, some degraded
// and down seconds, a few freezes) into Stats, to stand for the hours of a
// year without folding billions of Samples.
func hourTemplates(n int, start time.Time) []Stats {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([]Stats, n)
	for i := range out {
		base := 30 + rng.Float64()*30
		for sec := range 3600 {
			s := sample.Sample{Session: []string{"", "S"}[i%2], Room: "r", Transport: "ws", WindowStart: start.Add(time.Duration(sec) * time.Second),
				WindowMS: 1000, ConnectedMS: 1000, RTTCount: 1, RTTMedianMS: base * (0.8 + 0.4*rng.Float64())}
			switch r := rng.IntN(1000); {
			case r < 3:
				s.ConnectedMS, s.Dropouts = 0, 1
			case r < 10:
				s.RTTMedianMS = 300 + rng.Float64()*700
			case r < 13:
				s.FreezeCount, s.FreezeMS = 1, 400
			}
			out[i].Add(&s, Thresholds{DegradedRTT: 300 * time.Millisecond})
		}
	}
	return out
}

// yearDims is a room seen from 3 locations over 2 transports.
func yearDims(room string) []Dim {
	var out []Dim
	for _, l := range []string{"loc-a", "loc-b", "loc-c"} {
		for _, tr := range []sample.Transport{sample.TransportWS, sample.TransportWebRTC} {
			out = append(out, Dim{Room: room, Location: l, Transport: tr})
		}
	}
	return out
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}

// BenchmarkRoomYearBytes measures the Redis memory a room's year of
// roll-ups takes once packed: the room is seen from 3 locations over 2
// transports and probed 10 hours a day, with 2 sessions a day. Each
// iteration writes the year as the consumers would leave it (live hour
// hashes, session hashes, their indexes), packs it with Compact, and
// measures used_memory and the keys' MEMORY USAGE.
//
//	go test -run '^$' -bench RoomYearBytes -benchtime 1x ./watchdog/rollup
func BenchmarkRoomYearBytes(b *testing.B) {
	rdb := testRedis(b)
	ctx := context.Background()
	loc := shanghai(b)
	tmpl := hourTemplates(40, time.Unix(0, 0))
	store := NewRedisStore(rdb, testPrefix, loc, 400*24*time.Hour)
	first := DayOf(time.Now(), loc).AddDate(0, 0, -365)
	dims := yearDims("room-1")
	for range b.N {
		rdb.FlushAll(ctx)
		before := usedMemory(b, rdb)
		pipe := rdb.Pipeline()
		for d := range 365 {
			day := first.AddDate(0, 0, d)
			for h := 8; h < 18; h++ {
				hour := day.Add(time.Duration(h) * time.Hour).UTC()
				for i, dim := range dims {
					st := tmpl[(d*24+h+i)%len(tmpl)]
					st.FirstMS, st.LastMS = hour.UnixMilli(), hour.Add(time.Hour).UnixMilli()
					writeHour(ctx, pipe, dim, hour, &st)
				}
			}
			for sn := range 2 {
				id := fmt.Sprintf("S-%d-%d", d, sn)
				start := day.Add(time.Duration(9+4*sn) * time.Hour)
				for i, dim := range dims {
					st := tmpl[(d+sn+i)%len(tmpl)]
					st.FirstMS, st.LastMS = start.UnixMilli(), start.Add(2*time.Hour).UnixMilli()
					writeSession(ctx, pipe, id, dim, &st)
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		live := usedMemory(b, rdb) - before
		t0 := time.Now()
		for {
			res, err := store.Compact(ctx, first.AddDate(0, 0, 366).Add(12*time.Hour), DefaultGrace, DefaultQuiet)
			if err != nil {
				b.Fatal(err)
			}
			if !res.More {
				break
			}
		}
		took := time.Since(t0)
		packed := usedMemory(b, rdb) - before
		var usage int64
		keys, err := rdb.Keys(ctx, "*").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			usage += rdb.MemoryUsage(ctx, k).Val()
		}
		if n := rdb.ZCard(ctx, testPrefix+KeyHours).Val(); n != 0 {
			b.Fatalf("%d hours left unpacked", n)
		}
		b.ReportMetric(float64(packed), "bytes/room-year")
		b.ReportMetric(float64(usage), "memory-usage-bytes/room-year")
		b.ReportMetric(float64(live), "unpacked-bytes/room-year")
		b.ReportMetric(took.Seconds(), "pack-s/room-year")
		b.ReportMetric(float64(len(keys)), "keys")
	}
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// writeHour writes a live hour hash as the consumers' script leaves it.
func writeHour(ctx context.Context, p redis.Pipeliner, d Dim, hour time.Time, st *Stats) {
	m := HourName(hour) + ":" + d.Key()
	args, _ := appendDeltas(nil, "", st)
	args = append(args, fieldFirst, st.FirstMS, fieldLast, st.LastMS)
	p.HSet(ctx, testPrefix+KeyHour+m, args...)
	p.ZAdd(ctx, testPrefix+KeyHours, redis.Z{Score: float64(hour.UnixMilli()), Member: m})
	p.ZAddGT(ctx, testPrefix+KeyDims, redis.Z{Score: float64(st.LastMS), Member: d.Key()})
}

// writeSession writes one Dim of a live session hash.
func writeSession(ctx context.Context, p redis.Pipeliner, id string, d Dim, st *Stats) {
	key := testPrefix + KeySession + id
	args, _ := appendDeltas(nil, d.Location+"|"+string(d.Transport)+"|", st)
	pre := d.Location + "|" + string(d.Transport) + "|"
	args = append(args, pre+fieldFirst, st.FirstMS, pre+fieldLast, st.LastMS, sessRoom, d.Room, fieldFirst, st.FirstMS, fieldLast, st.LastMS)
	p.HSet(ctx, key, args...)
	p.ZAddLT(ctx, testPrefix+KeySessions, redis.Z{Score: float64(st.FirstMS), Member: id})
	p.ZAddGT(ctx, testPrefix+KeyLiveSessions, redis.Z{Score: float64(st.LastMS), Member: id})
}

// cityYear writes a year of packed days of a 50-room city (each room seen
// from 3 locations over 2 transports, probed 10 hours a day: 109,500
// packed days) and returns a store over them, the first day and the Dims.
func cityYear(b *testing.B) (*RedisStore, time.Time, *time.Location) {
	rdb := testRedis(b)
	ctx := context.Background()
	loc := shanghai(b)
	tmpl := hourTemplates(40, time.Unix(0, 0))
	store := NewRedisStore(rdb, testPrefix, loc, 400*24*time.Hour)
	first := DayOf(time.Now(), loc).AddDate(0, 0, -365)
	var dims []Dim
	for r := range 50 {
		dims = append(dims, yearDims(fmt.Sprintf("room-%02d", r))...)
	}
	pipe := rdb.Pipeline()
	for d := range 365 {
		day := first.AddDate(0, 0, d)
		for i, dim := range dims {
			hours := make([]HourStats, 0, 10)
			for h := 8; h < 18; h++ {
				hour := day.Add(time.Duration(h) * time.Hour).UTC()
				st := tmpl[(d*24+h+i)%len(tmpl)]
				st.FirstMS, st.LastMS = hour.UnixMilli(), hour.Add(time.Hour).UnixMilli()
				hours = append(hours, HourStats{Hour: hour, Stats: st})
			}
			blob, err := EncodeDay(Hour(day), hours)
			if err != nil {
				b.Fatal(err)
			}
			pipe.Set(ctx, testPrefix+KeyDay+DayName(day, loc)+":"+dim.Key(), blob, 0)
			pipe.ZAddGT(ctx, testPrefix+KeyDims, redis.Z{Score: float64(hours[9].Stats.LastMS), Member: dim.Key()})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return store, first, loc
}

// readYear reads a year with read, merging per room as a year report
// does, and checks it saw rows of 50 rooms.
func readYear(b *testing.B, wantRows int, read func(fn func(Row) error) error) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rooms := map[string]*Stats{}
		rows := 0
		err := read(func(r Row) error {
			st := rooms[r.Dim.Room]
			if st == nil {
				st = &Stats{}
				rooms[r.Dim.Room] = st
			}
			st.Merge(&r.Stats)
			rows++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if rows != wantRows || len(rooms) != 50 {
			b.Fatalf("%d rows of %d rooms", rows, len(rooms))
		}
		_ = rooms["room-00"].RTT.Quantile(0.95)
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// BenchmarkDailyYear50Rooms measures reading a year of daily roll-ups of a
// 50-room city with Daily (109,500 packed days, their totals only),
// merging per room as a year report does: time and memory allocated per
// read.
//
//	go test -run '^$' -bench Year50Rooms -benchmem -benchtime 5x ./watchdog/rollup
func BenchmarkDailyYear50Rooms(b *testing.B) {
	store, first, loc := cityYear(b)
	readYear(b, 365*300, func(fn func(Row) error) error {
		return store.Daily(context.Background(), loc, first, first.AddDate(0, 0, 365), fn)
	})
}

// BenchmarkHourlyYear50Rooms is the same year read hour by hour (Hourly:
// the packed days decoded down to their 1.1 million hours).
func BenchmarkHourlyYear50Rooms(b *testing.B) {
	store, first, _ := cityYear(b)
	readYear(b, 365*300*10, func(fn func(Row) error) error {
		return store.Hourly(context.Background(), first, first.AddDate(0, 0, 365), fn)
	})
}

func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkApply measures the roll-up half of a consumer's flush alone:
// folding a batch of 1,000 Samples (1,000 participants in 100 rooms seen
// from 2 locations, in a session: one second of them) into operations
// (Build) and applying them (the script), per Sample: the CPU time of this
// process (folding, encoding the arguments) and of the redis-server.
//
//	go test -run '^$' -bench Apply -benchmem ./watchdog/rollup
func BenchmarkApply(b *testing.B) {
	rdb := testRedis(b)
	ctx := context.Background()
	in := testIngest()
	start := time.Now().Truncate(time.Hour).Add(-time.Hour)
	const batch = 1000
	var es []Entry
	for p := range batch {
		s := &sample.Sample{Probe: "p", Location: []string{"yz", "jd"}[(p/100)%2], Session: "S-bench", Room: fmt.Sprintf("room-%d", p%100),
			Transport: sample.TransportWS, Participant: fmt.Sprint(p), Seq: 1, WindowStart: start, WindowMS: 1000, Connected: true, ConnectedMS: 1000,
			RTTCount: 1, RTTMedianMS: 1.4 + float64(p%7)}
		es = append(es, entries(b, []*sample.Sample{s})...)
	}
	cpu0, gocpu0 := redisCPU(b, rdb), processCPU()
	b.ResetTimer()
	for i := range b.N {
		for j := range es {
			es[j].Sample.WindowStart = start.Add(time.Duration(i) * time.Second)
		}
		keys, args := in.Build(es)
		if err := applyScript.Run(ctx, rdb, keys, args...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := float64(b.N * batch)
	b.ReportMetric(float64((redisCPU(b, rdb)-cpu0).Nanoseconds())/n/1000, "redis-cpu-µs/sample")
	b.ReportMetric(float64((processCPU()-gocpu0).Nanoseconds())/n/1000, "go-cpu-µs/sample")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawHourBytes measures the Redis memory of one participant-hour
// of the raw archive: 3,600 one-second Samples (a WebRTC viewer's, with
// every measure filled in) in their room's hour list.
//
//	go test -run '^$' -bench RawHourBytes -benchtime 1x ./watchdog/rollup
func BenchmarkRawHourBytes(b *testing.B) {
	rdb := testRedis(b)
	ctx := context.Background()
	in := testIngest()
	hour := time.Now().UTC().Truncate(time.Hour)
	var es []Entry
	var jsonBytes int
	for sec := range 3600 {
		s := &sample.Sample{Probe: "probe-yz-1", Location: "yz", Session: "2026-BJ-0042", Room: "yz-hall-1", Transport: sample.TransportWebRTC,
			Participant: "viewer-1", Seq: uint64(sec + 1), WindowStart: hour.Add(time.Duration(sec) * time.Second), WindowMS: 1000,
			Connected: true, ConnectedMS: 1000, RTTCount: 3, RTTMedianMS: 23.4, RTTMaxMS: 31.9, LagCount: 25, LagMedianMS: 81.2, LagMaxMS: 95.3,
			JitterMS: 2.1, LossPct: 0.1, Frames: 25, FPS: 25, BitrateKbps: 1480.5, LargestGapMS: 52.1}
		e := entries(b, []*sample.Sample{s})
		jsonBytes += len(e[0].Raw)
		es = append(es, e...)
	}
	for range b.N {
		rdb.FlushAll(ctx)
		before := usedMemory(b, rdb)
		for lo := 0; lo < len(es); lo += 500 {
			if err := in.Apply(ctx, rdb, es[lo:min(lo+500, len(es))]); err != nil {
				b.Fatal(err)
			}
		}
		key := testPrefix + KeyRaw + "yz-hall-1:" + HourName(hour)
		b.ReportMetric(float64(rdb.MemoryUsage(ctx, key, 0).Val()), "raw-list-bytes/participant-hour")
		b.ReportMetric(float64(usedMemory(b, rdb)-before), "all-bytes/participant-hour")
	}
	b.ReportMetric(float64(jsonBytes)/3600, "json-bytes/sample")
}

// BenchmarkSessionsYear50Rooms measures reading a year of session
// roll-ups of a 50-room city: 4 sessions a room a day (73,000), each seen
// from 3 locations over 2 transports, packed.
//
//	go test -run '^$' -bench SessionsYear50Rooms -benchmem -benchtime 3x ./watchdog/rollup
func BenchmarkSessionsYear50Rooms(b *testing.B) {
	rdb := testRedis(b)
	ctx := context.Background()
	loc := shanghai(b)
	tmpl := hourTemplates(40, time.Unix(0, 0))
	store := NewRedisStore(rdb, testPrefix, loc, 400*24*time.Hour)
	first := DayOf(time.Now(), loc).AddDate(0, 0, -365)
	pipe := rdb.Pipeline()
	for d := range 365 {
		day := first.AddDate(0, 0, d)
		for r := range 50 {
			room := fmt.Sprintf("room-%02d", r)
			for sn := range 4 {
				start := day.Add(time.Duration(8+2*sn) * time.Hour)
				sess := Session{Room: room}
				for i, dim := range yearDims(room) {
					st := tmpl[(d+r+sn+i)%len(tmpl)]
					st.FirstMS, st.LastMS = start.UnixMilli(), start.Add(90*time.Minute).UnixMilli()
					sess.Dims = append(sess.Dims, SessionDim{Dim: dim, Stats: st})
				}
				id := fmt.Sprintf("%s-%d-%d", room, d, sn)
				pipe.HSet(ctx, testPrefix+KeySession+id, sessRoom, room, sessPacked, EncodeSession(&sess),
					fieldFirst, start.UnixMilli(), fieldLast, start.Add(90*time.Minute).UnixMilli())
				pipe.ZAdd(ctx, testPrefix+KeySessions, redis.Z{Score: float64(start.UnixMilli()), Member: id})
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rows := 0
		rooms := map[string]*Stats{}
		err := store.Sessions(ctx, first, first.AddDate(0, 0, 365), func(r SessionRow) error {
			st := rooms[r.Dim.Room]
			if st == nil {
				st = &Stats{}
				rooms[r.Dim.Room] = st
			}
			st.Merge(&r.Stats)
			rows++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if rows != 365*50*4*6 {
			b.Fatalf("%d session rows", rows)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}
