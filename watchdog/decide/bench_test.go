package decide

import (
	"fmt"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
	"github.com/bidwatch/bidwatch/watchdog/incident"
	"github.com/bidwatch/bidwatch/watchdog/plan"
)

// bigCity is a city of rooms rooms at sites sites, each site with a web
// server, a gateway, a database and a media server per ten rooms.
func bigCity(rooms, sites int) *config.Config {
	c := config.Defaults()
	c.City = config.City{ID: "big", Name: "big"}
	for s := range sites {
		id := fmt.Sprintf("s%02d", s)
		kind := config.KindSubCenter
		if s == 0 {
			kind = config.KindCenter
		}
		c.SubCenters = append(c.SubCenters, config.SubCenter{ID: id, Name: id, Kind: kind})
	}
	server := func(id, site string, role config.ServerRole) {
		if _, ok := c.Server(id); ok {
			return
		}
		hc := config.DefaultHealthCheck(config.HealthHTTP)
		hc.URL = "http://127.0.0.1:7400/servers/" + id + "/healthz"
		c.Servers = append(c.Servers, config.Server{ID: id, Name: id, Role: role, SubCenter: site, Health: []config.HealthCheck{hc}})
	}
	for r := range rooms {
		site := fmt.Sprintf("s%02d", r%sites)
		media := fmt.Sprintf("%s-media-%d", site, r/sites/10)
		for _, s := range []struct {
			id   string
			role config.ServerRole
		}{{site + "-web", config.RoleWeb}, {site + "-wsgw", config.RoleWSGateway}, {media, config.RoleMedia}, {site + "-db", config.RoleDB}} {
			server(s.id, site, s.role)
		}
		id := fmt.Sprintf("room-%03d", r)
		c.Rooms = append(c.Rooms, config.Room{ID: id, Name: id, Kind: config.RoomOpeningHall, SubCenter: site,
			EventsURL: "ws://127.0.0.1:7400/rooms/" + id + "/events",
			Servers:   []string{site + "-web", site + "-wsgw", media, site + "-db"}})
	}
	return c
}

// bigEvidence is what the detectors would hand correlation with every room
// seen from every location over two transports, while location s03's path
// is congested, s05-media-1 is saturated (its rooms slow from everywhere)
// and room-007 drops its bidders.
func bigEvidence(c *config.Config, locations int, now time.Time) detect.Evidence {
	ev := detect.Evidence{At: now, Servers: map[string]detect.ServerView{}, Probes: map[string]detect.ProbeView{}}
	onset := now.Add(-time.Minute)
	for _, s := range c.Servers {
		sv := detect.ServerView{ID: s.ID, State: detect.ServerOK, Checks: 1, CheckedAt: now.Add(-time.Second)}
		if s.ID == "s05-media-1" {
			sv.State, sv.Since = detect.ServerSaturated, onset
			sv.Findings = []detect.Finding{{Kind: vocab.KindSaturation, Severity: vocab.SeverityDegraded, Server: s.ID, Reading: "cpu_pct", Onset: onset, FiredAt: onset}}
			sv.Evidence = []string{"cpu_pct 97.0 above 90"}
		}
		ev.Servers[s.ID] = sv
	}
	for l := range locations {
		loc := fmt.Sprintf("s%02d", l)
		probe := loc + "-1"
		ev.Probes[probe] = detect.ProbeView{ID: probe, Location: loc}
		for _, r := range c.Rooms {
			for _, tr := range []string{"webrtc", "ws"} {
				v := detect.SeriesView{Room: r.ID, Probe: probe, Location: loc, Transport: tr, View: vocab.ViewOK}
				bad := l == 3 || r.ID == "room-007" || r.Servers[2] == "s05-media-1"
				if bad {
					v.View, v.Onset = vocab.ViewDegraded, onset
					v.Findings = []detect.Finding{{Kind: vocab.KindLatency, Severity: vocab.SeverityDegraded, Room: r.ID, Probe: probe, Location: loc, Transport: tr, Onset: onset, FiredAt: onset}}
				}
				ev.Series = append(ev.Series, v)
			}
		}
	}
	return ev
}

// BenchmarkCorrelatePlan is one leader tick's correlation and planning for
// 500 rooms seen from 10 locations over 2 transports (10,000 views), with
// three faults at once and their incidents open: the target is under 5 ms.
func BenchmarkCorrelatePlan(b *testing.B) {
	c := bigCity(500, 10)
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	topo := correlate.NewTopology(c)
	ev := bigEvidence(c, 10, now)
	pol := plan.PolicyOf(c.Watchdog)
	// The incidents the faults have already opened.
	store := incident.NewMemStore(pol.Incidents)
	res := correlate.Correlate(topo, ev)
	var incs []incident.Incident
	for _, p := range res.Problems {
		if p.Incident() {
			inc := incident.Open(p, now.Add(-30*time.Second), pol.Incidents)
			inc.ID = p.Key
			incs = append(incs, inc)
		}
	}
	_ = store
	book, _ := plan.Plan(plan.Book{}, plan.Input{Now: now, Leading: now.Add(-time.Hour), Correlation: res, Incidents: incs}, pol)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := correlate.Correlate(topo, ev)
		plan.Plan(book, plan.Input{Now: now, Leading: now.Add(-time.Hour), Correlation: r, Incidents: incs}, pol)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(ev.Series)), "views")
	b.ReportMetric(float64(len(res.Problems)), "problems")
}
