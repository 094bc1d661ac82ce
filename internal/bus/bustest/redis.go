// Package bustest starts a private redis-server for tests: on a free loopback
// port, with nothing persisted, stopped and restarted at will (to simulate an
// outage) and removed when the test ends. It never touches the shared Redis on
// port 6379.
package bustest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to accept connections.
const startTimeout = 10 * time.Second

// Option changes how StartRedis starts the server.
type Option func(*Server)

// WithAOF keeps the data set in an append-only file fsynced at every write,
// as production Redis runs, so it survives Stop and Restart.
func WithAOF() Option { return func(s *Server) { s.aof = true } }

// WithArgs adds redis-server arguments ("--replicaof", "127.0.0.1 6380").
func WithArgs(args ...string) Option { return func(s *Server) { s.args = append(s.args, args...) } }

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	aof  bool
	args []string
	// sentinelConf, when set, runs the server as a sentinel with this
	// config file (which the sentinel rewrites).
	sentinelConf string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the current process has been waited for.
	exited chan struct{}
}

// StartRedis starts a redis-server on a free loopback port, keeping nothing
// on disk unless WithAOF is given, and stops it when the test ends. It skips
// the test, saying why, when redis-server is not on PATH.
func StartRedis(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not on PATH: install Redis (apt-get install redis-server) to run this test")
	}
	s := &Server{t: t, bin: bin, port: freePort(t), dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	if err := s.start(); err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop kills the server and waits for it to exit. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(startTimeout):
		s.t.Errorf("bustest: redis-server pid %d did not exit", cmd.Process.Pid)
	}
}

// Restart starts the server again on the same port after Stop. The data set
// is empty unless the server was started WithAOF.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("bustest: restart: %v", err)
	}
}

func (s *Server) start() error {
	appendonly := "no"
	if s.aof {
		appendonly = "yes"
	}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", appendonly,
		"--appendfsync", "always",
		"--dir", s.dir,
		"--loglevel", "warning",
	)
	cmd.Args = append(cmd.Args, s.args...)
	if s.sentinelConf != "" {
		cmd = exec.Command(s.bin, s.sentinelConf, "--sentinel", "--loglevel", "warning")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	var lastLine string
	var lmu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lmu.Lock()
			lastLine = sc.Text()
			lmu.Unlock()
		}
		_ = cmd.Wait()
		close(exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if ping(s.Addr()) == nil {
			break
		}
		select {
		case <-exited:
			lmu.Lock()
			defer lmu.Unlock()
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, lastLine)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d not ready after %v", s.port, startTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return nil
}

// ping sends PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// freePort asks the kernel for a free loopback port. The port is released
// before redis-server binds it; a collision makes start fail loudly.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("bustest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Available reports whether redis-server is on PATH.
func Available() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Backend is a Redis to run a test against.
type Backend struct {
	Name string
	URL  string // "" is the embedded Redis
}

// Backends returns the embedded Redis and a private redis-server (when
// installed): a test that ranges over them runs against both.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "embedded"}}
	if Available() {
		out = append(out, Backend{Name: "redis-server", URL: StartRedis(t).URL()})
	} else {
		t.Log("redis-server not on PATH: testing the embedded Redis only")
	}
	return out
}
