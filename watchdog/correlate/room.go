package correlate

import (
	"fmt"
	"strings"

	"github.com/bidwatch/bidwatch/internal/vocab"
)

// roomRule: a room in trouble that no earlier rule explains — seen in
// trouble from every location that sees it, its servers healthy — is its
// own problem (the application). Servers of the room whose latest readings
// predate its trouble, or whose check just failed (down or not is about to
// be decided), are listed in AwaitingHealth: they are checked at once, and
// the room is blamed only when they turn out healthy.
func (c *run) roomRule() {
	for _, room := range c.order {
		rv := c.rooms[room]
		bad := rv.bad
		if len(bad) == 0 || c.explained[room] {
			continue
		}
		b := c.get(vocab.CauseRoom, room)
		c.addBad(b, room, false)
		onset := rv.onset()
		for _, id := range c.t.RoomServers(room) {
			sv, ok := c.ev.Servers[id]
			if ok && sv.Checks > 0 && (sv.CheckedAt.Before(onset) || sv.Failing) {
				b.p.AwaitingHealth = append(b.p.AwaitingHealth, id)
			}
		}
		b.evidence = append(b.evidence, fmt.Sprintf("slow from every location that sees it (%s); its servers healthy", strings.Join(bad, ", ")))
	}
}

// silentRule: a probe whose heartbeat is overdue is a probe problem, never a
// room's: what its series said no longer counts.
func (c *run) silentRule() {
	for _, id := range sortedKeys(c.ev.Probes) {
		p := c.ev.Probes[id]
		if !p.Silent || p.Finding == nil {
			continue
		}
		b := c.get(vocab.CauseProbe, id)
		b.finding(p.Finding)
		b.locs.add(p.Location)
		b.symptom(p.Finding.Onset, p.Finding.ClearSince)
	}
}
