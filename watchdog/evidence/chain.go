package evidence

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key names under the bus prefix (docs/wire-format.md).
const (
	// KeyChain is a LIST of the chain's entries, oldest first, each its
	// JSON: entry n is at index n-1.
	KeyChain = "ev:chain"
	// KeyHead is a STRING "<n> <hash hex>": the newest entry. Appending
	// compares it and sets it, with the RPUSH, in one script.
	KeyHead = "ev:head"
	// KeySeals is a HASH, field "<kind>:<ref>", value "<digest hex> <JSON
	// Seal>": the newest seal of each group, and where its records are.
	KeySeals = "ev:seals"
	// KeyCursor is a HASH, field "<room>:<YYYYMMDDHH>", value how many
	// entries of that raw archive list the sealer has read.
	KeyCursor = "ev:cursor"
	// KeyOpen is a HASH, field "<kind>:<ref>", value a JSON Open: groups
	// with Samples not sealed yet.
	KeyOpen = "ev:open"
	// KeyIncidents is a STRING: the id of the last incident event whose
	// version was sealed; a new leader resumes after it.
	KeyIncidents = "ev:incidents"
)

// ErrConflict is returned (wrapped) when the chain kept changing under an
// append for too many tries.
var ErrConflict = errors.New("evidence chain changed during the append")

// Seal is where a group's newest seal is and what it covers.
type Seal struct {
	N      int64  `json:"n"`
	Digest Digest `json:"digest"`
	Count  int64  `json:"count"`
	// Keys are the raw archive lists holding the group's Samples, relative
	// to the prefix (session and patrol seals).
	Keys []string `json:"keys,omitempty"`
}

// appendScript appends an entry if the head is still the one it was made
// on, and records the group's seal, unless the group's newest seal has the
// same digest already.
//
// KEYS: chain, head, seals. ARGV: expected head ("" for an empty chain),
// entry JSON, new head, seal field ("" for none), seal value, digest hex,
// "1" when the group is sealed once only (a period), whatever its digest.
var appendScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[2]) or ''
if ARGV[4] ~= '' then
  local s = redis.call('HGET', KEYS[3], ARGV[4])
  if s and (ARGV[7] == '1' or string.sub(s, 1, 64) == ARGV[6]) then
    return {'dup', s}
  end
