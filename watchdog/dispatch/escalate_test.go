package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/dispatch/channel"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// TestEscalations: the escalation and reminder notices due at a time, over
// times, states and settings — a pure function, no Redis, no clock.
func TestEscalations(t *testing.T) {
	c := rosterCity(t, "Asia/Shanghai") // jd: two levels; gy: one
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	std := config.Dispatch{Escalate: config.Escalate{Unacknowledged: 10 * time.Minute, DeadlinePcts: []int{50, 80}, Breach: true}, Remind: 30 * time.Minute}
	jd := []Receiver{{SubCenter: "jd"}}
	// unack lists unack1…unackN to rc.
	unack := func(n int, rc string) []string {
		var out []string
		for j := 1; j <= n; j++ {
			out = append(out, fmt.Sprintf("unack%d|%s", j, rc))
		}
		return out
	}
	cat := func(xs ...[]string) []string { return slices.Concat(xs...) }
	inc := func(state incident.State, f func(*incident.Incident)) *incident.Incident {
		i := &incident.Incident{ID: "INC-000001", State: state, Class: vocab.ClassPartial, OpenedAt: t0, Deadline: t0.Add(2 * time.Hour)}
		if f != nil {
			f(i)
		}
		return i
	}
	tests := []struct {
		name  string
		d     config.Dispatch
		inc   *incident.Incident
		first []Receiver
		age   time.Duration
		want  []string // "step|receiver"
	}{
		{"at opening: nothing", std, inc(incident.StateOpen, nil), jd, 0, nil},
		{"just before unacknowledged: nothing", std, inc(incident.StateOpen, nil), jd, 10*time.Minute - time.Second, nil},
		{"unacknowledged 10m: the next level", std, inc(incident.StateOpen, nil), jd, 10 * time.Minute, unack(1, "jd/1")},
		{"20m: again, a level up (capped at the roster's top)", std, inc(incident.StateOpen, nil), jd, 20 * time.Minute, unack(2, "jd/1")},
		{"30m: and the first reminder to the duty officer", std, inc(incident.StateOpen, nil), jd, 30 * time.Minute,
			cat(unack(3, "jd/1"), []string{"remind1|jd/0"})},
		{"50 % of the deadline: duty officer and next level", std, inc(incident.StateOpen, nil), jd, time.Hour,
			cat(unack(6, "jd/1"), []string{"pct50|jd/0", "pct50|jd/1", "remind2|jd/0"})},
		{"80 %: the level after (capped)", std, inc(incident.StateOpen, nil), jd, 96 * time.Minute,
			cat(unack(9, "jd/1"), []string{"pct50|jd/0", "pct50|jd/1", "pct80|jd/0", "pct80|jd/1", "remind3|jd/0"})},
		{"the breach: every level, each once", std, inc(incident.StateOpen, nil), jd, 2 * time.Hour,
			cat(unack(12, "jd/1"), []string{"pct50|jd/0", "pct50|jd/1", "pct80|jd/0", "pct80|jd/1", "breach|jd/0", "breach|jd/1", "remind4|jd/0"})},
		{"breached flag before the deadline (reclassified): breach", std, inc(incident.StateAcknowledged, func(i *incident.Incident) { i.Breached = true }), jd, time.Minute,
			[]string{"breach|jd/0", "breach|jd/1"}},
		{"acknowledged: no unack escalations, no reminders; deadline ones still", std, inc(incident.StateAcknowledged, nil), jd, 96 * time.Minute,
			[]string{"pct50|jd/0", "pct50|jd/1", "pct80|jd/0", "pct80|jd/1"}},
		{"mitigated: the same", std, inc(incident.StateMitigated, nil), jd, time.Hour, []string{"pct50|jd/0", "pct50|jd/1"}},
		{"resolved: nothing", std, inc(incident.StateResolved, nil), jd, 3 * time.Hour, nil},
		{"merged: nothing", std, inc(incident.StateMerged, nil), jd, 3 * time.Hour, nil},
		{"a one-level roster: its duty officer again", std, inc(incident.StateOpen, nil), []Receiver{{SubCenter: "gy"}}, 10 * time.Minute, unack(1, "gy/0")},
		{"two first receivers: each roster", std, inc(incident.StateOpen, nil), []Receiver{{SubCenter: "gy"}, {SubCenter: "jd"}}, 10 * time.Minute,
			cat(unack(1, "gy/0"), unack(1, "jd/1"))},
		{"a receiver without a roster: skipped", std, inc(incident.StateOpen, nil), []Receiver{{SubCenter: "by"}}, time.Hour, nil},
		{"remind 0: no reminders", config.Dispatch{Escalate: std.Escalate}, inc(incident.StateOpen, nil), jd, 30 * time.Minute, unack(3, "jd/1")},
		{"unacknowledged 0: no unack escalations", config.Dispatch{Escalate: config.Escalate{DeadlinePcts: []int{50}, Breach: true}}, inc(incident.StateOpen, nil), jd, time.Hour,
			[]string{"pct50|jd/0", "pct50|jd/1"}},
		{"no percentages, no breach", config.Dispatch{Escalate: config.Escalate{Unacknowledged: time.Hour}}, inc(incident.StateOpen, nil), jd, 3 * time.Hour, unack(3, "jd/1")},
		{"a deadline at opening: no percentages", config.Dispatch{Escalate: config.Escalate{DeadlinePcts: []int{50}}},
			inc(incident.StateOpen, func(i *incident.Incident) { i.Deadline = t0 }), jd, time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			ns := Escalations(tt.inc, tt.first, NewRoster(c), &d, t0.Add(tt.age))
			var got []string
			for _, n := range ns {
				step, rc, ok := strings.Cut(strings.TrimPrefix(n.ID, tt.inc.ID+"|"), "|")
				if !ok || rc != n.Receiver.Key() {
					t.Errorf("notice id %q does not name its receiver %s", n.ID, n.Receiver.Key())
				}
				want := KindEscalation
				if strings.HasPrefix(step, "remind") {
					want = KindReminder
				}
				if n.Kind != want || n.Incident.ID != tt.inc.ID || n.Text == "" {
					t.Errorf("notice %s: kind %q, incident %q, text %q", n.ID, n.Kind, n.Incident.ID, n.Text)
				}
				got = append(got, step+"|"+rc)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("Escalations at +%s:\n got  %v\n want %v", tt.age, got, want)
			}
			// Stable: worked out again, the same ids.
			again := Escalations(tt.inc, tt.first, NewRoster(c), &d, t0.Add(tt.age))
			if len(again) != len(ns) {
				t.Fatalf("not stable: %d then %d notices", len(ns), len(again))
			}
			for i := range ns {
				if again[i].ID != ns[i].ID {
					t.Errorf("not stable: %s then %s", ns[i].ID, again[i].ID)
				}
			}
		})
	}
}

