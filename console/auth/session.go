package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// Session is one signed-in browser.
type Session struct {
	// Token is the cookie's value. Only the Session Login returns, and one
	// Lookup was given the token for, carry it; Redis keeps its SHA-256.
	Token string `json:"-"`
	// CSRF must come back in the X-CSRF-Token header of every change the
	// session asks for.
	CSRF      string    `json:"-"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Addr is the client address that signed in.
	Addr string `json:"addr,omitempty"`
}

// storedSession is a session as kept under its token's hash.
type storedSession struct {
	User      string    `json:"user"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Addr      string    `json:"addr,omitempty"`
	// Epoch is the user's epoch at login; see record.Epoch.
	Epoch int64 `json:"epoch"`
}

// Login checks a user's name and password and opens a session for them.
// addr is the client's address (ClientAddr) for the per-address limit; ""
// skips it. Over either limit it returns a *RateLimitedError without
// looking at the password; an unknown name, a wrong password and a disabled
// user all give ErrBadLogin, after the same bcrypt work.
func (s *Store) Login(ctx context.Context, name, password, addr string) (Session, error) {
	if err := s.limitLogin(ctx, name, addr); err != nil {
		return Session{}, err
	}
	rec, err := s.record(ctx, s.rdb, name)
	switch {
	case errors.Is(err, ErrNoUser):
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return Session{}, ErrBadLogin
	case err != nil:
		return Session{}, fmt.Errorf("login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(rec.Hash), []byte(password)) != nil || rec.Disabled {
		return Session{}, ErrBadLogin
	}

	now, ttl := s.now().UTC(), s.ttl()
	sess := Session{Token: randomString(), CSRF: randomString(), User: name, CreatedAt: now, ExpiresAt: now.Add(ttl), Addr: addr}
	b, err := json.Marshal(storedSession{User: name, CSRF: sess.CSRF, CreatedAt: now, ExpiresAt: sess.ExpiresAt, Addr: addr, Epoch: rec.Epoch})
	if err != nil {
		return Session{}, err
	}
	h, set := hashToken(sess.Token), s.userSessionsKey(name)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.sessionKey(h), b, ttl)
		p.ZRemRangeByScore(ctx, set, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		p.ZAdd(ctx, set, redis.Z{Score: float64(sess.ExpiresAt.UnixMilli()), Member: h})
		p.PExpire(ctx, set, ttl)
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("login %q: save session: %w", name, err)
	}
	return sess, nil
}

// limitLogin counts a login attempt against the limits for the name and
// for the address.
func (s *Store) limitLogin(ctx context.Context, name, addr string) error {
	limit := s.LoginRate
	if limit.IsZero() {
		limit = DefaultLoginRate
	}
	var keys []string
	if ValidName(name) == nil { // no one has another name: only the address limit applies
		keys = append(keys, s.prefix+"console:login:name:"+name)
	}
	if addr != "" {
		if len(addr) > 64 {
			addr = hashToken(addr)
		}
		keys = append(keys, s.prefix+"console:login:addr:"+addr)
	}
	var wait time.Duration
	for _, k := range keys {
		res, err := s.limiter.Allow(ctx, k, limit)
		if err != nil {
			return fmt.Errorf("login: rate limit: %w", err)
		}
		if res.Allowed == 0 {
			wait = max(wait, res.RetryAfter, time.Second)
		}
	}
	if wait > 0 {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}

// Lookup returns the user and session of a session token. It fails with
// ErrNoSession for an unknown, expired or ended session and ErrDisabled for
// a disabled user's. It refreshes nothing: a session ends SessionTTL after
// login however busy it is.
func (s *Store) Lookup(ctx context.Context, token string) (User, Session, error) {
	if token == "" || len(token) > maxTokenLength {
		return User{}, Session{}, ErrNoSession
	}
	v, err := s.rdb.Get(ctx, s.sessionKey(hashToken(token))).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, Session{}, ErrNoSession
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("read session: %w", err)
	}
	var ss storedSession
	if err := json.Unmarshal([]byte(v), &ss); err != nil {
		return User{}, Session{}, fmt.Errorf("unreadable session: %w", err)
	}
	rec, err := s.record(ctx, s.rdb, ss.User)
	switch {
	case errors.Is(err, ErrNoUser):
		return User{}, Session{}, ErrNoSession
	case err != nil:
		return User{}, Session{}, err
	case rec.Disabled:
		return User{}, Session{}, fmt.Errorf("%w: %q", ErrDisabled, rec.Name)
	case rec.Epoch != ss.Epoch:
		return User{}, Session{}, ErrNoSession
	}
	return rec.User, Session{Token: token, CSRF: ss.CSRF, User: ss.User, CreatedAt: ss.CreatedAt, ExpiresAt: ss.ExpiresAt, Addr: ss.Addr}, nil
}

// Logout ends a session. Ending one that is over already is no error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLength {
		return nil
	}
	h := hashToken(token)
	v, err := s.rdb.GetDel(ctx, s.sessionKey(h)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	var ss storedSession
	if json.Unmarshal([]byte(v), &ss) == nil && ss.User != "" {
		if err := s.rdb.ZRem(ctx, s.userSessionsKey(ss.User), h).Err(); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	}
	return nil
}

// endSessions deletes every session of a user.
func (s *Store) endSessions(ctx context.Context, name string) error {
	set := s.userSessionsKey(name)
	hashes, err := s.rdb.ZRange(ctx, set, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("end sessions of %q: %w", name, err)
	}
	keys := []string{set}
	for _, h := range hashes {
		keys = append(keys, s.sessionKey(h))
	}
	// One DEL per key: with a Redis Cluster and a hash-tagged prefix they
	// share a slot anyway, but a pipeline keeps it simple either way.
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end sessions of %q: %w", name, err)
	}
	return nil
}

// randomString is 32 random bytes, base64url without padding.
func randomString() string {
	b := make([]byte, 32)
	fillRandom(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func fillRandom(b []byte) {
	// crypto/rand.Read never fails: it crashes the program instead, as it
	// must rather than hand out a predictable token.
	_, _ = rand.Read(b)
}

// hashToken is the hex SHA-256 a token is kept as.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
