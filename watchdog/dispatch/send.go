package dispatch

import (
	"context"
	"fmt"
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
		ds, msgs, err := d.outbox.Claim(ctx, now, lease, 50)
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

// allowed checks a delivery against its channel's and its receiver's rate
// limits; summaries are held back by the channel's only.
func (d *Dispatcher) allowed(ctx context.Context, dl Delivery, summary bool) (bool, time.Duration) {
	check := func(key string, l redis_rate.Limit) (bool, time.Duration) {
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
	if ok, after := check("ch:"+dl.Channel, d.rates[dl.Channel]); !ok {
		return false, after
	}
	if summary {
		return true, 0
	}
	return check("rc:"+dl.Receiver, d.recvRate)
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
		if summary || env.Message.Kind == KindTest {
			// A summary waits for its channel: it is already one message.
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
// back, one summary message once its channel lets it.
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
		ds, envs, err := d.outbox.TakeHeld(ctx, chName, rk)
		if err != nil || len(ds) == 0 {
			continue
		}
		m := summary(d.composer.where(rc), envs, now)
		m.SubCenter, m.Level = rc.SubCenter, d.roster.Name(rc)
		env := Envelope{Message: *m, Receiver: rc}
		for _, e := range envs {
			env.Held = append(env.Held, e.Message.ID)
		}
		if err := d.outbox.Enqueue(ctx, env, []string{chName}, now); err != nil && err != ErrQueued {
			d.log.Warn("queue a summary", "err", err)
			continue
		}
		_ = d.outbox.Summarized(ctx, ds, m.ID)
	}
}

// summary is one message standing for messages held back by a rate limit.
func summary(who string, envs []Envelope, now time.Time) *channel.Message {
	var ids []string
	m := &channel.Message{Kind: KindSummary, At: now}
	seen := map[string]bool{}
	for _, e := range envs {
		ids = append(ids, e.Message.ID)
		m.Lines = append(m.Lines, "· "+e.Message.Title)
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
