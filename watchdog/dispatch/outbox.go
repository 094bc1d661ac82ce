package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// Delivery statuses.
const (
	StatusPending    = "pending"
	StatusRetrying   = "retrying"
	StatusSent       = "sent"
	StatusFailed     = "failed"   // refused for good (a bad request, a rejected signature)
	StatusGivenUp    = "given_up" // still failing when retry.give_up_after passed
	StatusHeld       = "held"     // past a rate limit: goes out in a summary
	StatusSummarized = "summarized"
)

// keep is how long the outbox keeps messages, deliveries and notice marks.
const keep = 7 * 24 * time.Hour

// Envelope is a message as the outbox keeps it.
type Envelope struct {
	Message  channel.Message `json:"message"`
	Receiver Receiver        `json:"receiver"`
	Notices  []string        `json:"notices,omitempty"`
	// Held lists the messages a summary stands for.
	Held []string `json:"held,omitempty"`
}

// Delivery is one message on one channel.
type Delivery struct {
	Key       string    `json:"key"`
	MessageID string    `json:"message"`
	Channel   string    `json:"channel"`
	Receiver  string    `json:"receiver"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	FirstAt   time.Time `json:"first_at"`
	NextAt    time.Time `json:"next_at,omitzero"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// Summary names the summary a held delivery went out in.
	Summary string `json:"summary,omitempty"`
}

// Outbox keeps messages and their deliveries in Redis until they are sent:
// at least once, by a stable id receivers drop duplicates by, retried with
// exponential backoff and jitter.
type Outbox struct {
	rdb     redis.UniversalClient
	prefix  string
	retry   config.DispatchRetry
	durable bus.Durable
}

// NewOutbox returns the outbox under prefix.
func NewOutbox(rdb redis.UniversalClient, prefix string, retry config.DispatchRetry) *Outbox {
	return &Outbox{rdb: rdb, prefix: prefix, retry: retry}
}

// WithDurable makes Enqueue wait for the replicas d asks for (the bus's
// min_replicas): a queued alert a failover could lose is not taken as
// queued. nil keeps plain writes.
func (o *Outbox) WithDurable(d bus.Durable) *Outbox {
	o.durable = d
	return o
}

func (o *Outbox) key(s string) string { return o.prefix + "dispatch:" + s }

func (o *Outbox) deliveryKey(mid, ch string) string { return o.key("dl:" + mid + "|" + ch) }

