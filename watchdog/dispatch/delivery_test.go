package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
)

// TestReceiverDownThenBack: the receiver answers 503 for a while (two
// seconds here: the rig retries from 100 ms doubling to 1 s, so that is
// several attempts), then comes back: the message arrives once it is back,
// once per stable id, and the incident's timeline records "failed,
// retrying" once and "sent" once.
func TestReceiverDownThenBack(t *testing.T) {
	recv := newReceiver(t)
	r := newRig(t, city(t, map[string]string{"jd": recv.srv.URL}), Options{})
	r.start()
	recv.setDown(true)
	inc := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
	waitFor(t, 10*time.Second, "the first failure in the timeline", func() bool {
		return len(entries(r.timeline(inc.ID), "failed, retrying")) > 0
	})
	down := time.Now()
	time.Sleep(2 * time.Second) // the outage
	recv.setDown(false)
	recv.mu.Lock()
	fails := recv.fails
	recv.mu.Unlock()
	if fails < 3 {
		t.Errorf("%d attempts in a 2 s outage with retries from 100 ms: want several", fails)
	}
	if n := recv.count(); n != 0 {
		t.Fatalf("%d messages recorded while down", n)
	}
	waitFor(t, 5*time.Second, "the message once the receiver is back", func() bool { return recv.count() > 0 })
	back := time.Since(down)
	time.Sleep(time.Second) // anything else would come now
	ms := recv.messages()
	if len(ms) != 1 || ms[0].Kind != KindOpened || len(ms[0].Incidents) != 1 || ms[0].Incidents[0].ID != inc.ID {
		t.Fatalf("received:%s", describeMsgs(ms))
	}
	if n := recv.timesSeen()[ms[0].ID]; n != 1 {
		t.Errorf("message %s received %d times", ms[0].ID, n)
	}
	tl := r.timeline(inc.ID)
	if n := len(entries(tl, "failed, retrying")); n != 1 {
		t.Errorf("%d \"failed, retrying\" entries, want 1:%s", n, dumpTimeline(tl))
	}
	if n := len(entries(tl, ms[0].ID+" sent to jd-hook")); n != 1 {
		t.Errorf("%d \"sent\" entries, want 1:%s", n, dumpTimeline(tl))
	}
	ds, err := r.d.Outbox().List(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Status != StatusSent || ds[0].Attempts != fails+1 || ds[0].LastError != "" {
		t.Errorf("deliveries %+v, want one sent after %d failures", ds, fails)
	}
	t.Logf("%d failed attempts; delivered %s after the outage began, %s after it ended", fails, back.Round(time.Millisecond), (back - 2*time.Second).Round(time.Millisecond))
}

// TestStormIsSummarized: 100 incidents for one receiver, each its own
// message, whose channel takes 10 a second (rate: 10/s — the 10/min of a
// group robot, sixty times faster; receiver_rate raised so only the
// channel limits): in the first second from the first arrival the receiver
// gets at most 10 messages; the others go out in summaries (kind
// "summary") naming the incidents held; every incident is in some message
// received, and each incident's timeline says its alert was sent, in a
// message of its own or in a summary.
//
// The dispatcher runs on a fake clock so that each incident is flushed as
// its own group (group_wait 0, one tick after its event); the rate limit is
// Redis's (real) time.
func TestStormIsSummarized(t *testing.T) {
	recv := newReceiver(t)
	c := city(t, map[string]string{"jd": recv.srv.URL})
	c.Dispatch.Channels[0].Rate = "10/s"
	c.Dispatch.ReceiverRate = "1000/s"
	c.Dispatch.GroupWait = 0
	c.Dispatch.Remind = 0
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	fc := clockwork.NewFakeClock()
	r := newRig(t, c, Options{Clock: fc})
	r.start()
	var ids []string
	start := time.Now()
	var queued time.Time // when the last incident was queued
	for i := range 100 {
		inc := r.open(problem(vocab.CauseRoom, fmt.Sprintf("jd-room-%03d", i), []string{"jd"}, []string{"jd-hall-1"}), fc.Now())
		ids = append(ids, inc.ID)
		pump(t, fc, 5*time.Second, fmt.Sprintf("incident %d queued", i+1), func() bool { return r.noticesQueued() == i+1 })
	}
	queued = time.Now()
	opening := time.Since(start)
	named := func() map[string]bool {
		out := map[string]bool{}
		for _, m := range recv.messages() {
			for _, in := range m.Incidents {
				out[in.ID] = true
			}
		}
		return out
	}
	pump(t, fc, 30*time.Second, "every incident in a message received", func() bool { return len(named()) == len(ids) })
	idle(fc)

	ms := recv.messages()
	recv.mu.Lock()
	at := slices.Clone(recv.at)
	recv.mu.Unlock()
	first, most := 0, 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if i == 0 {
			first = n
		}
		most = max(most, n)
	}
	var summaries []channel.Message
	for _, m := range ms {
		if m.Kind == KindSummary {
			summaries = append(summaries, m)
		}
	}
	t.Logf("100 incidents queued in %s; %d messages received (%d summaries) over %s; %d in the first second, at most %d in any second",
		opening.Round(time.Millisecond), len(ms), len(summaries), at[len(at)-1].Sub(at[0]).Round(time.Millisecond), first, most)
	if first > 10 {
		t.Errorf("the receiver got %d messages in the first second of the storm; its channel takes 10/s", first)
	}
	if most > 10 {
		t.Errorf("the receiver got %d messages within one second; its channel takes 10/s", most)
	}
	// "Once the channel lets it, one summary message stands for all held":
	// the last incident held is in the first message the channel lets
	// through after it, well within one period (1 s) of the storm's end.
	var last time.Time
	for i, m := range ms {
		if m.Kind == KindSummary || slices.ContainsFunc(m.Incidents, func(in channel.Incident) bool { return in.ID == ids[len(ids)-1] }) {
			if at[i].After(last) {
				last = at[i]
			}
		}
	}
	if late := last.Sub(queued); late > time.Second {
		t.Errorf("the last summary arrived %s after the last incident was queued (%d summaries, each waiting for the channel in turn); want within one period of the limit (1 s)",
			late.Round(time.Millisecond), len(summaries))
	}
	if len(summaries) == 0 {
		t.Fatalf("no summary among %d messages", len(ms))
	}
	for _, s := range summaries {
		if len(s.Incidents) == 0 || !strings.Contains(s.Title, "限流汇总") {
			t.Errorf("summary %s names no incident: %q", s.ID, s.Title)
		}
		for _, in := range s.Incidents {
			if !strings.Contains(s.Text(), in.Subject) {
				t.Errorf("summary %s does not name %s (%s) in its text: %q", s.ID, in.ID, in.Subject, s.Text())
			}
		}
	}
	for id, n := range recv.timesSeen() {
		if n != 1 {
			t.Errorf("message %s received %d times", id, n)
		}
	}
	got := named()
	for _, id := range ids {
		if !got[id] {
			t.Errorf("%s is in no message received", id)
			continue
		}
		tl := r.timeline(id)
		ok := false
		for _, m := range recv.naming(id) {
			if len(entries(tl, "alert "+m.ID+" sent to jd-hook")) > 0 {
				ok = true
			}
			if m.Kind == KindSummary && len(entries(tl, "held back by the rate limit: it goes out in a summary")) == 0 {
				t.Errorf("%s went out in summary %s but its timeline does not say it was held:%s", id, m.ID, dumpTimeline(tl))
			}
		}
		if !ok {
			t.Errorf("%s: the timeline says no message naming it was sent:%s", id, dumpTimeline(tl))
		}
	}
}