// TestEscalation runs a dispatcher on an injected clock: an incident nobody
// acknowledges goes to the duty officer at once, to the next level after
// escalate.unacknowledged and each time that much more passes, to both at
// 50 % and 80 % of its deadline and at the breach, and to the duty officer
// again every `remind`; once acknowledged, the unacknowledged escalations
// and the reminders stop (the deadline's do not).
func TestEscalation(t *testing.T) {
	// unacknowledged 12m, remind 17m, a 50m deadline (25m and 40m are its
	// 50 % and 80 %): no two steps fall together.
	type want struct{ who, kind, text string }
	type step struct {
		at    time.Duration
		wants []want
		then  func(r *rig, id string, now time.Time)
	}
	opened := want{"jd-duty", KindOpened, "【新故障】"}
	unack := func(n int) want {
		return want{"jd-boss", KindEscalation, fmt.Sprintf("开单后 %s 仍未确认接单", time.Duration(n)*12*time.Minute)}
	}
	remind := func(n int) want {
		return want{"jd-duty", KindReminder, fmt.Sprintf("开单已 %s，仍未确认接单", time.Duration(n)*17*time.Minute)}
	}
	pct := func(p int) []want {
		w := fmt.Sprintf("已过 SLA 时限的 %d%%", p)
		return []want{{"jd-duty", KindEscalation, w}, {"jd-boss", KindEscalation, w}}
	}
	breach := []want{{"jd-duty", KindEscalation, "已超过 SLA 时限"}, {"jd-boss", KindEscalation, "已超过 SLA 时限"}}
	acknowledge := func(r *rig, id string, now time.Time) {
		if _, err := r.store.Act(context.Background(), id, incident.Action{Kind: incident.ActAcknowledge, Actor: "jd 值班员", At: now}); err != nil {
			r.t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"not acknowledged", []step{
			{0, []want{opened}, nil},
			{12 * time.Minute, []want{unack(1)}, nil},
			{17 * time.Minute, []want{remind(1)}, nil},
			{24 * time.Minute, []want{unack(2)}, nil},
			{25 * time.Minute, pct(50), nil},
			{34 * time.Minute, []want{remind(2)}, nil},
			{36 * time.Minute, []want{unack(3)}, nil},
			{40 * time.Minute, pct(80), nil},
			{48 * time.Minute, []want{unack(4)}, nil},
			{50 * time.Minute, breach, nil},
			{51 * time.Minute, []want{remind(3)}, nil},
		}},
		{"acknowledged after the first escalation", []step{
			{0, []want{opened}, nil},
			{12 * time.Minute, []want{unack(1)}, acknowledge},
			{17 * time.Minute, nil, nil}, // no reminder
			{24 * time.Minute, nil, nil}, // no second escalation
			{25 * time.Minute, pct(50), nil},
			{34 * time.Minute, nil, nil},
			{36 * time.Minute, nil, nil},
			{40 * time.Minute, pct(80), nil},
			{48 * time.Minute, nil, nil},
			{50 * time.Minute, breach, nil},
			{51 * time.Minute, nil, nil},
			{70 * time.Minute, nil, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recv := newReceiver(t)
			c := city(t, map[string]string{"jd": recv.srv.URL})
			c.Dispatch.Escalate = config.Escalate{Unacknowledged: 12 * time.Minute, DeadlinePcts: []int{50, 80}, Breach: true}
			c.Dispatch.Remind = 17 * time.Minute
			c.Watchdog.Incidents.Deadlines.Minor = 50 * time.Minute
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			fc := clockwork.NewFakeClock()
			r := newRig(t, c, Options{Clock: fc})
			r.start()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := fc.BlockUntilContext(ctx, 2); err != nil {
				t.Fatalf("the dispatcher's two tickers: %v", err)
			}
			inc := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), fc.Now())
			if inc.Class != vocab.ClassMinor || inc.Deadline.Sub(inc.OpenedAt) != 50*time.Minute {
				t.Fatalf("incident %s: class %s, deadline +%s", inc.ID, inc.Class, inc.Deadline.Sub(inc.OpenedAt))
			}
			seen := 0
			for _, s := range tt.steps {
				if d := inc.OpenedAt.Add(s.at).Sub(fc.Now()); d > 0 {
					fc.Advance(d)
				}
				pump(t, fc, 10*time.Second, fmt.Sprintf("%d message(s) at +%s", len(s.wants), s.at), func() bool { return recv.count() >= seen+len(s.wants) })
				idle(fc) // and nothing more
				got := recv.messages()[seen:]
				seen += len(got)
				if len(got) != len(s.wants) {
					t.Errorf("at +%s (clock +%s): %d messages, want %d:%s", s.at, fc.Now().Sub(inc.OpenedAt).Round(time.Second), len(got), len(s.wants), describeMsgs(got))
				}
				for _, w := range s.wants {
					if !slices.ContainsFunc(got, func(m channel.Message) bool {
						return m.Kind == w.kind && len(m.Mentions) == 1 && m.Mentions[0].ID == w.who && strings.Contains(m.Text(), w.text) &&
							len(m.Incidents) == 1 && m.Incidents[0].ID == inc.ID
					}) {
						t.Errorf("at +%s: no %s message to %s saying %q among:%s", s.at, w.kind, w.who, w.text, describeMsgs(got))
					}
				}
				if s.then != nil {
					s.then(r, inc.ID, fc.Now())
				}
			}
			for id, n := range recv.timesSeen() {
				if n != 1 {
					t.Errorf("message %s received %d times", id, n)
				}
			}
		})
	}
}

