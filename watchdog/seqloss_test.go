package watchdog

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/bus/bustest"
	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/watchdog/decide"
)

func TestRecurringLoss(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ev := func(ago time.Duration, gaps, missing int) lossEvent {
		return lossEvent{At: now.Add(-ago), Participant: "hall/ws-1", Gaps: gaps, Missing: missing}
	}
	tests := []struct {
		name   string
		events []lossEvent
		want   lossVerdict
	}{
		{"none", nil, lossVerdict{}},
		{"once", []lossEvent{ev(time.Minute, 1, 3)}, lossVerdict{Events: 1, Gaps: 1, Missing: 3, Since: now.Add(-time.Minute)}},
		{"twice within the window", []lossEvent{ev(9*time.Minute, 1, 3), ev(time.Minute, 2, 4)},
			lossVerdict{Lossy: true, Events: 2, Gaps: 3, Missing: 7, Since: now.Add(-9 * time.Minute)}},
		{"the first too long ago", []lossEvent{ev(11*time.Minute, 1, 3), ev(time.Minute, 2, 4)},
			lossVerdict{Events: 1, Gaps: 2, Missing: 4, Since: now.Add(-time.Minute)}},
		{"at the window's edge", []lossEvent{ev(LossWindow, 1, 1), ev(0, 1, 1)},
			lossVerdict{Lossy: true, Events: 2, Gaps: 2, Missing: 2, Since: now.Add(-LossWindow)}},
		{"one in the future is not counted", []lossEvent{ev(-time.Minute, 1, 1), ev(0, 1, 1)},
			lossVerdict{Events: 1, Gaps: 1, Missing: 1, Since: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recurringLoss(tt.events, now, LossWindow, LossRecurs); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "1|p|2", "x|p|1|1", "1|p|x|1", "1|p|1|x"} {
		if _, ok := parseLoss(bad); ok {
			t.Errorf("parseLoss(%q) took it", bad)
		}
	}
	if e, ok := parseLoss("1762077600000|hall/ws-1|2|7"); !ok || e.Gaps != 2 || e.Missing != 7 || e.Participant != "hall/ws-1" || !e.At.Equal(time.UnixMilli(1762077600000)) {
		t.Errorf("parseLoss = %+v, %v", e, ok)
	}
}

// TestLossShowsOnTheProbe: a probe whose Samples go missing twice within
// the window is shown as losing samples in probe-health (the console's
// probe list), with the figures; once is a blip and shows nothing; the
// problem goes when the losses are older than the window.
func TestLossShowsOnTheProbe(t *testing.T) {
	const grace = 10 * time.Second
	srv := bustest.StartRedis(t)
	b, err := bus.Open(context.Background(), bus.Options{URL: srv.URL(), Prefix: "t-loss:"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	c, err := newSeqCheck(b.Client(), b.Prefix(), grace, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	w := &Watchdog{seq: c, clock: clock, log: slog.New(slog.DiscardHandler), bus: b, rdb: b.Client()}
	l := &leading{w: w}
	batch := func(probe string, seqs ...uint64) {
		var items []item
		for _, s := range seqs {
			items = append(items, item{ok: true, sample: sample.Sample{Probe: probe, Participant: "hall/ws-1", Seq: s}})
		}
		w.checkSeq(ctx, items)
	}
	health := func() map[string]probeHealthEntry {
		l.lossReadAt = time.Time{} // read now, not at the next lossReadEvery
		l.probes(ctx, decide.Thought{}, clock.Now())
		raw, err := b.Client().HGetAll(ctx, b.Key(KeyProbeHealth)).Result()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]probeHealthEntry{}
		for k, v := range raw {
			var e probeHealthEntry
			if err := json.Unmarshal([]byte(v), &e); err != nil {
				t.Fatal(err)
			}
			out[k] = e
		}
		return out
	}

	// A loses Samples 11–15, then 31–32; B once.
	batch("a", span(1, 10)...)
	batch("a", span(16, 20)...)
	batch("b", span(1, 10)...)
	batch("b", span(13, 20)...)
	clock.Advance(grace)
	batch("a", span(21, 30)...)
	batch("b", span(21, 30)...)
	if got := health(); len(got) != 0 {
		t.Fatalf("after one loss each: %+v, want nothing (a blip)", got)
	}
	clock.Advance(time.Minute)
	batch("a", span(33, 40)...)
	clock.Advance(grace)
	batch("a", span(41, 50)...)
	got := health()
	a, ok := got["a"]
	if len(got) != 1 || !ok || a.State != "losing_samples" || !strings.Contains(a.Summary, "2 处断号，缺 7 个样本") {
		t.Fatalf("after a's second loss: %+v, want a losing samples (2 gaps, 7 missing)", got)
	}
	clock.Advance(LossWindow)
	if got := health(); len(got) != 0 {
		t.Errorf("a window later: %+v, want the problem gone", got)
	}
}
