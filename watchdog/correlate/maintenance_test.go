package correlate_test

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// window is a maintenance window named name, opening at start (relative to
// the scenes' time, 60 s) for two hours, repeating every (0: once), over
// what is set in fill.
func window(name string, start, every time.Duration, fill func(m *config.MaintenanceSpec)) config.MaintenanceSpec {
	cst := time.FixedZone("CST", 8*3600)
	m := config.MaintenanceSpec{Name: name, Start: at(60).Add(start).In(cst).Format(time.RFC3339), Duration: 2 * time.Hour, Every: every}
	fill(&m)
	return m
}

func servers(ids ...string) func(m *config.MaintenanceSpec) {
	return func(m *config.MaintenanceSpec) { m.Servers = ids }
}

func rooms(ids ...string) func(m *config.MaintenanceSpec) {
	return func(m *config.MaintenanceSpec) { m.Rooms = ids }
}

func subCenters(ids ...string) func(m *config.MaintenanceSpec) {
	return func(m *config.MaintenanceSpec) { m.SubCenters = ids }
}

func TestMaintenance(t *testing.T) {
	const on, day = -time.Hour, 24 * time.Hour
	serverDown := scene{seen: []seen{ok("yz", "yz-hall-1"), ok("gy", "yz-hall-1")}, servers: []sick{server("yz-media-1", detect.ServerDown)}}
	room := scene{seen: []seen{slow("yz", "yz-hall-1"), slow("gy", "yz-hall-1")}}
	network := scene{seen: []seen{ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1")}}
	uplink := scene{seen: []seen{ok("jd", "jd-hall-1"), slow("yz", "jd-hall-1"), slow("gy", "jd-hall-1")}}
	probe := scene{seen: []seen{slow("yz", "yz-hall-1"), ok("yz", "yz-hall-1").by("p-yz-2")}}
	tests := []struct {
		name    string
		sc      scene
		windows []config.MaintenanceSpec
		key     string
		muted   string // the window's name, "" for paged
	}{
		{"server, by its id", serverDown, []config.MaintenanceSpec{window("m", on, 0, servers("yz-media-1"))}, "server:yz-media-1", "m"},
		{"server, by its sub-center", serverDown, []config.MaintenanceSpec{window("m", on, 0, subCenters("yz"))}, "server:yz-media-1", "m"},
		{"server, another server's window", serverDown, []config.MaintenanceSpec{window("m", on, 0, servers("yz-web-1"))}, "server:yz-media-1", ""},
		{"server, another sub-center's window", serverDown, []config.MaintenanceSpec{window("m", on, 0, subCenters("jd"))}, "server:yz-media-1", ""},
		{"server, by one of its rooms: not enough", serverDown, []config.MaintenanceSpec{window("m", on, 0, rooms("yz-hall-1"))}, "server:yz-media-1", ""},
		{"server, a window not yet open", serverDown, []config.MaintenanceSpec{window("m", time.Hour, 0, servers("yz-media-1"))}, "server:yz-media-1", ""},
		{"server, a window over", serverDown, []config.MaintenanceSpec{window("m", -3*time.Hour, 0, servers("yz-media-1"))}, "server:yz-media-1", ""},
		{"server, a daily window, on", serverDown, []config.MaintenanceSpec{window("m", on-7*day, day, servers("yz-media-1"))}, "server:yz-media-1", "m"},
		{"server, a daily window, off", serverDown, []config.MaintenanceSpec{window("m", 3*time.Hour-7*day, day, servers("yz-media-1"))}, "server:yz-media-1", ""},
		{"room, by its id", room, []config.MaintenanceSpec{window("m", on, 0, rooms("yz-hall-1"))}, "room:yz-hall-1", "m"},
		{"room, by its sub-center", room, []config.MaintenanceSpec{window("m", on, 0, subCenters("yz"))}, "room:yz-hall-1", "m"},
		{"room, by one of its servers", room, []config.MaintenanceSpec{window("m", on, 0, servers("yz-db-1"))}, "room:yz-hall-1", "m"},
		{"room, another room's window", room, []config.MaintenanceSpec{window("m", on, 0, rooms("yz-hall-2"))}, "room:yz-hall-1", ""},
		{"room, another site's server", room, []config.MaintenanceSpec{window("m", on, 0, servers("jd-db-1"))}, "room:yz-hall-1", ""},
		{"network, by its location", network, []config.MaintenanceSpec{window("m", on, 0, subCenters("gy"))}, "network:gy", "m"},
		{"network, every room it explains covered", network, []config.MaintenanceSpec{window("m", on, 0, rooms("yz-hall-1"))}, "network:gy", "m"},
		{"network, another location's window", network, []config.MaintenanceSpec{window("m", on, 0, subCenters("jd"))}, "network:gy", ""},
		{"uplink, by its site", uplink, []config.MaintenanceSpec{window("m", on, 0, subCenters("jd"))}, "uplink:jd", "m"},
		{"uplink, a viewer's window", uplink, []config.MaintenanceSpec{window("m", on, 0, subCenters("gy"))}, "uplink:jd", ""},
		{"the first window that covers it names it", serverDown, []config.MaintenanceSpec{
			window("other", on, 0, servers("yz-web-1")), window("first", on, 0, subCenters("yz")), window("second", on, 0, servers("yz-media-1")),
		}, "server:yz-media-1", "first"},
		{"a probe problem never pages, window or not", probe, nil, "probe:p-yz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := tt.sc
			sc.maintain = tt.windows
			r := correlateScene(sc)
			p := problem(t, r, tt.key)
			if p.MutedBy != tt.muted {
				t.Errorf("muted by %q, want %q", p.MutedBy, tt.muted)
			}
			if wantPage := tt.muted == "" && p.Incident(); p.Page != wantPage {
				t.Errorf("page %v, want %v", p.Page, wantPage)
			}
		})
	}
}
