package drill

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/synthetic/hall"
)

func TestAdminClient(t *testing.T) {
	th := startHall(t)
	c := AdminClient{BaseURL: th.srv.URL + "/"}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	top, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inProcess, _ := HallTarget{Hall: th.Hall}.Topology(ctx)
	if !reflect.DeepEqual(top, inProcess) {
		t.Errorf("over the admin API %+v, in process %+v", top, inProcess)
	}
	if want := []string{"r1", "r2"}; !reflect.DeepEqual(top.Servers["media-1"], want) || !reflect.DeepEqual(top.Paths, []string{"yz", "gy"}) {
		t.Errorf("topology %+v", top)
	}

	cpu := 97.0
	steps := []struct {
		name  string
		do    func() error
		state string
	}{
		{"set health", func() error { return c.SetHealth(ctx, "media-1", hall.Health{CPUPct: &cpu}) }, "media-1 cpu=97 down=false"},
		{"set room", func() error { return c.SetRoomFault(ctx, "r2", hall.Fault{LatencyMS: 600}) }, "media-1 cpu=97 down=false; r2 latency=600"},
		{"set path", func() error { return c.SetPathFault(ctx, "gy", hall.PathFault{DelayMS: 700}) }, "media-1 cpu=97 down=false; r2 latency=600; path gy delay=700 cut=false"},
		{"clear health", func() error { return c.ClearHealth(ctx, "media-1") }, "r2 latency=600; path gy delay=700 cut=false"},
		{"clear room", func() error { return c.ClearRoomFault(ctx, "r2") }, "path gy delay=700 cut=false"},
		{"clear path", func() error { return c.ClearPathFault(ctx, "gy") }, "clean"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := th.state(); got != st.state {
			t.Errorf("after %s: %s, want %s", st.name, got, st.state)
		}
	}

	// The hall's refusals come back with its message.
	bad := 120.0
	errs := []struct {
		err  error
		want string
	}{
		{c.SetHealth(ctx, "db-9", hall.Health{}), `POST /admin/servers/db-9/health: unknown server "db-9" (HTTP 404)`},
		{c.SetHealth(ctx, "media-1", hall.Health{CPUPct: &bad}), `POST /admin/servers/media-1/health: bad health: cpu_pct: 120 out of range (want 0 to 100) (HTTP 400)`},
		{c.ClearRoomFault(ctx, "r9"), `DELETE /admin/rooms/r9/fault: unknown room "r9" (HTTP 404)`},
		{c.SetPathFault(ctx, "jd", hall.PathFault{Cut: true}), `POST /admin/paths/jd: unknown path "jd" (HTTP 404)`},
		{AdminClient{BaseURL: th.srv.URL + "/nothing-here"}.ClearPathFault(ctx, "gy"), `DELETE /admin/paths/gy: 404 page not found (HTTP 404)`},
	}
	for _, e := range errs {
		if e.err == nil || e.err.Error() != e.want {
			t.Errorf("error %v, want %s", e.err, e.want)
		}
	}
	if _, err := (AdminClient{BaseURL: "http://127.0.0.1:1"}).Topology(ctx); err == nil || !strings.HasPrefix(err.Error(), "GET /admin/rooms: ") {
		t.Errorf("nobody listening: %v", err)
	}
}

// TestRunOverAdminAPI plays a drill against a hall through its admin API,
// the way `bidwatch hall --drill` would for a hall in another process.
func TestRunOverAdminAPI(t *testing.T) {
	th := startHall(t)
	s := mustParse(t, `
drills:
  - name: "media-1 saturated: CPU 97, its rooms lag, and gy's line is cut"
    hold: 30s
    faults:
      - {server: media-1, cpu_pct: 97, rooms_fault: {latency_ms: 600}}
      - {path: gy, cut: true}
`)
	p := play(t, AdminClient{BaseURL: th.srv.URL}, s)
	p.expect(Started, 0, 0)
	if got := th.state(); got != "media-1 cpu=97 down=false; r1 latency=600; r2 latency=600; path gy delay=0 cut=true" {
		t.Errorf("holding: %s", got)
	}
	p.advance(30 * time.Second)
	p.expect(Stopped, 0, 30*time.Second)
	p.expect(Finished, -1, 30*time.Second)
	if err := p.returned(); err != nil {
		t.Fatal(err)
	}
	if got := th.state(); got != "clean" {
		t.Errorf("after: %s", got)
	}
}
