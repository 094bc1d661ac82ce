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
// out of order, so the check keeps its state in Redis, one hash field per
// participant, updated by one script per batch: the lowest seq not yet
// seen, and the runs seen above it (at most 64: beyond, the oldest hole is
// counted at once). A hole is counted as a gap only when it
// has stayed open for the grace time (a slower replica's batch may still
// fill it). A seq at or below what was seen already is counted as a replay
// (a batch re-sent after an unconfirmed publish), not as a gap.

// KeySeqCheck is the hash of the sequence check's state, field = probe +
// "/" + participant.
const KeySeqCheck = "seqcheck"

// seqCheckTTL is how long a quiet participant's state is kept.
const seqCheckTTL = 24 * time.Hour

// seqChunk bounds the participants of one script call (Lua's unpack).
const seqChunk = 500

// seqScript updates each participant's state with the batch's runs of
// seqs, all in one hash: one HMGET and one HSET per batch, however many
// participants.
//
// KEYS: the hash. ARGV: now ms, grace ms, keep ms, then for each
// participant its field and its runs "a-b,c-d" ascending. A field is
// "next|last|a-b@t,c-d@t": the lowest seq not yet seen, when the
// participant was last seen (ms), and the runs seen above a hole with when
// each was first seen, which is when the hole below it opened. A few random
// fields are looked at per call and those not seen for keep are deleted.
// Returns for each participant {gaps, missing, replayed}.
var seqScript = redis.NewScript(`
local now, grace, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = (#ARGV - 3) / 2
local fields = {}
for k = 1, n do fields[k] = ARGV[2 + 2 * k] end
local states = redis.call('HMGET', KEYS[1], unpack(fields))
local out, set = {}, {}
for k = 1, n do
  local spec = ARGV[3 + 2 * k]
  local st = states[k]
  local nxt, runs = nil, {}
  -- the common case, in order and no hole, without patterns (they are slow)
  local dash = string.find(spec, '-', 1, true)
  local single = not string.find(spec, ',', 1, true)
  local bar, holes = nil, true
  if st then
    bar = string.find(st, '|', 1, true)
    nxt = tonumber(string.sub(st, 1, bar - 1))
    holes = string.byte(st, #st) ~= 124
  end
  if nxt and not holes and single and tonumber(string.sub(spec, 1, dash - 1)) == nxt then
    set[#set + 1] = fields[k]
    set[#set + 1] = (tonumber(string.sub(spec, dash + 1)) + 1) .. '|' .. now .. '|'
    out[k] = {0, 0, 0}
  else
    if st and holes then
      for a, b, t in string.gmatch(st, '(%d+)-(%d+)@(%d+)') do runs[#runs + 1] = {tonumber(a), tonumber(b), tonumber(t)} end
    end
    local batch = {}
    for a, b in string.gmatch(spec, '(%d+)-(%d+)') do batch[#batch + 1] = {tonumber(a), tonumber(b)} end
    if not nxt then nxt = batch[1][1] end
    local dup, gaps, missing = 0, 0, 0
    for _, r in ipairs(batch) do
      local a, b, t = r[1], r[2], now
      if b < nxt then
        dup = dup + b - a + 1
      else
        if a < nxt then dup = dup + nxt - a; a = nxt end
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
    set[#set + 1] = fields[k]
    set[#set + 1] = nxt .. '|' .. now .. '|' .. table.concat(parts, ',')
    out[k] = {gaps, missing, dup}
  end
end
redis.call('HSET', KEYS[1], unpack(set))
local ok, some = pcall(redis.call, 'HRANDFIELD', KEYS[1], 4, 'WITHVALUES')
if ok and type(some) == 'table' then
  for i = 1, #some - 1, 2 do
    local last = tonumber(string.match(some[i + 1], '^%d+|(%d+)|'))
    if last and now - last > keep then redis.call('HDEL', KEYS[1], some[i]) end
  end
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
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	res := make([]any, 0, len(names))
	for lo := 0; lo < len(names); lo += seqChunk {
		hi := min(lo+seqChunk, len(names))
		args := make([]any, 0, 3+2*(hi-lo))
		args = append(args, w.clock.Now().UnixMilli(), c.grace.Milliseconds(), seqCheckTTL.Milliseconds())
		for i := lo; i < hi; i++ {
			args = append(args, names[i], runs[i])
		}
		r, err := seqScript.Run(cctx, c.rdb, []string{c.prefix + KeySeqCheck}, args...).Slice()
		if err != nil {
			w.log.Warn("sequence check", "err", err)
			return
		}
		res = append(res, r...)
	}
	var lost redis.Pipeliner
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
			if lost == nil {
				lost = c.rdb.Pipeline()
			}
			_, participant, _ := strings.Cut(names[i], "/")
			recordLoss(cctx, lost, c.prefix, probes[i], participant, gaps, missing, w.clock.Now())
		}
		if dup > 0 {
			c.replayed.WithLabelValues(probes[i]).Add(float64(dup))
		}
	}
	if lost != nil {
		if _, err := lost.Exec(cctx); err != nil {
			w.log.Warn("record lost samples", "err", err)
		}
	}
}
