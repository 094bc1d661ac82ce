package plan

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func newExecutor(t *testing.T) (*incident.MemStore, *Executor) {
	t.Helper()
	s := incident.NewMemStore(policy().Incidents)
	return s, &Executor{Store: s, Policy: policy()}
}

func openIn(t *testing.T, s incident.Store, p correlate.Problem, when time.Duration) incident.Incident {
	t.Helper()
	inc, created, err := s.Open(t.Context(), p, at(when))
	if err != nil || !created {
		t.Fatalf("open %s: %v %v", p.Key, created, err)
	}
	return inc
}

func get(t *testing.T, s incident.Store, id string) incident.Incident {
	t.Helper()
	inc, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// TestExecutorFiguresEvery: an update that only carries figures is written
// at most every FiguresEvery per incident; material ones always.
func TestExecutorFiguresEvery(t *testing.T) {
	s, x := newExecutor(t)
	x.FiguresEvery = time.Minute
	res := x.Execute(t.Context(), []Action{{Kind: Open, Problem: &pA}}, t0)
	if len(res) != 1 || !res[0].Done || res[0].Err != nil {
		t.Fatalf("open: %+v", res)
	}
	id := res[0].Incident.ID
	steps := []struct {
		name     string
		at       time.Duration
		p        correlate.Problem
		material bool
		done     bool
		version  int64
		p95      float64
	}{
		{"figures 10 s after the opening: held", 10 * time.Second, worse(pA, 500), false, false, 1, 420},
		{"a material change: written", 20 * time.Second, dropped(pA), true, true, 2, 420},
		{"figures 30 s after the last write: held", 50 * time.Second, worse(pA, 600), false, false, 2, 420},
		{"figures a minute after the last write: written", 81 * time.Second, worse(pA, 600), false, true, 3, 600},
		{"figures right after: held", 90 * time.Second, worse(pA, 700), false, false, 3, 600},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p := st.p
			res := x.Execute(t.Context(), []Action{{Kind: Update, Incident: id, Problem: &p, Material: st.material}}, at(st.at))
			if len(res) != 1 || res[0].Done != st.done || res[0].Err != nil {
				t.Fatalf("result %+v", res)
			}
			if inc := get(t, s, id); inc.Version != st.version || inc.Phenomenon.RTTP95MS != st.p95 {
				t.Errorf("version %d p95 %g, want %d %g", inc.Version, inc.Phenomenon.RTTP95MS, st.version, st.p95)
			}
		})
	}
	t.Run("each incident has its own clock", func(t *testing.T) {
		other := openIn(t, s, pB, 0)
		q := worse(pB, 900)
		res := x.Execute(t.Context(), []Action{{Kind: Update, Incident: other.ID, Problem: &q}}, at(91*time.Second))
		if !res[0].Done {
			t.Errorf("result %+v", res[0])
		}
	})
}

