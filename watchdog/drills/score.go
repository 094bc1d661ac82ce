package drills

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/remedy"
)

// Verdict is how one step of the response went.
type Verdict string

// The verdicts.
const (
	// Met: done within its target.
	Met Verdict = "met"
	// Late: done, after its target.
	Late Verdict = "late"
	// Missed: not done, and its target has passed.
	Missed Verdict = "missed"
	// Pending: not done yet, its target not passed (a report made while
	// the drill's incident is still open); not scored.
	Pending Verdict = "pending"
	// NotApplicable: the step has nothing to judge (the SLA of an incident
	// never raised); not scored.
	NotApplicable Verdict = "n/a"
)

// Chinese names the verdict for people.
func (v Verdict) Chinese() string {
	switch v {
	case Met:
		return "达标"
	case Late:
		return "超时"
	case Missed:
		return "未完成"
	case Pending:
		return "进行中"
	case NotApplicable:
		return "不适用"
	}
	return string(v)
}

// points is what a verdict scores out of 1; ok false: not scored.
func (v Verdict) points() (float64, bool) {
	switch v {
	case Met:
		return 1, true
	case Late:
		return 0.5, true
	case Missed:
		return 0, true
	}
	return 0, false
}

// Step is one step of the response to a drill, timed from its start.
type Step struct {
	// Name is detect, alert, acknowledge, mitigate or sla.
	Name string `json:"name"`
	// Done says whether it happened; After how long after the drill's
	// start (zero when not done).
	Done  bool          `json:"done"`
	After time.Duration `json:"after_ns,omitempty"`
	// Target is the time allowed; for sla, the incident's class deadline
	// from its opening.
	Target  time.Duration `json:"target_ns"`
	Verdict Verdict       `json:"verdict"`
}

// Chinese names the step for people.
func (s Step) Chinese() string {
	switch s.Name {
	case "detect":
		return "发现"
	case "alert":
		return "派单告警"
	case "acknowledge":
		return "确认接单"
	case "mitigate":
		return "缓解或排除"
	case "sla":
		return "SLA 时限"
	case "cause":
		return "归因"
	}
	return s.Name
}

// Ref is an incident as a scorecard names it.
type Ref struct {
	ID      string      `json:"id"`
	Key     string      `json:"key"`
	Class   vocab.Class `json:"class"`
	Cause   vocab.Cause `json:"cause"`
	Subject string      `json:"subject"`
	Summary string      `json:"summary,omitempty"`
	// Spell is when the spell that counts began (its opening, or a
	// reopening); Reopened says it was a reopening.
	Spell    time.Time `json:"spell"`
	Reopened bool      `json:"reopened,omitempty"`
	// Expected: its key is one the drill expected.
	Expected bool `json:"expected,omitempty"`
}

// Problem is one thing that went wrong: Kind for programs, Text for people
// (Chinese).
type Problem struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// The kinds of problem.
const (
	ProblemNotStarted   = "not_started"
	ProblemNotInjected  = "not_injected"
	ProblemNotDetected  = "not_detected"
	ProblemWrongCause   = "wrong_cause"
	ProblemWrongPlace   = "wrong_place"
	ProblemNoRelapse    = "no_relapse"
	ProblemLate         = "late"
	ProblemNotDone      = "not_done"
	ProblemSLA          = "sla"
	ProblemUnexplained  = "unexplained_incident"
	ProblemNotCleared   = "not_cleared"
	ProblemInterrupted  = "interrupted"
	ProblemExpectMissed = "expected_incident_missing"
)

// DrillScore is how the response to one drill went.
type DrillScore struct {
	Drill Drill `json:"drill"`
	// Scored is false for a drill that did not start or whose faults
	// could not all be injected: it counts in no score.
	Scored bool `json:"scored"`
	// Incidents are the incidents its faults caused; Primary the one
	// scored (the first expected one, else the earliest).
	Incidents []Ref `json:"incidents,omitempty"`
	Primary   *Ref  `json:"primary,omitempty"`
	// Cause is met when every expected incident was raised, missed when
	// one was not (or something else was blamed); empty when the script
	// expected nothing.
	Cause Verdict `json:"cause,omitempty"`
	// Steps are detect, alert, acknowledge, mitigate and sla.
	Steps    []Step    `json:"steps"`
	Problems []Problem `json:"problems,omitempty"`
	// Points out of Max: 1 a step met, ½ late, 0 missed.
	Points float64 `json:"points"`
	Max    float64 `json:"max"`
}

