package rollup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// ApplyLua defines the Lua function rollup_apply(kb, ab) that the
// consumer's flush script calls, after its ownership check, to apply a
// batch's roll-up deltas and raw-archive appends in the same atomic step
// as the acknowledgement. It reads operations from ARGV[ab..] naming keys
// KEYS[kb + i] (as Ingest.Build lays them out):
//
//	h k at p n (f d)×n first last  HINCRBY k p..f d; p..a = min(first),
//	                               p..z = max(last) (first 0: none); when
//	                               the first field is new (the hash or
//	                               this Dim's part of it is), EXPIREAT k at
//	Z k flag score member          ZADD k [flag] score member ('-': none),
//	                               only when the last h made a new field
//	z k flag score member          ZADD, always
//	S k field value                HSET k field value, only when the last h
//	                               made a new field
//	r k at n v×n                   RPUSH k v…; EXPIREAT k at when new
//
// Work that only a new hash needs (its expiry, its index entries) is done
// only then: most batches add to hashes earlier batches made.
const ApplyLua = `
local function rollup_apply(kb, ab)
  local i = ab
  local fresh = false
  while i <= #ARGV do
    local op, k = ARGV[i], KEYS[kb + tonumber(ARGV[i + 1])]
    if op == 'h' then
      local at, p, n = ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
      local j = i + 5
      fresh = false
      for m = 1, n do
        local v = redis.call('HINCRBY', k, p .. ARGV[j], ARGV[j + 1])
        if m == 1 and v == tonumber(ARGV[j + 1]) then fresh = true end
        j = j + 2
      end
      if ARGV[j] ~= '0' then
        local cur = redis.call('HMGET', k, p .. 'a', p .. 'z')
        local a, z = tonumber(cur[1] or '0'), tonumber(cur[2] or '0')
        if a == 0 or tonumber(ARGV[j]) < a then
          if tonumber(ARGV[j + 1]) > z then
            redis.call('HSET', k, p .. 'a', ARGV[j], p .. 'z', ARGV[j + 1])
          else
            redis.call('HSET', k, p .. 'a', ARGV[j])
          end
        elseif tonumber(ARGV[j + 1]) > z then
          redis.call('HSET', k, p .. 'z', ARGV[j + 1])
        end
      end
      if fresh then redis.call('EXPIREAT', k, at) end
      i = j + 2
    elseif op == 'r' then
      local at, n = ARGV[i + 2], tonumber(ARGV[i + 3])
      local j, last, len = i + 4, i + 3 + n, 0
      while j <= last do
        local e = math.min(j + 499, last)
        len = redis.call('RPUSH', k, unpack(ARGV, j, e))
        j = e + 1
      end
      if len == n then redis.call('EXPIREAT', k, at) end
      i = last + 1
    elseif op == 'z' or op == 'Z' then
      if op == 'z' or fresh then
        if ARGV[i + 2] == '-' then
          redis.call('ZADD', k, ARGV[i + 3], ARGV[i + 4])
        else
          redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
        end
      end
      i = i + 5
    elseif op == 'S' then
      if fresh then redis.call('HSET', k, ARGV[i + 2], ARGV[i + 3]) end
      i = i + 4
    else
      return redis.error_reply('rollup_apply: unknown operation ' .. tostring(op) .. ' at ARGV[' .. i .. ']')
    end
  end
end
`

// Ingest turns a batch of Samples into the roll-up and raw-archive
// operations ApplyLua carries out.
type Ingest struct {
	// Prefix is the bus prefix every key starts with.
	Prefix string
	// Thresholds decide degraded time.
	Thresholds Thresholds
	// RawRetention: a raw list expires this long after its hour ends.
	// RollupRetention: a live roll-up expires this long after its hour
	// (a session's, after the window that made it), if never packed;
	// packing sets a packed one's expiry.
	RawRetention, RollupRetention time.Duration
}

// Entry is one valid Sample of a batch and the exact bytes its stream
// entry carried.
type Entry struct {
	Sample *sample.Sample
	Raw    string
}

