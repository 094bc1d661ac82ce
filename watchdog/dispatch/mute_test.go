package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestMuting: an incident opened in a maintenance window is recorded, not
// sent, and its timeline says why; so is one a silence covers; an incident
// told before a silence still has its resolution sent; and when the
// maintenance window ends while the incident is open, it is sent then.
func TestMuting(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*rig, *receiver) {
		recv := newReceiver(t)
		r := newRig(t, city(t, map[string]string{"jd": recv.srv.URL}), Options{})
		r.start()
		return r, recv
	}
	maintenance := func() correlate.Problem {
		p := problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"})
		p.Page, p.MutedBy = false, "网关升级窗口"
		return p
	}
	// nothingSent waits until the dispatcher has written why it did not
	// send (it writes that where it decides), then a group_wait and a tick
	// more, and checks nothing came.
	nothingSent := func(t *testing.T, r *rig, recv *receiver, id, why string) {
		t.Helper()
		waitFor(t, 5*time.Second, "the timeline saying why it was not sent", func() bool { return len(entries(r.timeline(id), why)) > 0 })
		time.Sleep(700 * time.Millisecond)
		if ms := recv.messages(); len(ms) != 0 {
			t.Errorf("a muted incident was sent:%s", describeMsgs(ms))
		}
	}

	t.Run("opened in a maintenance window: not sent, the timeline says why", func(t *testing.T) {
		r, recv := setup(t)
		inc := r.open(maintenance(), time.Now())
		nothingSent(t, r, recv, inc.ID, "not dispatched: maintenance window 网关升级窗口")
	})

	t.Run("a silence mutes a matching incident, not another", func(t *testing.T) {
		r, recv := setup(t)
		now := time.Now()
		sil, err := NewSilences(r.rdb, "bidwatch:").Add(ctx, Silence{Match: map[string]string{"sub_center": "jd", "room": "jd-hall-1"},
			Start: now.Add(-time.Minute), End: now.Add(time.Hour), By: "张工", Reason: "网关升级"})
		if err != nil {
			t.Fatal(err)
		}
		muted := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
		nothingSent(t, r, recv, muted.ID, "not dispatched: silenced by "+sil.ID)
		other := r.open(problem(vocab.CauseRoom, "jd-coord-1", []string{"jd"}, []string{"jd-coord-1"}), time.Now())
		waitFor(t, 5*time.Second, "the incident the silence does not cover", func() bool { return len(recv.naming(other.ID)) == 1 })
		if n := len(recv.naming(muted.ID)); n != 0 {
			t.Errorf("the silenced incident was sent %d times", n)
		}
	})

	t.Run("told before a silence: its resolution is still sent", func(t *testing.T) {
		r, recv := setup(t)
		inc := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
		waitFor(t, 5*time.Second, "the opened message", func() bool { return recv.count() == 1 })
		now := time.Now()
		if _, err := NewSilences(r.rdb, "bidwatch:").Add(ctx, Silence{Match: map[string]string{"sub_center": "jd"},
			Start: now.Add(-time.Minute), End: now.Add(time.Hour), By: "张工", Reason: "处置中"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.store.Act(ctx, inc.ID, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: time.Now(), Text: "重启网关"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the resolution", func() bool { return recv.count() == 2 })
		ms := recv.messages()
		if ms[1].Kind != KindResolved || ms[1].Incidents[0].ID != inc.ID || !strings.Contains(ms[1].Title, "故障已排除") {
			t.Errorf("second message:%s", describeMsgs(ms[1:]))
		}
	})

	t.Run("the maintenance window ends while it is open: sent then, once", func(t *testing.T) {
		r, recv := setup(t)
		inc := r.open(maintenance(), time.Now())
		nothingSent(t, r, recv, inc.ID, "not dispatched: maintenance window")
		// The watchdog sees the window over: paging again (an "updated" event).
		if _, err := r.store.Change(ctx, inc.ID, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
			inc.Paging, inc.MutedBy = true, ""
			inc.Log(time.Now(), incident.Actor, "paging", "maintenance window 网关升级窗口 over: paging")
			return inc, nil
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the opened message after the window", func() bool { return recv.count() == 1 })
		// Later updates (figures, say) send nothing more.
		for range 2 {
			if _, err := r.store.Change(ctx, inc.ID, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
				inc.Phenomenon.RTTP95MS += 10
				return inc, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(700 * time.Millisecond)
		ms := recv.messages()
		if len(ms) != 1 || ms[0].Kind != KindOpened || ms[0].Incidents[0].ID != inc.ID {
			t.Errorf("after the window:%s", describeMsgs(ms))
		}
		if tl := r.timeline(inc.ID); len(entries(tl, " sent to jd-hook")) != 1 {
			t.Errorf("timeline:%s", dumpTimeline(tl))
		}
	})
}
