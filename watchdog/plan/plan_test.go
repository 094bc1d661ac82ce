package plan

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// planCase is one tick of the planner: what it remembers, what it sees and
// the incidents it knows; the actions it should take and what it should
// remember after.
type planCase struct {
	name string
	// now is the tick's time since t0 (10 min when zero); leading when this
	// leader took over (an hour before t0 when zero).
	now, leading time.Duration
	book         Book
	seen         []correlate.Problem
	ok, unknown  []string
	incs         func(t *testing.T) []incident.Incident
	want         []string
	// wantBook, when set, is the book after the tick.
	wantBook []string
	// text, when set, is what the first action's text must contain.
	text string
}

func track(present bool, since time.Duration, inc string) Track {
	tr := Track{Present: present, Incident: inc}
	if present {
		tr.Since = at(since)
	}
	return tr
}

func (c *planCase) run(t *testing.T) {
	t.Helper()
	now := 10 * time.Minute
	if c.now != 0 {
		now = c.now
	}
	leading := at(-time.Hour)
	if c.leading != 0 {
		leading = at(c.leading)
	}
	var incs []incident.Incident
	if c.incs != nil {
		incs = c.incs(t)
	}
	in := Input{Now: at(now), Leading: leading, Correlation: view(c.seen, c.ok, c.unknown), Incidents: incs}
	bookBefore := bookLines(c.book)
	incsBefore, _ := json.Marshal(incs)
	book, actions := Plan(c.book, in, policy())
	if got := shows(actions); !slices.Equal(got, c.want) {
		t.Errorf("actions\n got %q\nwant %q", got, c.want)
	}
	if c.wantBook != nil {
		if got := bookLines(book); !slices.Equal(got, c.wantBook) {
			t.Errorf("book\n got %q\nwant %q", got, c.wantBook)
		}
	}
	if c.text != "" && (len(actions) == 0 || !strings.Contains(actions[0].Text, c.text)) {
		t.Errorf("first action's text does not contain %q: %+v", c.text, actions)
	}
	for _, a := range actions {
		if (a.Kind == Open || a.Kind == Update || a.Kind == Retarget || a.Kind == Reopen || a.Kind == Merge) && a.Problem == nil {
			t.Errorf("%s has no problem", show(a))
		}
	}
	if got := bookLines(c.book); !slices.Equal(got, bookBefore) {
		t.Errorf("Plan changed the book it was given:\n got %q\nwant %q", got, bookBefore)
	}
	if after, _ := json.Marshal(incs); string(after) != string(incsBefore) {
		t.Errorf("Plan changed the incidents it was given")
	}
}

func runCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func incs(fs ...func(t *testing.T) incident.Incident) func(t *testing.T) []incident.Incident {
	return func(t *testing.T) []incident.Incident {
		var out []incident.Incident
		for _, f := range fs {
			out = append(out, f(t))
		}
		return out
	}
}

func fixed(inc incident.Incident) func(*testing.T) incident.Incident {
	return func(*testing.T) incident.Incident { return inc }
}

// incA is room yz-hall-1's incident, opened at t0 (minor: deadline 1 h).
func incA() incident.Incident { return opened("INC-000001", pA, 0) }

func TestPlanUpdate(t *testing.T) {
	runCases(t, []planCase{
		{name: "a present problem's incident gets its figures",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{pA}, incs: incs(fixed(incA())),
			want:     []string{"update INC-000001 room:yz-hall-1 material=false"},
			wantBook: []string{"room:yz-hall-1 present=true since=0s incident=INC-000001 fading=-"}},
		{name: "a material change",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{dropped(pA)}, incs: incs(fixed(incA())),
			want: []string{"update INC-000001 room:yz-hall-1 material=true"}},
		{name: "symptoms ending are material",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{clearing(pA, 9*time.Minute)}, incs: incs(fixed(incA())),
			want: []string{"update INC-000001 room:yz-hall-1 material=true"}},
		{name: "nothing new, nothing to write",
			now:  time.Second,
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{pA}, incs: incs(fixed(seenAt(incA(), pA, time.Second))),
			want: []string{}},
		{name: "an incident the book does not know yet",
			seen: []correlate.Problem{pA}, incs: incs(fixed(incA())),
			want:     []string{"update INC-000001 room:yz-hall-1 material=false"},
			wantBook: []string{"room:yz-hall-1 present=true since=10m0s incident=INC-000001 fading=-"}},
		{name: "the book remembers when its first symptom stopped",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{fading(pA, 9*time.Minute)}, incs: incs(fixed(incA())),
			want:     []string{"update INC-000001 room:yz-hall-1 material=false"},
			wantBook: []string{"room:yz-hall-1 present=true since=0s incident=INC-000001 fading=9m0s"}},
	})
}