// Queued returns which of these notices are queued already.
func (o *Outbox) Queued(ctx context.Context, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = o.key("notice:" + id)
	}
	vals, err := o.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read notices: %w", err)
	}
	out := map[string]bool{}
	for i, v := range vals {
		if v != nil {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// enqueueScript keeps a message and its deliveries and marks its notices,
// unless one of them is queued already (then it changes nothing and
// returns 0).
//
// KEYS: message, due, all deliveries, notice marks…, delivery keys….
// ARGV: envelope JSON, now ms, keep ms, number of notices, message id,
// receiver, channels…. When a notice is queued it still writes (renews the
// mark), so a WAIT after a repeat covers the first attempt; queued by this
// very message (a repeat), it returns 1.
var enqueueScript = redis.NewScript(`
local nn = tonumber(ARGV[4])
for i = 1, nn do
  if redis.call('EXISTS', KEYS[3 + i]) == 1 then
    redis.call('PEXPIRE', KEYS[3 + i], ARGV[3])
    if redis.call('GET', KEYS[3 + i]) == ARGV[5] then return 1 end
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
for i = 1, nn do redis.call('SET', KEYS[3 + i], ARGV[5], 'PX', ARGV[3]) end
for j = 4 + nn, #KEYS do
  local ch = ARGV[6 + j - (3 + nn)]
  if redis.call('EXISTS', KEYS[j]) == 0 then
    redis.call('HSET', KEYS[j], 'mid', ARGV[5], 'channel', ch, 'receiver', ARGV[6], 'status', 'pending',
      'attempts', 0, 'first_at', ARGV[2], 'next_at', ARGV[2])
    redis.call('PEXPIRE', KEYS[j], ARGV[3])
    redis.call('ZADD', KEYS[2], ARGV[2], KEYS[j])
    redis.call('ZADD', KEYS[3], ARGV[2], KEYS[j])
  end
end
return 1
`)

// ErrQueued: a notice of the message was queued already (by another
// message): nothing was queued.
var ErrQueued = errors.New("a notice is queued already")

// Enqueue keeps a message to be sent on these channels, and marks its
// notices queued — all at once, or nothing when one is queued already.
func (o *Outbox) Enqueue(ctx context.Context, env Envelope, channels []string, now time.Time) error {
	data, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	mid := env.Message.ID
	keys := []string{o.key("msg:" + mid), o.key("due"), o.key("deliveries")}
	for _, n := range env.Notices {
		keys = append(keys, o.key("notice:"+n))
	}
	args := []any{string(data), now.UnixMilli(), keep.Milliseconds(), len(env.Notices), mid, env.Receiver.Key()}
	for _, ch := range channels {
		keys = append(keys, o.deliveryKey(mid, ch))
		args = append(args, ch)
	}
	v, err := bus.RunScript(ctx, o.durable, o.rdb, enqueueScript, keys, args...)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", mid, err)
	}
	if n, _ := v.(int64); n == 0 {
		return ErrQueued
	}
	// Listed for a week: trim what is older.
	o.rdb.ZRemRangeByScore(ctx, o.key("deliveries"), "-inf", strconv.FormatInt(now.Add(-keep).UnixMilli(), 10))
	return nil
}

// claimScript takes the deliveries due by now, pushing each a lease ahead
// so no other sender takes it meanwhile; a sender that dies mid-send leaves
// it to be taken again when the lease passes.
var claimScript = redis.NewScript(`
local ks = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, k in ipairs(ks) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), k) end
return ks
`)

// Claim returns up to n deliveries due by now, each with its message.
func (o *Outbox) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]Delivery, map[string]Envelope, error) {
	ks, err := claimScript.Run(ctx, o.rdb, []string{o.key("due")}, now.UnixMilli(), lease.Milliseconds(), n).StringSlice()
	if err != nil {
		return nil, nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var out []Delivery
	msgs := map[string]Envelope{}
	for _, k := range ks {
		d, err := o.delivery(ctx, k)
		if errors.Is(err, redis.Nil) {
			o.rdb.ZRem(ctx, o.key("due"), k)
			continue
		} else if err != nil {
			return out, msgs, err
		}
		if _, ok := msgs[d.MessageID]; !ok {
			data, err := o.rdb.Get(ctx, o.key("msg:"+d.MessageID)).Result()
			if err != nil {
				if errors.Is(err, redis.Nil) {
					o.rdb.ZRem(ctx, o.key("due"), k)
					continue
				}
				return out, msgs, fmt.Errorf("read message %s: %w", d.MessageID, err)
			}
			var env Envelope
			if err := json.Unmarshal([]byte(data), &env); err != nil {
				o.rdb.ZRem(ctx, o.key("due"), k)
				continue
			}
			msgs[d.MessageID] = env
		}
		out = append(out, d)
	}
	return out, msgs, nil
}

func (o *Outbox) delivery(ctx context.Context, key string) (Delivery, error) {
	h, err := o.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return Delivery{}, fmt.Errorf("read delivery: %w", err)
	}
	if len(h) == 0 {
		return Delivery{}, redis.Nil
	}
	ms := func(s string) time.Time {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	att, _ := strconv.Atoi(h["attempts"])
	return Delivery{Key: key, MessageID: h["mid"], Channel: h["channel"], Receiver: h["receiver"], Status: h["status"], Attempts: att,
		FirstAt: ms(h["first_at"]), NextAt: ms(h["next_at"]), SentAt: ms(h["sent_at"]), LastError: h["last_error"], Summary: h["summary"]}, nil
}

// Backoff is how long to wait before the attempt after `attempts`
// failures: initial doubling, capped at max, with ±20 % jitter.
func Backoff(r config.DispatchRetry, attempts int, rnd func() float64) time.Duration {
	d := r.Initial
	for i := 1; i < attempts && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	return time.Duration(float64(d) * (0.8 + 0.4*rnd()))
}

// Done records what a send did: sent, or failed — retried after a backoff
// when retry and give_up_after has not passed, else given up (failed for
// good when not retry). It returns the delivery as recorded.
func (o *Outbox) Done(ctx context.Context, d Delivery, sendErr error, retry bool, now time.Time) (Delivery, error) {
	d.Attempts++
	pipe := o.rdb.TxPipeline()
	switch {
	case sendErr == nil:
		d.Status, d.SentAt, d.LastError = StatusSent, now, ""
		pipe.HSet(ctx, d.Key, "status", d.Status, "attempts", d.Attempts, "sent_at", now.UnixMilli(), "last_error", "")
		pipe.ZRem(ctx, o.key("due"), d.Key)
	case retry && now.Sub(d.FirstAt) < o.retry.GiveUpAfter:
		d.Status, d.LastError = StatusRetrying, trim(sendErr.Error())
		d.NextAt = now.Add(Backoff(o.retry, d.Attempts, rand.Float64))
		pipe.HSet(ctx, d.Key, "status", d.Status, "attempts", d.Attempts, "next_at", d.NextAt.UnixMilli(), "last_error", d.LastError)
		pipe.ZAdd(ctx, o.key("due"), redis.Z{Score: float64(d.NextAt.UnixMilli()), Member: d.Key})
	default:
		d.Status, d.LastError = StatusGivenUp, trim(sendErr.Error())
		if !retry {
			d.Status = StatusFailed
		}
		pipe.HSet(ctx, d.Key, "status", d.Status, "attempts", d.Attempts, "last_error", d.LastError)
		pipe.ZRem(ctx, o.key("due"), d.Key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return d, fmt.Errorf("record delivery %s: %w", d.Key, err)
	}
	return d, nil
}

// Hold takes a delivery past a rate limit out of the queue, into the list
// its channel's and receiver's next summary is made of.
func (o *Outbox) Hold(ctx context.Context, d Delivery) error {
	pipe := o.rdb.TxPipeline()
	pipe.HSet(ctx, d.Key, "status", StatusHeld)
	pipe.ZRem(ctx, o.key("due"), d.Key)
	pipe.RPush(ctx, o.heldKey(d.Channel, d.Receiver), d.Key)
	pipe.SAdd(ctx, o.key("held"), d.Channel+"|"+d.Receiver)
	_, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("hold %s: %w", d.Key, err)
	}
	return nil
}

func (o *Outbox) heldKey(ch, receiver string) string { return o.key("held:" + ch + "|" + receiver) }

// HeldLists returns the (channel, receiver) pairs with held deliveries.
func (o *Outbox) HeldLists(ctx context.Context) ([][2]string, error) {
	ms, err := o.rdb.SMembers(ctx, o.key("held")).Result()
	if err != nil {
		return nil, fmt.Errorf("read held: %w", err)
	}
	var out [][2]string
	for _, m := range ms {
		ch, rc, ok := strings.Cut(m, "|")
		if ok {
			out = append(out, [2]string{ch, rc})
		}
	}
	return out, nil
}

// PeekHeld returns a held list's deliveries with their messages, and how
// many entries the list had (DropHeld drops that many).
func (o *Outbox) PeekHeld(ctx context.Context, ch, receiver string) ([]Delivery, []Envelope, int64, error) {
	keys, err := o.rdb.LRange(ctx, o.heldKey(ch, receiver), 0, -1).Result()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read held: %w", err)
	}
	if len(keys) == 0 {
		o.rdb.SRem(ctx, o.key("held"), ch+"|"+receiver)
		return nil, nil, 0, nil
	}
	var ds []Delivery
	var envs []Envelope
	for _, key := range keys {
		d, err := o.delivery(ctx, key)
		if err != nil {
			continue
		}
		data, err := o.rdb.Get(ctx, o.key("msg:"+d.MessageID)).Result()
		if err != nil {
			continue
		}
		var env Envelope
		if json.Unmarshal([]byte(data), &env) != nil {
			continue
		}
		ds, envs = append(ds, d), append(envs, env)
	}
	return ds, envs, int64(len(keys)), nil
}

