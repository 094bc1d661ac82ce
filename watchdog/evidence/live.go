package evidence

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SealEntries returns the seal entries of the groups gs that are sealed,
// read in one round trip after their seals.
func (c *Chain) SealEntries(ctx context.Context, gs []Group) (map[Group]Entry, error) {
	seals, err := c.Seals(ctx, gs)
	if err != nil {
		return nil, err
	}
	out := make(map[Group]Entry, len(seals))
	if len(seals) == 0 {
		return out, nil
	}
	pipe := c.rdb.Pipeline()
	cmds := map[Group]*redis.StringCmd{}
	for g, s := range seals {
		cmds[g] = pipe.LIndex(ctx, c.key(KeyChain), s.N-1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read seal entries: %w", err)
	}
	for g, cmd := range cmds {
		var e Entry
		if json.Unmarshal([]byte(cmd.Val()), &e) == nil {
			out[g] = e
		}
	}
	return out, nil
}

// CompareLive checks entries and a head from a file against the chain in
// Redis: each entry must be the live chain's entry of its number, byte for
// byte in every field, and the head must be in the live chain. It returns
// the first difference as a *Problem.
func (c *Chain) CompareLive(ctx context.Context, entries []Entry, head Head) error {
	live, err := c.Head(ctx)
	if err != nil {
		return err
	}
	check := append([]Entry(nil), entries...)
	if head.N > 0 {
		check = append(check, Entry{N: head.N, Hash: head.Hash})
	}
	for i, e := range check {
		where := fmt.Sprintf("chain entry n=%d", e.N)
		if i == len(check)-1 && head.N > 0 {
			where = "head"
		}
		if e.N < 1 || e.N > live.N {
			return &Problem{Where: where, What: Added, Detail: fmt.Sprintf("the live chain ends at n=%d", live.N)}
		}
		got, err := c.Entries(ctx, e.N, e.N)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return &Problem{Where: where, What: Removed, Detail: "the live chain has no such entry"}
		}
		if got[0].Hash != e.Hash {
			return &Problem{Where: where, What: Changed, Detail: fmt.Sprintf("the live chain's entry n=%d has hash %s, the file's %s", e.N, got[0].Hash.Short(), e.Hash.Short())}
		}
	}
	return nil
}

// SignedHead reads the head and, with key, signs it at now (SignHead): the
// head a report or an export carries.
func (c *Chain) SignedHead(ctx context.Context, now time.Time, key ed25519.PrivateKey) (Head, error) {
	h, err := c.Head(ctx)
	if err != nil {
		return Head{}, err
	}
	h.At = now.UTC().Truncate(time.Millisecond)
	if key != nil && h.N > 0 {
		h = SignHead(h, key)
	}
	return h, nil
}

// ParsePublicKey reads an Ed25519 public key: 32 bytes raw, in hex or in
// base64, or a private key (config.ParseSigningKey's forms) whose public
// half is taken.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(data))
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	if len(data) == ed25519.PublicKeySize {
		return ed25519.PublicKey(data), nil
	}
	return nil, fmt.Errorf("not an Ed25519 public key: want 32 bytes, raw, hex or base64")
}
