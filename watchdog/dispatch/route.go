package dispatch

import (
	"slices"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// Route returns the first-level receivers of an incident: the sub-centers
// of its place that have a roster — for a room or a server, those hosting
// its rooms (and the server); for a network path, the location whose line
// it is; for an uplink, the site — and the center, when the incident's
// class is the dispatch section's center_class or above. Sorted, each once.
func Route(city *config.Config, r *Roster, inc *incident.Brief) []Receiver {
	var subs []string
	subs = append(subs, inc.SubCenters...)
	if c, ok := city.Center(); ok && inc.Class.Rank() >= city.Dispatch.CenterClass.Rank() {
		subs = append(subs, c.ID)
	}
	slices.Sort(subs)
	var out []Receiver
	for _, sc := range slices.Compact(subs) {
		if r.Levels(sc) > 0 {
			out = append(out, Receiver{SubCenter: sc})
		}
	}
	return out
}
