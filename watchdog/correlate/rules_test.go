package correlate_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/correlate"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

func TestProbeLocal(t *testing.T) {
	tests := []struct {
		name   string
		sc     scene
		want   []string
		view   vocab.View // of yz-hall-1
		probes []string   // of the first problem
	}{
		{
			name: "one probe of two at a location sees trouble: its own problem, the location sees the room fine",
			sc: scene{seen: []seen{
				slow("yz", "yz-hall-1"), ok("yz", "yz-hall-1").by("p-yz-2"), ok("gy", "yz-hall-1"),
			}},
			want:   []string{"probe:p-yz explains=yz-hall-1 place=yz"},
			view:   vocab.ViewOK,
			probes: []string{"p-yz"},
		},
		{
			name: "both probes at a location see trouble: the location does",
			sc: scene{seen: []seen{
				slow("yz", "yz-hall-1"), slow("yz", "yz-hall-1").by("p-yz-2"), ok("gy", "yz-hall-1"), ok("jd", "yz-hall-1"),
			}},
			want:   []string{"network:yz explains=yz-hall-1 place=yz"},
			view:   vocab.ViewDegraded,
			probes: []string{"p-yz", "p-yz-2"},
		},
		{
			name: "both probes at the only location that sees the room: the room's own problem",
			sc: scene{seen: []seen{
				slow("yz", "yz-hall-1"), down("yz", "yz-hall-1").by("p-yz-2"),
			}},
			want:   []string{"room:yz-hall-1 explains=yz-hall-1 place=yz"},
			view:   vocab.ViewDown,
			probes: []string{"p-yz", "p-yz-2"},
		},
		{
			name: "a neighbour seeing the room fine over another transport is no witness",
			sc: scene{seen: []seen{
				slow("yz", "yz-hall-1"), ok("yz", "yz-hall-1").by("p-yz-2").over("webrtc"), ok("gy", "yz-hall-1"), ok("jd", "yz-hall-1"),
			}},
			want:   []string{"network:yz explains=yz-hall-1 place=yz"},
			view:   vocab.ViewDegraded,
			probes: []string{"p-yz"},
		},
		{
			name: "a neighbour that does not know is no witness",
			sc: scene{seen: []seen{
				slow("yz", "yz-hall-1"), unknown("yz", "yz-hall-1").by("p-yz-2"), ok("gy", "yz-hall-1"), ok("jd", "yz-hall-1"),
			}},
			want:   []string{"network:yz explains=yz-hall-1 place=yz"},
			view:   vocab.ViewDegraded,
			probes: []string{"p-yz"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			checkBriefs(t, r, tt.want)
			if v := r.Rooms["yz-hall-1"]; v != tt.view {
				t.Errorf("yz-hall-1 overall %s, want %s", v, tt.view)
			}
			if len(r.Problems) > 0 && !slices.Equal(r.Problems[0].Probes, tt.probes) {
				t.Errorf("probes %q, want %q", r.Problems[0].Probes, tt.probes)
			}
		})
	}
}