func TestPlanOpen(t *testing.T) {
	probe := problem(vocab.CauseProbe, "yz-p1", hall1)
	runCases(t, []planCase{
		{name: "a new problem opens an incident",
			seen: []correlate.Problem{pA},
			want: []string{"open room:yz-hall-1"}, wantBook: []string{"room:yz-hall-1 present=true since=10m0s incident=- fading=-"}},
		{name: "new problems open in key order",
			seen: []correlate.Problem{pS1, pA, pB},
			want: []string{"open room:yz-hall-1", "open room:yz-hall-2", "open server:yz-media-1"}},
		{name: "a probe's own trouble makes no incident",
			seen: []correlate.Problem{probe}, want: []string{}, wantBook: []string{}},
		{name: "partial, first seen: not believed yet",
			seen: []correlate.Problem{partial(pN)},
			want: []string{}, wantBook: []string{"network:gy present=true since=10m0s incident=- fading=-"}},
		{name: "partial, held less than settle",
			book: Book{pN.Key: track(true, 10*time.Minute-2999*time.Millisecond, "")}, seen: []correlate.Problem{partial(pN)},
			want: []string{}, wantBook: []string{"network:gy present=true since=9m57.001s incident=- fading=-"}},
		{name: "partial, held for settle",
			book: Book{pN.Key: track(true, 10*time.Minute-3*time.Second, "")}, seen: []correlate.Problem{partial(pN)},
			want: []string{"open network:gy"}},
		{name: "awaiting health: its servers rechecked, nothing opened",
			seen: []correlate.Problem{awaiting(pA, media2, media1), awaiting(pB, media1, media3)},
			want: []string{"recheck yz-media-1,yz-media-2,yz-media-3"}},
		{name: "awaiting health, less than health_wait",
			book: Book{pA.Key: track(true, 10*time.Minute-4*time.Second, "")}, seen: []correlate.Problem{awaiting(pA, media1), pB},
			want: []string{"open room:yz-hall-2", "recheck yz-media-1"}},
		{name: "awaiting health for health_wait: opened",
			book: Book{pA.Key: track(true, 10*time.Minute-5*time.Second, "")}, seen: []correlate.Problem{awaiting(pA, media1)},
			want: []string{"open room:yz-hall-1"}},
		{name: "partial and awaiting health: settled is not enough",
			book: Book{pN.Key: track(true, 10*time.Minute-4*time.Second, "")}, seen: []correlate.Problem{awaiting(partial(pN), media1)},
			want: []string{"recheck yz-media-1"}},
	})
}

