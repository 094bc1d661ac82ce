package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Options configure a Dispatcher. City, Redis and Store are required.
type Options struct {
	City  *config.Config
	Redis redis.UniversalClient
	// Prefix is the Redis key prefix ("bidwatch:").
	Prefix string
	// Store is the incident store: the dispatcher reads incidents from it
	// and writes the delivery statuses into their timelines.
	Store incident.Store
	// Events are the incident events to dispatch, from the stream; a
	// Dispatcher reads them itself from Redis when nil.
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Env is what the channels use (HTTP client, TLS, …).
	Env channel.Env
	// Channels replaces the channels the configuration describes (tests).
	Channels map[string]channel.Channel
	// Durable, when set, makes the outbox's writes wait for replicas.
	Durable bus.Durable
}

// lease is how long a claimed delivery is kept from other senders.
const lease = 30 * time.Second

// Dispatcher sends dispatch alerts. Only the leader runs one (Run).
type Dispatcher struct {
	city     *config.Config
	d        *config.Dispatch
	rdb      redis.UniversalClient
	prefix   string
	store    incident.Store
	clock    clockwork.Clock
	log      *slog.Logger
	channels map[string]channel.Channel
	roster   *Roster
	composer *Composer
	outbox   *Outbox
	limiter  *redis_rate.Limiter
	silences *Silences
	rates    map[string]redis_rate.Limit
	recvRate redis_rate.Limit

	// pending are notices waiting out group_wait, per receiver.
	pending map[string]*group
	// cursor is the last event handled whose notices are all queued.
	last string
	wake chan struct{}
}

type group struct {
	rc      Receiver
	first   time.Time
	notices []Notice
}

// New prepares a Dispatcher; it returns an error naming a channel that
// cannot be made.
func New(o Options) (*Dispatcher, error) {
	if o.City == nil || o.Redis == nil || o.Store == nil {
		return nil, errors.New("dispatch: City, Redis and Store are required")
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Env.Now == nil {
		o.Env.Now = o.Clock.Now
	}
	if o.Env.Logger == nil {
		o.Env.Logger = o.Logger
	}
	d := &Dispatcher{
		city: o.City, d: &o.City.Dispatch, rdb: o.Redis, prefix: o.Prefix, store: o.Store, clock: o.Clock,
		log:      o.Logger.With("component", "dispatch"),
		channels: map[string]channel.Channel{},
		roster:   NewRoster(o.City),
		outbox:   NewOutbox(o.Redis, o.Prefix, o.City.Dispatch.Retry).WithDurable(o.Durable),
		limiter:  redis_rate.NewLimiter(o.Redis),
		silences: NewSilences(o.Redis, o.Prefix),
		rates:    map[string]redis_rate.Limit{},
		pending:  map[string]*group{},
		wake:     make(chan struct{}, 1),
	}
	d.composer = &Composer{City: o.City, Roster: d.roster, Signer: NewAckSigner(o.City.Dispatch.Ack)}
	for _, spec := range o.City.Dispatch.Channels {
		if c, ok := o.Channels[spec.Name]; ok {
			d.channels[spec.Name] = c
		} else {
			c, err := channel.New(spec, o.Env)
			if err != nil {
				return nil, err
			}
			d.channels[spec.Name] = c
		}
		rate := spec.Rate
		if rate == "" {
			rate = config.KnownChannelKinds[spec.Type].Rate
		}
		if n, per, err := config.ParseRate(rate); err == nil {
			d.rates[spec.Name] = strict(n, per)
		}
	}
	if n, per, err := config.ParseRate(o.City.Dispatch.ReceiverRate); err == nil {
		d.recvRate = strict(n, per)
	}
	return d, nil
}

// strict is a GCRA limit that lets at most n through in any window of one
// period: a burst of n−⌊n/2⌋ and ⌊n/2⌋ more spread over the period (a
// burst of n refilled at n per period would let 2n−1 through in one
// window, and a provider counting its own minute would throttle).
func strict(n int, per time.Duration) redis_rate.Limit {
	if n == 1 {
		return redis_rate.Limit{Rate: 1, Burst: 1, Period: per}
	}
	r := n / 2
	return redis_rate.Limit{Rate: r, Burst: n - r, Period: per}
}

// Enabled reports whether there is anyone to tell: a channel and a roster.
func (d *Dispatcher) Enabled() bool { return len(d.channels) > 0 && len(d.d.Roster) > 0 }

// Outbox is the dispatcher's outbox.
func (d *Dispatcher) Outbox() *Outbox { return d.outbox }

func (d *Dispatcher) key(s string) string { return d.prefix + "dispatch:" + s }

// Run dispatches until ctx ends: it follows the incident events from where
// the last leader stopped, groups and queues notices, works out
// escalations and reminders, and sends what the outbox holds.
func (d *Dispatcher) Run(ctx context.Context) {
	if !d.Enabled() {
		d.log.Warn("dispatch: channels but no roster (or no channels): nobody is told")
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from, err := d.rdb.Get(ctx, d.key("cursor")).Result()
	if err != nil {
		from = "$" // first run: from now on, not the whole history
	}
	events := incident.NewRedisStore(d.rdb, d.prefix, d.city.Watchdog.Incidents).Events(ctx, from)
	wg.Go(func() { d.send(ctx) })
	tick := d.clock.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastEsc time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			d.handle(ctx, ev)
			d.last = ev.StreamID
		case <-tick.Chan():
			now := d.clock.Now()
			if now.Sub(lastEsc) >= time.Second {
				lastEsc = now
				d.escalate(ctx, now)
			}
			d.flush(ctx, now, false)
		}
	}
}