func TestServerRule(t *testing.T) {
	// yz-hall-1 in trouble from yz and gy, since s seconds.
	troubled := func(s int) []seen {
		return []seen{slow("yz", "yz-hall-1").since(at(s)), slow("gy", "yz-hall-1").since(at(s))}
	}
	fine := []seen{ok("yz", "yz-hall-1"), ok("gy", "yz-hall-1")}
	// yz-hall-1 in trouble from gy only, fine from yz and jd.
	fromGY := func(s int) []seen {
		return []seen{slow("gy", "yz-hall-1").since(at(s)), ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1")}
	}
	media := func(st detect.ServerState) sick { return server("yz-media-1", st) }
	tests := []struct {
		name string
		sc   scene
		want []string
	}{
		{"down, no room in trouble: a problem of its own",
			scene{seen: fine, servers: []sick{media(detect.ServerDown)}},
			[]string{"server:yz-media-1 explains= place=yz"}},
		{"saturated, no room in trouble: a problem of its own",
			scene{seen: fine, servers: []sick{media(detect.ServerSaturated)}},
			[]string{"server:yz-media-1 explains= place=yz"}},
		{"strained, no room in trouble: no problem",
			scene{seen: fine, servers: []sick{media(detect.ServerStrained)}},
			nil},
		{"strained, its rooms in trouble: it explains them",
			scene{seen: troubled(30), servers: []sick{media(detect.ServerStrained)}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz"}},
		{"unknown server: the room's own problem",
			scene{seen: troubled(30), servers: []sick{media(detect.ServerUnknown)}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}},
		{"blame: down before saturated before strained",
			scene{seen: troubled(30), servers: []sick{
				server("yz-web-1", detect.ServerStrained), server("yz-wsgw-1", detect.ServerSaturated), media(detect.ServerDown),
			}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz", "server:yz-wsgw-1 explains= place=yz"}},
		{"blame: saturated before strained, whatever the room's order",
			scene{seen: troubled(30), servers: []sick{
				server("yz-web-1", detect.ServerStrained), server("yz-db-1", detect.ServerSaturated),
			}},
			[]string{"server:yz-db-1 explains=yz-hall-1 place=yz"}},
		{"blame: between equals, the room's order of servers",
			scene{seen: troubled(30), servers: []sick{
				server("yz-db-1", detect.ServerSaturated), server("yz-web-1", detect.ServerSaturated),
			}},
			[]string{"server:yz-db-1 explains= place=yz", "server:yz-web-1 explains=yz-hall-1 place=yz"}},
		{"blame: between strained ones, the room's order of servers",
			scene{seen: troubled(30), servers: []sick{
				server("yz-db-1", detect.ServerStrained), server("yz-wsgw-1", detect.ServerStrained),
			}},
			[]string{"server:yz-wsgw-1 explains=yz-hall-1 place=yz"}},
		{"a clearing server keeps trouble that began before it cleared",
			scene{at: at(25), seen: troubled(15), servers: []sick{media(detect.ServerSaturated).since(at(10)).clears(at(20))}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz"}},
		{"a clearing server does not take trouble that began after it cleared",
			scene{at: at(25), seen: troubled(22), servers: []sick{media(detect.ServerSaturated).since(at(10)).clears(at(20))}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz", "server:yz-media-1 explains= place=yz"}},
		{"a recovered server keeps its lingering trouble for Linger",
			scene{at: at(30), seen: troubled(15), servers: []sick{media(detect.ServerOK).last(at(10), at(20))}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz"}},
		{"a recovered server's lingering trouble beyond Linger is the room's own",
			scene{at: at(31), seen: troubled(15), servers: []sick{media(detect.ServerOK).last(at(10), at(20))}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}},
		{"a recovered server does not take trouble that began after it recovered",
			scene{at: at(25), seen: troubled(22), servers: []sick{media(detect.ServerOK).last(at(10), at(20))}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}},
		{"lingering trouble that ended within Linger stays with the server while it clears",
			scene{at: at(60), seen: []seen{
				slow("yz", "yz-hall-1").since(at(15)).cleared(at(28)), slow("gy", "yz-hall-1").since(at(15)).cleared(at(28)),
			}, servers: []sick{media(detect.ServerOK).last(at(10), at(20))}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz"}},
		{"a room seen fine from a location is left to the network rule",
			scene{seen: fromGY(30), servers: []sick{media(detect.ServerSaturated)}},
			[]string{"network:gy explains=yz-hall-1 place=gy", "server:yz-media-1 explains= place=yz"}},
		{"…unless its server is down (inhibition)",
			scene{seen: fromGY(30), servers: []sick{media(detect.ServerDown)}},
			[]string{"server:yz-media-1 explains=yz-hall-1 place=yz"}},
		{"a strained server does not keep a room seen fine from a location",
			scene{seen: fromGY(30), servers: []sick{media(detect.ServerStrained)}},
			[]string{"network:gy explains=yz-hall-1 place=gy"}},
		{"a recovered server does not keep a room seen fine from a location",
			scene{at: at(35), seen: fromGY(15), servers: []sick{media(detect.ServerOK).last(at(10), at(30))}},
			[]string{"network:gy explains=yz-hall-1 place=gy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBriefs(t, correlateScene(tt.sc), tt.want)
		})
	}
}

func TestServerProblem(t *testing.T) {
	r := correlateScene(scene{
		seen:    []seen{down("yz", "yz-hall-1"), slow("gy", "yz-hall-1"), ok("yz", "yz-hall-2"), ok("gy", "yz-hall-2")},
		servers: []sick{server("yz-media-1", detect.ServerDown)},
	})
	checkBriefs(t, r, []string{"server:yz-media-1 explains=yz-hall-1 place=yz"})
	p := problem(t, r, "server:yz-media-1")
	if p.Cause != vocab.CauseServer || p.Subject != "yz-media-1" {
		t.Errorf("cause %s subject %s", p.Cause, p.Subject)
	}
	// It holds every room on the server, in trouble or not.
	if want := []string{"yz-coord-1", "yz-hall-1", "yz-hall-2"}; !slices.Equal(p.Rooms, want) {
		t.Errorf("rooms %q, want %q", p.Rooms, want)
	}
	if !slices.Equal(p.Servers, []string{"yz-media-1"}) || !slices.Equal(p.Roles, []string{"media"}) {
		t.Errorf("servers %q roles %q", p.Servers, p.Roles)
	}
	if want := []vocab.Kind{vocab.KindDropout, vocab.KindLatency, vocab.KindServerDown}; !slices.Equal(p.Kinds, want) {
		t.Errorf("kinds %q, want %q", p.Kinds, want)
	}
	if len(p.Findings) != 3 || p.Severity != vocab.SeverityCritical {
		t.Errorf("%d findings, severity %s; want 3, critical", len(p.Findings), p.Severity)
	}
	if !slices.Equal(p.Locations, []string{"gy", "yz"}) || !slices.Equal(p.Transports, []string{"ws"}) {
		t.Errorf("locations %q transports %q", p.Locations, p.Transports)
	}
	if !p.Since.Equal(at(20)) || !p.ClearSince.IsZero() || !p.FadingSince.IsZero() {
		t.Errorf("since %s clear since %s fading since %s", p.Since, p.ClearSince, p.FadingSince)
	}
	if !p.Page || p.Partial || p.MutedBy != "" || len(p.AwaitingHealth) != 0 || !p.Incident() {
		t.Errorf("page %v partial %v muted by %q awaiting %q", p.Page, p.Partial, p.MutedBy, p.AwaitingHealth)
	}
	if !slices.Contains(p.Evidence, "http check failed 2 times in a row") || p.Summary == "" {
		t.Errorf("evidence %q summary %q", p.Evidence, p.Summary)
	}
}

func TestUplinkRule(t *testing.T) {
	tests := []struct {
		name string
		sc   scene
		want []string
	}{
		{"a site's rooms fine from its own probes, in trouble from everywhere else: its uplink",
			scene{seen: []seen{
				ok("jd", "jd-hall-1"), slow("yz", "jd-hall-1"), slow("gy", "jd-hall-1"),
				ok("jd", "jd-coord-1"), slow("yz", "jd-coord-1"),
				ok("yz", "yz-hall-1"), ok("gy", "yz-hall-1"), ok("jd", "yz-hall-1"),
			}},
			[]string{"uplink:jd explains=jd-coord-1,jd-hall-1 place=jd"}},
		{"one witness with a healthy path of its own is enough",
			scene{seen: []seen{
				ok("jd", "jd-hall-1"), slow("yz", "jd-hall-1"), slow("gy", "jd-hall-1"),
				ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1"),
			}},
			[]string{"network:gy explains=yz-hall-1 place=gy", "uplink:jd explains=jd-hall-1 place=jd"}},
		{"a witness whose own path is in trouble elsewhere is none: the network path",
			scene{seen: []seen{
				ok("jd", "jd-hall-1"), slow("gy", "jd-hall-1"),
				ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1"),
			}},
			[]string{"network:gy explains=jd-hall-1,yz-hall-1 place=gy"}},
		{"a room fine from another site's probes too is not the uplink",
			scene{seen: []seen{ok("jd", "jd-hall-1"), ok("yz", "jd-hall-1"), slow("gy", "jd-hall-1")}},
			[]string{"network:gy explains=jd-hall-1 place=gy"}},
		{"a site with no probes of its own has no uplink problem",
			scene{seen: []seen{slow("yz", "by-hall-1"), slow("gy", "by-hall-1"), ok("yz", "yz-hall-1"), ok("gy", "yz-hall-1")}},
			[]string{"room:by-hall-1 explains=by-hall-1 place=by"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			checkBriefs(t, r, tt.want)
			for _, p := range r.Problems {
				if p.Cause == vocab.CauseUplink && (!p.Partial || !p.Page || p.Subject != "jd" || slices.Contains(p.Locations, "jd")) {
					t.Errorf("%s: partial %v page %v subject %s locations %q", p.Key, p.Partial, p.Page, p.Subject, p.Locations)
				}
			}
		})
	}
}

func TestNetworkRule(t *testing.T) {
	tests := []struct {
		name string
		sc   scene
		want []string
	}{
		{"in trouble from one location, fine from others: the path to it, placed there alone",
			scene{seen: []seen{ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1")}},
			[]string{"network:gy explains=yz-hall-1 place=gy"}},
		{"rooms of several sites from one location: one path",
			scene{seen: []seen{ok("yz", "yz-hall-1"), slow("gy", "yz-hall-1"), ok("jd", "jd-hall-1"), slow("gy", "jd-hall-1")}},
			[]string{"network:gy explains=jd-hall-1,yz-hall-1 place=gy"}},
		{"a room only that location sees joins its path",
			scene{seen: []seen{ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1"), slow("gy", "by-hall-1")}},
			[]string{"network:gy explains=by-hall-1,yz-hall-1 place=gy"}},
		{"rooms of two sites only that location sees make its path on their own",
			scene{seen: []seen{slow("gy", "by-hall-1"), slow("gy", "yzg-hall-1")}},
			[]string{"network:gy explains=by-hall-1,yzg-hall-1 place=gy"}},
		{"rooms of one site only that location sees are the rooms' own",
			scene{seen: []seen{slow("gy", "yz-hall-1"), slow("gy", "yz-hall-2")}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz", "room:yz-hall-2 explains=yz-hall-2 place=yz"}},
		{"a single room only that location sees is the room's own",
			scene{seen: []seen{slow("gy", "by-hall-1")}},
			[]string{"room:by-hall-1 explains=by-hall-1 place=by"}},
		{"unknown from elsewhere is not fine",
			scene{seen: []seen{slow("gy", "yz-hall-1"), unknown("yz", "yz-hall-1"), unknown("jd", "yz-hall-1")}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}},
		{"two locations' paths at once",
			scene{seen: []seen{
				ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1"),
				ok("yz", "yz-hall-2"), ok("gy", "yz-hall-2"), slow("jd", "yz-hall-2"),
			}},
			[]string{"network:gy explains=yz-hall-1 place=gy", "network:jd explains=yz-hall-2 place=jd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			checkBriefs(t, r, tt.want)
			for _, p := range r.Problems {
				if p.Cause == vocab.CauseNetwork && (!p.Partial || !p.Page || !slices.Equal(p.Locations, []string{p.Subject}) || len(p.Servers) != 0) {
					t.Errorf("%s: partial %v page %v locations %q servers %q", p.Key, p.Partial, p.Page, p.Locations, p.Servers)
				}
			}
		})
	}
}

func TestRoomRule(t *testing.T) {
	// yz-hall-1 in trouble from yz since 30 s and from gy since 40 s: its
	// trouble, as every location sees it, began at 40 s.
	both := []seen{slow("yz", "yz-hall-1").since(at(30)), slow("gy", "yz-hall-1").since(at(40))}
	tests := []struct {
		name     string
		sc       scene
		want     []string
		awaiting []string
	}{
		{"in trouble from every location that sees it, its servers healthy",
			scene{seen: append(slices.Clone(both), ok("yz", "yz-hall-2"), ok("gy", "yz-hall-2"))},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}, nil},
		{"a location that does not know changes nothing",
			scene{seen: append(slices.Clone(both), unknown("jd", "yz-hall-1"))},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}, nil},
		{"servers not read since the trouble began, or failing, are awaited",
			scene{seen: both, servers: []sick{
				server("yz-web-1", detect.ServerOK).checked(at(45)),
				server("yz-wsgw-1", detect.ServerOK).checked(at(35)),
				server("yz-media-1", detect.ServerOK).checked(at(50)).failing(),
				server("yz-db-1", detect.ServerOK).neverChecked(),
			}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}, []string{"yz-wsgw-1", "yz-media-1", "yz-db-1"}},
		{"servers read since the trouble began are not awaited",
			scene{seen: both, servers: []sick{
				server("yz-web-1", detect.ServerOK).checked(at(40)), server("yz-wsgw-1", detect.ServerOK).checked(at(41)),
				server("yz-media-1", detect.ServerOK).checked(at(59)), server("yz-db-1", detect.ServerOK).checked(at(40)),
			}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}, nil},
		{"a server without health checks is not awaited",
			scene{seen: both, servers: []sick{server("yz-db-1", detect.ServerOK).checks(0).neverChecked()}},
			[]string{"room:yz-hall-1 explains=yz-hall-1 place=yz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			checkBriefs(t, r, tt.want)
			p := problem(t, r, "room:yz-hall-1")
			if !slices.Equal(p.AwaitingHealth, tt.awaiting) {
				t.Errorf("awaiting health %q, want %q", p.AwaitingHealth, tt.awaiting)
			}
			if p.Partial || !p.Page || !slices.Equal(p.Locations, []string{"gy", "yz"}) || len(p.Servers) != 0 {
				t.Errorf("partial %v page %v locations %q servers %q", p.Partial, p.Page, p.Locations, p.Servers)
			}
			if !p.Since.Equal(at(30)) {
				t.Errorf("since %s, want the first symptom's onset %s", p.Since, at(30))
			}
		})
	}
}

func TestSilentProbe(t *testing.T) {
	r := correlateScene(scene{
		seen: []seen{
			slow("gy", "yz-hall-1"), ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"),
			slow("gy", "yz-hall-2"),
		},
		silent: []string{"p-gy"},
	})
	// What the silent probe's series said no longer counts.
	var keys []string
	for _, p := range r.Problems {
		keys = append(keys, p.Key)
	}
	if want := []string{"probe:p-gy"}; !slices.Equal(keys, want) {
		t.Fatalf("problems %q, want %q", briefs(r), want)
	}
	p := r.Problems[0]
	if p.Cause != vocab.CauseProbe || p.Page || !p.Partial || p.Incident() || !slices.Equal(p.Locations, []string{"gy"}) ||
		!slices.Equal(p.Kinds, []vocab.Kind{vocab.KindProbeSilent}) || !p.Since.Equal(at(10)) || len(p.Explains) != 0 {
		t.Errorf("problem %+v", p)
	}
	if v := r.Rooms["yz-hall-1"]; v != vocab.ViewOK {
		t.Errorf("yz-hall-1 overall %s, want ok", v)
	}
	if v, seen := r.Rooms["yz-hall-2"]; seen && v != vocab.ViewUnknown {
		t.Errorf("yz-hall-2 (seen only by the silent probe) overall %s, want unknown", v)
	}
}

func TestPartialAndPage(t *testing.T) {
	tests := []struct {
		name          string
		sc            scene
		key           string
		partial, page bool
	}{
		{"server", scene{seen: []seen{ok("yz", "yz-hall-1")}, servers: []sick{server("yz-media-1", detect.ServerDown)}},
			"server:yz-media-1", false, true},
		{"room", scene{seen: []seen{slow("yz", "yz-hall-1"), slow("gy", "yz-hall-1")}},
			"room:yz-hall-1", false, true},
		{"network", scene{seen: []seen{ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1")}},
			"network:gy", true, true},
		{"uplink", scene{seen: []seen{ok("jd", "jd-hall-1"), slow("yz", "jd-hall-1")}},
			"uplink:jd", true, true},
		{"probe-local", scene{seen: []seen{slow("yz", "yz-hall-1"), ok("yz", "yz-hall-1").by("p-yz-2")}},
			"probe:p-yz", true, false},
		{"silent probe", scene{seen: []seen{ok("yz", "yz-hall-1")}, silent: []string{"p-yz"}},
			"probe:p-yz", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			if len(r.Problems) != 1 {
				t.Fatalf("problems %q, want only %s", briefs(r), tt.key)
			}
			p := problem(t, r, tt.key)
			if p.Partial != tt.partial || p.Page != tt.page {
				t.Errorf("partial %v page %v, want %v %v", p.Partial, p.Page, tt.partial, tt.page)
			}
		})
	}
}

// TestProblemTimes: a problem's Since is its first symptom's onset; its
// ClearSince is set only when every symptom has stopped (the latest time
// one did), FadingSince when some have while others hold (the earliest).
// Views from a location whose own path looks in trouble do not time a
// problem that has other witnesses.
func TestProblemTimes(t *testing.T) {
	var zero time.Time
	saturated := server("yz-media-1", detect.ServerSaturated).since(at(20))
	tests := []struct {
		name                 string
		sc                   scene
		key                  string
		since, clear, fading time.Time
	}{
		{"room: one location's symptoms stopped, another's hold",
			scene{seen: []seen{slow("yz", "yz-hall-1").since(at(30)).cleared(at(40)), slow("gy", "yz-hall-1").since(at(35))}},
			"room:yz-hall-1", at(30), zero, at(40)},
		{"room: every symptom stopped",
			scene{seen: []seen{slow("yz", "yz-hall-1").since(at(30)).cleared(at(40)), slow("gy", "yz-hall-1").since(at(35)).cleared(at(45))}},
			"room:yz-hall-1", at(30), at(45), zero},
		{"room: a location's view stops only when every probe's there does",
			scene{seen: []seen{
				slow("yz", "yz-hall-1").since(at(30)).cleared(at(40)), slow("yz", "yz-hall-1").by("p-yz-2").since(at(31)),
				slow("gy", "yz-hall-1").since(at(35)).cleared(at(42)),
			}},
			"room:yz-hall-1", at(30), zero, at(42)},
		{"room: a probe that does not know changes nothing of its location's times",
			scene{seen: []seen{
				slow("yz", "yz-hall-1").since(at(30)).cleared(at(40)), unknown("yz", "yz-hall-1").by("p-yz-2"),
				slow("gy", "yz-hall-1").since(at(35)).cleared(at(45)),
			}},
			"room:yz-hall-1", at(30), at(45), zero},
		{"room: views from a location whose own path is in trouble do not time it",
			scene{seen: []seen{
				slow("yz", "yz-hall-1").since(at(30)).cleared(at(40)), slow("gy", "yz-hall-1").since(at(5)),
				ok("jd", "jd-hall-1"), ok("yz", "jd-hall-1"), slow("gy", "jd-hall-1").since(at(5)),
			}},
			"room:yz-hall-1", at(30), at(40), zero},
		{"network: its views' times",
			scene{seen: []seen{
				ok("yz", "yz-hall-1"), ok("jd", "yz-hall-1"), slow("gy", "yz-hall-1").since(at(30)).cleared(at(40)),
				ok("jd", "jd-hall-1"), ok("yz", "jd-hall-1"), slow("gy", "jd-hall-1").since(at(35)),
			}},
			"network:gy", at(30), zero, at(40)},
		{"server: its own trouble stopped, its room's holds",
			scene{at: at(55), seen: []seen{slow("yz", "yz-hall-1").since(at(25)), slow("gy", "yz-hall-1").since(at(25))},
				servers: []sick{saturated.clears(at(50))}},
			"server:yz-media-1", at(20), zero, at(50)},
		{"server: every symptom stopped",
			scene{seen: []seen{slow("yz", "yz-hall-1").since(at(25)).cleared(at(52)), slow("gy", "yz-hall-1").since(at(25)).cleared(at(52))},
				servers: []sick{saturated.clears(at(50))}},
			"server:yz-media-1", at(20), at(52), zero},
		{"server: views from a location whose own path is in trouble do not time it",
			scene{seen: []seen{
				slow("yz", "yz-hall-1").since(at(25)).cleared(at(52)), slow("gy", "yz-hall-1").since(at(5)),
				ok("jd", "jd-hall-1"), ok("yz", "jd-hall-1"), slow("gy", "jd-hall-1").since(at(5)),
			}, servers: []sick{saturated.clears(at(50))}},
			"server:yz-media-1", at(20), at(52), zero},
		{"server: lingering trouble, the server recovered, the room's symptoms stopped",
			scene{seen: []seen{slow("yz", "yz-hall-1").since(at(15)).cleared(at(28)), slow("gy", "yz-hall-1").since(at(15)).cleared(at(28))},
				servers: []sick{server("yz-media-1", detect.ServerOK).last(at(10), at(20))}},
			"server:yz-media-1", zero, at(28), zero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := correlateScene(tt.sc)
			p := problem(t, r, tt.key)
			if !tt.since.IsZero() && !p.Since.Equal(tt.since) {
				t.Errorf("since %s, want %s", p.Since, tt.since)
			}
			if !p.ClearSince.Equal(tt.clear) || !p.FadingSince.Equal(tt.fading) {
				t.Errorf("clear since %s fading since %s, want %s and %s", p.ClearSince, p.FadingSince, tt.clear, tt.fading)
			}
			if p.Clearing() != !tt.clear.IsZero() {
				t.Errorf("clearing %v", p.Clearing())
			}
		})
	}
}

// TestSuspectPathLeavesServerRoom: the server problem in the timing test
// above still explains its room, and the suspect location's path is its
// own problem.
func TestSuspectPathLeavesServerRoom(t *testing.T) {
	r := correlateScene(scene{seen: []seen{
		slow("yz", "yz-hall-1").since(at(25)).cleared(at(52)), slow("gy", "yz-hall-1").since(at(5)),
		ok("jd", "jd-hall-1"), ok("yz", "jd-hall-1"), slow("gy", "jd-hall-1").since(at(5)),
	}, servers: []sick{server("yz-media-1", detect.ServerSaturated).clears(at(50))}})
	checkBriefs(t, r, []string{"network:gy explains=jd-hall-1 place=gy", "server:yz-media-1 explains=yz-hall-1 place=yz"})
}

func TestRoomViews(t *testing.T) {
	r := correlateScene(scene{
		seen: []seen{
			ok("yz", "yz-hall-1"), slow("gy", "yz-hall-1"),
			slow("yz", "yz-hall-2"), down("gy", "yz-hall-2"),
			ok("yz", "yz-coord-1"), unknown("gy", "yz-coord-1"),
			unknown("jd", "jd-hall-1"),
			slow("jd", "jd-coord-1"), ok("jd", "jd-coord-1").by("p-jd-2"),
			down("gy", "gy-hall-1"), ok("gy", "gy-hall-1").over("webrtc"),
			slow("gy", "by-hall-1").by("p-gy-2"),
		},
		silent: []string{"p-gy-2"},
	})
	want := map[string]vocab.View{
		"yz-hall-1":  vocab.ViewDegraded,
		"yz-hall-2":  vocab.ViewDown,
		"yz-coord-1": vocab.ViewOK,
		"jd-hall-1":  vocab.ViewUnknown,
		"jd-coord-1": vocab.ViewOK,
		"gy-hall-1":  vocab.ViewDown,
		"by-hall-1":  vocab.ViewUnknown,
	}
	for room, v := range want {
		got, ok := r.Rooms[room]
		if !ok {
			got = vocab.ViewUnknown // a room missing is unknown
		}
		if got != v {
			t.Errorf("%s: %s, want %s", room, got, v)
		}
	}
	for room, v := range r.Rooms {
		if _, ok := want[room]; !ok {
			t.Errorf("%s: %s, but nobody sees it", room, v)
		}
	}
}

// TestCorrelateDeterministic: Correlate is a pure function: the same
// evidence gives the same problems every time (whatever the order maps are
// walked in), and it leaves the evidence as it was.
func TestCorrelateDeterministic(t *testing.T) {
	sc := scene{
		seen: []seen{
			// yz-media-1 down: yz's rooms.
			slow("yz", "yz-hall-1"), down("gy", "yz-hall-1"), ok("yz", "yz-hall-2"),
			// jd's uplink.
			ok("jd", "jd-hall-1"), slow("yz", "jd-hall-1"), slow("yzg", "jd-hall-1"),
			ok("jd", "jd-coord-1"), slow("yz", "jd-coord-1"),
			// gy's path.
			ok("yzg", "yzg-hall-1"), ok("yz", "yzg-hall-1"), slow("gy", "yzg-hall-1"),
			slow("gy", "by-hall-1"),
			// gy-hall-1's own trouble, and a probe of its own.
			slow("gy", "gy-hall-1").by("p-gy-2"), slow("yz", "gy-hall-1"), slow("jd", "gy-hall-1"),
			slow("yzg", "gy-coord-1"), ok("yzg", "gy-coord-1").by("p-yzg-2"), ok("yz", "gy-coord-1"),
		},
		servers: []sick{
			server("yz-media-1", detect.ServerDown), server("yz-db-1", detect.ServerStrained),
			server("by-web-1", detect.ServerSaturated), server("gy-db-1", detect.ServerOK).checked(at(10)),
		},
		silent: []string{"p-by"},
	}
	city := demoCity(sc)
	topo := correlate.NewTopology(city)
	ev := sc.evidence(city)
	before := sc.evidence(city)
	first := correlate.Correlate(topo, ev)
	if len(first.Problems) < 6 {
		t.Fatalf("problems %q: the scene is meant to hold many", briefs(first))
	}
	for i := range 20 {
		got := correlate.Correlate(topo, sc.evidence(city))
		if !equal(got, first) {
			t.Fatalf("run %d:\n%q\nfirst:\n%q", i, briefs(got), briefs(first))
		}
	}
	if again := correlate.Correlate(topo, ev); !equal(again, first) {
		t.Fatalf("the same evidence again:\n%q\nfirst:\n%q", briefs(again), briefs(first))
	}
	if !equalEvidence(ev, before) {
		t.Errorf("Correlate changed its evidence")
	}
}
