package drills

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

var (
	t0      = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	targets = config.DrillTargets{Detect: time.Minute, Alert: 2 * time.Minute, Acknowledge: 10 * time.Minute, Mitigate: 30 * time.Minute}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// testRun is a run of one drill: jd-media-1 saturated from t0+20s for 60 s.
func testRun(mod ...func(*Run)) Run {
	r := Run{ID: "r1", Script: "test", State: RunFinished, StartedAt: t0, EndedAt: at(5 * time.Minute), PlannedLength: 5 * time.Minute,
		Drills: []Drill{{
			Index: 0, Name: "media server jd-media-1 saturated", Title: "media server jd-media-1 saturated",
			PlannedStart: 20 * time.Second, PlannedEnd: 80 * time.Second,
			StartedAt: at(20 * time.Second), StoppedAt: at(80 * time.Second),
			Faults: []Fault{{Kind: "server", Target: "jd-media-1", Servers: []string{"jd-media-1"}, Rooms: []string{"jd-hall-1", "jd-coord-1"}, SubCenters: []string{"jd"}}},
			Expect: []Expect{{Cause: "server", Subject: "jd-media-1", Rooms: []string{"jd-hall-1", "jd-coord-1"}, Place: []string{"jd"}}},
		}}}
	for _, m := range mod {
		m(&r)
	}
	return r
}

// mk is an incident opened at `opened` after t0, detected at `detected`,
// with timeline entries of kind → offset.
func mk(id, key string, opened, detected time.Duration, entries map[string]time.Duration, mod ...func(*incident.Incident)) incident.Incident {
	cause, subject, _ := strings.Cut(key, ":")
	inc := incident.Incident{ID: id, Key: key, Cause: vocab.Cause(cause), Subject: subject, State: incident.StateOpen,
		Class: vocab.ClassMinor, OpenedAt: at(opened), DetectedAt: at(detected), Deadline: at(opened + time.Hour)}
	switch vocab.Cause(cause) {
	case vocab.CauseServer:
		inc.Place = incident.Place{SubCenters: []string{"jd"}, Servers: []string{subject}, Rooms: []string{"jd-hall-1", "jd-coord-1"}}
	case vocab.CauseRoom:
		inc.Place = incident.Place{Rooms: []string{subject}, SubCenters: []string{strings.SplitN(subject, "-", 2)[0]}}
	case vocab.CauseNetwork:
		inc.Place = incident.Place{SubCenters: []string{subject}, Locations: []string{subject}}
	}
	inc.Log(at(opened), incident.Actor, "opened", "opened")
	for k, d := range entries {
		actor := "张工 (zhang)"
		if k == "resolved" || k == "alert" || k == "reopened" {
			actor = incident.Actor // the watchdog's own
		}
		inc.Log(at(d), actor, k, k)
		switch k {
		case "acknowledged":
			inc.AcknowledgedAt, inc.State = at(d), incident.StateAcknowledged
		case "mitigated":
			inc.MitigatedAt, inc.State = at(d), incident.StateMitigated
		case "resolved":
			inc.ResolvedAt, inc.State = at(d), incident.StateResolved
		}
	}
	for _, m := range mod {
		m(&inc)
	}
	return inc
}

const s = time.Second
const m = time.Minute

func TestScore(t *testing.T) {
	type want struct {
		steps    []Verdict // detect, alert, acknowledge, mitigate, sla
		cause    Verdict
		primary  string
		problems []string // kinds, in order
		score    int
		scored   bool
	}
	all := func(v Verdict) []Verdict { return []Verdict{v, v, v, v, v} }
	tests := []struct {
		name string
		run  Run
		incs []incident.Incident
		now  time.Duration
		want want
	}{
		{
			name: "everything within its target",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m})},
			now:  2 * time.Hour,
			want: want{steps: all(Met), cause: Met, primary: "INC-1", score: 100, scored: true},
		},
		{
			name: "every step late, the SLA met",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 2*m, 90*s, map[string]time.Duration{"alert": 3 * m, "acknowledged": 15 * m, "mitigated": 45 * m})},
			now:  2 * time.Hour,
			// cause 1 + 4 × ½ + sla 1 = 4 of 6.
			want: want{steps: []Verdict{Late, Late, Late, Late, Met}, cause: Met, primary: "INC-1", score: 67, scored: true,
				problems: []string{ProblemLate, ProblemLate, ProblemLate, ProblemLate}},
		},
		{
			name: "not detected at all",
			run:  testRun(),
			now:  2 * time.Hour,
			want: want{steps: []Verdict{Missed, Missed, Missed, Missed, NotApplicable}, cause: Missed, score: 0, scored: true,
				problems: []string{ProblemNotDetected}},
		},
		{
			name: "blamed on the room: wrong cause, the steps still timed",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-2", "room:jd-hall-1", 40*s, 30*s, map[string]time.Duration{"alert": 50 * s, "acknowledged": 2 * m, "resolved": 3 * m})},
			now:  2 * time.Hour,
			want: want{steps: all(Met), cause: Missed, primary: "INC-2", score: 83, scored: true, problems: []string{ProblemWrongCause}},
		},
		{
			name: "no alert, nobody acknowledged, resolved by itself",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"resolved": 2 * m})},
			now:  2 * time.Hour,
			want: want{steps: []Verdict{Met, Missed, Missed, Met, Met}, cause: Met, primary: "INC-1", score: 67, scored: true,
				problems: []string{ProblemNotDone, ProblemNotDone}},
		},
		{
			name: "a person resolved it without acknowledging first: that took it on",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "resolved": 4 * m},
				func(i *incident.Incident) { i.Timeline[len(i.Timeline)-1].Actor = "李主任 (li)" })},
			now:  2 * time.Hour,
			want: want{steps: all(Met), cause: Met, primary: "INC-1", score: 100, scored: true},
		},
		{
			name: "a runbook mitigated it: nobody acknowledged",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "mitigated": 2 * m},
				func(i *incident.Incident) {
					i.AcknowledgedAt = i.MitigatedAt // as incident.Apply sets it
					for j := range i.Timeline {
						if i.Timeline[j].Kind == "mitigated" {
							i.Timeline[j].Actor = "runbook restart-media"
						}
					}
				})},
			now:  2 * time.Hour,
			want: want{steps: []Verdict{Met, Met, Missed, Met, Met}, cause: Met, primary: "INC-1", score: 83, scored: true, problems: []string{ProblemNotDone}},
		},
		{
			name: "made while it is going on: later steps pending",
			run:  testRun(func(r *Run) { r.State, r.EndedAt = RunRunning, time.Time{}; r.Drills[0].StoppedAt = time.Time{} }),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, nil)},
			now:  100 * s,
			want: want{steps: []Verdict{Met, Pending, Pending, Pending, Pending}, cause: Met, primary: "INC-1", score: 100, scored: true},
		},
		{
			name: "faults not injected: not scored",
			run:  testRun(func(r *Run) { r.Drills[0].InjectErrors = []string{"server jd-media-1: 404 unknown server"} }),
			now:  2 * time.Hour,
			want: want{steps: nil, problems: []string{ProblemNotInjected}, score: 0},
		},
		{
			name: "never started: the run was stopped before it",
			run: testRun(func(r *Run) {
				r.State = RunInterrupted
				r.Drills[0].StartedAt, r.Drills[0].StoppedAt = time.Time{}, time.Time{}
			}),
			now:  2 * time.Hour,
			want: want{problems: []string{ProblemNotStarted}},
		},
		{
			name: "an incident before the drill is not its",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-0", "server:jd-media-1", 10*s, 5*s, map[string]time.Duration{"resolved": 15 * s})},
			now:  2 * time.Hour,
			want: want{steps: []Verdict{Missed, Missed, Missed, Missed, NotApplicable}, cause: Missed, scored: true, problems: []string{ProblemNotDetected}},
		},
		{
			name: "an incident opening within the grace after the faults are cleared is its",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 80*s+50*s, 70*s, map[string]time.Duration{"alert": 140 * s, "resolved": 3 * m})},
			now:  2 * time.Hour,
			// opened 110 s after the start: detected late.
			want: want{steps: []Verdict{Late, Met, Missed, Met, Met}, cause: Met, primary: "INC-1", score: 75, scored: true, problems: []string{ProblemLate, ProblemNotDone}},
		},
		{
			name: "scope too small: a room missing",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m},
				func(i *incident.Incident) { i.Place.Rooms = []string{"jd-hall-1"} })},
			now:  2 * time.Hour,
			want: want{steps: all(Met), cause: Missed, primary: "INC-1", score: 83, scored: true, problems: []string{ProblemWrongPlace}},
		},
		{
			name: "a relapse reopens the old incident: timed from the reopening",
			run:  testRun(func(r *Run) { r.Drills[0].Expect[0].Relapse = true }),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", -20*m, -21*m, map[string]time.Duration{"resolved": -15 * m, "reopened": 45 * s, "alert": 50 * s},
				func(i *incident.Incident) {
					i.ResolvedAt, i.State, i.Deadline = time.Time{}, incident.StateOpen, at(45*s+time.Hour)
				})},
			now: 2 * time.Hour,
			want: want{steps: []Verdict{Met, Met, Missed, Missed, Missed}, cause: Met, primary: "INC-1", score: 50, scored: true,
				problems: []string{ProblemNotDone, ProblemNotDone, ProblemSLA}},
		},
		{
			name: "a relapse expected, a new incident opened",
			run:  testRun(func(r *Run) { r.Drills[0].Expect[0].Relapse = true }),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m})},
			now:  2 * time.Hour,
			want: want{steps: all(Met), cause: Met, primary: "INC-1", score: 100, scored: true, problems: []string{ProblemNoRelapse}},
		},
		{
			name: "resolved after its SLA deadline",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 2 * time.Hour})},
			now:  3 * time.Hour,
			// cause, detect, alert, ack met; mitigate late (½); sla late (½).
			want: want{steps: []Verdict{Met, Met, Met, Late, Late}, cause: Met, primary: "INC-1", score: 83, scored: true, problems: []string{ProblemLate, ProblemSLA}},
		},
		{
			name: "a merged record is not counted",
			run:  testRun(),
			incs: []incident.Incident{mk("INC-2", "room:jd-hall-1", 40*s, 30*s, nil, func(i *incident.Incident) { i.State, i.MergedInto = incident.StateMerged, "INC-1" })},
			now:  2 * time.Hour,
			want: want{steps: []Verdict{Missed, Missed, Missed, Missed, NotApplicable}, cause: Missed, scored: true, problems: []string{ProblemNotDetected}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := Score(tc.run, tc.incs, targets, DefaultGrace, at(tc.now))
			if len(sc.Drills) != 1 {
				t.Fatalf("drills = %d, want 1", len(sc.Drills))
			}
			ds := sc.Drills[0]
			var steps []Verdict
			for _, s := range ds.Steps {
				steps = append(steps, s.Verdict)
			}
			if !slices.Equal(steps, tc.want.steps) {
				t.Errorf("steps = %v, want %v", steps, tc.want.steps)
			}
			if ds.Cause != tc.want.cause {
				t.Errorf("cause = %q, want %q", ds.Cause, tc.want.cause)
			}
			primary := ""
			if ds.Primary != nil {
				primary = ds.Primary.ID
			}
			if primary != tc.want.primary {
				t.Errorf("primary = %q, want %q", primary, tc.want.primary)
			}
			var kinds []string
			for _, p := range ds.Problems {
				kinds = append(kinds, p.Kind)
			}
			if !slices.Equal(kinds, tc.want.problems) {
				t.Errorf("problems = %v, want %v (%v)", kinds, tc.want.problems, ds.Problems)
			}
			if sc.Score != tc.want.score {
				t.Errorf("score = %d, want %d (%g of %g)", sc.Score, tc.want.score, sc.Points, sc.Max)
			}
			if ds.Scored != tc.want.scored {
				t.Errorf("scored = %v, want %v", ds.Scored, tc.want.scored)
			}
		})
	}
}

