package drill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// EventKind says what happened to a drill.
type EventKind string

// The events Run reports.
const (
	// Started: the drill's faults were set.
	Started EventKind = "started"
	// Repeated: its faults were set again (Drill.Repeat).
	Repeated EventKind = "repeated"
	// Stopped: its faults were cleared, at the end of its hold or, with
	// Interrupted, because Run's context ended.
	Stopped EventKind = "stopped"
	// Finished: the script is over, the last pause included.
	Finished EventKind = "finished"
)

// Event is one thing Run did, with the time it did it.
type Event struct {
	Kind EventKind
	// Index is the drill's index in the script (-1 for Finished), and
	// Drill the drill.
	Index int
	Drill Drill
	// At is when the faults were set or cleared, on Run's clock.
	At time.Time
	// Planned is when it was due, as an offset from the script's start.
	Planned time.Duration
	// Interrupted: a Stopped drill's hold was cut short by the end of
	// Run's context.
	Interrupted bool
	// Err is what could not be set or cleared; the rest was.
	Err error
}

// Line is the event as the demo and the hall print it; "" for a repeat
// that went well.
func (e Event) Line() string {
	at := e.At.Format("15:04:05")
	var line, failed string
	switch e.Kind {
	case Started:
		line = fmt.Sprintf("%s ▶ DRILL %s (for %s)", at, e.Drill.Name, e.Drill.Hold)
		failed = "could not start the drill"
	case Repeated:
		failed = "could not repeat the drill"
	case Stopped:
		line = fmt.Sprintf("%s ■ DRILL over: %s — the watchdog should resolve it", at, e.Drill.Title())
		if e.Interrupted {
			line = fmt.Sprintf("%s ■ DRILL stopped early: %s — its faults are cleared", at, e.Drill.Title())
		}
		failed = "could not clear the drill"
	case Finished:
		line = fmt.Sprintf("%s ■ drill script finished", at)
	}
	if e.Err == nil {
		return line
	}
	if line != "" {
		line += "\n"
	}
	return line + "  " + failed + ": " + e.Err.Error()
}

// DefaultClearTimeout bounds clearing the active drills once Run's context
// has ended.
const DefaultClearTimeout = 10 * time.Second

// Options configures Run.
type Options struct {
	// Clock gives the time; nil means the real clock.
	Clock clockwork.Clock
	// OnEvent, when set, is told of every drill started, repeated and
	// stopped, and of the end of the script, in order, from Run's
	// goroutine: it must not block for long.
	OnEvent func(Event)
	// ClearTimeout bounds clearing the active drills once ctx has ended;
	// zero means DefaultClearTimeout.
	ClearTimeout time.Duration
	// Logger receives a line per step; nil discards them.
	Logger *slog.Logger
}

// stepKind orders the steps due at one instant: a drill ends before the
// next one starts.
type stepKind int

const (
	stepStop stepKind = iota
	stepStart
	stepRepeat
	stepEnd // the script is over
)

// step is one thing to do at an offset from the script's start.
type step struct {
	at    time.Duration
	kind  stepKind
	drill int
}

// steps is the script's plan: every start, repeat and stop, in order.
func (s *Script) steps() []step {
	var out []step
	for i, sp := range s.Timeline() {
		out = append(out, step{sp.Start, stepStart, i}, step{sp.End, stepStop, i})
		if r := s.Drills[i].Repeat; r > 0 {
			for at := sp.Start + r; at < sp.End; at += r {
				out = append(out, step{at, stepRepeat, i})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b step) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.kind, b.kind), cmp.Compare(a.drill, b.drill))
	})
	return out
}

// Run plays the script against target: it checks the script against the
// target's topology, then sets each drill's faults at its start (and again
// every Repeat), clears exactly what it set at its end, and returns once
// the script is over, its last pause included. A fault that cannot be set
// or cleared is reported in the event (Event.Err) and the drill goes on.
// When ctx ends, Run clears every drill still holding (within
// Options.ClearTimeout) and returns ctx's error.
func Run(ctx context.Context, target Target, s *Script, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func(Event) {}
	}
	if opts.ClearTimeout <= 0 {
		opts.ClearTimeout = DefaultClearTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	top, err := target.Topology(ctx)
	if err != nil {
		return fmt.Errorf("drill: hall topology: %w", err)
	}
	if err := s.Check(top); err != nil {
		return err
	}
	r := &runner{target: target, script: s, top: top, opts: opts, log: opts.Logger.With("component", "drill")}
	return r.run(ctx)
}