end
if cur ~= ARGV[1] then
  return redis.error_reply('CONFLICT')
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
end
return {'ok', ''}
`)

// Chain is the evidence chain in Redis under a prefix.
type Chain struct {
	rdb    redis.UniversalClient
	prefix string
	// Tries bounds an append's compare-and-set retries (default 50).
	Tries int
}

// NewChain returns the chain under prefix ("bidwatch:").
func NewChain(rdb redis.UniversalClient, prefix string) *Chain {
	return &Chain{rdb: rdb, prefix: prefix, Tries: 50}
}

func (c *Chain) key(name string) string { return c.prefix + name }

// Head returns the newest entry's number and hash; a zero Head when the
// chain is empty.
func (c *Chain) Head(ctx context.Context) (Head, error) {
	s, err := c.rdb.Get(ctx, c.key(KeyHead)).Result()
	if errors.Is(err, redis.Nil) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("read evidence head: %w", err)
	}
	return parseHead(s)
}

func headString(h Head) string {
	if h.N == 0 {
		return ""
	}
	return strconv.FormatInt(h.N, 10) + " " + h.Hash.String()
}

func parseHead(s string) (Head, error) {
	ns, hs, ok := strings.Cut(s, " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n < 1 {
		return Head{}, fmt.Errorf("evidence head %q: want \"<n> <hash>\"", clip(s))
	}
	d, err := ParseDigest(hs)
	if err != nil {
		return Head{}, fmt.Errorf("evidence head: %w", err)
	}
	return Head{N: n, Hash: d}, nil
}

// Append seals what mk makes of the current head (mk is called again when
// another writer appended first) at time at, signing a period with key when
// it is not nil. keys are the raw lists of a session or patrol group. When
// the group's newest seal already has this digest (a period: when it is
// sealed at all), nothing is appended and Append returns that seal's entry
// with appended false.
func (c *Chain) Append(ctx context.Context, at time.Time, key ed25519.PrivateKey, keys []string, mk func(Head) Draft) (Entry, bool, error) {
	for range max(c.Tries, 1) {
		head, err := c.Head(ctx)
		if err != nil {
			return Entry{}, false, err
		}
		d := mk(head)
		e := Next(head, d, at, key)
		doc, err := json.Marshal(e)
		if err != nil {
			return Entry{}, false, fmt.Errorf("encode evidence entry: %w", err)
		}
		field, value := "", ""
		if d.Kind != "" && d.Ref != "" {
			field = d.Kind + ":" + d.Ref
			sv, _ := json.Marshal(Seal{N: e.N, Digest: e.Digest, Count: e.Count, Keys: keys})
			value = e.Digest.String() + " " + string(sv)
		}
		res, err := appendScript.Run(ctx, c.rdb, []string{c.key(KeyChain), c.key(KeyHead), c.key(KeySeals)},
			headString(head), string(doc), headString(HeadOf(e)), field, value, e.Digest.String(), once(d.Kind)).Slice()
		if err != nil && strings.Contains(err.Error(), "CONFLICT") {
			continue
		}
		if err != nil {
			return Entry{}, false, fmt.Errorf("append to evidence chain: %w", err)
		}
		if len(res) == 2 && res[0] == "dup" {
			s, _ := res[1].(string)
			old, err := parseSeal(s)
			if err != nil {
				return Entry{}, false, err
			}
			ents, err := c.Entries(ctx, old.N, old.N)
			if err != nil || len(ents) != 1 {
				return Entry{N: old.N, Kind: d.Kind, Ref: d.Ref, Digest: old.Digest, Count: old.Count}, false, err
			}
			return ents[0], false, nil
		}
		return e, true, nil
	}
	return Entry{}, false, fmt.Errorf("%w: %d tries", ErrConflict, c.Tries)
}

// Entries returns entries from..to (numbers, inclusive; to 0 for the
// head), oldest first.
func (c *Chain) Entries(ctx context.Context, from, to int64) ([]Entry, error) {
	from = max(from, 1)
	stop := to - 1
	if to <= 0 {
		stop = -1
	}
	docs, err := c.rdb.LRange(ctx, c.key(KeyChain), from-1, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("read evidence chain: %w", err)
	}
	out := make([]Entry, 0, len(docs))
	for i, doc := range docs {
		var e Entry
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, fmt.Errorf("evidence chain entry %d: %w", from+int64(i), err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Seal returns the newest seal of group g; false when it has none.
func (c *Chain) Seal(ctx context.Context, g Group) (Seal, bool, error) {
	s, err := c.rdb.HGet(ctx, c.key(KeySeals), g.String()).Result()
	if errors.Is(err, redis.Nil) {
		return Seal{}, false, nil
	}
	if err != nil {
		return Seal{}, false, fmt.Errorf("read seal of %s: %w", g, err)
	}
	seal, err := parseSeal(s)
	return seal, err == nil, err
}

// Seals returns the newest seals of the groups gs that have one.
func (c *Chain) Seals(ctx context.Context, gs []Group) (map[Group]Seal, error) {
	out := map[Group]Seal{}
	if len(gs) == 0 {
		return out, nil
	}
	fields := make([]string, len(gs))
	for i, g := range gs {
		fields[i] = g.String()
	}
	vals, err := c.rdb.HMGet(ctx, c.key(KeySeals), fields...).Result()
	if err != nil {
		return nil, fmt.Errorf("read seals: %w", err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		seal, err := parseSeal(s)
		if err != nil {
			return nil, err
		}
		out[gs[i]] = seal
	}
	return out, nil
}

// once is "1" for the kinds sealed once whatever their digest: a period
// (its digest is the head when it is sealed, different for every try).
func once(kind string) string {
	if kind == KindPeriod {
		return "1"
	}
	return ""
}

func parseSeal(s string) (Seal, error) {
	_, doc, _ := strings.Cut(s, " ")
	var seal Seal
	if err := json.Unmarshal([]byte(doc), &seal); err != nil {
		return Seal{}, fmt.Errorf("bad seal record %q: %w", clip(s), err)
	}
	return seal, nil
}
