package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Silence mutes dispatch for the incidents it matches while it lasts:
// recorded, not sent (a planned change, a known fault being worked on).
// Maintenance windows mute the same way from the configuration.
type Silence struct {
	ID string `json:"id"`
	// Match holds what an incident must have, every key: sub_center,
	// room, server (one of its place's), cause, key, class.
	Match  map[string]string `json:"match"`
	Start  time.Time         `json:"start"`
	End    time.Time         `json:"end"`
	By     string            `json:"by"`
	Reason string            `json:"reason"`
}

// MatchKeys are the keys a silence may match on.
var MatchKeys = []string{"sub_center", "room", "server", "cause", "key", "class"}

// ErrBadSilence: a silence that cannot be kept (no matcher, an unknown key,
// no end).
var ErrBadSilence = errors.New("bad silence")

// Check says what is wrong with a silence, or nil.
func (s *Silence) Check() error {
	if len(s.Match) == 0 {
		return fmt.Errorf("%w: match nothing would silence everything; give sub_center=, room=, server=, cause=, key= or class=", ErrBadSilence)
	}
	for k, v := range s.Match {
		if !slices.Contains(MatchKeys, k) {
			return fmt.Errorf("%w: unknown key %q (want %s)", ErrBadSilence, k, strings.Join(MatchKeys, ", "))
		}
		if v == "" {
			return fmt.Errorf("%w: %s has no value", ErrBadSilence, k)
		}
	}
	if !s.End.After(s.Start) {
		return fmt.Errorf("%w: it ends before it starts", ErrBadSilence)
	}
	if strings.TrimSpace(s.By) == "" {
		return fmt.Errorf("%w: who silences is required", ErrBadSilence)
	}
	return nil
}

// Active reports whether the silence is on at t.
func (s *Silence) Active(t time.Time) bool { return !t.Before(s.Start) && t.Before(s.End) }

// Matches reports whether the silence covers an incident.
func (s *Silence) Matches(b *incident.Brief) bool {
	for k, v := range s.Match {
		var ok bool
		switch k {
		case "sub_center":
			ok = slices.Contains(b.SubCenters, v)
		case "room":
			ok = slices.Contains(b.Rooms, v)
		case "server":
			ok = slices.Contains(b.Servers, v)
		case "cause":
			ok = string(b.Cause) == v
		case "key":
			ok = b.Key == v
		case "class":
			ok = string(b.Class) == v
		}
		if !ok {
			return false
		}
	}
	return true
}

// String says what it silences: "sub_center=jd room=jd-hall-1".
func (s *Silence) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Match)) {
		parts = append(parts, k+"="+s.Match[k])
	}
	return strings.Join(parts, " ")
}

// Silences keeps silences in a Redis hash.
type Silences struct {
	rdb redis.UniversalClient
	key string
}

// NewSilences returns the silences under prefix.
func NewSilences(rdb redis.UniversalClient, prefix string) *Silences {
	return &Silences{rdb: rdb, key: prefix + "dispatch:silences"}
}

// Add keeps a new silence and returns it with its id.
func (ss *Silences) Add(ctx context.Context, s Silence) (Silence, error) {
	if err := s.Check(); err != nil {
		return s, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s.ID = "SIL-" + hex.EncodeToString(b[:])
	data, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	if err := ss.rdb.HSet(ctx, ss.key, s.ID, data).Err(); err != nil {
		return s, fmt.Errorf("add silence: %w", err)
	}
	return s, nil
}

// Expire ends a silence now (it stays listed until it is a day old).
func (ss *Silences) Expire(ctx context.Context, id string, now time.Time) error {
	data, err := ss.rdb.HGet(ctx, ss.key, id).Result()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("silence %s: %w", id, incident.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read silence %s: %w", id, err)
	}
	var s Silence
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return fmt.Errorf("read silence %s: %w", id, err)
	}
	if s.End.After(now) {
		s.End = now
	}
	out, _ := json.Marshal(s)
	return ss.rdb.HSet(ctx, ss.key, id, out).Err()
}

// List returns every silence, newest first, dropping those ended a day ago.
func (ss *Silences) List(ctx context.Context, now time.Time) ([]Silence, error) {
	all, err := ss.rdb.HGetAll(ctx, ss.key).Result()
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	var out []Silence
	for id, data := range all {
		var s Silence
		if json.Unmarshal([]byte(data), &s) != nil {
			continue
		}
		if now.Sub(s.End) > 24*time.Hour {
			_ = ss.rdb.HDel(ctx, ss.key, id).Err()
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, nil
}

// Muting returns the active silence covering an incident, if any.
func Muting(silences []Silence, b *incident.Brief, now time.Time) (Silence, bool) {
	for _, s := range silences {
		if s.Active(now) && s.Matches(b) {
			return s, true
		}
	}
	return Silence{}, false
}
