package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
