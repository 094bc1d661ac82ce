package auth

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

const testPrefix = "t:"

// newTestStore is a store on a private redis-server, hashing at bcrypt's
// least cost.
func newTestStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	srv := bustest.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	s := NewStore(rdb, testPrefix)
	s.BcryptCost = bcrypt.MinCost
	return s, rdb
}

// mustAdd adds a user or fails the test.
func mustAdd(t *testing.T, s *Store, name, display string, role Role, pw string) User {
	t.Helper()
	u, err := s.AddUser(context.Background(), name, display, role, pw)
	if err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	return u
}