func TestExecutorMerge(t *testing.T) {
	why := "its rooms' trouble is explained by server yz-media-1"
	setup := func(t *testing.T) (*incident.MemStore, *Executor, Action) {
		s, x := newExecutor(t)
		openIn(t, s, pS, 0)
		openIn(t, s, pB, time.Minute)
		return s, x, Action{Kind: Merge, Incident: inc2, Into: inc1, Problem: &pS, Text: why}
	}
	check := func(t *testing.T, s incident.Store) (parent, child incident.Incident) {
		t.Helper()
		parent, child = get(t, s, inc1), get(t, s, inc2)
		if child.State != incident.StateMerged || child.MergedInto != inc1 {
			t.Errorf("child %s into %q", child.State, child.MergedInto)
		}
		if !slices.Equal(parent.MergedFrom, []string{inc2}) || !parent.State.Active() {
			t.Errorf("parent %s from %q", parent.State, parent.MergedFrom)
		}
		return parent, child
	}

	t.Run("both records, the parent first", func(t *testing.T) {
		s, x, a := setup(t)
		res := x.Execute(t.Context(), []Action{a}, at(10*time.Minute))
		if len(res) != 1 || !res[0].Done || res[0].Err != nil || res[0].Incident.ID != inc2 || res[0].Incident.State != incident.StateMerged {
			t.Fatalf("result %+v", res)
		}
		check(t, s)
		var kinds []string
		for _, ev := range s.Events() {
			kinds = append(kinds, ev.Kind+" "+ev.Incident.ID)
		}
		if want := []string{"opened INC-000001", "opened INC-000002", "merged_in INC-000001", "merged INC-000002"}; !slices.Equal(kinds, want) {
			t.Errorf("events %q, want %q", kinds, want)
		}
	})

	t.Run("idempotent: run twice, the second changes nothing and fails nothing", func(t *testing.T) {
		s, x, a := setup(t)
		var logs bytes.Buffer
		x.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		x.Execute(t.Context(), []Action{a}, at(10*time.Minute))
		parent, child := check(t, s)
		events := len(s.Events())
		res := x.Execute(t.Context(), []Action{a}, at(11*time.Minute))
		if len(res) != 1 || res[0].Err != nil {
			t.Errorf("second run: %+v", res)
		}
		p2, c2 := check(t, s)
		if p2.Version != parent.Version || c2.Version != child.Version || len(p2.Timeline) != len(parent.Timeline) || len(s.Events()) != events {
			t.Errorf("second run wrote: parent v%d→v%d child v%d→v%d events %d→%d", parent.Version, p2.Version, child.Version, c2.Version, events, len(s.Events()))
		}
		if logs.Len() > 0 {
			t.Errorf("second run logged a failure: %s", logs.String())
		}
	})

	t.Run("finishes a merge that stopped after the parent's write", func(t *testing.T) {
		s, x, a := setup(t)
		child := get(t, s, inc2)
		if _, err := s.Change(t.Context(), inc1, incident.EventMergedIn, func(p incident.Incident) (incident.Incident, error) {
			_, out, err := incident.Merge(child, p, at(10*time.Minute), why)
			return out, err
		}); err != nil {
			t.Fatal(err)
		}
		before := get(t, s, inc1)
		res := x.Execute(t.Context(), []Action{a}, at(11*time.Minute))
		if !res[0].Done || res[0].Err != nil {
			t.Fatalf("result %+v", res[0])
		}
		parent, _ := check(t, s)
		if parent.Version != before.Version || len(parent.Timeline) != len(before.Timeline) {
			t.Errorf("the parent was written again: v%d→v%d", before.Version, parent.Version)
		}
	})

	t.Run("refused into a signed-off incident: the child stays", func(t *testing.T) {
		s, x, a := setup(t)
		for _, act := range []incident.Action{{Kind: incident.ActResolve, Actor: "张工", At: at(5 * time.Minute)}, {Kind: incident.ActSignOff, Actor: "李主任", At: at(6 * time.Minute)}} {
			if _, err := s.Act(t.Context(), inc1, act); err != nil {
				t.Fatal(err)
			}
		}
		res := x.Execute(t.Context(), []Action{a}, at(10*time.Minute))
		if res[0].Done || !errors.Is(res[0].Err, incident.ErrFrozen) {
			t.Errorf("result %+v", res[0])
		}
		if c := get(t, s, inc2); c.State != incident.StateOpen || c.Version != 1 {
			t.Errorf("child %s v%d", c.State, c.Version)
		}
	})

	t.Run("a missing child", func(t *testing.T) {
		_, x, a := setup(t)
		a.Incident = "INC-404404"
		if res := x.Execute(t.Context(), []Action{a}, at(10*time.Minute)); !errors.Is(res[0].Err, incident.ErrNotFound) || res[0].Done {
			t.Errorf("result %+v", res[0])
		}
	})
}