// Scorecard is a drill run's report: each drill's score, the incidents no
// drill explains, and the whole.
type Scorecard struct {
	Run     Run                 `json:"run"`
	Targets config.DrillTargets `json:"targets"`
	Grace   time.Duration       `json:"grace_ns"`
	MadeAt  time.Time           `json:"made_at"`
	Drills  []DrillScore        `json:"drills"`
	// Unexplained are incidents opened during the run — from its first
	// fault to grace after its end — that no drill's faults explain: false
	// alarms, or a real fault at the same time.
	Unexplained []Ref     `json:"unexplained,omitempty"`
	Problems    []Problem `json:"problems,omitempty"`
	// Score is 0–100: the steps' points over their maximum, less
	// UnexplainedPenalty for each unexplained incident.
	Score  int     `json:"score"`
	Grade  string  `json:"grade"`
	Points float64 `json:"points"`
	Max    float64 `json:"max"`
}

// UnexplainedPenalty is what an incident no drill explains takes off the
// score.
const UnexplainedPenalty = 5

// Score scores a run against the incidents of its time (they may include
// others: only those whose spell began during the run count), the drill
// targets, and how long after a drill's faults are cleared an incident
// still counts as its (grace). now is the time of the report: a step not
// done whose target has not passed is pending. A pure function.
func Score(run Run, incidents []incident.Incident, targets config.DrillTargets, grace time.Duration, now time.Time) Scorecard {
	sc := Scorecard{Run: run, Targets: targets, Grace: grace, MadeAt: now}
	var counted []*incident.Incident
	for i := range incidents {
		if incidents[i].Counted() {
			counted = append(counted, &incidents[i])
		}
	}
	slices.SortStableFunc(counted, func(a, b *incident.Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	explained := map[string]bool{}
	for i := range run.Drills {
		ds := scoreDrill(&run, &run.Drills[i], counted, targets, grace, now)
		for _, r := range ds.Incidents {
			explained[r.ID] = true
		}
		sc.Drills = append(sc.Drills, ds)
		sc.Points += ds.Points
		sc.Max += ds.Max
	}
	// From the first fault set (the quiet before it is no drill's) to
	// grace after the run.
	var runFrom time.Time
	for _, d := range run.Drills {
		if d.Started() && (runFrom.IsZero() || d.StartedAt.Before(runFrom)) {
			runFrom = d.StartedAt
		}
	}
	runTo := run.End(now).Add(grace)
	for _, inc := range counted {
		if explained[inc.ID] || runFrom.IsZero() {
			continue
		}
		for _, s := range Spells(inc) {
			if !s.Before(runFrom) && !s.After(runTo) {
				r := ref(inc, s)
				sc.Unexplained = append(sc.Unexplained, r)
				sc.Problems = append(sc.Problems, Problem{ProblemUnexplained, fmt.Sprintf(
					"演练期间出现未对应任何演练故障的故障单 %s（%s %s）：误报或同时发生的真实故障，需核实", r.ID, r.Cause.Chinese(), r.Subject)})
				break
			}
		}
	}
	if run.State == RunInterrupted {
		sc.Problems = append(sc.Problems, Problem{ProblemInterrupted, "演练脚本中途停止：未执行的演练不计分"})
	}
	if sc.Max > 0 {
		sc.Score = int(math.Round(100 * sc.Points / sc.Max))
	}
	sc.Score = max(sc.Score-UnexplainedPenalty*len(sc.Unexplained), 0)
	sc.Grade = grade(sc.Score, sc.Max > 0)
	return sc
}

// grade names a score: 优秀 ≥ 90, 良好 ≥ 75, 合格 ≥ 60, else 不合格.
func grade(score int, scored bool) string {
	switch {
	case !scored:
		return "无可评分项"
	case score >= 90:
		return "优秀"
	case score >= 75:
		return "良好"
	case score >= 60:
		return "合格"
	}
	return "不合格"
}

func ref(inc *incident.Incident, spell time.Time) Ref {
	return Ref{ID: inc.ID, Key: inc.Key, Class: inc.Class, Cause: inc.Cause, Subject: inc.Subject,
		Summary: inc.Phenomenon.Summary, Spell: spell, Reopened: !spell.Equal(inc.OpenedAt)}
}

// scoreDrill scores one drill.
func scoreDrill(run *Run, d *Drill, incs []*incident.Incident, t config.DrillTargets, grace time.Duration, now time.Time) DrillScore {
	ds := DrillScore{Drill: *d}
	problem := func(kind, format string, args ...any) {
		ds.Problems = append(ds.Problems, Problem{kind, fmt.Sprintf(format, args...)})
	}
	for _, e := range d.ClearErrors {
		problem(ProblemNotCleared, "故障未能清除：%s", e)
	}
	if !d.Started() {
		if run.State == RunRunning {
			problem(ProblemNotStarted, "尚未开始")
		} else {
			problem(ProblemNotStarted, "未执行：演练在此之前停止")
		}
		return ds
	}
	if !d.Injected() {
		problem(ProblemNotInjected, "故障注入失败，本项不计分：%s", strings.Join(d.InjectErrors, "；"))
		return ds
	}
	ds.Scored = true
	byID := map[string]*incident.Incident{}
	for _, inc := range incs {
		if spell, ok := Matches(inc, run, d, grace, now); ok {
			r := ref(inc, spell)
			r.Expected = slices.ContainsFunc(d.Expect, func(e Expect) bool { return e.Key() == inc.Key })
			ds.Incidents = append(ds.Incidents, r)
			byID[inc.ID] = inc
		}
	}
	slices.SortStableFunc(ds.Incidents, func(a, b Ref) int { return a.Spell.Compare(b.Spell) })
	start := d.StartedAt
	due := func(target time.Duration) bool { return !now.Before(start.Add(target)) }

	// Which incident is scored: the first expected one, else the earliest.
	for i := range ds.Incidents {
		if ds.Incidents[i].Expected {
			ds.Primary = &ds.Incidents[i]
			break
		}
	}
	if ds.Primary == nil && len(ds.Incidents) > 0 {
		ds.Primary = &ds.Incidents[0]
	}
	ds.causes(d, byID, due(t.Detect))

	steps := []Step{
		{Name: "detect", Target: t.Detect},
		{Name: "alert", Target: t.Alert},
		{Name: "acknowledge", Target: t.Acknowledge},
		{Name: "mitigate", Target: t.Mitigate},
	}
	var inc *incident.Incident
	if ds.Primary != nil {
		inc = byID[ds.Primary.ID]
		at := responseTimes(inc, ds.Primary.Spell)
		for i := range steps {
			if a, ok := at[steps[i].Name]; ok {
				steps[i].Done, steps[i].After = true, max(a.Sub(start), 0)
			}
		}
	}
	for i := range steps {
		steps[i].Verdict = verdict(steps[i].Done, steps[i].After, steps[i].Target, due(steps[i].Target))
	}
	// The SLA: mitigated (or resolved) by the incident's deadline.
	sla := Step{Name: "sla", Verdict: NotApplicable}
	if inc != nil {
		sla.Target = max(inc.Deadline.Sub(ds.Primary.Spell), 0)
		limit := ds.Primary.Spell.Add(sla.Target).Sub(start)
		sla.Done, sla.After = steps[3].Done, steps[3].After
		sla.Verdict = verdict(sla.Done, sla.After, limit, !now.Before(inc.Deadline))
	}
	ds.Steps = append(steps, sla)

	if ds.Primary == nil && due(t.Detect) {
		problem(ProblemNotDetected, "未发现：演练故障期间及清除后 %s 内没有产生故障单", Duration(grace))
	}
	for _, s := range ds.Steps {
		ds.stepProblem(s, inc)
	}
	score := func(v Verdict) {
		if p, ok := v.points(); ok {
			ds.Points += p
			ds.Max++
		}
	}
	if ds.Cause != "" {
		score(ds.Cause)
	}
	for _, s := range ds.Steps {
		score(s.Verdict)
	}
	return ds
}

// causes judges the cause: every expected incident raised, with its rooms
// and places, reopened when a relapse was expected.
func (ds *DrillScore) causes(d *Drill, byID map[string]*incident.Incident, due bool) {
	if len(d.Expect) == 0 {
		return
	}
	ds.Cause = Met
	for _, e := range d.Expect {
		i := slices.IndexFunc(ds.Incidents, func(r Ref) bool { return r.Key == e.Key() })
		if i < 0 {
			ds.Cause = Missed
			if len(ds.Incidents) == 0 {
				if !due {
					ds.Cause = Pending
				}
				continue
			}
			var got []string
			for _, r := range ds.Incidents {
				got = append(got, fmt.Sprintf("「%s %s」", r.Cause.Chinese(), r.Subject))
			}
			ds.Problems = append(ds.Problems, Problem{ProblemWrongCause, fmt.Sprintf("归因错误：判为%s，应为「%s %s」",
				strings.Join(got, "、"), vocab.Cause(e.Cause).Chinese(), e.Subject)})
			continue
		}
		r, inc := ds.Incidents[i], byID[ds.Incidents[i].ID]
		var missing []string
		for _, room := range e.Rooms {
			if !slices.Contains(inc.Place.Rooms, room) {
				missing = append(missing, "会议室 "+room)
			}
		}
		for _, sc := range e.Place {
			if !slices.Contains(inc.Place.SubCenters, sc) {
				missing = append(missing, "分中心 "+sc)
			}
		}
		if len(missing) > 0 {
			ds.Cause = Missed
			ds.Problems = append(ds.Problems, Problem{ProblemWrongPlace, fmt.Sprintf("范围不全：故障单 %s 未包含%s", r.ID, strings.Join(missing, "、"))})
		}
		if e.Relapse && !r.Reopened {
			ds.Problems = append(ds.Problems, Problem{ProblemNoRelapse, fmt.Sprintf("同一故障复发应重开原故障单，却新开了故障单 %s", r.ID)})
		}
	}
}

// stepProblem says what went wrong with a step.
func (ds *DrillScore) stepProblem(s Step, inc *incident.Incident) {
	if inc == nil && s.Name != "sla" {
		return // not detected says it all
	}
	add := func(kind, text string) { ds.Problems = append(ds.Problems, Problem{kind, text}) }
	switch s.Verdict {
	case Late:
		if s.Name == "sla" {
			add(ProblemSLA, fmt.Sprintf("超出 SLA 时限：%s，故障单 %s", inc.Class.Chinese(), inc.ID))
			return
		}
		add(ProblemLate, fmt.Sprintf("%s超时：用时 %s，目标 %s", s.Chinese(), Duration(s.After), Duration(s.Target)))
	case Missed:
		switch s.Name {
		case "sla":
			if inc != nil {
				add(ProblemSLA, fmt.Sprintf("超出 SLA 时限：%s，故障单 %s 到期仍未缓解", inc.Class.Chinese(), inc.ID))
			}
		case "detect":
		case "alert":
			add(ProblemNotDone, "未派单告警：故障单没有告警记录")
		case "acknowledge":
			add(ProblemNotDone, fmt.Sprintf("未确认接单：%s 内无人接单", Duration(s.Target)))
		case "mitigate":
			add(ProblemNotDone, fmt.Sprintf("未在目标时间内缓解或排除：目标 %s", Duration(s.Target)))
		}
	}
}

// verdict judges a step: done within target, done late, or not done (due
// says its target has passed).
func verdict(done bool, after, target time.Duration, due bool) Verdict {
	switch {
	case done && after <= target:
		return Met
	case done:
		return Late
	case due:
		return Missed
	}
	return Pending
}

// responseTimes finds when each step happened in the incident's spell that
// began at spell: detection (the spell's start: the watchdog raised the
// incident, or reopened it — an incident's DetectedAt is when its first
// symptom began, the fault's onset, not the watchdog's finding it), the
// first alert, a person's acknowledgement (or their mitigating or
// resolving it), and mitigation or resolution by anyone.
func responseTimes(inc *incident.Incident, spell time.Time) map[string]time.Time {
	at := map[string]time.Time{"detect": spell}
	first := func(step string, t time.Time) {
		if t.IsZero() || t.Before(spell) {
			return
		}
		if old, ok := at[step]; !ok || t.Before(old) {
			at[step] = t
		}
	}
	for _, e := range inc.Timeline {
		switch e.Kind {
		case "alert":
			first("alert", e.At)
		case "acknowledged":
			first("acknowledge", e.At)
		case "mitigated", "resolved":
			first("mitigate", e.At)
			if person(e.Actor) {
				first("acknowledge", e.At) // took it on without acknowledging first
			}
		}
	}
	first("mitigate", inc.MitigatedAt)
	first("mitigate", inc.ResolvedAt)
	return at
}

// person reports whether an actor is a person: not the watchdog, not a
// runbook. A runbook's mitigation sets an incident's AcknowledgedAt, but
// nobody took the ticket: a drill scores the people's acknowledgement.
func person(actor string) bool {
	return actor != "" && actor != incident.Actor && !strings.HasPrefix(actor, remedy.Actor(""))
}

// Duration says a duration in Chinese: "45秒", "3分05秒", "1小时02分".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d秒", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d分%02d秒", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d小时%02d分", int(d.Hours()), int(d.Minutes())%60)
}
