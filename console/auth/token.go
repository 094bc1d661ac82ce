package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TokenPrefix starts every API token, so a leaked one is recognisable.
const TokenPrefix = "bw_"

// Token describes an API token: never the token itself, which is shown
// once, by NewToken, and kept only as its SHA-256.
type Token struct {
	User      string    `json:"user"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

// NewToken makes an API token for a user, for scripts and `bidwatch
// incidents`; the token acts as the user, with the user's role at the time
// of each request. label names it for Tokens and RevokeToken and must be
// new among the user's tokens.
func (s *Store) NewToken(ctx context.Context, user, label string) (string, error) {
	label, err := validLabel(label)
	if err != nil {
		return "", err
	}
	rec, err := s.record(ctx, s.rdb, user)
	if err != nil {
		return "", err
	}
	if rec.Disabled {
		return "", fmt.Errorf("%w: %q: enable the user first", ErrDisabled, user)
	}
	token := TokenPrefix + randomString()
	b, err := json.Marshal(Token{User: user, Label: label, CreatedAt: s.now().UTC()})
	if err != nil {
		return "", err
	}
	key := s.tokensKey()
	for range 20 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			all, err := s.tokens(ctx, tx)
			if err != nil {
				return err
			}
			for _, t := range all {
				if t.User == user && t.Label == label {
					return fmt.Errorf("%w: user %q already has a token labelled %q: revoke it or choose another label", ErrTokenExists, user, label)
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, key, hashToken(token), b)
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return "", err
		}
		return token, nil
	}
	return "", fmt.Errorf("new token for %q: too many concurrent changes, try again", user)
}

// TokenUser returns the user an API token acts as: ErrBadToken for an
// unknown or revoked token, ErrDisabled for a disabled user's.
func (s *Store) TokenUser(ctx context.Context, token string) (User, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > maxTokenLength {
		return User{}, ErrBadToken
	}
	v, err := s.rdb.HGet(ctx, s.tokensKey(), hashToken(token)).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, ErrBadToken
	}
	if err != nil {
		return User{}, fmt.Errorf("read API token: %w", err)
	}
	var t Token
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return User{}, fmt.Errorf("unreadable API token record: %w", err)
	}
	rec, err := s.record(ctx, s.rdb, t.User)
	switch {
	case errors.Is(err, ErrNoUser):
		return User{}, ErrBadToken
	case err != nil:
		return User{}, err
	case rec.Disabled:
		return User{}, fmt.Errorf("%w: %q", ErrDisabled, rec.Name)
	}
	return rec.User, nil
}

// RevokeToken deletes a user's API token by its label; ErrNoToken when the
// user has none so labelled.
func (s *Store) RevokeToken(ctx context.Context, user, label string) error {
	label = strings.TrimSpace(label)
	key := s.tokensKey()
	for range 20 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			all, err := s.tokens(ctx, tx)
			if err != nil {
				return err
			}
			var fields []string
			for h, t := range all {
				if t.User == user && t.Label == label {
					fields = append(fields, h)
				}
			}
			if len(fields) == 0 {
				return fmt.Errorf("%w: user %q has no token labelled %q", ErrNoToken, user, label)
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HDel(ctx, key, fields...)
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return err
	}
	return fmt.Errorf("revoke token of %q: too many concurrent changes, try again", user)
}

// Tokens lists a user's API tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]Token, error) {
	all, err := s.tokens(ctx, s.rdb)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, t := range all {
		if t.User == user {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out, nil
}

// tokens reads every API token's record, by the token's hash.
func (s *Store) tokens(ctx context.Context, c redis.Cmdable) (map[string]Token, error) {
	all, err := c.HGetAll(ctx, s.tokensKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read API tokens: %w", err)
	}
	out := make(map[string]Token, len(all))
	for h, v := range all {
		var t Token
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return nil, fmt.Errorf("unreadable API token record: %w", err)
		}
		out[h] = t
	}
	return out, nil
}