func TestPlanMerge(t *testing.T) {
	incS := func() incident.Incident { return opened("INC-000001", pS, 0) }
	incB := func() incident.Incident { return opened("INC-000002", pB, time.Minute) }
	runCases(t, []planCase{
		{name: "into the server's incident that explains its rooms",
			seen: []correlate.Problem{pS}, incs: incs(fixed(incS()), fixed(incB())),
			want: []string{"update INC-000001 server:yz-media-1 material=false", "merge INC-000002 into INC-000001 server:yz-media-1"}},
		{name: "into an uplink's incident",
			seen: []correlate.Problem{pU}, incs: incs(fixed(opened("INC-000001", pU, 0)), fixed(incB())),
			want: []string{"update INC-000001 uplink:yz material=false", "merge INC-000002 into INC-000001 uplink:yz"}},
		{name: "not into a network path's incident: resolved as explained otherwise",
			seen: []correlate.Problem{problem(vocab.CauseNetwork, "gy", hall1, hall2)},
			incs: incs(fixed(opened("INC-000001", problem(vocab.CauseNetwork, "gy", hall1, hall2), 0)), fixed(incB())),
			want: []string{"update INC-000001 network:gy material=false", "resolve INC-000002 at 1m0s"}},
		{name: "not into a server explaining only some of its rooms",
			seen: []correlate.Problem{pS1}, ok: []string{hall2},
			incs: incs(fixed(opened("INC-000001", pS1, 0)), fixed(opened("INC-000002", problem(vocab.CauseNetwork, "gy", hall1, hall2), time.Minute))),
			want: []string{"update INC-000001 server:yz-media-1 material=false", "resolve INC-000002 at 1m0s"}},
		{name: "the merge says why",
			seen: []correlate.Problem{pS}, incs: incs(fixed(incB()), fixed(incS())),
			want: []string{"update INC-000001 server:yz-media-1 material=false", "merge INC-000002 into INC-000001 server:yz-media-1"}},
	})
	t.Run("the merge's text", func(t *testing.T) {
		_, actions := Plan(nil, Input{Now: at(10 * time.Minute), Leading: at(-time.Hour), Correlation: view([]correlate.Problem{pS}, nil, nil),
			Incidents: []incident.Incident{incS(), incB()}}, policy())
		if len(actions) != 2 || actions[1].Text != "its rooms' trouble is explained by server yz-media-1" || actions[1].Problem.Key != pS.Key {
			t.Errorf("actions %+v", actions)
		}
	})
}

func TestPlanRetarget(t *testing.T) {
	pS2 := problem(vocab.CauseServer, media2, hall2, hall3)
	runCases(t, []planCase{
		{name: "to the unbound problem that took its rooms over",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{pS}, incs: incs(fixed(incA())),
			want: []string{"retarget INC-000001 server:yz-media-1"},
			wantBook: []string{
				"room:yz-hall-1 present=false since=- incident=INC-000001 fading=-",
				"server:yz-media-1 present=true since=10m0s incident=INC-000001 fading=-",
			}},
		{name: "lowered: the server's incident to the room's own problem",
			seen: []correlate.Problem{pA}, incs: incs(fixed(opened("INC-000001", pS1, 0))),
			want: []string{"retarget INC-000001 room:yz-hall-1"}},
		{name: "to the one sharing the most rooms; the other opens",
			seen: []correlate.Problem{pS1, pS2},
			incs: incs(fixed(opened("INC-000001", problem(vocab.CauseNetwork, "gy", hall1, hall2, hall3), 0))),
			want: []string{"retarget INC-000001 server:yz-media-2", "open server:yz-media-1"}},
		{name: "waits while that problem is not believed yet",
			book: Book{pA.Key: track(true, 0, "INC-000001"), pN.Key: track(true, 10*time.Minute-time.Second, "")},
			seen: []correlate.Problem{partial(pN)}, incs: incs(fixed(incA())),
			want: []string{},
			wantBook: []string{
				"network:gy present=true since=9m59s incident=- fading=-",
				"room:yz-hall-1 present=false since=- incident=INC-000001 fading=-",
			}},
		{name: "waits while that problem awaits health",
			seen: []correlate.Problem{awaiting(pA, media1)}, incs: incs(fixed(opened("INC-000001", pN, 0))),
			want: []string{"recheck yz-media-1"}},
		{name: "a problem whose symptoms ended takes nothing over",
			seen: []correlate.Problem{clearing(pS, 9*time.Minute)}, incs: incs(fixed(seenAt(incA(), pA, 8*time.Minute))),
			want: []string{"resolve INC-000001 at 8m0s", "open server:yz-media-1"}},
		{name: "an incident whose symptoms ended is resolved, not retargeted",
			seen: []correlate.Problem{pS}, incs: incs(fixed(clearingSince(incA(), 8*time.Minute))),
			want: []string{"resolve INC-000001 at 8m0s", "open server:yz-media-1"}},
		{name: "a problem with its own incident is not taken over",
			seen: []correlate.Problem{pN}, incs: incs(fixed(seenAt(incA(), pA, 9*time.Minute)), fixed(opened("INC-000002", pN, time.Minute))),
			want: []string{"update INC-000002 network:gy material=false", "resolve INC-000001 at 9m0s"}},
	})
}

