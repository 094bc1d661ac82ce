package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

func TestCommands(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-cmd:"})
			ctx := context.Background()
			at := time.Now().UTC().Truncate(time.Millisecond)

			if _, err := b.SendCommand(ctx, Command{Kind: "reboot", Room: ""}); !errors.Is(err, ErrBadCommand) {
				t.Fatalf("bad command: err = %v", err)
			}
			id, err := b.SendCommand(ctx, Command{Kind: CommandProbeNow, Room: "hall-1", For: 10 * time.Minute, At: at, By: "ops"})
			if err != nil {
				t.Fatal(err)
			}
			cmds, last, err := b.CommandsSince(ctx, at.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != 1 || cmds[0].ID != id || last != id {
				t.Fatalf("CommandsSince = %+v, %q; want one with id %s", cmds, last, id)
			}
			c := cmds[0]
			if c.Room != "hall-1" || c.For != 10*time.Minute || !c.At.Equal(at) || c.By != "ops" {
				t.Errorf("round trip: %+v", c)
			}

			// Nothing new: ReadCommands returns after the block time.
			start := time.Now()
			cmds, after, err := b.ReadCommands(ctx, last, 100*time.Millisecond)
			if err != nil || len(cmds) != 0 || after != last {
				t.Fatalf("ReadCommands idle = %v, %q, %v", cmds, after, err)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("idle ReadCommands took %v", time.Since(start))
			}

			// A command sent while a reader waits reaches it.
			got := make(chan []Command, 1)
			go func() {
				cmds, _, _ := b.ReadCommands(ctx, last, 2*time.Second)
				got <- cmds
			}()
			time.Sleep(50 * time.Millisecond)
			if _, err := b.SendCommand(ctx, Command{Kind: CommandProbeNow, Room: "hall-2", For: time.Minute, At: at, Location: "sc-1"}); err != nil {
				t.Fatal(err)
			}
			select {
			case cmds := <-got:
				if len(cmds) != 1 || cmds[0].Room != "hall-2" || cmds[0].Location != "sc-1" {
					t.Fatalf("ReadCommands = %+v", cmds)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadCommands did not return")
			}
		})
	}
}
