package bustest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters (no replicas) on free
// loopback ports, slots split evenly, as a province runs Redis. It stops
// when the test ends.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
	ids   []string
}

// StartCluster starts the three nodes, assigns the slots, joins them and
// waits until every node reports the cluster ok. It skips the test when
// redis-server is not on PATH.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for range 3 {
		c.Nodes = append(c.Nodes, StartRedis(t, WithArgs("--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, n := range c.Nodes {
		cl := c.client(n)
		id, err := cl.ClusterMyID(ctx).Result()
		if err != nil {
			t.Fatalf("bustest: cluster myid: %v", err)
		}
		c.ids = append(c.ids, id)
		if err := cl.ClusterAddSlotsRange(ctx, ranges[i][0], ranges[i][1]).Err(); err != nil {
			t.Fatalf("bustest: cluster addslotsrange: %v", err)
		}
		if i > 0 {
			if err := cl.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(c.Nodes[0].Port())).Err(); err != nil {
				t.Fatalf("bustest: cluster meet: %v", err)
			}
		}
		_ = cl.Close()
	}
	c.waitFor(30*time.Second, "the cluster to be ok on every node", func() bool {
		for _, n := range c.Nodes {
			cl := c.client(n)
			info, err := cl.ClusterInfo(ctx).Result()
			nodes, _ := cl.ClusterNodes(ctx).Result()
			_ = cl.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || strings.Count(nodes, "master") < 3 {
				return false
			}
		}
		return true
	})
	return c
}

// URL is a redis-cluster:// URL naming every node.
func (c *Cluster) URL() string {
	u := "redis-cluster://" + c.Nodes[0].Addr()
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			u += "?addr=" + n.Addr()
		} else {
			u += "&addr=" + n.Addr()
		}
	}
	return u
}

// Owner is the index of the node that owns key's slot now.
func (c *Cluster) Owner(key string) int {
	slot := Slot(key)
	cl := c.client(c.Nodes[0])
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shards, err := cl.ClusterShards(ctx).Result()
	if err != nil {
		c.t.Fatalf("bustest: cluster shards: %v", err)
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if int64(slot) < r.Start || int64(slot) > r.End {
				continue
			}
			for _, node := range sh.Nodes {
				for i, n := range c.Nodes {
					if node.Role == "master" && int(node.Port) == n.Port() {
						return i
					}
				}
			}
		}
	}
	c.t.Fatalf("bustest: no node owns slot %d", slot)
	return -1
}

// Slot is key's hash slot.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % 16384)
}

// MigrateSlot moves slot from node from to node to while clients use it,
// the way redis-cli --cluster reshard does: IMPORTING on the target,
// MIGRATING on the source, MIGRATE the keys a few at a time (pausing
// between batches, so clients meet the slot half moved), then the new
// owner announced to every node.
func (c *Cluster) MigrateSlot(slot, from, to int, pause time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src, dst := c.client(c.Nodes[from]), c.client(c.Nodes[to])
	defer src.Close()
	defer dst.Close()
	must := func(err error, what string) {
		if err != nil {
			c.t.Fatalf("bustest: migrate slot %d: %s: %v", slot, what, err)
		}
	}
	must(dst.Do(ctx, "cluster", "setslot", slot, "importing", c.ids[from]).Err(), "importing")
	must(src.Do(ctx, "cluster", "setslot", slot, "migrating", c.ids[to]).Err(), "migrating")
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, 2).Result()
		must(err, "getkeysinslot")
		if len(keys) == 0 {
			break
		}
		args := []any{"migrate", "127.0.0.1", c.Nodes[to].Port(), "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		must(src.Do(ctx, args...).Err(), "migrate")
		time.Sleep(pause)
	}
	for _, n := range []int{to, from, 3 - from - to} {
		cl := c.client(c.Nodes[n])
		must(cl.Do(ctx, "cluster", "setslot", slot, "node", c.ids[to]).Err(), "node")
		_ = cl.Close()
	}
}

func (c *Cluster) client(n *Server) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint(), MaxRetries: -1})
}

func (c *Cluster) waitFor(timeout time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("bustest: timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// crc16 is Redis Cluster's key hash (CRC16-CCITT, XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