func TestPlanResolve(t *testing.T) {
	runCases(t, []planCase{
		{name: "as of when its symptoms ended",
			seen: nil, ok: []string{hall1}, incs: incs(fixed(clearingSince(seenAt(incA(), pA, 9*time.Minute), 8*time.Minute))),
			want: []string{"resolve INC-000001 at 8m0s"},
			text: "recovered: symptoms ended at 2026-11-02T09:38:00Z"},
		{name: "as of when its symptoms ended, even out of sight",
			unknown: []string{hall1}, incs: incs(fixed(clearingSince(incA(), 8*time.Minute))),
			want: []string{"resolve INC-000001 at 8m0s"}},
		{name: "as of when last seen, its rooms explained otherwise",
			seen: []correlate.Problem{pN}, incs: incs(fixed(seenAt(incA(), pA, 9*time.Minute)), fixed(opened("INC-000002", pN, 9*time.Minute))),
			want: []string{"update INC-000002 network:gy material=false", "resolve INC-000001 at 9m0s"}},
		{name: "the text names what explains its rooms now",
			seen: []correlate.Problem{pN}, incs: incs(fixed(opened("INC-000002", pN, 9*time.Minute)), fixed(seenAt(incA(), pA, 9*time.Minute))),
			want: []string{"update INC-000002 network:gy material=false", "resolve INC-000001 at 9m0s"}},
		{name: "as of when its first symptom stopped, if earlier",
			book: Book{pA.Key: Track{Present: true, Since: t0, Incident: "INC-000001", Fading: at(7 * time.Minute)}},
			ok:   []string{hall1}, incs: incs(fixed(seenAt(incA(), pA, 9*time.Minute))),
			want: []string{"resolve INC-000001 at 7m0s"}},
		{name: "a first symptom stopping after it was last seen does not count",
			book: Book{pA.Key: Track{Present: true, Since: t0, Incident: "INC-000001", Fading: at(9*time.Minute + 30*time.Second)}},
			ok:   []string{hall1}, incs: incs(fixed(seenAt(incA(), pA, 9*time.Minute))),
			want: []string{"resolve INC-000001 at 9m0s"}},
		{name: "never seen: as of now",
			ok: []string{hall1}, incs: incs(func(*testing.T) incident.Incident {
				inc := incA()
				inc.LastSeen = time.Time{}
				return inc
			}),
			want: []string{"resolve INC-000001 at 10m0s"}},
		{name: "its rooms seen fine",
			ok: []string{hall1}, incs: incs(fixed(seenAt(incA(), pA, 9*time.Minute))),
			want: []string{"resolve INC-000001 at 9m0s"},
			text: "its trouble as room yz-hall-1 is over (last seen 2026-11-02T09:39:00Z); resolved automatically"},
	})
	t.Run("the text names what explains its rooms", func(t *testing.T) {
		_, actions := Plan(nil, Input{Now: at(10 * time.Minute), Leading: at(-time.Hour), Correlation: view([]correlate.Problem{pN}, nil, nil),
			Incidents: []incident.Incident{seenAt(incA(), pA, 9*time.Minute), opened("INC-000002", pN, 9*time.Minute)}}, policy())
		if len(actions) != 2 || actions[1].Kind != Resolve || !strings.Contains(actions[1].Text, "what remains is explained by network path to gy") {
			t.Errorf("actions %+v", actions)
		}
	})
}

func TestPlanUnobserved(t *testing.T) {
	both := func() incident.Incident {
		return opened("INC-000001", problem(vocab.CauseNetwork, "gy", hall1, hall2), 0)
	}
	serverNoRooms := func() incident.Incident {
		p := pS1
		p.Explains = nil
		return opened("INC-000001", p, 0)
	}
	runCases(t, []planCase{
		{name: "nobody sees its rooms: noted",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, unknown: []string{hall1}, incs: incs(fixed(incA())),
			want:     []string{"unobserved INC-000001"},
			wantBook: []string{"room:yz-hall-1 present=false since=- incident=INC-000001 fading=-"}},
		{name: "a room missing from the views is not seen",
			incs: incs(fixed(incA())),
			want: []string{"unobserved INC-000001"}},
		{name: "noted once",
			unknown: []string{hall1}, incs: incs(func(t *testing.T) incident.Incident {
				inc, err := incident.MarkUnobserved(incA(), at(time.Minute), "out of sight")
				if err != nil {
					t.Fatal(err)
				}
				return inc
			}),
			want: []string{}},
		{name: "one of its rooms seen: resolved",
			unknown: []string{hall1}, ok: []string{hall2}, incs: incs(fixed(both())),
			want: []string{"resolve INC-000001 at 0s"}},
		{name: "a server incident with no room in trouble: its place's rooms",
			unknown: []string{hall1}, incs: incs(fixed(serverNoRooms())),
			want: []string{"unobserved INC-000001"}},
	})
}

