package correlate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// obs is what one probe sees of one room: "firing", "pending" or "fine".
type obs struct {
	room, probe, loc, state string
}

// server health for a snapshot: "down", "saturated" or "suspect".
type srv struct{ id, state string }

func snapshot(at time.Time, series []obs, servers []srv, silent ...string) detect.Snapshot {
	snap := detect.Snapshot{At: at, Servers: map[string]detect.ServerStatus{}, Silent: map[string]bool{}}
	for _, o := range series {
		st := detect.SeriesStatus{Room: o.room, Probe: o.probe, Location: o.loc, Firing: o.state == "firing", Pending: o.state == "pending"}
		snap.Series = append(snap.Series, st)
		if st.Firing {
			snap.Findings = append(snap.Findings, detect.Finding{
				Kind: detect.KindLatency, Severity: detect.SeverityDegraded, Room: o.room, Probe: o.probe, Location: o.loc,
				Onset: t0, FiredAt: t0, Figures: detect.Figures{RTTP95MS: 420},
			})
		}
	}
	for _, s := range servers {
		st := detect.ServerStatus{Suspect: true, Down: s.state == "down", Saturated: s.state == "saturated"}
		snap.Servers[s.id] = st
		switch s.state {
		case "down":
			snap.Findings = append(snap.Findings, detect.Finding{Kind: detect.KindServerDown, Severity: detect.SeverityCritical, Server: s.id, Check: "http[0]", Onset: t0})
		case "saturated":
			snap.Findings = append(snap.Findings, detect.Finding{Kind: detect.KindSaturation, Severity: detect.SeverityDegraded, Server: s.id, Reading: "cpu_pct", Onset: t0, Figures: detect.Figures{Value: 97, Limit: 90}})
		}
	}
	for _, p := range silent {
		snap.Silent[p] = true
		snap.Findings = append(snap.Findings, detect.Finding{Kind: detect.KindProbeSilent, Probe: p, Onset: t0})
	}
	return snap
}

// everywhere is a room seen in state st by two probes at each of two
// locations.
func everywhere(room, st string) []obs {
	return []obs{
		{room, "yz-1", "yz", st}, {room, "yz-2", "yz", st},
		{room, "jd-1", "jd", st}, {room, "jd-2", "jd", st},
	}
}

func join(ls ...[]obs) []obs { return slices.Concat(ls...) }

// describe renders problems as "fingerprint rooms=… page=…" lines.
func describe(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		line := p.Fingerprint + " rooms=" + strings.Join(p.Rooms, ",")
		if len(p.Servers) > 0 {
			line += " servers=" + strings.Join(p.Servers, ",")
		}
		if !p.Page {
			line += " nopage"
		}
		if p.MutedBy != "" {
			line += " muted=" + p.MutedBy
		}
		out = append(out, line)
	}
	return out
}

