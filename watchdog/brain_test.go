package watchdog

import (
	"testing"

	"github.com/bidwatch/bidwatch/watchdog/incident"
)

func TestAbsorbedBy(t *testing.T) {
	room := incident.Incident{ID: "INC-2", Fingerprints: []string{"room:jd-hall-1"}, Place: incident.Place{Rooms: []string{"jd-hall-1"}}}
	server := incident.Incident{ID: "INC-1", Fingerprints: []string{"room:jd-coord-1", "server:jd-media-1"},
		CauseText: "server jd-media-1", Place: incident.Place{Rooms: []string{"jd-coord-1", "jd-hall-1"}}}
	other := incident.Incident{ID: "INC-3", Fingerprints: []string{"room:yz-hall-1"}, Place: incident.Place{Rooms: []string{"yz-hall-1"}}}
	tests := []struct {
		name    string
		inc     incident.Incident
		active  []incident.Incident
		present map[string]bool
		want    string
	}{
		{"folded into its server's incident", room, []incident.Incident{room, server, other}, map[string]bool{"server:jd-media-1": true}, "INC-1"},
		{"the server's problem is gone too: a recovery", room, []incident.Incident{room, server}, map[string]bool{}, ""},
		{"another room's incident does not cover it", room, []incident.Incident{room, other}, map[string]bool{"room:yz-hall-1": true}, ""},
		{"an incident does not absorb itself", server, []incident.Incident{server}, map[string]bool{"server:jd-media-1": true}, ""},
		{"no rooms, nothing to cover", incident.Incident{ID: "INC-9"}, []incident.Incident{server}, map[string]bool{"server:jd-media-1": true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := absorbedBy(tc.inc, tc.active, tc.present)
			if ok != (tc.want != "") || got.ID != tc.want {
				t.Errorf("absorbedBy = %q, %v; want %q", got.ID, ok, tc.want)
			}
		})
	}
}
