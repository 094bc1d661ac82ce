package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// Defaults of a Store's settings.
const (
	DefaultSessionTTL = 12 * time.Hour
)

// DefaultLoginRate is 10 login attempts a minute per user name and per
// client address.
var DefaultLoginRate = redis_rate.PerMinute(10)

// Store keeps users, sessions and API tokens in Redis. Set its exported
// fields before first use; it is safe for concurrent use after that.
type Store struct {
	// BcryptCost is the cost of new password hashes; default
	// bcrypt.DefaultCost (tests use bcrypt.MinCost).
	BcryptCost int
	// SessionTTL is how long a session lasts from login; default
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// LoginRate limits login attempts, each counted, per user name and
	// per client address; default DefaultLoginRate.
	LoginRate redis_rate.Limit
	// Now is the clock stamping users, sessions and tokens; default
	// time.Now. Sessions expire by Redis's clock.
	Now func() time.Time

	rdb     redis.UniversalClient
	prefix  string
	limiter *redis_rate.Limiter

	dummyMu   sync.Mutex
	dummyCost int
	dummy     []byte
}

// NewStore returns a store keeping its keys under prefix (the bus prefix,
// e.g. "bidwatch:").
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{
		BcryptCost: bcrypt.DefaultCost,
		SessionTTL: DefaultSessionTTL,
		LoginRate:  DefaultLoginRate,
		Now:        time.Now,
		rdb:        rdb,
		prefix:     prefix,
		limiter:    redis_rate.NewLimiter(rdb),
	}
}

func (s *Store) usersKey() string              { return s.prefix + "console:users" }
func (s *Store) sessionKey(hash string) string { return s.prefix + "console:session:" + hash }
func (s *Store) userSessionsKey(name string) string {
	return s.prefix + "console:user-sessions:" + name
}
func (s *Store) tokensKey() string { return s.prefix + "console:tokens" }

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Store) cost() int {
	if s.BcryptCost == 0 {
		return bcrypt.DefaultCost
	}
	return s.BcryptCost
}

func (s *Store) ttl() time.Duration {
	if s.SessionTTL <= 0 {
		return DefaultSessionTTL
	}
	return s.SessionTTL
}

// hashPassword hashes a new password, checked first.
func (s *Store) hashPassword(pw string) (string, error) {
	if err := validPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is a hash of no one's password at the store's cost, compared
// against when a login names nobody so that it takes as long as one with a
// wrong password.
func (s *Store) dummyHash() []byte {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == nil || s.dummyCost != s.cost() {
		pw := make([]byte, 24)
		fillRandom(pw)
		h, err := bcrypt.GenerateFromPassword(pw, s.cost())
		if err != nil { // only for an out-of-range cost, which AddUser reports
			return nil
		}
		s.dummy, s.dummyCost = h, s.cost()
	}
	return s.dummy
}

// AddUser adds a user; a name that is taken is refused with ErrUserExists.
func (s *Store) AddUser(ctx context.Context, name, display string, role Role, password string) (User, error) {
	if err := ValidName(name); err != nil {
		return User{}, err
	}
	display, err := validDisplay(display)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("%w: unknown role %q: want viewer, operator, supervisor or admin", ErrInvalid, role)
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	rec := record{User: User{Name: name, Display: display, Role: role, CreatedAt: now, ChangedAt: now}, Hash: hash}
	b, err := json.Marshal(rec)
	if err != nil {
		return User{}, err
	}
	added, err := s.rdb.HSetNX(ctx, s.usersKey(), name, b).Result()
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	if !added {
		return User{}, fmt.Errorf("%w: %q", ErrUserExists, name)
	}
	return rec.User, nil
}

// Get returns a user; ErrNoUser when there is none.
func (s *Store) Get(ctx context.Context, name string) (User, error) {
	rec, err := s.record(ctx, s.rdb, name)
	return rec.User, err
}

// List returns every user, by name.
func (s *Store) List(ctx context.Context) ([]User, error) {
	all, err := s.rdb.HGetAll(ctx, s.usersKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users := make([]User, 0, len(all))
	for name, v := range all {
		var rec record
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return nil, fmt.Errorf("user %q: unreadable record: %w", name, err)
		}
		users = append(users, rec.User)
	}
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return users, nil
}

// SetPassword changes a user's password and ends all the user's sessions.
// API tokens stay.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	if _, err := s.change(ctx, name, func(r *record) { r.Hash, r.Epoch = hash, r.Epoch+1 }); err != nil {
		return err
	}
	return s.endSessions(ctx, name)
}

// SetRole changes a user's role; it applies from the user's next request.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("%w: unknown role %q: want viewer, operator, supervisor or admin", ErrInvalid, role)
	}
	_, err := s.change(ctx, name, func(r *record) { r.Role = role })
	return err
}

// Disable stops a user signing in, ends the user's sessions and makes the
// user's API tokens unusable until Enable.
func (s *Store) Disable(ctx context.Context, name string) error {
	if _, err := s.change(ctx, name, func(r *record) { r.Disabled, r.Epoch = true, r.Epoch+1 }); err != nil {
		return err
	}
	return s.endSessions(ctx, name)
}

// Enable lets a disabled user sign in again; the user's API tokens work
// again.
func (s *Store) Enable(ctx context.Context, name string) error {
	_, err := s.change(ctx, name, func(r *record) { r.Disabled = false })
	return err
}

// record reads a user as stored.
func (s *Store) record(ctx context.Context, c redis.Cmdable, name string) (record, error) {
	v, err := c.HGet(ctx, s.usersKey(), name).Result()
	if errors.Is(err, redis.Nil) {
		return record{}, fmt.Errorf("%w: %q", ErrNoUser, name)
	}
	if err != nil {
		return record{}, fmt.Errorf("read user %q: %w", name, err)
	}
	var rec record
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return record{}, fmt.Errorf("user %q: unreadable record: %w", name, err)
	}
	return rec, nil
}

// change applies fn to a user as stored and saves it, retrying when
// another change raced it.
func (s *Store) change(ctx context.Context, name string, fn func(*record)) (record, error) {
	key := s.usersKey()
	for range 20 {
		var out record
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			rec, err := s.record(ctx, tx, name)
			if err != nil {
				return err
			}
			fn(&rec)
			rec.ChangedAt = s.now().UTC()
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, name, b)
				return nil
			})
			if err != nil && !errors.Is(err, redis.TxFailedErr) {
				return fmt.Errorf("change user %q: %w", name, err)
			}
			out = rec
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return out, err
	}
	return record{}, fmt.Errorf("change user %q: too many concurrent changes, try again", name)
}
