package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestGrouping: changes for one receiver within group_wait go out as one
// message naming each incident once.
func TestGrouping(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*rig, *receiver) {
		recv := newReceiver(t)
		c := city(t, map[string]string{"jd": recv.srv.URL})
		c.Dispatch.GroupWait = time.Second
		r := newRig(t, c, Options{})
		r.start()
		return r, recv
	}

	t.Run("two incidents within group_wait: one message naming both", func(t *testing.T) {
		r, recv := setup(t)
		a := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
		b := r.open(problem(vocab.CauseRoom, "jd-coord-1", []string{"jd"}, []string{"jd-coord-1"}), time.Now())
		waitFor(t, 5*time.Second, "a message", func() bool { return recv.count() > 0 })
		time.Sleep(1500 * time.Millisecond) // a second one would come within group_wait
		ms := recv.messages()
		if len(ms) != 1 {
			t.Fatalf("%d messages, want 1:%s", len(ms), describeMsgs(ms))
		}
		m := ms[0]
		if len(m.Incidents) != 2 || m.Incidents[0].ID != a.ID || m.Incidents[1].ID != b.ID {
			t.Errorf("message names %+v, want %s and %s", m.Incidents, a.ID, b.ID)
		}
		if !strings.Contains(m.Title, "2 条") || !strings.Contains(m.Text(), a.ID) || !strings.Contains(m.Text(), b.ID) {
			t.Errorf("message text does not name both:\n%s", m.Text())
		}
		for _, id := range []string{a.ID, b.ID} {
			if tl := r.timeline(id); len(entries(tl, "alert "+m.ID+" sent to jd-hook")) != 1 {
				t.Errorf("%s's timeline:%s", id, dumpTimeline(tl))
			}
		}
	})

	t.Run("an incident opened and updated within group_wait: one message, about it once", func(t *testing.T) {
		r, recv := setup(t)
		a := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
		// The watchdog writes what it learns next (a room more, worse
		// figures) at once: an "updated" event while the opening waits.
		if _, err := r.store.Change(ctx, a.ID, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
			inc.Place.Rooms = append(inc.Place.Rooms, "jd-coord-1")
			inc.Log(time.Now(), incident.Actor, "updated", "rooms: jd-hall-1, jd-coord-1")
			return inc, nil
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "a message", func() bool { return recv.count() > 0 })
		time.Sleep(1500 * time.Millisecond)
		ms := recv.messages()
		if len(ms) != 1 {
			t.Fatalf("%d messages, want 1:%s", len(ms), describeMsgs(ms))
		}
		if m := ms[0]; m.Kind != KindOpened || !strings.HasPrefix(m.Title, "【新故障】") || strings.Count(m.Text(), a.ID) != 1 {
			t.Errorf("want the opened message about %s, naming it once; got:\n%s", a.ID, m.Text())
		}
	})
}

