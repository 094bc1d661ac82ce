package evidence

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/watchdog/rollup"
)

// Version is one version of a fault record, as the incident events stream
// shows it: its canonical JSON (Doc) and the event's stream id.
type Version struct {
	StreamID string
	ID       string
	Version  int64
	Doc      []byte
}

// IncidentSource follows incident versions from the events stream, after
// stream id from ("0" for every event kept), until ctx ends.
type IncidentSource interface {
	Versions(ctx context.Context, from string) <-chan Version
}

// SealerOptions configure a Sealer. Redis and Rooms are required.
type SealerOptions struct {
	Redis  redis.UniversalClient
	Prefix string
	// Rooms are the rooms whose raw archive is sealed.
	Rooms []string
	// Incidents, when set, has every incident version sealed.
	Incidents IncidentSource
	// Key signs periods; nil for none.
	Key ed25519.PrivateKey
	// Location is the report time zone periods follow (default UTC).
	Location *time.Location
	// RawRetention is how far back raw lists are looked at (default 48 h).
	RawRetention time.Duration
	// Timing is when groups are ready (default 5 min quiet, 5 min grace).
	Timing Timing
	// Every is how often the archive is looked at (default 10 s).
	Every    time.Duration
	Clock    clockwork.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Sealer is the leader's sealing loop: it follows the raw archive lists of
// every room, seals each session once it has been quiet and each patrol
// hour once it has ended, seals every incident version from the events
// stream, and closes each day of the report time zone with a period entry.
// Its state (cursors, open groups, the last incident event) is in Redis, so
// a new leader carries on where the old one stopped; appends are
// compare-and-set, so two leaders overlapping never fork the chain.
type Sealer struct {
	o     SealerOptions
	chain *Chain
	log   *slog.Logger
	m     *sealMetrics
}

// NewSealer checks the options and registers the metrics (collectors an
// earlier Sealer registered are reused).
func NewSealer(o SealerOptions) (*Sealer, error) {
	if o.Redis == nil {
		return nil, errors.New("evidence: Redis is required")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.RawRetention <= 0 {
		o.RawRetention = 48 * time.Hour
	}
	if o.Timing.Quiet <= 0 {
		o.Timing.Quiet = 5 * time.Minute
	}
	if o.Timing.Grace <= 0 {
		o.Timing.Grace = 5 * time.Minute
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	m, err := newSealMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	return &Sealer{o: o, chain: NewChain(o.Redis, o.Prefix), log: o.Logger.With("component", "evidence"), m: m}, nil
}

// Chain is the chain the sealer appends to.
func (s *Sealer) Chain() *Chain { return s.chain }

func (s *Sealer) key(name string) string { return s.o.Prefix + name }

// Run seals until ctx ends.
func (s *Sealer) Run(ctx context.Context) {
	done := make(chan struct{})
	if s.o.Incidents != nil {
		go func() {
			defer close(done)
			s.followIncidents(ctx)
		}()
	} else {
		close(done)
	}
	defer func() { <-done }()
	t := s.o.Clock.NewTicker(s.o.Every)
	defer t.Stop()
	for {
		if err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.m.errors.Inc()
			s.log.Warn("seal", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

// Pass looks at the archive once: reads what is new, seals what is
// ready, and closes the last ended day. Run calls it every Every.
func (s *Sealer) Pass(ctx context.Context) error {
	now := s.o.Clock.Now()
	var errs []error
	if err := s.tail(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := s.sealReady(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := s.period(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tailChunk bounds how many archive entries one read takes.
const tailChunk = 5000

// tail reads the entries appended to the rooms' raw lists since the last
// look and marks their groups open.
func (s *Sealer) tail(ctx context.Context, now time.Time) error {
	cursors, err := s.o.Redis.HGetAll(ctx, s.key(KeyCursor)).Result()
	if err != nil {
		return fmt.Errorf("read seal cursors: %w", err)
	}
	hours := Hours(now.Add(-s.o.RawRetention), now)
	var names []string
	for _, room := range s.o.Rooms {
		for _, h := range hours {
			names = append(names, room+":"+h)
		}
	}
	pipe := s.o.Redis.Pipeline()
	lens := make([]*redis.IntCmd, len(names))
	for i, n := range names {
		lens[i] = pipe.LLen(ctx, s.key(rollup.KeyRaw+n))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("read raw archive lengths: %w", err)
	}
	oldest := hours[0]
	for field := range cursors {
		if _, h, ok := strings.Cut(field, ":"); ok && len(h) == len(HourLayout) && h < oldest {
			// The raw list expired: forget its cursor.
			_ = s.o.Redis.HDel(ctx, s.key(KeyCursor), field).Err()
		}
	}
	for i, n := range names {
		l := lens[i].Val()
		done, _ := strconv.ParseInt(cursors[n], 10, 64)
		for done < l && ctx.Err() == nil {
			end := min(l, done+tailChunk)
			if err := s.read(ctx, n, done, end, now); err != nil {
				return err
			}
			done = end
		}
	}
	return nil
}

// read takes entries [from, to) of one raw list (name "<room>:<hour>"),
// marks their groups open, then moves the cursor.
func (s *Sealer) read(ctx context.Context, name string, from, to int64, now time.Time) error {
	rel := rollup.KeyRaw + name
	raws, err := s.o.Redis.LRange(ctx, s.key(rel), from, to-1).Result()
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	room, hour, _ := strings.Cut(name, ":")
	seen := map[Group]int64{}
	for _, raw := range raws {
		seen[GroupOf(Ident([]byte(raw)), room, hour)]++
	}
	if err := s.markOpen(ctx, seen, rel, now); err != nil {
		return err
	}
	if err := s.o.Redis.HSet(ctx, s.key(KeyCursor), name, from+int64(len(raws))).Err(); err != nil {
		return fmt.Errorf("move seal cursor: %w", err)
	}
	return nil
}

func (s *Sealer) markOpen(ctx context.Context, seen map[Group]int64, rel string, now time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	gs := slices.SortedFunc(maps.Keys(seen), func(a, b Group) int { return strings.Compare(a.String(), b.String()) })
	fields := make([]string, len(gs))
	for i, g := range gs {
		fields[i] = g.String()
	}
	olds, err := s.o.Redis.HMGet(ctx, s.key(KeyOpen), fields...).Result()
	if err != nil {
		return fmt.Errorf("read open groups: %w", err)
	}
	vals := make([]any, 0, 2*len(gs))
	for i, g := range gs {
		var o Open
		if v, ok := olds[i].(string); ok {
			_ = json.Unmarshal([]byte(v), &o)
		}
		o = o.Merge([]string{rel}, now.UnixMilli(), seen[g])
		doc, _ := json.Marshal(o)
		vals = append(vals, fields[i], doc)
	}
	if err := s.o.Redis.HSet(ctx, s.key(KeyOpen), vals...).Err(); err != nil {
		return fmt.Errorf("mark groups open: %w", err)
	}
	return nil
}

// sealReady seals the open groups that are ready.
func (s *Sealer) sealReady(ctx context.Context, now time.Time) error {
	open, err := s.o.Redis.HGetAll(ctx, s.key(KeyOpen)).Result()
	if err != nil {
		return fmt.Errorf("read open groups: %w", err)
	}
	var errs []error
	for _, field := range slices.Sorted(maps.Keys(open)) {
		kind, ref, _ := strings.Cut(field, ":")
		g := Group{Kind: kind, Ref: ref}
		var o Open
		if err := json.Unmarshal([]byte(open[field]), &o); err != nil {
			s.log.Warn("bad open group: dropped", "group", field, "err", err)
			_ = s.o.Redis.HDel(ctx, s.key(KeyOpen), field).Err()
			continue
		}
		if !Ready(g, o, now, s.o.Timing) {
			continue
		}
		if _, err := s.SealGroup(ctx, g, o.Keys, now); err != nil {
			errs = append(errs, err)
			continue
		}
		// Samples that came since this look stay open: only the look
		// that was sealed is removed.
		_ = hdelIfScript.Run(ctx, s.o.Redis, []string{s.key(KeyOpen)}, field, open[field]).Err()
	}
	return errors.Join(errs...)
}

// hdelIfScript deletes a hash field if it still holds a value.
var hdelIfScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`)

// SealGroup seals group g from its raw lists (keys, with those of its
// previous seal): every Sample of the group they hold, in seal order. It
// returns the seal entry (an older one when nothing changed).
func (s *Sealer) SealGroup(ctx context.Context, g Group, keys []string, now time.Time) (Entry, error) {
	if old, ok, err := s.chain.Seal(ctx, g); err != nil {
		return Entry{}, err
	} else if ok {
		keys = (Open{Keys: keys}).Merge(old.Keys, 0, 0).Keys
	}
	leaves, err := ReadLeaves(ctx, s.o.Redis, s.o.Prefix, g, keys)
	if err != nil {
		return Entry{}, err
	}
	if len(leaves) == 0 {
		return Entry{}, nil // the lists expired before the group was sealed
	}
	d := Draft{Kind: g.Kind, Ref: g.Ref, Digest: GroupHead(g.Kind, g.Ref, Digests(leaves)), Count: int64(len(leaves))}
	e, appended, err := s.chain.Append(ctx, now, nil, keys, func(Head) Draft { return d })
	if err != nil {
		s.m.errors.Inc()
		return Entry{}, fmt.Errorf("seal %s: %w", g, err)
	}
	if appended {
		s.m.seals.WithLabelValues(g.Kind).Inc()
		s.m.samples.Add(float64(len(leaves)))
		s.log.Info("sealed", "group", g.String(), "n", e.N, "samples", len(leaves), "digest", e.Digest.Short())
	}
	return e, nil
}

// ReadLeaves reads group g's Samples from raw lists (keys relative to
// prefix) and returns their leaves in seal order.
func ReadLeaves(ctx context.Context, rdb redis.UniversalClient, prefix string, g Group, keys []string) ([]Leaf, error) {
	var leaves []Leaf
	for _, rel := range keys {
		room, hour, _ := strings.Cut(strings.TrimPrefix(rel, rollup.KeyRaw), ":")
		for start := int64(0); ; start += tailChunk {
			raws, err := rdb.LRange(ctx, prefix+rel, start, start+tailChunk-1).Result()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", rel, err)
			}
			for _, raw := range raws {
				b := []byte(raw)
				id := Ident(b)
				if GroupOf(id, room, hour) == g {
					leaves = append(leaves, Leaf{Participant: id.Participant, Seq: id.Seq, Digest: sha256Sum(b)})
				}
			}
			if len(raws) < tailChunk {
				break
			}
		}
	}
	return SortLeaves(leaves), nil
}

// followIncidents seals every incident version the events stream shows,
// resuming after the last one sealed.
func (s *Sealer) followIncidents(ctx context.Context) {
	from, err := s.o.Redis.Get(ctx, s.key(KeyIncidents)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		s.log.Warn("read the last sealed incident event: starting from the oldest kept", "err", err)
	}
	if from == "" {
		from = "0"
	}
	for v := range s.o.Incidents.Versions(ctx, from) {
		if err := s.SealIncident(ctx, v); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.m.errors.Inc()
			s.log.Warn("seal incident version", "incident", v.ID, "version", v.Version, "err", err)
			continue
		}
		if v.StreamID != "" {
			_ = s.o.Redis.Set(ctx, s.key(KeyIncidents), v.StreamID, 0).Err()
		}
	}
}

// SealIncident seals one incident version (once: sealing it again is a
// no-op).
func (s *Sealer) SealIncident(ctx context.Context, v Version) error {
	d := Draft{Kind: KindIncident, Ref: IncidentRef(v.ID, v.Version), Digest: sha256Sum(v.Doc), Count: 1}
	_, appended, err := s.chain.Append(ctx, s.o.Clock.Now(), nil, nil, func(Head) Draft { return d })
	if err != nil {
		return err
	}
	if appended {
		s.m.seals.WithLabelValues(KindIncident).Inc()
	}
	return nil
}

// period closes the last ended day, once.
func (s *Sealer) period(ctx context.Context, now time.Time) error {
	day := PeriodDue(now, s.o.Location)
	if _, ok, err := s.chain.Seal(ctx, Group{Kind: KindPeriod, Ref: day}); err != nil || ok {
		return err
	}
	e, appended, err := s.chain.Append(ctx, now, s.o.Key, nil, func(h Head) Draft {
		return Draft{Kind: KindPeriod, Ref: day, Digest: h.Hash, Count: h.N}
	})
	if err != nil {
		return fmt.Errorf("seal period %s: %w", day, err)
	}
	if appended {
		s.m.seals.WithLabelValues(KindPeriod).Inc()
		s.log.Info("period sealed", "day", day, "n", e.N, "signed", len(e.Signature) > 0)
	}
	return nil
}
