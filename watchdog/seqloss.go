package watchdog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Samples lost more than once in a short while are a probe's problem, not
// a blip: the leader shows it on the probe (probe-health, the console's
// probe list) until the losses stop.
const (
	// KeySeqLost + probe is a ZSET of the sequence check's gaps seen for
	// that probe (score = when, ms; member "ms|participant|gaps|missing"),
	// kept an hour; KeySeqLossy is the SET of probes that have any.
	KeySeqLost  = "seqcheck:lost:"
	KeySeqLossy = "seqcheck:lossy"

	// LossWindow and LossRecurs: gaps at LossRecurs or more moments within
	// LossWindow make the probe "losing samples".
	LossWindow = 10 * time.Minute
	LossRecurs = 2

	lossKeep      = time.Hour
	lossReadEvery = 5 * time.Second
)

// lossEvent is one batch's gaps for one participant.
type lossEvent struct {
	At          time.Time
	Participant string
	Gaps        int
	Missing     int
}

// lossVerdict is what recurringLoss concludes of a probe's gaps.
type lossVerdict struct {
	Lossy   bool
	Events  int
	Gaps    int
	Missing int
	Since   time.Time
}

// recurringLoss decides whether a probe's gaps recur: LossRecurs or more
// within the window before now. Pure.
func recurringLoss(events []lossEvent, now time.Time, window time.Duration, recurs int) lossVerdict {
	var v lossVerdict
	for _, e := range events {
		if e.At.After(now) || now.Sub(e.At) > window {
			continue
		}
		v.Events++
		v.Gaps += e.Gaps
		v.Missing += e.Missing
		if v.Since.IsZero() || e.At.Before(v.Since) {
			v.Since = e.At
		}
	}
	v.Lossy = v.Events >= recurs
	return v
}

// summary is the problem's words, for the console's probe list.
func (v lossVerdict) summary() string {
	return fmt.Sprintf("样本丢失：%s内 %d 处断号，缺 %d 个样本（Samples lost between the probe and the watchdog: %d gaps, %d missing）",
		shortDur(LossWindow), v.Gaps, v.Missing, v.Gaps, v.Missing)
}

func shortDur(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " 分钟"
	}
	return d.String()
}

// recordLoss keeps a batch's gaps for the leader's verdict.
func recordLoss(ctx context.Context, pipe redis.Pipeliner, prefix, probe, participant string, gaps, missing int64, now time.Time) {
	key := prefix + KeySeqLost + probe
	ms := now.UnixMilli()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(ms), Member: fmt.Sprintf("%d|%s|%d|%d", ms, participant, gaps, missing)})
	pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-lossKeep).UnixMilli(), 10))
	pipe.Expire(ctx, key, lossKeep)
	pipe.SAdd(ctx, prefix+KeySeqLossy, probe)
	pipe.Expire(ctx, prefix+KeySeqLossy, lossKeep)
}

// readLoss returns the probes whose gaps recur now, by probe.
func readLoss(ctx context.Context, rdb redis.UniversalClient, prefix string, now time.Time) (map[string]lossVerdict, error) {
	probes, err := rdb.SMembers(ctx, prefix+KeySeqLossy).Result()
	if err != nil || len(probes) == 0 {
		return nil, err
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(probes))
	for i, p := range probes {
		cmds[i] = pipe.ZRangeByScore(ctx, prefix+KeySeqLost+p, &redis.ZRangeBy{Min: strconv.FormatInt(now.Add(-LossWindow).UnixMilli(), 10), Max: "+inf"})
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	out := map[string]lossVerdict{}
	for i, p := range probes {
		var events []lossEvent
		for _, m := range cmds[i].Val() {
			if e, ok := parseLoss(m); ok {
				events = append(events, e)
			}
		}
		if v := recurringLoss(events, now, LossWindow, LossRecurs); v.Lossy {
			out[p] = v
		}
	}
	return out, nil
}

// parseLoss reads a KeySeqLost member.
func parseLoss(m string) (lossEvent, bool) {
	f := strings.Split(m, "|")
	if len(f) != 4 {
		return lossEvent{}, false
	}
	ms, err1 := strconv.ParseInt(f[0], 10, 64)
	gaps, err2 := strconv.Atoi(f[2])
	missing, err3 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return lossEvent{}, false
	}
	return lossEvent{At: time.UnixMilli(ms), Participant: f[1], Gaps: gaps, Missing: missing}, true
}