// handle turns one incident event into notices for its receivers.
func (d *Dispatcher) handle(ctx context.Context, ev incident.Event) {
	b := ev.Incident
	now := d.clock.Now()
	kind := kindOf(ev)
	told, err := d.rdb.SMembers(ctx, d.key("told:"+b.ID)).Result()
	if err != nil {
		d.log.Warn("read who was told", "incident", b.ID, "err", err)
	}
	if kind == "" && ev.Kind == incident.EventUpdated && b.Paging && b.State.Active() {
		kind = KindOpened // a maintenance window ended: tell those not told
	}
	if kind == "" {
		return
	}
	muted, why := d.muted(ctx, &b, now)
	var rcs []Receiver
	switch kind {
	case KindResolved, KindMerged:
		// Consistent: those told of it hear how it ended, muted or not.
		for _, k := range told {
			if rc, ok := parseReceiver(k); ok {
				rcs = append(rcs, rc)
			}
		}
	default:
		if muted {
			d.note(ctx, b.ID, now, "not dispatched: "+why)
			return
		}
		rcs = Route(d.city, d.roster, &b)
		if kind == KindOpened && ev.Kind == incident.EventUpdated {
			// Only those not told of it, nor about to be.
			rcs = slices.DeleteFunc(rcs, func(rc Receiver) bool { return slices.Contains(told, rc.Key()) || d.waiting(rc, b.ID) })
		}
		if kind == KindChanged {
			// Receivers told earlier stay told of its changes, even when its
			// place moved.
			for _, k := range told {
				if rc, ok := parseReceiver(k); ok && !slices.Contains(rcs, rc) {
					rcs = append(rcs, rc)
				}
			}
		}
	}
	if kind == KindEscalation {
		// Asked for (a runbook that did not fix it): the duty officers and
		// the next level of each roster.
		for _, rc := range slices.Clone(rcs) {
			if n := d.roster.Levels(rc.SubCenter); rc.Level+1 < n {
				rcs = append(rcs, Receiver{SubCenter: rc.SubCenter, Level: rc.Level + 1})
			}
		}
	}
	for _, rc := range rcs {
		n := Notice{ID: noticeID(b.ID, ev.StreamID, rc), Kind: kind, Receiver: rc, Incident: b, At: ev.At}
		if kind != KindOpened && kind != KindResolved {
			n.Text = ev.Text
		}
		d.add(n, now)
	}
}

// muted reports whether an incident is not to be dispatched now, and why.
func (d *Dispatcher) muted(ctx context.Context, b *incident.Brief, now time.Time) (bool, string) {
	if !b.Paging {
		return true, "maintenance window " + b.MutedBy
	}
	ss, err := d.silences.List(ctx, now)
	if err != nil {
		d.log.Warn("read silences", "err", err)
		return false, ""
	}
	if s, ok := Muting(ss, b, now); ok {
		return true, fmt.Sprintf("silenced by %s (%s, by %s until %s)", s.ID, s, s.By, s.End.In(d.d.Location()).Format("01-02 15:04"))
	}
	return false, ""
}

// waiting reports whether a notice of an incident waits for a receiver.
func (d *Dispatcher) waiting(rc Receiver, id string) bool {
	g := d.pending[rc.Key()]
	return g != nil && slices.ContainsFunc(g.notices, func(n Notice) bool { return n.Incident.ID == id })
}