func TestCorrelate(t *testing.T) {
	city := config.DemoCity()
	city.Watchdog.Correlate.Settle = 3 * time.Second
	city.Watchdog.Maintain = []config.MaintenanceSpec{{
		Name: "gy-upgrade", Servers: []string{"gy-media-1"}, Start: "2026-11-02T09:00:00Z", Duration: time.Hour,
	}}
	yzRooms := "yz-coord-1,yz-hall-1,yz-hall-2"
	tests := []struct {
		name    string
		series  []obs
		servers []srv
		silent  []string
		// want after the settle time; wantNow at the first look.
		wantNow []string
		want    []string
	}{
		{
			name:   "nothing wrong",
			series: join(everywhere("yz-hall-1", "fine"), everywhere("jd-hall-1", "fine")),
		},
		{
			name:    "saturated media server and its three rooms lagging: one server problem",
			series:  join(everywhere("yz-hall-1", "firing"), everywhere("yz-hall-2", "firing"), everywhere("yz-coord-1", "firing"), everywhere("jd-hall-1", "fine")),
			servers: []srv{{"yz-media-1", "saturated"}},
			wantNow: []string{"server:yz-media-1 rooms=" + yzRooms + " servers=yz-media-1"},
			want:    []string{"server:yz-media-1 rooms=" + yzRooms + " servers=yz-media-1"},
		},
		{
			name:    "a server merely suspect (CPU high, not for long yet) takes the blame",
			series:  join(everywhere("yz-hall-1", "firing"), everywhere("yz-hall-2", "firing")),
			servers: []srv{{"yz-media-1", "suspect"}},
			wantNow: []string{"server:yz-media-1 rooms=" + yzRooms + " servers=yz-media-1"},
			want:    []string{"server:yz-media-1 rooms=" + yzRooms + " servers=yz-media-1"},
		},
		{
			name:    "a down server is blamed before a saturated one",
			series:  everywhere("yz-hall-1", "firing"),
			servers: []srv{{"yz-web-1", "saturated"}, {"yz-db-1", "down"}},
			wantNow: []string{"server:yz-db-1 rooms=" + yzRooms + " servers=yz-db-1", "server:yz-web-1 rooms=" + yzRooms + " servers=yz-web-1"},
			want:    []string{"server:yz-db-1 rooms=" + yzRooms + " servers=yz-db-1", "server:yz-web-1 rooms=" + yzRooms + " servers=yz-web-1"},
		},
		{
			name:    "a sick server with healthy rooms is still a problem",
			servers: []srv{{"jd-db-1", "down"}},
			wantNow: []string{"server:jd-db-1 rooms=jd-coord-1,jd-hall-1 servers=jd-db-1"},
			want:    []string{"server:jd-db-1 rooms=jd-coord-1,jd-hall-1 servers=jd-db-1"},
		},
		{
			name:    "degraded everywhere, servers healthy: the room",
			series:  join(everywhere("jd-hall-1", "firing"), everywhere("yz-hall-1", "fine")),
			wantNow: []string{"room:jd-hall-1 rooms=jd-hall-1"},
			want:    []string{"room:jd-hall-1 rooms=jd-hall-1"},
		},
		{
			name: "a location still pending is not fine: the room",
			series: []obs{
				{"jd-hall-1", "yz-1", "yz", "firing"}, {"jd-hall-1", "jd-1", "jd", "pending"},
			},
			wantNow: []string{"room:jd-hall-1 rooms=jd-hall-1"},
			want:    []string{"room:jd-hall-1 rooms=jd-hall-1"},
		},
		{
			name:    "one probe, one location: the room",
			series:  []obs{{"by-hall-1", "by-1", "by", "firing"}},
			wantNow: []string{"room:by-hall-1 rooms=by-hall-1"},
			want:    []string{"room:by-hall-1 rooms=by-hall-1"},
		},
		{
			name: "degraded only from jd, two rooms: one network problem after settling",
			series: []obs{
				{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "jd-2", "jd", "firing"}, {"yz-hall-1", "yz-1", "yz", "fine"},
				{"gy-hall-1", "jd-1", "jd", "firing"}, {"gy-hall-1", "jd-2", "jd", "firing"}, {"gy-hall-1", "gy-1", "gy", "fine"},
			},
			want: []string{"network:jd rooms=gy-hall-1,yz-hall-1"},
		},
		{
			name: "one probe alone, its neighbour fine: probe-local, no page",
			series: join(
				[]obs{{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "jd-2", "jd", "fine"}},
				[]obs{{"yz-hall-1", "yz-1", "yz", "fine"}},
			),
			want: []string{"probe:jd-1 rooms=yz-hall-1 nopage"},
		},
		{
			name: "a silent probe's findings are its own",
			series: []obs{
				{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "yz-1", "yz", "fine"},
			},
			silent: []string{"jd-1"},
			want:   []string{"probe:jd-1 rooms= nopage"},
		},
		{
			name: "inhibition: rooms of a down server leave the network problem",
			series: []obs{
				{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "yz-1", "yz", "fine"},
				{"by-hall-1", "jd-1", "jd", "firing"}, {"by-hall-1", "by-1", "by", "fine"},
			},
			servers: []srv{{"yz-wsgw-1", "down"}},
			wantNow: []string{"server:yz-wsgw-1 rooms=" + yzRooms + " servers=yz-wsgw-1"},
			want:    []string{"network:jd rooms=by-hall-1", "server:yz-wsgw-1 rooms=" + yzRooms + " servers=yz-wsgw-1"},
		},
		{
			name:    "maintenance window: recorded, not paged",
			series:  everywhere("gy-hall-1", "firing"),
			servers: []srv{{"gy-media-1", "saturated"}},
			wantNow: []string{"server:gy-media-1 rooms=gy-coord-1,gy-hall-1 servers=gy-media-1 nopage muted=gy-upgrade"},
			want:    []string{"server:gy-media-1 rooms=gy-coord-1,gy-hall-1 servers=gy-media-1 nopage muted=gy-upgrade"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(city)
			got := describe(c.Correlate(snapshot(t0, tt.series, tt.servers, tt.silent...)))
			if strings.Join(got, "\n") != strings.Join(tt.wantNow, "\n") {
				t.Errorf("at first:\n got %q\nwant %q", got, tt.wantNow)
			}
			c.Correlate(snapshot(t0.Add(2*time.Second), tt.series, tt.servers, tt.silent...))
			got = describe(c.Correlate(snapshot(t0.Add(3*time.Second), tt.series, tt.servers, tt.silent...)))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("after settling:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCorrelateSettleRestartsWhenTheViewChanges(t *testing.T) {
	city := config.DemoCity()
	city.Watchdog.Correlate.Settle = 3 * time.Second
	c := New(city)
	partial := []obs{{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "yz-1", "yz", "fine"}}
	whole := []obs{{"yz-hall-1", "jd-1", "jd", "firing"}, {"yz-hall-1", "yz-1", "yz", "firing"}}
	// jd reports first; a second later yz does too: the room, at once, and
	// never a network problem.
	if got := c.Correlate(snapshot(t0, partial, nil)); len(got) != 0 {
		t.Fatalf("partial view reported before settling: %q", describe(got))
	}
	got := c.Correlate(snapshot(t0.Add(time.Second), whole, nil))
	if len(got) != 1 || got[0].Fingerprint != "room:yz-hall-1" {
		t.Fatalf("whole view: %q", describe(got))
	}
	// Back to partial 5 s later: the settle time starts again.
	if got := c.Correlate(snapshot(t0.Add(5*time.Second), partial, nil)); len(got) != 0 {
		t.Fatalf("partial again: %q", describe(got))
	}
	if got := c.Correlate(snapshot(t0.Add(8*time.Second), partial, nil)); len(got) != 1 || got[0].Fingerprint != "network:jd" {
		t.Fatalf("after settling: %q", describe(got))
	}
}

func TestProblemDetails(t *testing.T) {
	city := config.DemoCity()
	c := New(city)
	snap := snapshot(t0, join(everywhere("yz-hall-1", "firing"), everywhere("yz-hall-2", "firing")), []srv{{"yz-media-1", "saturated"}})
	ps := c.Correlate(snap)
	if len(ps) != 1 {
		t.Fatalf("%q", describe(ps))
	}
	p := ps[0]
	if p.Cause != CauseServer || p.Subject != "yz-media-1" || !p.Page || p.Severity != detect.SeverityDegraded {
		t.Errorf("problem %+v", p)
	}
	if strings.Join(p.SubCenters, ",") != "yz" || strings.Join(p.Roles, ",") != "media" || strings.Join(p.Locations, ",") != "jd,yz" {
		t.Errorf("place: sub-centers %v roles %v locations %v", p.SubCenters, p.Roles, p.Locations)
	}
	if strings.Join(p.Kinds, ",") != "latency,saturation" || len(p.Findings) != 9 || !p.Since.Equal(t0) {
		t.Errorf("kinds %v, %d findings, since %v", p.Kinds, len(p.Findings), p.Since)
	}
	if !strings.HasPrefix(p.Summary, "server yz-media-1: latency, saturation (degraded); rooms yz-coord-1") {
		t.Errorf("summary %q", p.Summary)
	}
}

func TestCorrelateKeepsBlameWhileTheRoomIsInTrouble(t *testing.T) {
	c := New(config.DemoCity())
	rooms := everywhere("yz-hall-1", "firing")
	got := c.Correlate(snapshot(t0, rooms, []srv{{"yz-media-1", "saturated"}}))
	if len(got) != 1 || got[0].Fingerprint != "server:yz-media-1" {
		t.Fatalf("%q", describe(got))
	}
	// The server recovers first; the room's symptoms linger (its latency
	// window, clear_after): still the server's problem.
	got = c.Correlate(snapshot(t0.Add(time.Second), rooms, nil))
	if len(got) != 1 || got[0].Fingerprint != "server:yz-media-1" {
		t.Fatalf("lingering: %q", describe(got))
	}
	// The room recovers; later trouble of its own is the room's.
	c.Correlate(snapshot(t0.Add(2*time.Second), everywhere("yz-hall-1", "fine"), nil))
	got = c.Correlate(snapshot(t0.Add(3*time.Second), rooms, nil))
	if len(got) != 1 || got[0].Fingerprint != "room:yz-hall-1" {
		t.Fatalf("new trouble: %q", describe(got))
	}
}
