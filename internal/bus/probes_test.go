package bus

import (
	"context"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/bus/bustest"
)

func TestProbeStatuses(t *testing.T) {
	for _, be := range bustest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			b := openBus(t, be.URL, Options{Prefix: "t-probes:"})
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			for _, s := range []ProbeStatus{
				{ID: "p2", Location: "sc-2", State: ProbeRunning, Rooms: []string{"hall-1"}, LastSeen: now},
				{ID: "p1", Location: "sc-1", State: ProbeStopped, LastSeen: now, SpoolDropped: 3},
			} {
				if err := b.PutProbeStatus(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			// A bad entry is skipped.
			b.Client().HSet(ctx, b.Key(KeyProbes), "junk", "{")
			got, err := b.ProbeStatuses(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].ID != "p1" || got[1].ID != "p2" {
				t.Fatalf("statuses = %+v", got)
			}
			if got[0].SpoolDropped != 3 || !got[1].LastSeen.Equal(now) || got[1].Rooms[0] != "hall-1" {
				t.Errorf("round trip lost fields: %+v", got)
			}
		})
	}
}
