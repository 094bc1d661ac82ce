// Package decide is the watchdog's whole chain of decisions in one place:
// Samples' aggregates, health readings and probe heartbeats in; findings
// with hysteresis (detect), problems (correlate) and incident actions (plan)
// out. It does no I/O and reads no clock: the leader feeds it and carries
// out its actions on Redis, and `bidwatch watchdog test` feeds it a
// scenario on simulated time and carries them out in memory — the same
// decisions both ways.
package decide

import (
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/health"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/plan"
)

// Brain holds the detectors' state and the planner's memory. It is not
// safe for concurrent use.
type Brain struct {
	engine  *detect.Engine
	topo    *correlate.Topology
	policy  plan.Policy
	book    plan.Book
	leading time.Time
}

// New returns a Brain for the city, leading since leading (a new leader
// resolves nothing during the takeover grace), with the planner's memory
// from book (nil for none).
func New(city *config.Config, leading time.Time, book plan.Book) *Brain {
	if book == nil {
		book = plan.Book{}
	}
	return &Brain{
		engine:  detect.NewEngine(city),
		topo:    correlate.NewTopology(city),
		policy:  plan.PolicyOf(city.Watchdog),
		book:    book,
		leading: leading,
	}
}

// Policy is the planner's policy.
func (b *Brain) Policy() plan.Policy { return b.policy }

// AddAgg takes one window of a series, arrived at now.
func (b *Brain) AddAgg(a detect.Agg, now time.Time) { b.engine.AddAgg(a, now) }

// AddReading takes one health check's outcome.
func (b *Brain) AddReading(r health.Reading) { b.engine.AddReading(r) }

// SetBeats replaces the probes' heartbeats.
func (b *Brain) SetBeats(beats []detect.Beat) { b.engine.SetBeats(beats) }

// Book is the planner's memory after the last Think.
func (b *Brain) Book() plan.Book { return b.book }

// Needs returns the ids of the incidents Think needs besides the active
// ones.
func (b *Brain) Needs() []string { return b.book.Needs() }

// Done tells the planner what carrying out its last actions did (which
// incident each opened or kept).
func (b *Brain) Done(results []plan.Result) { b.book.Bind(results) }

// Thought is one evaluation: what changed, what is seen, what to do.
type Thought struct {
	Changes     []detect.Change
	Evidence    detect.Evidence
	Correlation correlate.Result
	Actions     []plan.Action
}

// Think evaluates at now: the detectors step, correlation reads their
// evidence, and the planner compares the problems with the incidents (the
// active ones and those Needs named) and says what to do.
func (b *Brain) Think(now time.Time, incidents []incident.Incident) Thought {
	var t Thought
	t.Changes = b.engine.Step(now)
	t.Evidence = b.engine.Evidence(now)
	t.Correlation = correlate.Correlate(b.topo, t.Evidence)
	b.book, t.Actions = plan.Plan(b.book, plan.Input{Now: now, Leading: b.leading, Correlation: t.Correlation, Incidents: incidents}, b.policy)
	return t
}