// add puts a notice in its receiver's group.
func (d *Dispatcher) add(n Notice, now time.Time) {
	k := n.Receiver.Key()
	g := d.pending[k]
	if g == nil {
		g = &group{rc: n.Receiver, first: now}
		d.pending[k] = g
	}
	if !slices.ContainsFunc(g.notices, func(o Notice) bool { return o.ID == n.ID }) {
		g.notices = append(g.notices, n)
	}
}

// flush queues the groups that have waited group_wait (all of them with
// force), one message per group on the receiver's channels, and moves the
// events cursor on when nothing waits.
func (d *Dispatcher) flush(ctx context.Context, now time.Time, force bool) {
	queued := false
	for k, g := range d.pending {
		if !force && now.Sub(g.first) < d.d.GroupWait {
			continue
		}
		if err := d.queue(ctx, g, now); err != nil {
			if ctx.Err() == nil {
				d.log.Warn("queue a message", "receiver", k, "err", err)
			}
			continue // kept: tried again at the next tick
		}
		delete(d.pending, k)
		queued = true
	}
	if len(d.pending) == 0 && d.last != "" {
		if err := d.rdb.Set(ctx, d.key("cursor"), d.last, 0).Err(); err == nil {
			d.last = ""
		}
	}
	if queued {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// queue turns a group into a message in the outbox.
func (d *Dispatcher) queue(ctx context.Context, g *group, now time.Time) error {
	ids := make([]string, len(g.notices))
	for i, n := range g.notices {
		ids[i] = n.ID
	}
	done, err := d.outbox.Queued(ctx, ids)
	if err != nil {
		return err
	}
	notices := slices.DeleteFunc(slices.Clone(g.notices), func(n Notice) bool { return done[n.ID] })
	if len(notices) == 0 {
		return nil
	}
	chans := d.roster.Channels(g.rc, now)
	if len(chans) == 0 {
		d.log.Warn("no channel for a receiver: nobody told", "receiver", g.rc.Key())
		return nil
	}
	m := d.composer.Compose(g.rc, notices, now)
	env := Envelope{Message: *m, Receiver: g.rc}
	for _, n := range notices {
		env.Notices = append(env.Notices, n.ID)
	}
	switch err := d.outbox.Enqueue(ctx, env, chans, now); {
	case errors.Is(err, ErrQueued):
		g.notices = notices
		return d.queue(ctx, g, now) // raced with another: again without them
	case err != nil:
		return err
	}
	pipe := d.rdb.Pipeline()
	for _, n := range notices {
		if n.Kind != KindResolved && n.Kind != KindMerged {
			pipe.SAdd(ctx, d.key("told:"+n.Incident.ID), g.rc.Key())
			pipe.Expire(ctx, d.key("told:"+n.Incident.ID), keep)
		}
	}
	_, _ = pipe.Exec(ctx)
	d.log.Info("alert queued", "message", m.ID, "kind", m.Kind, "receiver", g.rc.Key(), "channels", chans, "incidents", len(m.Incidents))
	return nil
}

// escalate works out the escalations and reminders due now.
func (d *Dispatcher) escalate(ctx context.Context, now time.Time) {
	act, err := d.store.Active(ctx)
	if err != nil {
		return
	}
	for i := range act {
		inc := &act[i]
		b := inc.Brief()
		if muted, _ := d.muted(ctx, &b, now); muted {
			continue
		}
		for _, n := range Escalations(inc, Route(d.city, d.roster, &b), d.roster, d.d, now) {
			d.add(n, now)
		}
	}
}

// note writes a dispatch line in an incident's timeline.
func (d *Dispatcher) note(ctx context.Context, id string, now time.Time, text string) {
	_, err := d.store.Change(ctx, id, "alert", func(inc incident.Incident) (incident.Incident, error) {
		if inc.State == incident.StateSignedOff {
			return inc, incident.ErrNoChange
		}
		inc.Log(now, incident.Actor, "alert", text)
		return inc, nil
	})
	if err != nil && !errors.Is(err, incident.ErrNoChange) && !errors.Is(err, incident.ErrFrozen) && ctx.Err() == nil {
		d.log.Warn("write alert status", "incident", id, "err", err)
	}
}

func parseReceiver(k string) (Receiver, bool) {
	sc, lv, ok := strings.Cut(k, "/")
	if !ok {
		return Receiver{}, false
	}
	var n int
	if _, err := fmt.Sscanf(lv, "%d", &n); err != nil {
		return Receiver{}, false
	}
	return Receiver{SubCenter: sc, Level: n}, true
}
