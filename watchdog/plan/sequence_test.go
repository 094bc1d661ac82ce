package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// rig runs the planner tick after tick the way the leader does: the book it
// returned is fed back, its actions are carried out on a MemStore by the
// real Executor, and the next tick reads the incidents back.
type rig struct {
	t        *testing.T
	store    *incident.MemStore
	x        *Executor
	book     Book
	leading  time.Time
	rechecks [][]string
}

func newRig(t *testing.T, leading time.Time) *rig {
	r := &rig{t: t, store: incident.NewMemStore(policy().Incidents), leading: leading}
	r.x = &Executor{Store: r.store, Policy: policy(), Recheck: func(s []string) { r.rechecks = append(r.rechecks, slices.Clone(s)) }}
	return r
}

// incidents are what the leader gives Plan: the active ones and those the
// book names.
func (r *rig) incidents() []incident.Incident {
	r.t.Helper()
	ctx := r.t.Context()
	out, err := r.store.Active(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	more, err := r.store.GetMany(ctx, r.book.Needs())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, inc := range more {
		if !slices.ContainsFunc(out, func(o incident.Incident) bool { return o.ID == inc.ID }) {
			out = append(out, inc)
		}
	}
	return out
}

// tick plans at a time and carries the plan out; it returns the actions.
func (r *rig) tick(now time.Time, c correlate.Result) []string {
	r.t.Helper()
	book, actions := Plan(r.book, Input{Now: now, Leading: r.leading, Correlation: c, Incidents: r.incidents()}, policy())
	r.book = book
	results := r.x.Execute(r.t.Context(), actions, now)
	r.book.Bind(results) // as the leader does
	for _, res := range results {
		if res.Err != nil {
			r.t.Errorf("%s: %v", show(res.Action), res.Err)
		}
	}
	return shows(actions)
}

func (r *rig) get(id string) incident.Incident {
	r.t.Helper()
	inc, err := r.store.Get(r.t.Context(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

func (r *rig) all() []incident.Incident {
	r.t.Helper()
	incs, err := r.store.List(r.t.Context(), incident.Filter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return incs
}

func (r *rig) act(id string, a incident.Action) {
	r.t.Helper()
	if _, err := r.store.Act(r.t.Context(), id, a); err != nil {
		r.t.Fatal(err)
	}
}

// step is one tick: a person's doing before it, what correlation sees, the
// actions expected, and checks after the actions were carried out.
type step struct {
	at          time.Duration
	do          func(r *rig)
	seen        []correlate.Problem
	ok, unknown []string
	want        []string
	check       func(t *testing.T, r *rig)
}

func runSteps(t *testing.T, leading time.Duration, steps []step) {
	t.Helper()
	r := newRig(t, at(leading))
	for _, s := range steps {
		if s.do != nil {
			s.do(r)
		}
		got := r.tick(at(s.at), view(s.seen, s.ok, s.unknown))
		want := s.want
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("at %s: actions\n got %q\nwant %q", s.at, got, want)
		}
		if s.check != nil {
			s.check(t, r)
		}
	}
}

func ids(incs []incident.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.ID+" "+string(inc.State))
	}
	return out
}

func hasKey(b Book, key string) bool { _, ok := b[key]; return ok }

const (
	open1      = "open room:yz-hall-1"
	updA       = "update INC-000001 room:yz-hall-1 material=false"
	updAMat    = "update INC-000001 room:yz-hall-1 material=true"
	breach1    = "breach INC-000001"
	inc1       = "INC-000001"
	inc2       = "INC-000002"
	stResolved = incident.StateResolved
)

func TestSequences(t *testing.T) {
	// lifecycle opens room yz-hall-1's incident at 0 s, sees its symptoms
	// end at 5 s and resolves it at 20 s as of then.
	lifecycle := []step{
		{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
		{at: 10 * time.Second, seen: []correlate.Problem{clearing(pA, 5*time.Second)}, want: []string{updAMat}},
		{at: 20 * time.Second, ok: []string{hall1}, want: []string{"resolve INC-000001 at 5s"}},
	}
	tests := []struct {
		name    string
		leading time.Duration
		steps   []step
	}{
		{"opened, updated, clearing, resolved as of when the symptoms ended", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}, check: func(t *testing.T, r *rig) {
				inc := r.get(inc1)
				if inc.State != incident.StateOpen || inc.Key != pA.Key || !inc.Deadline.Equal(at(time.Hour)) {
					t.Errorf("opened %s %s deadline %s", inc.State, inc.Key, inc.Deadline)
				}
			}},
			{at: time.Second, seen: []correlate.Problem{worse(pA, 600)}, want: []string{updA}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.Phenomenon.RTTP95MS != 600 || inc.Version != 2 {
					t.Errorf("figures %+v v%d", inc.Phenomenon, inc.Version)
				}
			}},
			{at: 40 * time.Second, seen: []correlate.Problem{clearing(pA, 30*time.Second)}, want: []string{updAMat}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); !inc.ClearingSince.Equal(at(30 * time.Second)) {
					t.Errorf("clearing since %s", inc.ClearingSince)
				}
			}},
			{at: 61 * time.Second, ok: []string{hall1}, want: []string{"resolve INC-000001 at 30s"}, check: func(t *testing.T, r *rig) {
				inc := r.get(inc1)
				if inc.State != stResolved || !inc.ResolvedAt.Equal(at(30*time.Second)) || inc.HandlingTime(at(time.Hour)) != 30*time.Second || inc.Breached {
					t.Errorf("resolved %s at %s handling %s breached %v", inc.State, inc.ResolvedAt, inc.HandlingTime(at(time.Hour)), inc.Breached)
				}
				if !strings.HasPrefix(inc.Result, "recovered: symptoms ended at 2026-11-02T09:30:30Z") {
					t.Errorf("result %q", inc.Result)
				}
			}},
			{at: 62 * time.Second, ok: []string{hall1}, check: func(t *testing.T, r *rig) {
				if tr := r.book[pA.Key]; tr.Present || tr.Incident != inc1 {
					t.Errorf("book %q", bookLines(r.book))
				}
			}},
		}},
		{"a relapse within reopen_within reopens the incident", -time.Hour, append(slices.Clone(lifecycle),
			step{at: 10 * time.Minute, seen: []correlate.Problem{pA}, want: []string{"reopen INC-000001 room:yz-hall-1"}, check: func(t *testing.T, r *rig) {
				inc := r.get(inc1)
				if inc.State != incident.StateOpen || inc.Reopens != 1 || !inc.ResolvedAt.IsZero() || len(r.all()) != 1 {
					t.Errorf("reopened %s reopens %d, incidents %q", inc.State, inc.Reopens, ids(r.all()))
				}
			}},
			step{at: 10*time.Minute + time.Second, seen: []correlate.Problem{pA}, want: []string{updA}},
		)},
		{"a relapse after reopen_within opens a new incident", -time.Hour, append(slices.Clone(lifecycle),
			step{at: 20 * time.Minute, ok: []string{hall1}},
			step{at: 31 * time.Minute, ok: []string{hall1}, check: func(t *testing.T, r *rig) {
				if hasKey(r.book, pA.Key) {
					t.Errorf("book still remembers %s: %q", pA.Key, bookLines(r.book))
				}
			}},
			step{at: 32 * time.Minute, seen: []correlate.Problem{pA}, want: []string{open1}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 resolved", "INC-000002 open"}) {
					t.Errorf("incidents %q", got)
				}
			}},
		)},
		{"a relapse after reopen_within, no tick between, opens a new incident", -time.Hour, append(slices.Clone(lifecycle),
			step{at: 40 * time.Minute, seen: []correlate.Problem{pA}, want: []string{open1}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 resolved", "INC-000002 open"}) || r.get(inc1).Reopens != 0 {
					t.Errorf("incidents %q", got)
				}
			}},
			step{at: 40*time.Minute + time.Second, seen: []correlate.Problem{pA}, want: []string{"update INC-000002 room:yz-hall-1 material=false"}, check: func(t *testing.T, r *rig) {
				if r.book[pA.Key].Incident != inc2 {
					t.Errorf("book %q", bookLines(r.book))
				}
			}},
		)},
		{"resolved by hand while present: nothing until it has gone once, then the relapse reopens", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 30 * time.Second, seen: []correlate.Problem{pA}, want: []string{updA}},
			{at: time.Minute, do: func(r *rig) {
				r.act(inc1, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: at(time.Minute), Text: "restarted the hall"})
			}, seen: []correlate.Problem{pA}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 resolved"}) {
					t.Errorf("incidents %q", got)
				}
			}},
			{at: 2 * time.Minute, seen: []correlate.Problem{pA}},
			{at: 3 * time.Minute, seen: []correlate.Problem{dropped(pA)}},
			{at: 4 * time.Minute, ok: []string{hall1}},
			{at: 5 * time.Minute, seen: []correlate.Problem{pA}, want: []string{"reopen INC-000001 room:yz-hall-1"}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 open"}) {
					t.Errorf("incidents %q", got)
				}
			}},
		}},
		{"resolved by hand before the next tick: still nothing while present", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 100 * time.Millisecond, do: func(r *rig) {
				r.act(inc1, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: at(100 * time.Millisecond)})
			}, seen: []correlate.Problem{pA}},
			{at: time.Second, seen: []correlate.Problem{pA}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 resolved"}) {
					t.Errorf("incidents %q", got)
				}
			}},
		}},
		{"signed off while present: a new incident only after it has gone once", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 30 * time.Second, seen: []correlate.Problem{pA}, want: []string{updA}},
			{at: time.Minute, do: func(r *rig) {
				r.act(inc1, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: at(time.Minute)})
				r.act(inc1, incident.Action{Kind: incident.ActSignOff, Actor: "李主任", At: at(time.Minute)})
			}, seen: []correlate.Problem{pA}},
			{at: 2 * time.Minute, seen: []correlate.Problem{pA}},
			{at: 3 * time.Minute, ok: []string{hall1}},
			{at: 4 * time.Minute, seen: []correlate.Problem{pA}, want: []string{open1}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 signed_off", "INC-000002 open"}) {
					t.Errorf("incidents %q", got)
				}
			}},
		}},
		{"a room's cause refined to its server, then the second room's incident merged into it", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA, pB}, want: []string{open1, "open room:yz-hall-2"}},
			{at: 10 * time.Second, seen: []correlate.Problem{pS1, pB},
				want: []string{"update INC-000002 room:yz-hall-2 material=false", "retarget INC-000001 server:yz-media-1"},
				check: func(t *testing.T, r *rig) {
					inc := r.get(inc1)
					if inc.Key != pS1.Key || inc.Cause != "server" || inc.Class != "partial" || !inc.Deadline.Equal(at(2*time.Hour)) {
						t.Errorf("refined: %s %s %s deadline %s", inc.Key, inc.Cause, inc.Class, inc.Deadline)
					}
					if !slices.ContainsFunc(inc.Timeline, func(e incident.Entry) bool {
						return e.Kind == "cause" && strings.HasPrefix(e.Text, "cause refined: room yz-hall-1 → server yz-media-1")
					}) {
						t.Errorf("no refinement in the timeline")
					}
				}},
			{at: 20 * time.Second, seen: []correlate.Problem{pS},
				want: []string{"update INC-000001 server:yz-media-1 material=true", "merge INC-000002 into INC-000001 server:yz-media-1"},
				check: func(t *testing.T, r *rig) {
					parent, child := r.get(inc1), r.get(inc2)
					if child.State != incident.StateMerged || child.MergedInto != inc1 || child.Counted() {
						t.Errorf("child %s into %q", child.State, child.MergedInto)
					}
					if !slices.Equal(parent.MergedFrom, []string{inc2}) || !slices.Equal(parent.Place.Rooms, []string{hall1, hall2}) {
						t.Errorf("parent from %q rooms %q", parent.MergedFrom, parent.Place.Rooms)
					}
					if !slices.ContainsFunc(parent.Timeline, func(e incident.Entry) bool { return e.From == inc2 && e.Kind == "opened" }) {
						t.Errorf("the child's record did not move into the parent's timeline")
					}
					if act, _ := r.store.Active(t.Context()); len(act) != 1 || act[0].ID != inc1 {
						t.Errorf("active %q", ids(act))
					}
				}},
			{at: 21 * time.Second, seen: []correlate.Problem{pS}, want: []string{"update INC-000001 server:yz-media-1 material=false"}, check: func(t *testing.T, r *rig) {
				if hasKey(r.book, pB.Key) {
					t.Errorf("book still remembers the merged key: %q", bookLines(r.book))
				}
			}},
		}},
		{"a server's incident lowered to the room", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pS1}, want: []string{"open server:yz-media-1"}},
			{at: 10 * time.Second, seen: []correlate.Problem{pA}, want: []string{"retarget INC-000001 room:yz-hall-1"}, check: func(t *testing.T, r *rig) {
				inc := r.get(inc1)
				if inc.Key != pA.Key || inc.Cause != "room" || inc.Class != "partial" {
					t.Errorf("lowered: %s %s %s", inc.Key, inc.Cause, inc.Class)
				}
				if !slices.ContainsFunc(inc.Timeline, func(e incident.Entry) bool {
					return e.Kind == "cause" && strings.HasPrefix(e.Text, "cause lowered: server yz-media-1 → room yz-hall-1")
				}) {
					t.Errorf("no lowering in the timeline")
				}
			}},
			{at: 11 * time.Second, seen: []correlate.Problem{pA}, want: []string{updA}},
		}},
		{"nothing is resolved in the takeover grace", 0, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 5 * time.Second, seen: []correlate.Problem{clearing(pA, 3*time.Second)}, want: []string{updAMat}},
			{at: 10 * time.Second, ok: []string{hall1}},
			{at: 34 * time.Second, ok: []string{hall1}},
			{at: 35 * time.Second, ok: []string{hall1}, want: []string{"resolve INC-000001 at 3s"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.State != stResolved || !inc.ResolvedAt.Equal(at(3*time.Second)) {
					t.Errorf("%s at %s", inc.State, inc.ResolvedAt)
				}
			}},
		}},
		{"out of sight: noted once, seen again, then resolved", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 5 * time.Second, unknown: []string{hall1}, want: []string{"unobserved INC-000001"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); !inc.Unobserved || inc.State != incident.StateOpen {
					t.Errorf("unobserved %v %s", inc.Unobserved, inc.State)
				}
			}},
			{at: 10 * time.Second, unknown: []string{hall1}},
			{at: 12 * time.Second},
			{at: 15 * time.Second, seen: []correlate.Problem{pA}, want: []string{updAMat}, check: func(t *testing.T, r *rig) {
				inc := r.get(inc1)
				notes := 0
				for _, e := range inc.Timeline {
					if e.Kind == "note" {
						notes++
					}
				}
				if inc.Unobserved || notes != 1 {
					t.Errorf("unobserved %v, %d notes", inc.Unobserved, notes)
				}
			}},
			{at: 20 * time.Second, ok: []string{hall1}, want: []string{"resolve INC-000001 at 15s"}},
		}},
		{"breached while the trouble goes on", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 30 * time.Minute, seen: []correlate.Problem{pA}, want: []string{updA}},
			{at: 61 * time.Minute, seen: []correlate.Problem{pA}, want: []string{updA, breach1}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); !inc.Breached || !inc.BreachedAt.Equal(at(time.Hour)) {
					t.Errorf("breached %v at %s", inc.Breached, inc.BreachedAt)
				}
			}},
			{at: 62 * time.Minute, seen: []correlate.Problem{pA}, want: []string{updA}},
			{at: 70 * time.Minute, ok: []string{hall1}, want: []string{"resolve INC-000001 at 1h2m0s"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.State != stResolved || !inc.Breached || inc.HandlingTime(at(2*time.Hour)) != 62*time.Minute {
					t.Errorf("%s breached %v handling %s", inc.State, inc.Breached, inc.HandlingTime(at(2*time.Hour)))
				}
			}},
		}},
		{"recovered before the deadline: never breached", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 55 * time.Minute, seen: []correlate.Problem{clearing(pA, 50*time.Minute)}, want: []string{updAMat}},
			{at: 61 * time.Minute, seen: []correlate.Problem{clearing(pA, 50*time.Minute)}, want: []string{updA}},
			{at: 62 * time.Minute, ok: []string{hall1}, want: []string{"resolve INC-000001 at 50m0s"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.State != stResolved || inc.Breached || !inc.ResolvedAt.Equal(at(50*time.Minute)) {
					t.Errorf("%s at %s breached %v", inc.State, inc.ResolvedAt, inc.Breached)
				}
			}},
		}},
		{"the symptoms ended after the deadline: breached", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 61 * time.Minute, seen: []correlate.Problem{clearing(pA, 60*time.Minute+30*time.Second)}, want: []string{updAMat, breach1}},
			{at: 62 * time.Minute, ok: []string{hall1}, want: []string{"resolve INC-000001 at 1h0m30s"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.State != stResolved || !inc.Breached || !inc.BreachedAt.Equal(at(time.Hour)) {
					t.Errorf("%s breached %v at %s", inc.State, inc.Breached, inc.BreachedAt)
				}
			}},
		}},
		{"the symptoms ended after the deadline, resolved before a breach was flagged", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{pA}, want: []string{open1}},
			{at: 59 * time.Minute, seen: []correlate.Problem{pA}, want: []string{updA}},
			{at: 62 * time.Minute, ok: []string{hall1}, want: []string{"resolve INC-000001 at 59m0s"}, check: func(t *testing.T, r *rig) {
				if inc := r.get(inc1); inc.State != stResolved || inc.Breached {
					t.Errorf("%s breached %v: last seen before the deadline", inc.State, inc.Breached)
				}
			}},
		}},
		{"a partial problem is believed after settle", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{partial(pN)}},
			{at: time.Second, seen: []correlate.Problem{partial(pN)}},
			{at: 2 * time.Second, seen: []correlate.Problem{partial(pN)}},
			{at: 3 * time.Second, seen: []correlate.Problem{partial(pN)}, want: []string{"open network:gy"}},
		}},
		{"a partial problem gone before settle never opens", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{partial(pN)}},
			{at: 2 * time.Second, ok: []string{hall1}, check: func(t *testing.T, r *rig) {
				if len(r.book) != 0 {
					t.Errorf("book %q", bookLines(r.book))
				}
			}},
			{at: 4 * time.Second, ok: []string{hall1}},
			{at: 5 * time.Second, seen: []correlate.Problem{partial(pN)}},
			{at: 7 * time.Second, seen: []correlate.Problem{partial(pN)}, check: func(t *testing.T, r *rig) {
				if len(r.all()) != 0 {
					t.Errorf("incidents %q", ids(r.all()))
				}
			}},
			{at: 8 * time.Second, seen: []correlate.Problem{partial(pN)}, want: []string{"open network:gy"}},
		}},
		{"servers rechecked while a room awaits their health, then the room opened", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{awaiting(pA, media1)}, want: []string{"recheck yz-media-1"}, check: func(t *testing.T, r *rig) {
				if len(r.rechecks) != 1 || !slices.Equal(r.rechecks[0], []string{media1}) {
					t.Errorf("rechecks %q", r.rechecks)
				}
			}},
			{at: 2 * time.Second, seen: []correlate.Problem{awaiting(pA, media1)}, want: []string{"recheck yz-media-1"}},
			{at: 5 * time.Second, seen: []correlate.Problem{awaiting(pA, media1)}, want: []string{open1}, check: func(t *testing.T, r *rig) {
				if len(r.rechecks) != 2 {
					t.Errorf("rechecks %q", r.rechecks)
				}
			}},
			{at: 6 * time.Second, seen: []correlate.Problem{pA}, want: []string{updA}},
		}},
		{"the server's health arrives in time: its problem opens, not the room's", -time.Hour, []step{
			{at: 0, seen: []correlate.Problem{awaiting(pA, media1)}, want: []string{"recheck yz-media-1"}},
			{at: time.Second, seen: []correlate.Problem{pS1}, want: []string{"open server:yz-media-1"}, check: func(t *testing.T, r *rig) {
				if got := ids(r.all()); !slices.Equal(got, []string{"INC-000001 open"}) || r.get(inc1).Key != pS1.Key {
					t.Errorf("incidents %q", got)
				}
			}},
			{at: 10 * time.Second, ok: []string{hall1}, want: []string{"resolve INC-000001 at 1s"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.leading, tt.steps) })
	}
}