func describeMsgs(ms []channel.Message) string {
	var b strings.Builder
	for _, m := range ms {
		var who []string
		for _, p := range m.Mentions {
			who = append(who, p.ID)
		}
		fmt.Fprintf(&b, "\n  %s %s to %v: %s", m.ID, m.Kind, who, strings.ReplaceAll(m.Text(), "\n", " | "))
	}
	return b.String()
}

// An escalation asked for by an event (a runbook that did not fix the
// fault) goes at once to the duty officer and the next level, with its
// reason.
func TestEscalateEvent(t *testing.T) {
	recv := newReceiver(t)
	c := city(t, map[string]string{"jd": recv.srv.URL})
	r := newRig(t, c, Options{})
	r.start()
	inc := r.open(problem(vocab.CauseRoom, "jd-hall-1", []string{"jd"}, []string{"jd-hall-1"}), time.Now())
	waitFor(t, 10*time.Second, "the opened message", func() bool { return recv.count() >= 1 })
	const reason = "处置预案 restart-gateway 未能排除故障"
	_, err := r.store.Change(context.Background(), inc.ID, incident.EventEscalate, func(i incident.Incident) (incident.Incident, error) {
		i.Log(time.Now(), "runbook restart-gateway", "remedy", reason)
		return i, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "two escalation messages", func() bool { return recv.count() >= 3 })
	got := recv.messages()[1:]
	for _, who := range []string{"jd-duty", "jd-boss"} {
		if !slices.ContainsFunc(got, func(m channel.Message) bool {
			return m.Kind == KindEscalation && len(m.Mentions) == 1 && m.Mentions[0].ID == who && strings.Contains(m.Text(), reason)
		}) {
			t.Errorf("no escalation to %s saying %q among:%s", who, reason, describeMsgs(got))
		}
	}
}
