package watchdog

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// TestSeqCheck feeds batches of one participant's seqs, as replicas hand
// them on, and checks the gaps, missing and replayed counts, against the
// embedded Redis and a real one.
func TestSeqCheck(t *testing.T) {
	const grace = 20 * time.Second
	type step struct {
		seqs    []uint64
		advance time.Duration // on the clock, before this batch
	}
	tests := []struct {
		name                   string
		steps                  []step
		gaps, missing, replays float64
	}{
		{"in order", []step{{seqs: span(1, 10)}, {seqs: span(11, 20)}}, 0, 0, 0},
		{"a hole filled by a slower replica", []step{{seqs: span(1, 10)}, {seqs: span(16, 20)}, {seqs: span(11, 15), advance: grace / 2}}, 0, 0, 0},
		{"a hole never filled", []step{{seqs: span(1, 10)}, {seqs: span(16, 20)}, {seqs: span(21, 25), advance: grace}}, 1, 5, 0},
		{"two holes", []step{{seqs: span(1, 3)}, {seqs: []uint64{5, 6, 9}}, {seqs: span(10, 12), advance: 2 * grace}}, 2, 3, 0},
		{"a batch sent again", []step{{seqs: span(1, 10)}, {seqs: span(5, 12)}}, 0, 0, 6},
		{"re-sent above a hole", []step{{seqs: span(1, 2)}, {seqs: span(5, 8)}, {seqs: span(6, 7)}, {seqs: span(3, 4)}}, 0, 0, 2},
		{"first seen mid-stream", []step{{seqs: span(100, 110)}, {seqs: span(111, 120), advance: grace}}, 0, 0, 0},
		{"the end of a run lost, then the next", []step{{seqs: span(1, 10)}, {seqs: span(40, 41), advance: time.Second}, {seqs: span(42, 43), advance: grace}}, 1, 29, 0},
	}
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b, err := bus.Open(context.Background(), bus.Options{URL: be.URL, Prefix: "t-seq:"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
					c, err := newSeqCheck(b.Client(), b.Prefix(), grace, prometheus.NewRegistry())
					if err != nil {
						t.Fatal(err)
					}
					w := &Watchdog{seq: c, clock: clock, log: slog.New(slog.DiscardHandler)}
					participant := "p/" + tt.name
					for _, st := range tt.steps {
						clock.Advance(st.advance)
						var items []item
						for _, s := range st.seqs {
							items = append(items, item{ok: true, sample: sample.Sample{Probe: "probe-a", Participant: participant, Seq: s}})
						}
						w.checkSeq(context.Background(), items)
					}
					got := []float64{counter(c.gaps), counter(c.missing), counter(c.replayed)}
					if got[0] != tt.gaps || got[1] != tt.missing || got[2] != tt.replays {
						t.Errorf("gaps, missing, replayed = %v, want %v", got, []float64{tt.gaps, tt.missing, tt.replays})
					}
				})
			}
		})
	}
}

func TestSeqRuns(t *testing.T) {
	var items []item
	for _, s := range []uint64{3, 1, 2, 7, 8, 10, 0} {
		items = append(items, item{ok: true, sample: sample.Sample{Probe: "p", Participant: "a", Seq: s}})
	}
	items = append(items, item{ok: false}, item{ok: true, sample: sample.Sample{Probe: "p", Participant: "b", Seq: 5}})
	keys, probes, runs := seqRuns(items)
	if len(keys) != 2 || keys[0] != "p/a" || keys[1] != "p/b" || probes[0] != "p" || runs[0] != "1-3,7-8,10-10" || runs[1] != "5-5" {
		t.Errorf("seqRuns = %v %v %v", keys, probes, runs)
	}
}

func counter(v *prometheus.CounterVec) float64 {
	var m dto.Metric
	_ = v.WithLabelValues("probe-a").Write(&m)
	return m.GetCounter().GetValue()
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// BenchmarkSeqCheck is the sequence check's cost per Sample: batches of
// 1,000 Samples, one each of 1,000 participants (the ingest benchmark's
// shape), against a real redis-server.
func BenchmarkSeqCheck(b *testing.B) {
	srv := bustest.StartRedis(b)
	bb, err := bus.Open(context.Background(), bus.Options{URL: srv.URL(), Prefix: "bench-seq:"})
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Close()
	c, err := newSeqCheck(bb.Client(), bb.Prefix(), time.Minute, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	w := &Watchdog{seq: c, clock: clockwork.NewRealClock(), log: slog.New(slog.DiscardHandler)}
	items := make([]item, 1000)
	for i := range items {
		items[i] = item{ok: true, sample: sample.Sample{Probe: "probe-a", Participant: "hall/ws-" + strconv.Itoa(i)}}
	}
	ctx := context.Background()
	n := 0
	start := time.Now()
	for seq := uint64(1); b.Loop(); seq++ {
		for i := range items {
			items[i].sample.Seq = seq
		}
		w.checkSeq(ctx, items)
		n += len(items)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/sample")
	if st := bustest.Info(srv, "commandstats"); st != "" {
		for _, line := range strings.Split(st, "\n") {
			if strings.HasPrefix(line, "cmdstat_evalsha:") {
				b.Log(line)
			}
		}
	}
}
