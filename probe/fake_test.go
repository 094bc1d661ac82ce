package probe

import (
	"context"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
)

// recorder keeps what fake participants did: when each joined and left, in
// which room, and how many Samples it delivered.
type recorder struct {
	mu      sync.Mutex
	joined  map[string]time.Time
	left    map[string]time.Time
	room    map[string]string
	emitted map[string]uint64
	// onEmit, when set, is told of every Sample handed to the agent.
	onEmit func(name string, seq uint64)
}

func newRecorder() *recorder {
	return &recorder{joined: map[string]time.Time{}, left: map[string]time.Time{}, room: map[string]string{}, emitted: map[string]uint64{}}
}

// factory makes fake participants that emit one Sample every period.
func (r *recorder) factory(transport sample.Transport, period time.Duration) Factory {
	return func(spec ParticipantSpec) (Participant, error) {
		return &fakeParticipant{rec: r, transport: transport, name: spec.Name, room: spec.Room.ID, period: period}, nil
	}
}

// participants returns a snapshot of the participants' names by room.
func (r *recorder) participants() (joined, left map[string]time.Time, room map[string]string, emitted map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := func(m map[string]time.Time) map[string]time.Time {
		out := make(map[string]time.Time, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	room = make(map[string]string, len(r.room))
	for k, v := range r.room {
		room[k] = v
	}
	emitted = make(map[string]uint64, len(r.emitted))
	for k, v := range r.emitted {
		emitted[k] = v
	}
	return cp(r.joined), cp(r.left), room, emitted
}

// active counts participants that joined and have not left.
func (r *recorder) active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.joined) - len(r.left)
}

type fakeParticipant struct {
	rec       *recorder
	transport sample.Transport
	name      string
	room      string
	period    time.Duration
}

// Run emits numbered Samples, gap-free: a Sample the channel cannot take is
// not numbered (a real participant counts it in samples_dropped).
func (p *fakeParticipant) Run(ctx context.Context, out chan<- sample.Sample) error {
	p.rec.mu.Lock()
	p.rec.joined[p.name] = time.Now()
	p.rec.room[p.name] = p.room
	p.rec.mu.Unlock()
	t := time.NewTicker(p.period)
	defer t.Stop()
	var seq uint64
	dropped := 0
	for {
		select {
		case <-ctx.Done():
			p.rec.mu.Lock()
			p.rec.left[p.name] = time.Now()
			p.rec.emitted[p.name] = seq
			p.rec.mu.Unlock()
			return nil
		case now := <-t.C:
			s := sample.Sample{Transport: p.transport, Participant: p.name, Seq: seq + 1,
				WindowStart: now.Add(-p.period), WindowMS: float64(p.period.Milliseconds()), Connected: true,
				ConnectedMS: float64(p.period.Milliseconds()), SamplesDropped: dropped}
			select {
			case out <- s:
				seq++
				p.rec.mu.Lock()
				p.rec.emitted[p.name] = seq
				if p.rec.onEmit != nil {
					p.rec.onEmit(p.name, seq)
				}
				p.rec.mu.Unlock()
			default:
				dropped++
			}
		}
	}
}
