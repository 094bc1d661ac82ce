package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

// Key names under the prefix, relative. internal/bus owns the names the
// probes and the watchdog share; these are the incident store's own.
const (
	keyIncident = "incident:"    // + id: hash {doc, state, version}
	keyFP       = "incident:fp:" // + cause key: the id of its active incident
	keySeq      = "incident:seq" // counter behind the ids
	keyAll      = "incidents"    // sorted set: id by opened_at (ms)
	keyActive   = "incidents:active"
	// KeyEvents is the stream (and pub/sub channel) of incident events.
	KeyEvents = "incident-events"
)

// idPrefix starts every incident id: INC-000042.
const idPrefix = "INC-"

// placeholder stands for the id in a new incident's JSON until the open
// script knows it.
const placeholder = "@@ID@@"

// DefaultEventsMaxLen bounds the events stream (MAXLEN ~).
const DefaultEventsMaxLen = 100_000

// maxRetries bounds compare-and-set retries under contention.
const maxRetries = 20

// RedisStore keeps incidents in Redis: each a hash holding its JSON, state
// and version; sorted sets of every incident by opening time and of active
// ones by deadline; a key per cause key naming its active incident, which is
// what makes two watchdogs share one incident; and a stream (plus a pub/sub
// channel of the same name) of events. Every change is a Lua script:
// compare the version, write, index, publish, at once.
type RedisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	policy  config.IncidentPolicy
	maxLen  int64
	durable bus.Durable
}

// NewRedisStore returns a store on rdb with keys under prefix ("bidwatch:"),
// applying policy's classes, deadlines and reopen time.
func NewRedisStore(rdb redis.UniversalClient, prefix string, policy config.IncidentPolicy) *RedisStore {
	return &RedisStore{rdb: rdb, prefix: prefix, policy: policy, maxLen: DefaultEventsMaxLen}
}

// WithDurable makes every write wait for the replicas d asks for (the
// bus's min_replicas), sending it again while they do not confirm it: an
// incident or a timeline entry a failover could lose is not taken as saved.
func (s *RedisStore) WithDurable(d bus.Durable) *RedisStore {
	s.durable = d
	return s
}

// Policy returns the store's incident policy.
func (s *RedisStore) Policy() config.IncidentPolicy { return s.policy }

func (s *RedisStore) key(name string) string { return s.prefix + name }

// openScript opens an incident for a cause key unless the key names an
// active incident already.
//
// KEYS: fp, seq, all, active, events. ARGV: doc (with the id placeholder),
// opened_at ms, deadline ms, id prefix, incident key prefix, event JSON (with
// placeholder), events MAXLEN, channel, nonce (one per Open call: a repeat
// of the call that opened it says so). The existing branch writes too, so a
// WAIT after a repeat covers the first attempt.
var openScript = redis.NewScript(`
local existing = redis.call('GET', KEYS[1])
if existing then
  local st = redis.call('HGET', ARGV[5] .. existing, 'state')
  if st == 'open' or st == 'acknowledged' or st == 'mitigated' then
    redis.call('SET', KEYS[1], existing)
    if redis.call('HGET', ARGV[5] .. existing, 'opened_by') == ARGV[9] then return {1, existing} end
    return {0, existing}
  end
end
local n = redis.call('INCR', KEYS[2])
local id = ARGV[4] .. string.format('%06d', n)
local doc = string.gsub(ARGV[1], '@@ID@@', id)
redis.call('SET', KEYS[1], id)
redis.call('HSET', ARGV[5] .. id, 'doc', doc, 'state', 'open', 'version', 1, 'opened_by', ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[2], id)
redis.call('ZADD', KEYS[4], ARGV[3], id)
local ev = string.gsub(ARGV[6], '@@ID@@', id)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'event', ev)
redis.call('PUBLISH', ARGV[8], ev)
return {1, id}
`)