// runner is one run of a script.
type runner struct {
	target Target
	script *Script
	top    Topology
	opts   Options
	log    *slog.Logger
	active []int // drills whose faults are set, in the order they started
}

func (r *runner) run(ctx context.Context) error {
	clock := r.opts.Clock
	t0 := clock.Now()
	plan := append(r.script.steps(), step{at: r.script.Length(), kind: stepEnd, drill: -1})
	for _, st := range plan {
		if err := r.waitUntil(ctx, t0.Add(st.at)); err != nil {
			r.interrupt(ctx)
			return err
		}
		if st.kind == stepEnd {
			r.log.Info("drill script finished", "drills", len(r.script.Drills))
			r.opts.OnEvent(Event{Kind: Finished, Index: -1, At: clock.Now(), Planned: st.at})
			return nil
		}
		d := r.script.Drills[st.drill]
		ev := Event{Index: st.drill, Drill: d, Planned: st.at}
		switch st.kind {
		case stepStart:
			ev.Kind, ev.Err = Started, r.apply(ctx, d)
			r.active = append(r.active, st.drill)
			r.log.Info("drill started", "drill", st.drill, "name", d.Name, "faults", d.describe(), "hold", d.Hold, "err", ev.Err)
		case stepRepeat:
			ev.Kind, ev.Err = Repeated, r.apply(ctx, d)
			r.log.Debug("drill repeated", "drill", st.drill, "err", ev.Err)
		case stepStop:
			ev.Kind, ev.Err = Stopped, r.clear(ctx, d)
			r.active = slices.DeleteFunc(r.active, func(j int) bool { return j == st.drill })
			r.log.Info("drill stopped", "drill", st.drill, "name", d.Name, "err", ev.Err)
		}
		ev.At = clock.Now()
		r.opts.OnEvent(ev)
	}
	return nil
}

// waitUntil waits for the clock to reach t, or for ctx to end.
func (r *runner) waitUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := t.Sub(r.opts.Clock.Now())
	if d <= 0 {
		return nil
	}
	timer := r.opts.Clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.Chan():
		return nil
	}
}

// interrupt clears every active drill, latest first, once ctx has ended.
func (r *runner) interrupt(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.ClearTimeout)
	defer cancel()
	for _, i := range slices.Backward(r.active) {
		d := r.script.Drills[i]
		err := r.clear(cctx, d)
		r.log.Info("drill stopped early", "drill", i, "name", d.Name, "err", err)
		r.opts.OnEvent(Event{Kind: Stopped, Index: i, Drill: d, At: r.opts.Clock.Now(), Interrupted: true, Err: err})
	}
	r.active = nil
}

// apply sets the drill's faults in order; what fails is reported and the
// rest set.
func (r *runner) apply(ctx context.Context, d Drill) error {
	var errs []error
	for _, f := range d.Faults {
		switch {
		case f.Server != "":
			if f.Health != (hall.Health{}) {
				errs = append(errs, wrap(f, r.target.SetHealth(ctx, f.Server, f.Health)))
			}
			if f.RoomsFault != nil {
				for _, room := range r.top.Servers[f.Server] {
					errs = append(errs, wrap(f, r.target.SetRoomFault(ctx, room, *f.RoomsFault)))
				}
			}
		case f.Room != "":
			errs = append(errs, wrap(f, r.target.SetRoomFault(ctx, f.Room, f.RoomFault)))
		case f.Path != "":
			errs = append(errs, wrap(f, r.target.SetPathFault(ctx, f.Path, f.pathFault())))
		}
	}
	return errors.Join(errs...)
}

// clear clears what the drill's faults set, in reverse order.
func (r *runner) clear(ctx context.Context, d Drill) error {
	var errs []error
	for _, f := range slices.Backward(d.Faults) {
		switch {
		case f.Server != "":
			if f.RoomsFault != nil {
				for _, room := range r.top.Servers[f.Server] {
					errs = append(errs, wrap(f, r.target.ClearRoomFault(ctx, room)))
				}
			}
			if f.Health != (hall.Health{}) {
				errs = append(errs, wrap(f, r.target.ClearHealth(ctx, f.Server)))
			}
		case f.Room != "":
			errs = append(errs, wrap(f, r.target.ClearRoomFault(ctx, f.Room)))
		case f.Path != "":
			errs = append(errs, wrap(f, r.target.ClearPathFault(ctx, f.Path)))
		}
	}
	return errors.Join(errs...)
}

// wrap names the fault an error is about.
func wrap(f Fault, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", f, err)
}
