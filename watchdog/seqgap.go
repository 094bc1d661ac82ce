package watchdog

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Loss is never silent: every participant numbers its Samples 1, 2, 3 …
// and the agent's spool, publishing and WAIT are built so that none is
// lost. The sequence check counts any that are missing anyway — a future
// bug, a Redis that lost acknowledged writes, a spool that overflowed — as
// the Samples are ingested.
//
// Replicas split a participant's Samples between them and hand batches on
// out of order, so the check keeps its state in Redis, one key per
// participant, updated by one script per batch: the lowest seq not yet
// seen, and the runs seen above it (at most 64: beyond, the oldest hole is
// counted at once). A hole is counted as a gap only when it
// has stayed open for the grace time (a slower replica's batch may still
// fill it). A seq at or below what was seen already is counted as a replay
// (a batch re-sent after an unconfirmed publish), not as a gap.

// KeySeqCheck prefixes the per-participant keys of the sequence check
// ("seqcheck:" + probe + "/" + participant).
const KeySeqCheck = "seqcheck:"

// seqCheckTTL is how long a quiet participant's state is kept.
const seqCheckTTL = 24 * time.Hour

// seqScript updates each participant's state with the batch's runs of seqs.
//
// KEYS: one per participant. ARGV: now ms, grace ms, TTL s, then for each
// key its runs "a-b,c-d" ascending. State: "next|a-b@t,c-d@t", t the time
// (ms) a run was first seen, which is when the hole below it opened. Returns
// for each key {gaps, missing, replayed}.
var seqScript = redis.NewScript(`
local now, grace, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local out = {}
for k = 1, #KEYS do
  local batch = {}
  for a, b in string.gmatch(ARGV[3 + k], '(%d+)-(%d+)') do batch[#batch + 1] = {tonumber(a), tonumber(b)} end
  local st = redis.call('GET', KEYS[k])
  local nxt, runs = nil, {}
  if st then
    local n, rest = string.match(st, '^(%d+)|(.*)$')
    nxt = tonumber(n)
    for a, b, t in string.gmatch(rest, '(%d+)-(%d+)@(%d+)') do runs[#runs + 1] = {tonumber(a), tonumber(b), tonumber(t)} end
  else
    nxt = batch[1][1]
  end
  local dup, gaps, missing = 0, 0, 0
  for _, r in ipairs(batch) do
    local a, b, t = r[1], r[2], now
    if b < nxt then
      dup = dup + b - a + 1
    else
      if a < nxt then dup = dup + nxt - a; a = nxt end
      -- insert [a, b] among the pending runs, merging; overlap is replay
      local merged, placed = {}, false
      for _, p in ipairs(runs) do
        if p[2] + 1 < a then
          merged[#merged + 1] = p
        elseif b + 1 < p[1] then
          if not placed then merged[#merged + 1] = {a, b, t}; placed = true end
          merged[#merged + 1] = p
        else
          local lo, hi = math.max(a, p[1]), math.min(b, p[2])
          if hi >= lo then dup = dup + hi - lo + 1 end
          a, b, t = math.min(a, p[1]), math.max(b, p[2]), math.min(t, p[3])
        end
      end
      if not placed then merged[#merged + 1] = {a, b, t} end
      runs = merged
    end
  end
  while #runs > 0 do
    local r = runs[1]
    if r[1] <= nxt then
      nxt = math.max(nxt, r[2] + 1)
    elseif now - r[3] >= grace or #runs > 64 then
      -- the hole before r has stayed open since r was first seen
      gaps = gaps + 1
      missing = missing + r[1] - nxt
      nxt = r[2] + 1
    else
      break
    end
    table.remove(runs, 1)
  end
  local parts = {}
  for _, p in ipairs(runs) do parts[#parts + 1] = p[1] .. '-' .. p[2] .. '@' .. p[3] end
  redis.call('SET', KEYS[k], nxt .. '|' .. table.concat(parts, ','), 'EX', ttl)
  out[#out + 1] = {gaps, missing, dup}
end
return out
`)