// Build folds entries per (Dim, UTC hour) and per (session, Dim) and
// returns the keys (to be passed as KEYS[kb+1…]) and the arguments (from
// ARGV[ab…]) for rollup_apply. Samples that are not Valid are left out.
func (in *Ingest) Build(entries []Entry) (keys []string, args []any) {
	type hd struct {
		hour int64
		dim  Dim
	}
	type sd struct {
		session string
		dim     Dim
	}
	type rk struct {
		room string
		hour int64
	}
	hours := map[hd]*Stats{}
	sessions := map[sd]*Stats{}
	raws := map[rk][]string{}
	var hourOrder []hd
	var sessOrder []sd
	var rawOrder []rk
	for _, e := range entries {
		s := e.Sample
		if s == nil || !Valid(s) {
			continue
		}
		dim := DimOf(s)
		h := Hour(s.WindowStart).Unix()
		k := hd{h, dim}
		cur := hours[k]
		if cur == nil {
			cur = &Stats{}
			hours[k] = cur
			hourOrder = append(hourOrder, k)
		}
		cur.Add(s, in.Thresholds)
		if !IsPatrol(s) {
			k := sd{s.Session, dim}
			cur := sessions[k]
			if cur == nil {
				cur = &Stats{}
				sessions[k] = cur
				sessOrder = append(sessOrder, k)
			}
			cur.Add(s, in.Thresholds)
		}
		r := rk{s.Room, h}
		if _, ok := raws[r]; !ok {
			rawOrder = append(rawOrder, r)
		}
		raws[r] = append(raws[r], e.Raw)
	}
	if len(hourOrder) == 0 {
		return nil, nil
	}
	// Most of a batch's arguments: a hash's ~10 fields and bucket pairs,
	// and every raw Sample.
	args = make([]any, 0, 40*(len(hourOrder)+len(sessOrder))+len(entries)+8*len(rawOrder))
	keyIdx := map[string]int{}
	key := func(name string) int {
		if i, ok := keyIdx[name]; ok {
			return i
		}
		keys = append(keys, in.Prefix+name)
		keyIdx[name] = len(keys)
		return len(keys)
	}
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	retain := int64(in.RollupRetention / time.Second)

	// Hourly roll-ups, their index and the Dims' index (entries made when
	// the hour's hash is).
	for _, k := range hourOrder {
		st := hours[k]
		hn := time.Unix(k.hour, 0).UTC().Format(hourFmt)
		dk := k.dim.Key()
		args = append(args, "h", key(KeyHour+hn+":"+dk), itoa(k.hour+3600+retain), "", 0)
		n0 := len(args) - 1
		var n int
		args, n = appendDeltas(args, "", st)
		args[n0] = n
		args = append(args, st.FirstMS, st.LastMS)
		args = append(args, "Z", key(KeyHours), "-", k.hour*1000, hn+":"+dk)
		args = append(args, "Z", key(KeyDims), "GT", (k.hour+3600)*1000, dk)
	}

	// Session roll-ups: a hash per session, a field set per Dim.
	type whole struct{ first, last int64 }
	seen := map[string]*whole{}
	var ids []string
	for _, k := range sessOrder {
		st := sessions[k]
		sk := key(KeySession + k.session)
		args = append(args, "h", sk, itoa(st.LastMS/1000+retain), k.dim.Location+"|"+string(k.dim.Transport)+"|", 0)
		n0 := len(args) - 1
		var n int
		args, n = appendDeltas(args, "", st)
		args[n0] = n
		args = append(args, st.FirstMS, st.LastMS)
		args = append(args, "S", sk, sessRoom, k.dim.Room)
		w := seen[k.session]
		if w == nil {
			w = &whole{first: st.FirstMS, last: st.LastMS}
			seen[k.session] = w
			ids = append(ids, k.session)
		}
		w.first, w.last = min(w.first, st.FirstMS), max(w.last, st.LastMS)
	}
	for _, id := range ids {
		w := seen[id]
		sk := key(KeySession + id)
		args = append(args, "h", sk, itoa(w.last/1000+retain), "", 0, w.first, w.last)
		args = append(args, "z", key(KeySessions), "LT", w.first, id)
		args = append(args, "z", key(KeyLiveSessions), "GT", w.last, id)
	}

	// The raw archive.
	rawTTL := int64(in.RawRetention / time.Second)
	for _, r := range rawOrder {
		vs := raws[r]
		hn := time.Unix(r.hour, 0).UTC().Format(hourFmt)
		args = append(args, "r", key(KeyRaw+r.room+":"+hn), itoa(r.hour+3600+rawTTL), len(vs))
		for _, v := range vs {
			args = append(args, v)
		}
	}
	return keys, args
}

// applyScript applies roll-up operations alone (no stream to acknowledge):
// for tools, tests and benchmarks.
var applyScript = redis.NewScript(ApplyLua + `
rollup_apply(0, 1)
return 1
`)

// Apply writes the entries' roll-ups and raw archive on their own, outside
// the consumer's flush (which does it atomically with the acknowledgement).
func (in *Ingest) Apply(ctx context.Context, rdb redis.Scripter, entries []Entry) error {
	keys, args := in.Build(entries)
	if len(keys) == 0 {
		return nil
	}
	if err := applyScript.Run(ctx, rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("apply roll-ups: %w", err)
	}
	return nil
}
