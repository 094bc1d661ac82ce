// Command bidwatch watches remote bid-opening sessions live: synthetic
// participants join every room, a watchdog turns what they suffer into
// incidents, and a console shows it all. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the roster's time zone, on a server without one

	"github.com/redis/go-redis/v9"
)

// Version and Commit are set at build time with -ldflags "-X main.Version=… -X main.Commit=…".
var (
	Version = "dev"
	Commit  = "unknown"
)

// exitError carries a process exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := newLogger(os.Stderr, "info", "text")
	// go-redis logs through a package-wide logger; main owns the process,
	// so it is set here, once.
	redis.SetLogger(redisLog{logger: logger})
	root := newRootCmd(logger)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "bidwatch:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "bidwatch:", err)
	return 3
}
