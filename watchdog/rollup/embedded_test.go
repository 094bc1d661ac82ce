package rollup

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestOnEmbeddedRedis: the scripts and transactions work on the embedded
// Redis (miniredis) the binary starts when none is configured, as on a
// real one.
func TestOnEmbeddedRedis(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	testStoreMatchesMem(t, rdb)
	testHealthMatchesMem(t, rdb)
}