func TestPlanTakeoverGrace(t *testing.T) {
	runCases(t, []planCase{
		{name: "nothing resolved in the grace",
			leading: 10*time.Minute - 10*time.Second, ok: []string{hall1}, incs: incs(fixed(clearingSince(incA(), 8*time.Minute))),
			want: []string{}},
		{name: "nothing resolved as explained otherwise in the grace",
			leading: 10*time.Minute - 10*time.Second, ok: []string{hall1}, incs: incs(fixed(incA())),
			want: []string{}},
		{name: "no out-of-sight note in the grace",
			leading: 10*time.Minute - 34*time.Second, unknown: []string{hall1}, incs: incs(fixed(incA())),
			want: []string{}},
		{name: "merges go on in the grace",
			leading: 10*time.Minute - time.Second, seen: []correlate.Problem{pS},
			incs: incs(fixed(opened("INC-000001", pS, 0)), fixed(opened("INC-000002", pB, time.Minute))),
			want: []string{"update INC-000001 server:yz-media-1 material=false", "merge INC-000002 into INC-000001 server:yz-media-1"}},
		{name: "retargets go on in the grace",
			leading: 10*time.Minute - time.Second, seen: []correlate.Problem{pS}, incs: incs(fixed(incA())),
			want: []string{"retarget INC-000001 server:yz-media-1"}},
		{name: "opens go on in the grace",
			leading: 10*time.Minute - time.Second, seen: []correlate.Problem{pA},
			want: []string{"open room:yz-hall-1"}},
		{name: "the grace is over after takeover_grace",
			leading: 10*time.Minute - 35*time.Second, ok: []string{hall1}, incs: incs(fixed(clearingSince(incA(), 8*time.Minute))),
			want: []string{"resolve INC-000001 at 8m0s"}},
	})
}

func TestPlanRelapse(t *testing.T) {
	gone := Book{pA.Key: track(false, 0, "INC-000001")}
	runCases(t, []planCase{
		{name: "back within reopen_within: reopened",
			book: gone, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want:     []string{"reopen INC-000001 room:yz-hall-1"},
			wantBook: []string{"room:yz-hall-1 present=true since=10m0s incident=INC-000001 fading=-"}},
		{name: "back exactly reopen_within after: reopened",
			now: 32 * time.Minute, book: gone, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want: []string{"reopen INC-000001 room:yz-hall-1"}},
		{name: "back after reopen_within: a new incident",
			now: 32*time.Minute + time.Second, book: gone, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want: []string{"open room:yz-hall-1"}},
		{name: "back within reopen_within as of the watchdog's resolution",
			book: gone, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident {
				return must(t, incA(), incident.Action{Kind: incident.ActResolve, Actor: incident.Actor, At: at(3 * time.Minute), ResolvedAt: at(2 * time.Minute)})
			}),
			want: []string{"reopen INC-000001 room:yz-hall-1"}},
		{name: "back after sign-off: a new incident",
			book: gone, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident { return signedOff(t, incA(), 2*time.Minute) }),
			want: []string{"open room:yz-hall-1"}},
		{name: "present since before a person resolved it: nothing",
			book: Book{pA.Key: track(true, time.Minute, "INC-000001")}, seen: []correlate.Problem{pA},
			incs:     incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 5*time.Minute) }),
			want:     []string{},
			wantBook: []string{"room:yz-hall-1 present=true since=1m0s incident=INC-000001 fading=-"}},
		{name: "present since before sign-off: nothing",
			book: Book{pA.Key: track(true, time.Minute, "INC-000001")}, seen: []correlate.Problem{pA},
			incs: incs(func(t *testing.T) incident.Incident { return signedOff(t, incA(), 5*time.Minute) }),
			want: []string{}},
		{name: "present since before a resolution longer ago than reopen_within: still nothing",
			now: time.Hour, book: Book{pA.Key: track(true, time.Minute, "INC-000001")}, seen: []correlate.Problem{pA},
			incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 5*time.Minute) }),
			want: []string{}},
		{name: "the key of a merged incident opens anew",
			book: Book{pB.Key: track(false, 0, "INC-000002")}, seen: []correlate.Problem{pB},
			incs: incs(func(t *testing.T) incident.Incident {
				c, _, err := incident.Merge(opened("INC-000002", pB, 0), opened("INC-000001", pS, 0), at(time.Minute), "explained")
				if err != nil {
					t.Fatal(err)
				}
				return c
			}),
			want: []string{"open room:yz-hall-2"}},
	})
}