func TestExecutorActions(t *testing.T) {
	now := 10 * time.Minute
	resolveA := func(t *testing.T, s incident.Store) {
		if _, err := s.Act(t.Context(), inc1, incident.Action{Kind: incident.ActResolve, Actor: "张工", At: at(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, s incident.Store) // after room yz-hall-1's incident opened at t0
		now   time.Duration                        // 10 min when zero
		// atOpening runs the action at t0, when the incident opened.
		atOpening bool
		a         Action
		done      bool
		err       error
		check     func(t *testing.T, r Result, inc incident.Incident)
	}{
		{name: "open: the key's incident is active already", a: Action{Kind: Open, Problem: &pA}, done: false,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if r.Incident.ID != inc1 {
					t.Errorf("returned %s", r.Incident.ID)
				}
			}},
		{name: "update with nothing new", atOpening: true, a: Action{Kind: Update, Incident: inc1, Problem: &pA}, done: false,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if inc.Version != 1 {
					t.Errorf("version %d", inc.Version)
				}
			}},
		{name: "update", a: Action{Kind: Update, Incident: inc1, Problem: &pA}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if !inc.LastSeen.Equal(at(now)) || inc.Version != 2 {
					t.Errorf("last seen %s v%d", inc.LastSeen, inc.Version)
				}
			}},
		{name: "retarget", a: Action{Kind: Retarget, Incident: inc1, Problem: &pS}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if inc.Key != pS.Key || r.Incident.Key != pS.Key {
					t.Errorf("key %s", inc.Key)
				}
			}},
		{name: "retarget a resolved incident", setup: resolveA, a: Action{Kind: Retarget, Incident: inc1, Problem: &pS}, err: incident.ErrTransition},
		{name: "resolve as of when the symptoms ended", a: Action{Kind: Resolve, Incident: inc1, At: at(30 * time.Second), Text: "recovered"}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if inc.State != incident.StateResolved || !inc.ResolvedAt.Equal(at(30*time.Second)) || inc.Result != "recovered" {
					t.Errorf("%s at %s result %q", inc.State, inc.ResolvedAt, inc.Result)
				}
				last := inc.Timeline[len(inc.Timeline)-1]
				if last.Kind != "resolved" || last.Actor != incident.Actor || !last.At.Equal(at(now)) {
					t.Errorf("entry %+v", last)
				}
			}},
		{name: "resolve a resolved incident", setup: resolveA, a: Action{Kind: Resolve, Incident: inc1, At: at(time.Minute)}, err: incident.ErrTransition},
		{name: "reopen", setup: resolveA, a: Action{Kind: Reopen, Incident: inc1, Problem: &pA}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if inc.State != incident.StateOpen || inc.Reopens != 1 {
					t.Errorf("%s reopens %d", inc.State, inc.Reopens)
				}
			}},
		{name: "reopen an open incident", a: Action{Kind: Reopen, Incident: inc1, Problem: &pA}, err: incident.ErrTransition},
		{name: "breach", now: 61 * time.Minute, a: Action{Kind: Breach, Incident: inc1}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if !inc.Breached || !inc.BreachedAt.Equal(at(time.Hour)) {
					t.Errorf("breached %v at %s", inc.Breached, inc.BreachedAt)
				}
			}},
		{name: "breach before the deadline", a: Action{Kind: Breach, Incident: inc1}, err: incident.ErrTransition},
		{name: "unobserved", a: Action{Kind: Unobserved, Incident: inc1, Text: "out of sight"}, done: true,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if !inc.Unobserved || inc.Timeline[len(inc.Timeline)-1].Text != "out of sight" {
					t.Errorf("unobserved %v", inc.Unobserved)
				}
			}},
		{name: "unobserved noted already", setup: func(t *testing.T, s incident.Store) {
			if _, err := s.Change(t.Context(), inc1, incident.EventNote, func(i incident.Incident) (incident.Incident, error) {
				return incident.MarkUnobserved(i, at(time.Minute), "out of sight")
			}); err != nil {
				t.Fatal(err)
			}
		}, a: Action{Kind: Unobserved, Incident: inc1, Text: "out of sight"}, done: false,
			check: func(t *testing.T, r Result, inc incident.Incident) {
				if inc.Version != 2 {
					t.Errorf("version %d", inc.Version)
				}
			}},
		{name: "recheck with nothing to run it", a: Action{Kind: Recheck, Servers: []string{media1}}, done: false},
		{name: "an action on a missing incident", a: Action{Kind: Resolve, Incident: "INC-404404", At: at(time.Minute)}, err: incident.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, x := newExecutor(t)
			openIn(t, s, pA, 0)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			n := now
			if tt.now != 0 {
				n = tt.now
			}
			if tt.atOpening {
				n = 0
			}
			res := x.Execute(t.Context(), []Action{tt.a}, at(n))
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if show(r.Action) != show(tt.a) || r.Done != tt.done || !errors.Is(r.Err, tt.err) || (tt.err == nil) != (r.Err == nil) {
				t.Fatalf("result done %v err %v, want done %v err %v", r.Done, r.Err, tt.done, tt.err)
			}
			if tt.check != nil {
				tt.check(t, r, get(t, s, inc1))
			}
		})
	}
}

func TestExecutorRecheck(t *testing.T) {
	_, x := newExecutor(t)
	var got [][]string
	x.Recheck = func(servers []string) { got = append(got, servers) }
	res := x.Execute(t.Context(), []Action{{Kind: Recheck, Servers: []string{media1, media2}}}, t0)
	if !res[0].Done || res[0].Err != nil || len(got) != 1 || !slices.Equal(got[0], []string{media1, media2}) {
		t.Errorf("result %+v, rechecks %q", res[0], got)
	}
}

// TestExecutorGoesOn: an action that fails does not stop the others, and
// each failure is logged.
func TestExecutorGoesOn(t *testing.T) {
	s, x := newExecutor(t)
	var logs bytes.Buffer
	x.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	res := x.Execute(t.Context(), []Action{
		{Kind: Resolve, Incident: "INC-404404", At: t0},
		{Kind: Open, Problem: &pB},
		{Kind: "explode"},
		{Kind: Open, Problem: &pA},
	}, t0)
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	if !errors.Is(res[0].Err, incident.ErrNotFound) || !res[1].Done || res[2].Err == nil || res[2].Done || !res[3].Done {
		t.Errorf("results %+v", res)
	}
	if all, _ := s.List(t.Context(), incident.Filter{}); len(all) != 2 {
		t.Errorf("%d incidents", len(all))
	}
	out := logs.String()
	if strings.Count(out, "incident action failed") != 2 || !strings.Contains(out, "resolve INC-404404") || !strings.Contains(out, "explode") {
		t.Errorf("logs:\n%s", out)
	}
}
