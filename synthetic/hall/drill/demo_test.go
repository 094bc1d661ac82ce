package drill

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/synthetic/hall"
)

// TestDemoCopies keeps configs/drill-demo.yaml and the embedded copy identical.
func TestDemoCopies(t *testing.T) {
	shipped, err := os.ReadFile("../../../configs/drill-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, DemoYAML()) {
		t.Fatal("configs/drill-demo.yaml differs from synthetic/hall/drill/demo.yaml: edit the latter and run `go generate ./synthetic/hall/drill`")
	}
}

// TestDemo checks the demo's script against the demo city's hall with the
// demo's two probe locations, and the shape the demo relies on.
func TestDemo(t *testing.T) {
	city := config.DemoCity()
	opts := hall.Options{NoMedia: true}
	for _, s := range city.Servers {
		opts.Servers = append(opts.Servers, s.ID)
	}
	for _, r := range city.Rooms {
		opts.Rooms = append(opts.Rooms, hall.RoomSpec{ID: r.ID, Kind: string(r.Kind), Servers: r.Servers})
	}
	h, err := hall.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { h.Close(); srv.Close() })
	for _, loc := range []string{"yz", "gy"} {
		if _, err := h.AddPath(loc, "", strings.TrimPrefix(srv.URL, "http://")); err != nil {
			t.Fatal(err)
		}
	}
	top, err := HallTarget{Hall: h}.Topology(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range city.SubCenters {
		top.SubCenters = append(top.SubCenters, sc.ID)
	}

	s, err := Demo()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(top); err != nil {
		t.Fatalf("the demo script does not fit the demo city:\n%v", err)
	}
	if s.Start != 20*time.Second || len(s.Drills) != 7 {
		t.Errorf("start %s, %d drills", s.Start, len(s.Drills))
	}
	spans := s.Timeline()
	// The overlapping pair: the second starts 20 s into the first and ends
	// before it; two incidents, each its own.
	pair, second := spans[4], spans[5]
	if second.Start != pair.Start+20*time.Second || second.End > pair.End {
		t.Errorf("overlapping pair: %v and %v", pair, second)
	}
	if k0, k1 := s.Drills[4].Expect[0].Key(), s.Drills[5].Expect[0].Key(); k0 != "network:gy" || k1 != "server:yzg-media-1" {
		t.Errorf("overlapping pair expects %s and %s", k0, k1)
	}
	// gy's path was congested in the second drill already: its incident
	// reopens within the watchdog's reopen_within (30 min by default).
	if !s.Drills[4].Expect[0].Relapse || s.Drills[1].Expect[0].Key() != "network:gy" || spans[4].Start-spans[1].End > 30*time.Minute {
		t.Errorf("the pair's path drill is not a relapse of the second drill")
	}
	// The relapse repeats the first drill's fault and expects its incident.
	last := s.Drills[6]
	if !last.Expect[0].Relapse || last.Expect[0].Key() != s.Drills[0].Expect[0].Key() || !reflect.DeepEqual(last.Faults, s.Drills[0].Faults) {
		t.Errorf("relapse %+v does not repeat the first drill %+v", last, s.Drills[0])
	}
	// Each drill starts after the previous incidents had time to resolve,
	// but the pair's second, which starts from its first's start.
	for i := 1; i < len(spans); i++ {
		if s.Drills[i].After != nil {
			continue
		}
		for j := range i {
			for _, e := range s.Drills[j].Expect {
				if spans[j].End+e.ResolveWithin > spans[i].Start {
					t.Errorf("drills[%d] starts before drills[%d]'s %s should resolve", i, j, e.Key())
				}
			}
		}
	}
	// Every drill has a title to print, a hold and an expectation.
	for i, d := range s.Drills {
		if d.Title() == "" || d.Hold <= 0 || len(d.Expect) == 0 {
			t.Errorf("drills[%d] %+v", i, d)
		}
	}
}
