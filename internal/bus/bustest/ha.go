package bustest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// noMaint keeps test clients from sending CLIENT MAINT_NOTIFICATIONS,
// which Redis 7.0 counts as an error.
func noMaint() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// MasterName is the name the sentinels of StartSentinel monitor.
const MasterName = "bidwatch"

// Pid is the server's process id, or 0 when it is stopped.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Signal sends sig to the server (SIGSTOP freezes it, SIGCONT thaws it).
func (s *Server) Signal(sig syscall.Signal) error {
	pid := s.Pid()
	if pid == 0 {
		return fmt.Errorf("bustest: server on port %d is not running", s.port)
	}
	return syscall.Kill(pid, sig)
}

// Sentinel is a master, a replica and three sentinels on free loopback
// ports, as a city runs Redis (down-after 1 s, so a failover takes a few
// seconds). Everything stops when the test ends.
type Sentinel struct {
	t         testing.TB
	Nodes     []*Server // [0] starts as master, [1] as its replica
	Sentinels []*Server
}

// StartSentinel starts the set and waits until the sentinels agree on the
// master and know the replica. It skips the test when redis-server is not
// on PATH.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	master := StartRedis(t, WithAOF())
	replica := StartRedis(t, WithAOF(), WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.Port())))
	h := &Sentinel{t: t, Nodes: []*Server{master, replica}}
	for range 3 {
		port := freePort(t)
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\n"+
			"sentinel failover-timeout %s 10000\n"+
			"sentinel parallel-syncs %s 1\n",
			port, dir, MasterName, master.Port(), MasterName, MasterName, MasterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		bin, _ := exec.LookPath("redis-server")
		s := &Server{t: t, bin: bin, port: port, dir: dir, sentinelConf: conf}
		if err := s.start(); err != nil {
			t.Fatalf("bustest: sentinel: %v", err)
		}
		t.Cleanup(s.Stop)
		h.Sentinels = append(h.Sentinels, s)
	}
	h.waitFor(15*time.Second, "the sentinels to see the master and its replica", func() bool {
		for _, s := range h.Sentinels {
			if h.sentinelMaster(s) != master.Addr() || h.sentinelReplicas(s) < 1 {
				return false
			}
		}
		return LinkUp(replica)
	})
	return h
}

// URL is the redis-sentinel:// URL naming all three sentinels.
func (h *Sentinel) URL() string {
	u := "redis-sentinel://" + h.Sentinels[0].Addr() + "?master_name=" + MasterName
	for _, s := range h.Sentinels[1:] {
		u += "&addr=" + s.Addr()
	}
	return u
}

// Master is the node the sentinels name master now.
func (h *Sentinel) Master() *Server {
	for _, s := range h.Sentinels {
		addr := h.sentinelMaster(s)
		for _, n := range h.Nodes {
			if n.Addr() == addr {
				return n
			}
		}
	}
	h.t.Fatal("bustest: no sentinel names a master")
	return nil
}

// Failover asks a sentinel for a planned failover (SENTINEL FAILOVER) and
// waits until the replica is master and the old master replicates from it.
// It returns the new master.
func (h *Sentinel) Failover() *Server {
	h.t.Helper()
	old := h.Master()
	c := redis.NewSentinelClient(&redis.Options{Addr: h.Sentinels[0].Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Failover(ctx, MasterName).Err(); err != nil {
		h.t.Fatalf("bustest: SENTINEL FAILOVER: %v", err)
	}
	return h.WaitSwitched(old)
}

// WaitSwitched waits until every sentinel names a master other than old,
// and, if old is running, until it replicates from the new one. It
// returns the new master.
func (h *Sentinel) WaitSwitched(old *Server) *Server {
	h.t.Helper()
	var now *Server
	h.waitFor(30*time.Second, "the sentinels to switch masters", func() bool {
		for _, s := range h.Sentinels {
			if h.sentinelMaster(s) == old.Addr() || h.sentinelMaster(s) == "" {
				return false
			}
		}
		now = h.Master()
		return old.Pid() == 0 || LinkUp(old)
	})
	return now
}

// Restart restarts a stopped node, as an operator would after a crash; the
// sentinels turn it into a replica of the current master. It waits until
// it replicates.
func (h *Sentinel) Restart(n *Server) {
	h.t.Helper()
	n.Restart()
	h.waitFor(30*time.Second, "the restarted node to replicate", func() bool { return LinkUp(n) })
}

func (h *Sentinel) sentinelMaster(s *Server) string {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint(), DialTimeout: 300 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := c.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return net.JoinHostPort(a[0], a[1])
}

func (h *Sentinel) sentinelReplicas(s *Server) int {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint(), DialTimeout: 300 * time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := c.Replicas(ctx, MasterName).Result()
	if err != nil {
		return 0
	}
	return len(r)
}

// LinkUp reports whether n is a replica whose link to its master is up.
func LinkUp(n *Server) bool {
	info := Info(n, "replication")
	return strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up")
}

// StartReplica starts a redis-server replicating master and returns once
// its link is up (failing t after 10 s).
func StartReplica(t testing.TB, master *Server, opts ...Option) *Server {
	t.Helper()
	opts = append(opts, WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.Port())))
	replica := StartRedis(t, opts...)
	deadline := time.Now().Add(10 * time.Second)
	for !LinkUp(replica) {
		if time.Now().After(deadline) {
			t.Fatalf("bustest: replica of %s did not connect within 10 s", master.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return replica
}

func (h *Sentinel) waitFor(timeout time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("bustest: timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Info returns a section of n's INFO, or "" when it does not answer.
func Info(n *Server, section string) string {
	c := redis.NewClient(&redis.Options{Addr: n.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint(), DialTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, _ := c.Info(ctx, section).Result()
	return s
}
