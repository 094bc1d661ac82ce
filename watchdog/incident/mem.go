package incident

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
)

// MemStore keeps incidents in memory, with the RedisStore's rules (one
// active incident per cause key, sign-off freezes, every change an event).
// It is what `bidwatch watchdog test` and the scenario tests run the
// watchdog's decisions against. It is safe for concurrent use.
type MemStore struct {
	policy config.IncidentPolicy
	mu     sync.Mutex
	incs   map[string]Incident
	seq    int
	events []Event
}

// NewMemStore returns an empty store applying policy.
func NewMemStore(policy config.IncidentPolicy) *MemStore {
	return &MemStore{policy: policy, incs: map[string]Incident{}}
}

// Open implements Store.
func (s *MemStore) Open(_ context.Context, p correlate.Problem, now time.Time) (Incident, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inc := range s.incs {
		if inc.Key == p.Key && inc.State.Active() {
			return inc.clone(), false, nil
		}
	}
	s.seq++
	inc := Open(p, now, s.policy)
	inc.ID, inc.Version = fmt.Sprintf("%s%06d", idPrefix, s.seq), 1
	s.incs[inc.ID] = inc
	s.events = append(s.events, eventOf(&inc, EventOpened))
	return inc.clone(), true, nil
}

// Change implements Store.
func (s *MemStore) Change(_ context.Context, id, event string, fn func(Incident) (Incident, error)) (Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incs[id]
	if !ok {
		return Incident{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if inc.State == StateSignedOff {
		return inc.clone(), fmt.Errorf("%s: %w", id, ErrFrozen)
	}
	out, err := fn(inc.clone())
	if err != nil {
		return inc.clone(), err
	}
	out.Version = inc.Version + 1
	s.incs[id] = out
	s.events = append(s.events, eventOf(&out, event))
	return out.clone(), nil
}

// Act implements Store.
func (s *MemStore) Act(ctx context.Context, id string, a Action) (Incident, error) {
	return s.Change(ctx, id, EventKind(a.Kind), func(inc Incident) (Incident, error) { return Apply(inc, a, s.policy) })
}

// Get implements Store.
func (s *MemStore) Get(_ context.Context, id string) (Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incs[id]
	if !ok {
		return Incident{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return inc.clone(), nil
}

// GetMany implements Store.
func (s *MemStore) GetMany(_ context.Context, ids []string) ([]Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, id := range ids {
		if inc, ok := s.incs[id]; ok {
			out = append(out, inc.clone())
		}
	}
	return out, nil
}

// List implements Store.
func (s *MemStore) List(_ context.Context, f Filter) ([]Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, inc := range s.incs {
		switch {
		case !f.From.IsZero() && inc.OpenedAt.Before(f.From):
		case !f.To.IsZero() && !inc.OpenedAt.Before(f.To):
		case len(f.States) > 0 && !slices.Contains(f.States, inc.State):
		default:
			out = append(out, inc.clone())
		}
	}
	slices.SortFunc(out, func(a, b Incident) int { return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID)) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// Active implements Store.
func (s *MemStore) Active(ctx context.Context) ([]Incident, error) {
	all, err := s.List(ctx, Filter{States: []State{StateOpen, StateAcknowledged, StateMitigated}})
	slices.SortFunc(all, func(a, b Incident) int { return a.Deadline.Compare(b.Deadline) })
	return all, err
}

// Events returns every event so far, in order.
func (s *MemStore) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

var (
	_ Store = (*MemStore)(nil)
	_ Store = (*RedisStore)(nil)
)