// dropHeldScript drops the first n entries of a held list, and the list
// from the set of held lists when it is empty.
var dropHeldScript = redis.NewScript(`
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1
`)

// DropHeld drops the first n entries of a held list (those a summary now
// stands for; more may have come since).
func (o *Outbox) DropHeld(ctx context.Context, ch, receiver string, n int64) error {
	return dropHeldScript.Run(ctx, o.rdb, []string{o.heldKey(ch, receiver), o.key("held")}, n, ch+"|"+receiver).Err()
}

// Summarized marks held deliveries as sent in a summary.
func (o *Outbox) Summarized(ctx context.Context, ds []Delivery, summary string) error {
	pipe := o.rdb.Pipeline()
	for _, d := range ds {
		pipe.HSet(ctx, d.Key, "status", StatusSummarized, "summary", summary)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// List returns the deliveries of the last week, newest first, with the
// statuses wanted (all when none).
func (o *Outbox) List(ctx context.Context, statuses []string, limit int) ([]Delivery, error) {
	ks, err := o.rdb.ZRevRange(ctx, o.key("deliveries"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	var out []Delivery
	for _, k := range ks {
		d, err := o.delivery(ctx, k)
		if err != nil {
			continue
		}
		if len(statuses) > 0 && !contains(statuses, d.Status) {
			continue
		}
		out = append(out, d)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// Message returns a kept message.
func (o *Outbox) Message(ctx context.Context, id string) (Envelope, error) {
	data, err := o.rdb.Get(ctx, o.key("msg:"+id)).Result()
	if err != nil {
		return Envelope{}, fmt.Errorf("read message %s: %w", id, err)
	}
	var env Envelope
	err = json.Unmarshal([]byte(data), &env)
	return env, err
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func zAt(t time.Time, member string) redis.Z {
	return redis.Z{Score: float64(t.UnixMilli()), Member: member}
}