func TestScoreStepTimes(t *testing.T) {
	run := testRun()
	inc := mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "mitigated": 8 * m, "resolved": 10 * m})
	sc := Score(run, []incident.Incident{inc}, targets, DefaultGrace, at(2*time.Hour))
	got := map[string]time.Duration{}
	for _, st := range sc.Drills[0].Steps {
		got[st.Name] = st.After
	}
	want := map[string]time.Duration{"detect": 30 * s, "alert": 35 * s, "acknowledge": 5*m - 20*s, "mitigate": 8*m - 20*s, "sla": 8*m - 20*s}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s after %s, want %s", k, got[k], v)
		}
	}
	if st := sc.Drills[0].Steps[4]; st.Target != time.Hour {
		t.Errorf("sla target %s, want the class's 1h from the opening", st.Target)
	}
}

func TestScoreUnexplained(t *testing.T) {
	run := testRun()
	incs := []incident.Incident{
		mk("INC-1", "server:jd-media-1", 50*s, 40*s, map[string]time.Duration{"alert": 55 * s, "acknowledged": 5 * m, "resolved": 10 * m}),
		// During the run, somewhere no drill touched: unexplained.
		mk("INC-9", "room:yz-hall-1", 2*m, 100*s, nil),
		// Long after the run (and its grace): none of its business.
		mk("INC-10", "room:yz-hall-2", 3*time.Hour, 3*time.Hour, nil),
		// Before it: neither.
		mk("INC-11", "room:yz-hall-3", -time.Hour, -time.Hour, nil),
		// After the run began, before its first fault: not the drills'.
		mk("INC-12", "room:yz-hall-4", 10*s, 10*s, nil),
	}
	sc := Score(run, incs, targets, DefaultGrace, at(4*time.Hour))
	if len(sc.Unexplained) != 1 || sc.Unexplained[0].ID != "INC-9" {
		t.Fatalf("unexplained = %+v, want INC-9 alone", sc.Unexplained)
	}
	if sc.Score != 100-UnexplainedPenalty {
		t.Errorf("score = %d, want %d", sc.Score, 100-UnexplainedPenalty)
	}
	if len(sc.Problems) != 1 || sc.Problems[0].Kind != ProblemUnexplained || !strings.Contains(sc.Problems[0].Text, "INC-9") {
		t.Errorf("problems = %+v", sc.Problems)
	}
}

func TestGrade(t *testing.T) {
	for _, tc := range []struct {
		score  int
		scored bool
		want   string
	}{{100, true, "优秀"}, {90, true, "优秀"}, {89, true, "良好"}, {75, true, "良好"}, {60, true, "合格"}, {59, true, "不合格"}, {0, false, "无可评分项"}} {
		if got := grade(tc.score, tc.scored); got != tc.want {
			t.Errorf("grade(%d) = %s, want %s", tc.score, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0秒", 45 * s: "45秒", 65 * s: "1分05秒", 59*m + 59*s: "59分59秒", time.Hour + 2*m: "1小时02分", 26 * time.Hour: "26小时00分",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %s, want %s", d, got, want)
		}
	}
}
