package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// send delivers what the outbox holds until ctx ends.
func (d *Dispatcher) send(ctx context.Context) {
	t := d.clock.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		d.sendDue(ctx)
		d.summaries(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		case <-d.wake:
		}
	}
}

// sendDue sends the deliveries due now.
func (d *Dispatcher) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		now := d.clock.Now()
		// A few at a time: what a sender that dies had claimed and not
		// tried waits out the lease before another takes it.
		ds, msgs, err := d.outbox.Claim(ctx, now, lease, 8)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("claim deliveries", "err", err)
			}
			return
		}
		if len(ds) == 0 {
			return
		}
		for _, dl := range ds {
			d.deliver(ctx, dl, msgs[dl.MessageID])
		}
	}
}

// allowed checks a delivery against its receiver's and its channel's rate
// limits. A summary took its channel's token when it was made.
func (d *Dispatcher) allowed(ctx context.Context, dl Delivery, summary bool) (bool, time.Duration) {
	if summary {
		return true, 0
	}
	if ok, after := d.check(ctx, "rc:"+dl.Receiver, d.recvRate); !ok {
		return false, after
	}
	return d.check(ctx, "ch:"+dl.Channel, d.rates[dl.Channel])
}

// check takes a token of a limit; a limit that cannot be checked (Redis
// away) lets the message through.
func (d *Dispatcher) check(ctx context.Context, key string, l redis_rate.Limit) (bool, time.Duration) {
	if l.Rate == 0 {
		return true, 0
	}
	res, err := d.limiter.Allow(ctx, d.key("rate:"+key), l)
	if err != nil {
		d.log.Warn("rate limit check: letting it through", "err", err)
		return true, 0
	}
	return res.Allowed > 0, res.RetryAfter
}

// deliver sends one delivery and records what happened.
func (d *Dispatcher) deliver(ctx context.Context, dl Delivery, env Envelope) {
	ch, ok := d.channels[dl.Channel]
	if !ok {
		_, _ = d.outbox.Done(ctx, dl, fmt.Errorf("channel %q is no longer configured", dl.Channel), false, d.clock.Now())
		return
	}
	summary := env.Message.Kind == KindSummary
	if ok, after := d.allowed(ctx, dl, summary); !ok {
		if env.Message.Kind == KindTest || env.Message.Kind == KindReport {
			// Sent whole once the limit allows: a summary would carry
			// neither a test's point nor a report's attachment.
			d.rdb.ZAdd(ctx, d.key("due"), zAt(d.clock.Now().Add(max(after, 100*time.Millisecond)), dl.Key))
			return
		}
		if err := d.outbox.Hold(ctx, dl); err != nil {
			d.log.Warn("hold a delivery", "err", err)
			return
		}
		for _, in := range env.Message.Incidents {
			d.note(ctx, in.ID, d.clock.Now(), fmt.Sprintf("alert %s to %s held back by the rate limit: it goes out in a summary", env.Message.ID, dl.Channel))
		}
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	m := env.Message
	retry, err := ch.Send(sctx, &m)
	cancel()
	now := d.clock.Now()
	rec, derr := d.outbox.Done(ctx, dl, err, retry, now)
	if derr != nil {
		d.log.Warn("record a delivery", "err", derr)
		return
	}
	who := d.roster.Name(env.Receiver)
	var text string
	switch rec.Status {
	case StatusSent:
		text = fmt.Sprintf("alert %s sent to %s (%s)", m.ID, dl.Channel, who)
		d.log.Info("alert sent", "message", m.ID, "channel", dl.Channel, "receiver", dl.Receiver, "attempts", rec.Attempts)
	case StatusRetrying:
		if rec.Attempts > 1 {
			return // the first failure is in the timeline already
		}
		text = fmt.Sprintf("alert %s to %s failed, retrying: %s", m.ID, dl.Channel, rec.LastError)
		d.log.Warn("alert failed, retrying", "message", m.ID, "channel", dl.Channel, "err", err, "next", rec.NextAt)
	default:
		text = fmt.Sprintf("alert %s to %s %s after %d attempts: %s", m.ID, dl.Channel, rec.Status, rec.Attempts, rec.LastError)
		d.log.Error("alert not delivered", "message", m.ID, "channel", dl.Channel, "status", rec.Status, "err", err)
	}
	for _, in := range m.Incidents {
		d.note(ctx, in.ID, now, text)
	}
}

// summaries sends, for each channel and receiver with deliveries held
// back, one summary message of everything held once the channel has room
// (it takes the channel's token now; the summary is not held again).
func (d *Dispatcher) summaries(ctx context.Context) {
	lists, err := d.outbox.HeldLists(ctx)
	if err != nil || len(lists) == 0 {
		return
	}
	now := d.clock.Now()
	for _, l := range lists {
		chName, rk := l[0], l[1]
		rc, ok := parseReceiver(rk)
		if !ok {
			continue
		}
		if ok, _ := d.check(ctx, "ch:"+chName, d.rates[chName]); !ok {
			continue // later: then it covers all held by then
		}
		ds, envs, n, err := d.outbox.PeekHeld(ctx, chName, rk)
		if err != nil || n == 0 {
			continue
		}
		m := summary(d.composer.where(rc), envs, now)
		m.SubCenter, m.Level = rc.SubCenter, d.roster.Name(rc)
		env := Envelope{Message: *m, Receiver: rc}
		for _, e := range envs {
			env.Held = append(env.Held, e.Message.ID)
		}
		// Queued first, dropped from the held list after: a leader that dies
		// in between leaves the same held list, hence the same summary id,
		// to the next one, which queues nothing twice.
		if err := d.outbox.Enqueue(ctx, env, []string{chName}, now); err != nil && !errors.Is(err, ErrQueued) {
			d.log.Warn("queue a summary", "err", err)
			continue
		}
		if err := d.outbox.DropHeld(ctx, chName, rk, n); err != nil {
			d.log.Warn("drop held deliveries", "err", err)
		}
		_ = d.outbox.Summarized(ctx, ds, m.ID)
		for _, e := range envs {
			for _, in := range e.Message.Incidents {
				d.note(ctx, in.ID, now, fmt.Sprintf("alert %s to %s went out in summary %s", e.Message.ID, chName, m.ID))
			}
		}
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// summary is one message standing for messages held back by a rate limit.
func summary(who string, envs []Envelope, now time.Time) *channel.Message {
	var ids []string
	m := &channel.Message{Kind: KindSummary, At: now}
	seen := map[string]bool{}
	for _, e := range envs {
		ids = append(ids, e.Message.ID)
		var incs []string
		for _, in := range e.Message.Incidents {
			incs = append(incs, in.ID)
		}
		m.Lines = append(m.Lines, "· "+strings.Join(incs, "、")+" "+e.Message.Title)
		for _, in := range e.Message.Incidents {
			if !seen[in.ID] {
				seen[in.ID] = true
				m.Incidents = append(m.Incidents, in)
			}
		}
	}
	notices := make([]Notice, len(ids))
	for i, id := range ids {
		notices[i] = Notice{ID: id}
	}
	m.ID = messageID(KindSummary, notices)
	m.Title = fmt.Sprintf("【限流汇总】%s：另有 %d 条通知（%d 起故障）", who, len(envs), len(m.Incidents))
	for _, in := range m.Incidents {
		if in.URL != "" {
			m.Links = append(m.Links, channel.Link{Text: "查看 " + in.ID, URL: in.URL})
		}
	}
	return m
}