// TestEndingsGoToThoseTold: an incident's resolution and its merging into
// another go only to the receivers told of it before — even when a
// silence or a maintenance window since kept others from being told.
func TestEndingsGoToThoseTold(t *testing.T) {
	ctx := context.Background()
	recv := map[string]*receiver{}
	urls := map[string]string{}
	for _, sc := range []string{"jd", "gy", "by"} {
		recv[sc] = newReceiver(t)
		urls[sc] = recv[sc].srv.URL
	}
	r := newRig(t, city(t, urls), Options{})
	r.start()
	resolve := func(id string) {
		t.Helper()
		if _, err := r.store.Act(ctx, id, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	kinds := func(sc, id string) []string {
		var out []string
		for _, m := range recv[sc].naming(id) {
			out = append(out, m.Kind)
		}
		return out
	}

	t.Run("muted from the start, then resolved: nobody hears", func(t *testing.T) {
		p := problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"})
		p.Page, p.MutedBy = false, "维护"
		inc := r.open(p, time.Now())
		waitFor(t, 5*time.Second, "the muted note", func() bool { return len(entries(r.timeline(inc.ID), "not dispatched")) > 0 })
		resolve(inc.ID)
		waitFor(t, 5*time.Second, "the resolution event handled", func() bool { return r.d != nil && lastCursorAtLeast(r, inc.ID) })
		time.Sleep(700 * time.Millisecond)
		if k := kinds("jd", inc.ID); len(k) != 0 {
			t.Errorf("jd heard %v of an incident it was never told of", k)
		}
	})

	t.Run("resolved: to those told, not to a sub-center added during a silence", func(t *testing.T) {
		inc := r.open(problem(vocab.CauseRoom, "jd-coord-1", []string{"jd"}, []string{"jd-coord-1"}), time.Now())
		waitFor(t, 5*time.Second, "jd told", func() bool { return len(recv["jd"].naming(inc.ID)) == 1 })
		now := time.Now()
		if _, err := NewSilences(r.rdb, "bidwatch:").Add(ctx, Silence{Match: map[string]string{"key": inc.Key},
			Start: now.Add(-time.Minute), End: now.Add(time.Hour), By: "张工", Reason: "处置中"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.store.Change(ctx, inc.ID, incident.EventUpdated, func(inc incident.Incident) (incident.Incident, error) {
			inc.Place.SubCenters = append(inc.Place.SubCenters, "gy")
			inc.Place.Rooms = append(inc.Place.Rooms, "gy-hall-1")
			inc.Log(time.Now(), incident.Actor, "updated", "gy-hall-1 too")
			return inc, nil
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the update muted", func() bool { return len(entries(r.timeline(inc.ID), "not dispatched: silenced")) > 0 })
		resolve(inc.ID)
		waitFor(t, 5*time.Second, "jd told of the resolution", func() bool { return len(recv["jd"].naming(inc.ID)) == 2 })
		time.Sleep(700 * time.Millisecond)
		if k := kinds("jd", inc.ID); len(k) != 2 || k[0] != KindOpened || k[1] != KindResolved {
			t.Errorf("jd heard %v, want opened, resolved", k)
		}
		if k := kinds("gy", inc.ID); len(k) != 0 {
			t.Errorf("gy, never told, heard %v", k)
		}
	})

	t.Run("merged: to those told of the merged incident only", func(t *testing.T) {
		child := r.open(problem(vocab.CauseRoom, "by-hall-1", []string{"by"}, []string{"by-hall-1"}), time.Now())
		parent := r.open(problem(vocab.CauseRoom, "gy-coord-1", []string{"gy"}, []string{"gy-coord-1"}), time.Now())
		waitFor(t, 5*time.Second, "by and gy told", func() bool {
			return len(recv["by"].naming(child.ID)) == 1 && len(recv["gy"].naming(parent.ID)) == 1
		})
		// As the watchdog merges: the parent first, then the child.
		now := time.Now()
		c, err := r.store.Get(ctx, child.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.store.Change(ctx, parent.ID, incident.EventMergedIn, func(p incident.Incident) (incident.Incident, error) {
			_, out, err := incident.Merge(c, p, now, "test")
			return out, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.store.Change(ctx, child.ID, incident.EventMerged, func(c incident.Incident) (incident.Incident, error) {
			out, _, err := incident.Merge(c, p, now, "test")
			return out, err
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "by told of the merge", func() bool { return len(recv["by"].naming(child.ID)) == 2 })
		time.Sleep(700 * time.Millisecond)
		if k := kinds("by", child.ID); len(k) != 2 || k[1] != KindMerged {
			t.Errorf("by heard %v of %s, want opened, merged", k, child.ID)
		}
		if k := kinds("gy", child.ID); len(k) != 0 {
			t.Errorf("gy, never told of %s, heard %v", child.ID, k)
		}
		if k := kinds("jd", child.ID); len(k) != 0 {
			t.Errorf("jd heard %v of %s", k, child.ID)
		}
	})
}

// lastCursorAtLeast reports whether the dispatcher's events cursor has
// passed the incident's last event (its notices, if any, are queued).
func lastCursorAtLeast(r *rig, id string) bool {
	ctx := context.Background()
	cur, err := r.rdb.Get(ctx, "bidwatch:dispatch:cursor").Result()
	if err != nil {
		return false
	}
	msgs, err := r.rdb.XRevRangeN(ctx, "bidwatch:"+incident.KeyEvents, "+", "-", 50).Result()
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if s, _ := m.Values["event"].(string); strings.Contains(s, `"kind":"resolved"`) && strings.Contains(s, `"id":"`+id+`"`) {
			return streamIDAtLeast(cur, m.ID)
		}
	}
	return false
}

// streamIDAtLeast compares two stream ids "ms-seq".
func streamIDAtLeast(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	if len(am) != len(bm) {
		return len(am) > len(bm)
	}
	if am != bm {
		return am > bm
	}
	if len(as) != len(bs) {
		return len(as) > len(bs)
	}
	return as >= bs
}