// seqCheck is the sequence check of one replica: the script's caller and
// its metrics.
type seqCheck struct {
	rdb      redis.UniversalClient
	prefix   string
	grace    time.Duration
	gaps     *prometheus.CounterVec
	missing  *prometheus.CounterVec
	replayed *prometheus.CounterVec
}

// newSeqCheck registers the check's metrics on reg.
func newSeqCheck(rdb redis.UniversalClient, prefix string, grace time.Duration, reg prometheus.Registerer) (*seqCheck, error) {
	c := &seqCheck{rdb: rdb, prefix: prefix, grace: max(grace, 10*time.Second),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bidwatch", Subsystem: "watchdog", Name: "seq_gaps_total",
			Help: "Holes in a participant's Sample numbering (Samples lost between the probe and here), by probe."}, []string{"probe"}),
		missing: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bidwatch", Subsystem: "watchdog", Name: "seq_missing_total",
			Help: "Samples missing in those holes, by probe."}, []string{"probe"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bidwatch", Subsystem: "watchdog", Name: "seq_replayed_total",
			Help: "Samples ingested again with a seq seen already (re-sent after an unconfirmed publish), by probe."}, []string{"probe"}),
	}
	for _, m := range []prometheus.Collector{c.gaps, c.missing, c.replayed} {
		if err := reg.Register(m); err != nil {
			return nil, fmt.Errorf("register sequence check metrics: %w", err)
		}
	}
	return c, nil
}

// seqRuns groups a batch's seqs by participant key, as ascending runs.
func seqRuns(items []item) (keys []string, probes []string, runs []string) {
	type who struct{ probe, participant string }
	by := map[who][]uint64{}
	var order []who
	for i := range items {
		if !items[i].ok || items[i].sample.Seq == 0 {
			continue
		}
		s := &items[i].sample
		k := who{s.Probe, s.Participant}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], s.Seq)
	}
	for _, k := range order {
		seqs := by[k]
		slices.Sort(seqs)
		var sb strings.Builder
		for i := 0; i < len(seqs); {
			j := i
			for j+1 < len(seqs) && seqs[j+1] <= seqs[j]+1 {
				j++
			}
			if sb.Len() > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.FormatUint(seqs[i], 10))
			sb.WriteByte('-')
			sb.WriteString(strconv.FormatUint(seqs[j], 10))
			i = j + 1
		}
		keys = append(keys, k.probe+"/"+k.participant)
		probes = append(probes, k.probe)
		runs = append(runs, sb.String())
	}
	return keys, probes, runs
}

// checkSeq runs the sequence check over a batch that was handed on. A
// failure is logged, never retried: the check must not hold up ingest.
func (w *Watchdog) checkSeq(ctx context.Context, items []item) {
	c := w.seq
	if c == nil {
		return
	}
	names, probes, runs := seqRuns(items)
	if len(names) == 0 {
		return
	}
	keys := make([]string, len(names))
	args := make([]any, 0, 3+len(names))
	args = append(args, w.clock.Now().UnixMilli(), c.grace.Milliseconds(), int64(seqCheckTTL.Seconds()))
	for i, n := range names {
		keys[i] = c.prefix + KeySeqCheck + n
		args = append(args, runs[i])
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	res, err := seqScript.Run(cctx, c.rdb, keys, args...).Slice()
	if err != nil {
		w.log.Warn("sequence check", "err", err)
		return
	}
	for i, r := range res {
		v, ok := r.([]any)
		if !ok || len(v) != 3 || i >= len(probes) {
			continue
		}
		gaps, _ := v[0].(int64)
		missing, _ := v[1].(int64)
		dup, _ := v[2].(int64)
		if gaps > 0 {
			c.gaps.WithLabelValues(probes[i]).Add(float64(gaps))
			c.missing.WithLabelValues(probes[i]).Add(float64(missing))
			w.log.Warn("samples lost: a hole in a participant's numbering", "participant", names[i], "gaps", gaps, "missing", missing)
		}
		if dup > 0 {
			c.replayed.WithLabelValues(probes[i]).Add(float64(dup))
		}
	}
}