// commitScript writes a changed incident if its version is still the one
// read, keeps the indexes and the cause-key pointers, and publishes the
// event.
//
// KEYS: incident, active, events, fp of the key before, fp of the key
// after. ARGV: version read, doc, state, id, active score ("" leaves the
// active set), event JSON, MAXLEN, channel.
var commitScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return redis.error_reply('NOTFOUND') end
if tonumber(v) == tonumber(ARGV[1]) + 1 and redis.call('HGET', KEYS[1], 'doc') == ARGV[2] then
  -- a repeat of this very commit (its WAIT was not confirmed): write, so
  -- the WAIT after it covers the first attempt
  redis.call('HSET', KEYS[1], 'version', v)
  return tonumber(v)
end
if redis.call('HGET', KEYS[1], 'state') == 'signed_off' then return redis.error_reply('FROZEN') end
if v ~= ARGV[1] then return redis.error_reply('CONFLICT') end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'state', ARGV[3], 'version', nv)
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[4])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
end
if KEYS[4] ~= KEYS[5] or ARGV[5] == '' then
  if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[4]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'event', ARGV[6])
redis.call('PUBLISH', ARGV[8], ARGV[6])
return nv
`)

// Open implements Store.
func (s *RedisStore) Open(ctx context.Context, p correlate.Problem, now time.Time) (Incident, bool, error) {
	inc := Open(p, now, s.policy)
	inc.ID, inc.Version = placeholder, 1
	doc, err := json.Marshal(inc)
	if err != nil {
		return Incident{}, false, fmt.Errorf("encode incident: %w", err)
	}
	ev, err := json.Marshal(eventOf(&inc, EventOpened))
	if err != nil {
		return Incident{}, false, fmt.Errorf("encode event: %w", err)
	}
	keys := []string{s.key(keyFP + p.Key), s.key(keySeq), s.key(keyAll), s.key(keyActive), s.key(KeyEvents)}
	v, err := bus.RunScript(ctx, s.durable, s.rdb, openScript, keys,
		string(doc), inc.OpenedAt.UnixMilli(), inc.Deadline.UnixMilli(), idPrefix, s.key(keyIncident),
		string(ev), s.maxLen, s.key(KeyEvents), nonce())
	res, _ := v.([]any)
	if err != nil {
		return Incident{}, false, fmt.Errorf("open incident for %s: %w", p.Key, err)
	}
	if len(res) != 2 {
		return Incident{}, false, fmt.Errorf("open incident for %s: unexpected reply %v", p.Key, res)
	}
	n, _ := res[0].(int64)
	id, _ := res[1].(string)
	if n != 1 {
		existing, err := s.Get(ctx, id)
		return existing, false, err
	}
	inc.ID = id
	return inc, true, nil
}

// nonce names one Open call.
func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// commit writes after (read as before) with the compare-and-set script.
func (s *RedisStore) commit(ctx context.Context, before, after Incident, kind string) (Incident, error) {
	after.Version = before.Version + 1
	doc, err := json.Marshal(after)
	if err != nil {
		return Incident{}, fmt.Errorf("encode incident: %w", err)
	}
	ev, err := json.Marshal(eventOf(&after, kind))
	if err != nil {
		return Incident{}, fmt.Errorf("encode event: %w", err)
	}
	score := ""
	if after.State.Active() {
		score = strconv.FormatInt(after.Deadline.UnixMilli(), 10)
	}
	keys := []string{s.key(keyIncident + after.ID), s.key(keyActive), s.key(KeyEvents), s.key(keyFP + before.Key), s.key(keyFP + after.Key)}
	_, err = bus.RunScript(ctx, s.durable, s.rdb, commitScript, keys,
		before.Version, string(doc), string(after.State), after.ID, score,
		string(ev), s.maxLen, s.key(KeyEvents))
	switch {
	case err == nil:
		return after, nil
	case strings.Contains(err.Error(), "CONFLICT"):
		return Incident{}, fmt.Errorf("%s: %w", after.ID, ErrConflict)
	case strings.Contains(err.Error(), "FROZEN"):
		return Incident{}, fmt.Errorf("%s: %w", after.ID, ErrFrozen)
	case strings.Contains(err.Error(), "NOTFOUND"):
		return Incident{}, fmt.Errorf("%s: %w", after.ID, ErrNotFound)
	}
	return Incident{}, fmt.Errorf("save %s: %w", after.ID, err)
}

// Change implements Store.
func (s *RedisStore) Change(ctx context.Context, id, event string, fn func(Incident) (Incident, error)) (Incident, error) {
	for range maxRetries {
		inc, err := s.Get(ctx, id)
		if err != nil {
			return Incident{}, err
		}
		out, err := fn(inc)
		if err != nil {
			return inc, err
		}
		saved, err := s.commit(ctx, inc, out, event)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return saved, err
	}
	return Incident{}, fmt.Errorf("%s %s: %w after %d tries", event, id, ErrConflict, maxRetries)
}

// Act implements Store.
func (s *RedisStore) Act(ctx context.Context, id string, a Action) (Incident, error) {
	return s.Change(ctx, id, EventKind(a.Kind), func(inc Incident) (Incident, error) { return Apply(inc, a, s.policy) })
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, id string) (Incident, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(keyIncident+id), "doc", "version").Result()
	if err != nil {
		return Incident{}, fmt.Errorf("read incident %s: %w", id, err)
	}
	return decode(id, vals)
}

func decode(id string, vals []any) (Incident, error) {
	doc, _ := vals[0].(string)
	if doc == "" {
		return Incident{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	var inc Incident
	if err := json.Unmarshal([]byte(doc), &inc); err != nil {
		return Incident{}, fmt.Errorf("decode incident %s: %w", id, err)
	}
	if v, ok := vals[1].(string); ok {
		inc.Version, _ = strconv.ParseInt(v, 10, 64)
	}
	return inc, nil
}

// GetMany implements Store: it reads incidents by id in one round trip,
// skipping missing ones.
func (s *RedisStore) GetMany(ctx context.Context, ids []string) ([]Incident, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, s.key(keyIncident+id), "doc", "version")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	out := make([]Incident, 0, len(ids))
	for i, c := range cmds {
		inc, err := decode(ids[i], c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// List implements Store.
func (s *RedisStore) List(ctx context.Context, f Filter) ([]Incident, error) {
	by := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if !f.From.IsZero() {
		by.Min = strconv.FormatInt(f.From.UnixMilli(), 10)
	}
	if !f.To.IsZero() {
		by.Max = "(" + strconv.FormatInt(f.To.UnixMilli(), 10)
	}
	ids, err := s.rdb.ZRangeByScore(ctx, s.key(keyAll), by).Result()
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	incs, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(f.States) > 0 {
		incs = slices.DeleteFunc(incs, func(i Incident) bool { return !slices.Contains(f.States, i.State) })
	}
	if f.Limit > 0 && len(incs) > f.Limit {
		incs = incs[len(incs)-f.Limit:]
	}
	return incs, nil
}

// Active implements Store.
func (s *RedisStore) Active(ctx context.Context) ([]Incident, error) {
	ids, err := s.rdb.ZRange(ctx, s.key(keyActive), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list active incidents: %w", err)
	}
	incs, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(incs, func(i Incident) bool { return !i.State.Active() }), nil
}

// Events streams incident events from the events stream, starting after
// the stream id from ("$" for the ones published after Events returns, "0"
// for all kept), until ctx ends; then the channel is closed. A read error is
// retried after a pause.
func (s *RedisStore) Events(ctx context.Context, from string) <-chan Event {
	out := make(chan Event, 64)
	last := from
	if last == "$" {
		// Pin "$" to the current last id now, so nothing published after
		// Events returns is missed.
		if id, err := s.lastEventID(ctx); err == nil {
			last = id
		}
	}
	go func() {
		defer close(out)
		for last == "$" && ctx.Err() == nil {
			id, err := s.lastEventID(ctx)
			if err == nil {
				last = id
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		for ctx.Err() == nil {
			res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.key(KeyEvents), last}, Count: 100, Block: time.Second}).Result()
			if err != nil {
				if errors.Is(err, redis.Nil) {
					continue
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			for _, st := range res {
				for _, m := range st.Messages {
					last = m.ID
					var ev Event
					data, _ := m.Values["event"].(string)
					if json.Unmarshal([]byte(data), &ev) != nil {
						continue
					}
					ev.StreamID = m.ID
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out
}

// lastEventID is the id of the newest event, or "0-0" when there is none.
func (s *RedisStore) lastEventID(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	msgs, err := s.rdb.XRevRangeN(ctx, s.key(KeyEvents), "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}
