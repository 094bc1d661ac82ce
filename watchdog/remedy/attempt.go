package remedy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// AttemptState is where an attempt is.
type AttemptState string

// The attempt states. Running and Verifying are unfinished: a new leader
// takes such an attempt over (recover.go).
const (
	AttemptRunning     AttemptState = "running"
	AttemptVerifying   AttemptState = "verifying"
	AttemptVerified    AttemptState = "verified"
	AttemptFailed      AttemptState = "failed"
	AttemptInterrupted AttemptState = "interrupted"
	AttemptRefused     AttemptState = "refused"
	AttemptDryRun      AttemptState = "dry_run"
)

// Unfinished reports whether an attempt is still under way.
func (s AttemptState) Unfinished() bool { return s == AttemptRunning || s == AttemptVerifying }

// Attempt is one runbook's attempt on one incident: the record of what was
// done (处置过程), kept in Redis.
type Attempt struct {
	Runbook  string `json:"runbook"`
	Incident string `json:"incident"`
	// Spell counts the incident's reopenings when it began: a reopened
	// incident gets a new attempt.
	Spell int `json:"spell,omitempty"`
	// Target is what the cooldown is kept on: the incident's cause key.
	Target string `json:"target"`
	// By is who asked for a manual run ("" for the watchdog's own).
	By      string       `json:"by,omitempty"`
	Started time.Time    `json:"started"`
	Ended   time.Time    `json:"ended,omitzero"`
	State   AttemptState `json:"state"`
	// Reason says why it was refused, or how it failed.
	Reason string       `json:"reason,omitempty"`
	Steps  []StepRecord `json:"steps"`
	// VerifyBy is when verification gives up (set when it begins).
	VerifyBy time.Time `json:"verify_by,omitzero"`
	// Key is the attempt's Redis key (not stored).
	Key string `json:"-"`
}

// StepRecord is one step of an attempt. Started is written before the step
// runs, Ended after: a step started and not ended was interrupted.
type StepRecord struct {
	Name        string    `json:"name"`
	Action      string    `json:"action"`
	Started     time.Time `json:"started,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
	OK          bool      `json:"ok"`
	Output      string    `json:"output,omitempty"`
	Interrupted bool      `json:"interrupted,omitempty"`
}

// keepAttempt is how long an attempt record is kept.
const keepAttempt = 30 * 24 * time.Hour

// ErrTaken: the attempt exists already (another replica, or an earlier
// leader, has it).
var ErrTaken = errors.New("attempt exists already")

// Attempts keeps attempt records in Redis.
type Attempts struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewAttempts returns the attempt records under prefix.
func NewAttempts(rdb redis.UniversalClient, prefix string) *Attempts {
	return &Attempts{rdb: rdb, prefix: prefix}
}

// AttemptKey is the key of a runbook's attempt on an incident's spell:
// remedy:attempt:<incident>:<runbook>, with ":<spell>" once it reopened.
func (s *Attempts) AttemptKey(incident, runbook string, spell int) string {
	k := s.prefix + keyAttempt + incident + ":" + runbook
	if spell > 0 {
		k += ":" + strconv.Itoa(spell)
	}
	return k
}

// Create writes a new attempt unless one exists under its key (SET NX):
// the lock that makes an action run once. It returns ErrTaken when one does.
func (s *Attempts) Create(ctx context.Context, a *Attempt) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode attempt: %w", err)
	}
	ok, err := s.rdb.SetNX(ctx, a.Key, b, keepAttempt).Result()
	if err != nil {
		return fmt.Errorf("take attempt %s: %w", a.Key, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", a.Key, ErrTaken)
	}
	return nil
}

// Save writes an attempt over its record.
func (s *Attempts) Save(ctx context.Context, a *Attempt) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode attempt: %w", err)
	}
	if err := s.rdb.Set(ctx, a.Key, b, keepAttempt).Err(); err != nil {
		return fmt.Errorf("save attempt %s: %w", a.Key, err)
	}
	return nil
}

// Load reads an attempt by its key.
func (s *Attempts) Load(ctx context.Context, key string) (Attempt, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if err != nil {
		return Attempt{}, fmt.Errorf("read attempt %s: %w", key, err)
	}
	var a Attempt
	if err := json.Unmarshal(b, &a); err != nil {
		return Attempt{}, fmt.Errorf("decode attempt %s: %w", key, err)
	}
	a.Key = key
	return a, nil
}

// Unfinished returns the attempts left running or verifying. It SCANs the
// attempt keys: fine on one Redis (or a Sentinel pair); on a Cluster a
// ClusterClient's Scan reaches one shard only, and this would have to scan
// each master (ForEachMaster).
func (s *Attempts) Unfinished(ctx context.Context) ([]Attempt, error) {
	var out []Attempt
	iter := s.rdb.Scan(ctx, 0, s.prefix+keyAttempt+"*", 200).Iterator()
	for iter.Next(ctx) {
		a, err := s.Load(ctx, iter.Val())
		if errors.Is(err, redis.Nil) {
			continue // expired meanwhile
		}
		if err != nil {
			return out, err
		}
		if a.State.Unfinished() {
			out = append(out, a)
		}
	}
	if err := iter.Err(); err != nil {
		return out, fmt.Errorf("scan attempts: %w", err)
	}
	return out, nil
}