func TestPlanBreach(t *testing.T) {
	present := Book{pA.Key: track(true, 0, "INC-000001")}
	runCases(t, []planCase{
		{name: "active past its deadline",
			now: 61 * time.Minute, book: present, seen: []correlate.Problem{pA}, incs: incs(fixed(incA())),
			want: []string{"update INC-000001 room:yz-hall-1 material=false", "breach INC-000001"}},
		{name: "at its deadline",
			now: time.Hour, book: present, seen: []correlate.Problem{pA}, incs: incs(fixed(incA())),
			want: []string{"update INC-000001 room:yz-hall-1 material=false", "breach INC-000001"}},
		{name: "before its deadline",
			now: 59 * time.Minute, book: present, seen: []correlate.Problem{pA}, incs: incs(fixed(incA())),
			want: []string{"update INC-000001 room:yz-hall-1 material=false"}},
		{name: "breached already",
			now: 61 * time.Minute, book: present, seen: []correlate.Problem{pA}, incs: incs(func(t *testing.T) incident.Incident {
				return must(t, incA(), incident.Action{Kind: incident.ActBreach, Actor: incident.Actor, At: at(time.Hour)})
			}),
			want: []string{"update INC-000001 room:yz-hall-1 material=false"}},
		{name: "its symptoms ended before the deadline",
			now: 61 * time.Minute, book: present, seen: []correlate.Problem{clearing(pA, 50*time.Minute)},
			incs: incs(fixed(clearingSince(incA(), 50*time.Minute))),
			want: []string{"update INC-000001 room:yz-hall-1 material=false"}},
		{name: "its symptoms ended after the deadline",
			now: 61 * time.Minute, book: present, seen: []correlate.Problem{clearing(pA, 60*time.Minute+30*time.Second)},
			incs: incs(fixed(clearingSince(incA(), 60*time.Minute+30*time.Second))),
			want: []string{"update INC-000001 room:yz-hall-1 material=false", "breach INC-000001"}},
		{name: "resolved this tick: the resolution records the breach",
			now: 61 * time.Minute, ok: []string{hall1}, incs: incs(fixed(clearingSince(incA(), 60*time.Minute+30*time.Second))),
			want: []string{"resolve INC-000001 at 1h0m30s"}},
		{name: "merged this tick: counted in the other",
			now: 62 * time.Minute, seen: []correlate.Problem{pS},
			incs: incs(fixed(opened("INC-000001", pS, 0)), fixed(opened("INC-000002", pB, 0))),
			want: []string{"update INC-000001 server:yz-media-1 material=false", "merge INC-000002 into INC-000001 server:yz-media-1"}},
		{name: "out of sight past its deadline",
			now: 61 * time.Minute, unknown: []string{hall1}, incs: incs(fixed(incA())),
			want: []string{"unobserved INC-000001", "breach INC-000001"}},
		{name: "in the takeover grace too",
			now: 61 * time.Minute, leading: 61*time.Minute - 10*time.Second, unknown: []string{hall1}, incs: incs(fixed(incA())),
			want: []string{"breach INC-000001"}},
		{name: "a resolved incident",
			now: 2 * time.Hour, book: Book{pA.Key: track(false, 0, "INC-000001")},
			incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 90*time.Minute) }),
			want: []string{}},
	})
}

