package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus"
	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/sample"
)

// participantBuffer is the channel between a participant and its runner; a
// participant drops (and counts) Samples when it is full.
const participantBuffer = 64

// stopTimeout bounds how long a runner waits for its participants to leave.
const stopTimeout = 15 * time.Second

// runner runs one assignment's participants and stamps and spools what they
// measure.
type runner struct {
	a      Assignment
	cancel context.CancelFunc
	done   chan struct{}
	n      int // participants started
}

// runnerEnv is what runners share, from the agent.
type runnerEnv struct {
	probeID, location string
	tag               string // unique per agent run, for participant names
	probe             config.Probe
	transports        map[string]Factory
	counts            map[string]int
	spool             *Spool
	metrics           *metrics
	logger            *slog.Logger
}

// startRunner starts the participants for a, in room. It returns once they
// are started; seq is the agent's count of runners, for unique names.
func (e *runnerEnv) startRunner(parent context.Context, a Assignment, room config.Room, seq uint64) *runner {
	ctx, cancel := context.WithCancel(parent)
	r := &runner{a: a, cancel: cancel, done: make(chan struct{})}
	logger := e.logger.With("room", a.Room, "kind", string(a.Kind), "session", a.Session)
	var wg sync.WaitGroup
	for _, name := range TransportNames(e.transports) {
		for i := 1; i <= e.counts[name]; i++ {
			pname := fmt.Sprintf("%s/%s-%d/%s.%d", a.Room, name, i, e.tag, seq)
			p, err := e.transports[name](ParticipantSpec{Room: room, Probe: e.probe, Name: pname, Logger: logger.With("participant", pname)})
			if errors.Is(err, ErrNotApplicable) {
				logger.Debug("transport not applicable to room", "transport", name)
				break
			}
			if err != nil {
				logger.Error("cannot start participant", "transport", name, "err", err)
				continue
			}
			r.n++
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.runParticipant(ctx, a, p, logger.With("participant", pname))
			}()
		}
	}
	e.metrics.participants.Add(float64(r.n))
	e.metrics.runs.WithLabelValues(string(a.Kind)).Inc()
	logger.Info("probing started", "participants", r.n, "until", a.End.Format(time.RFC3339))
	go func() {
		wg.Wait()
		e.metrics.participants.Sub(float64(r.n))
		e.metrics.runs.WithLabelValues(string(a.Kind)).Dec()
		logger.Info("probing stopped")
		close(r.done)
	}()
	return r
}

// runParticipant runs p and forwards its Samples until it returns, then
// forwards what it left in the channel.
func (e *runnerEnv) runParticipant(ctx context.Context, a Assignment, p Participant, logger *slog.Logger) {
	out := make(chan sample.Sample, participantBuffer)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if err := p.Run(ctx, out); err != nil && ctx.Err() == nil {
			logger.Error("participant stopped", "err", err)
		}
	}()
	for {
		select {
		case s := <-out:
			e.forward(a, s)
		case <-ended:
			for {
				select {
				case s := <-out:
					e.forward(a, s)
				default:
					return
				}
			}
		}
	}
}

// forward stamps a Sample with who measured it and where, and spools it.
func (e *runnerEnv) forward(a Assignment, s sample.Sample) {
	s.Probe, s.Location, s.Session, s.Room = e.probeID, e.location, a.Session, a.Room
	entry, err := bus.NewEntry(s)
	if err != nil {
		e.logger.Error("cannot encode sample", "err", err)
		return
	}
	e.metrics.samples.Inc()
	e.spool.Append(entry)
}

// stop asks the participants to leave and waits, bounded, for them.
func (r *runner) stop(logger *slog.Logger) {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(stopTimeout):
		logger.Error("participants did not stop in time", "room", r.a.Room, "key", r.a.Key)
	}
}