func TestPlanBook(t *testing.T) {
	runCases(t, []planCase{
		{name: "forgets a key with no incident once it is gone",
			book: Book{pN.Key: track(true, 9*time.Minute, "")},
			want: []string{}, wantBook: []string{}},
		{name: "forgets a merged incident's key",
			book: Book{pB.Key: track(false, 0, "INC-000002")},
			incs: incs(func(t *testing.T) incident.Incident {
				c, _, err := incident.Merge(opened("INC-000002", pB, 0), opened("INC-000001", pS, 0), at(time.Minute), "explained")
				if err != nil {
					t.Fatal(err)
				}
				return c
			}),
			want: []string{}, wantBook: []string{}},
		{name: "forgets a key resolved longer ago than reopen_within",
			now: 32*time.Minute + time.Second, book: Book{pA.Key: track(false, 0, "INC-000001")},
			incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want: []string{}, wantBook: []string{}},
		{name: "forgets a key signed off longer ago than reopen_within",
			now: 40 * time.Minute, book: Book{pA.Key: track(false, 0, "INC-000001")},
			incs: incs(func(t *testing.T) incident.Incident { return signedOff(t, incA(), 2*time.Minute) }),
			want: []string{}, wantBook: []string{}},
		{name: "forgets a key whose incident is gone",
			book: Book{pA.Key: track(false, 0, "INC-000404")},
			want: []string{}, wantBook: []string{}},
		{name: "keeps a key resolved within reopen_within",
			now: 20 * time.Minute, book: Book{pA.Key: track(false, 0, "INC-000001")},
			incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want: []string{}, wantBook: []string{"room:yz-hall-1 present=false since=- incident=INC-000001 fading=-"}},
		{name: "keeps a key resolved by hand while present, however long ago",
			now: 2 * time.Hour, book: Book{pA.Key: track(true, 0, "INC-000001")}, seen: []correlate.Problem{pA},
			incs: incs(func(t *testing.T) incident.Incident { return resolved(t, incA(), 2*time.Minute) }),
			want: []string{}, wantBook: []string{"room:yz-hall-1 present=true since=0s incident=INC-000001 fading=-"}},
		{name: "keeps an active incident's key while it is out of sight",
			book: Book{pA.Key: track(true, 0, "INC-000001")}, unknown: []string{hall1}, incs: incs(func(t *testing.T) incident.Incident {
				inc, _ := incident.MarkUnobserved(incA(), at(time.Minute), "out of sight")
				return inc
			}),
			want: []string{}, wantBook: []string{"room:yz-hall-1 present=false since=- incident=INC-000001 fading=-"}},
	})
	t.Run("Needs names the book's incidents once, sorted", func(t *testing.T) {
		b := Book{
			"room:a":   {Incident: "INC-000003"},
			"server:x": {Incident: "INC-000001"},
			"room:b":   {Incident: "INC-000003"},
			"room:c":   {Present: true, Since: t0},
		}
		if got := b.Needs(); !slices.Equal(got, []string{"INC-000001", "INC-000003"}) {
			t.Errorf("needs %q", got)
		}
		if got := Book(nil).Needs(); len(got) != 0 {
			t.Errorf("needs of nothing %q", got)
		}
	})
}

func TestPolicyOf(t *testing.T) {
	p := policy()
	if p.Settle != 3*time.Second || p.HealthWait != 5*time.Second || p.TakeoverGrace != 35*time.Second || p.Incidents.ReopenWithin != 30*time.Minute {
		t.Errorf("policy %+v", p)
	}
}

func TestActionString(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Action{Kind: Open, Problem: &pA}, "open room:yz-hall-1"},
		{Action{Kind: Merge, Incident: "INC-000002", Into: "INC-000001", Problem: &pS}, "merge INC-000002 into INC-000001 server:yz-media-1"},
		{Action{Kind: Recheck, Servers: []string{media1, media2}}, "recheck yz-media-1,yz-media-2"},
		{Action{Kind: Breach, Incident: "INC-000001"}, "breach INC-000001"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.a.String(); got != tt.want {
				t.Errorf("got %q", got)
			}
		})
	}
}
