package correlate

import (
	"slices"
	"time"

	"github.com/bidwatch/bidwatch/internal/vocab"
	"github.com/bidwatch/bidwatch/watchdog/detect"
)

// locView is how one location's probes see one room now, over every
// transport together.
type locView struct {
	location string
	// view: bad (degraded or down) when some transport's probes there all
	// see trouble; ok when no transport does and some see it fine; else
	// unknown.
	view       vocab.View
	findings   []detect.Finding
	probes     []string
	transports []string
	onset      time.Time
	clearSince time.Time // when every finding has stopped holding
	holding    bool      // some finding holds
	clear      time.Time // the latest time one stopped holding
}

// roomView is every location's view of one room.
type roomView struct {
	room string
	locs map[string]*locView
}

// where returns the locations whose view passes pred, sorted.
func (r *roomView) where(pred func(vocab.View) bool) []string {
	var out []string
	for l, v := range r.locs {
		if pred(v.view) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func isBad(v vocab.View) bool { return v.Bad() }
func isOK(v vocab.View) bool  { return v == vocab.ViewOK }

// probeLocal is the first rule: within one location, one transport, a
// probe that sees a room in trouble while a neighbour sees it fine has a
// problem of its own (probe-local: recorded, never paged), and the location
// sees the room fine. It returns every location's view of every room, and
// the probe-local problems.
func probeLocal(ev *detect.Evidence) (map[string]*roomView, map[string]*builder) {
	rooms := map[string]*roomView{}
	local := map[string]*builder{}
	type tally struct {
		bad, ok []*detect.SeriesView
	}
	// Series are sorted by room, transport, probe: one group per (room,
	// transport), tallied per location.
	flush := func(room, transport string, group map[string]*tally) {
		rv := rooms[room]
		if rv == nil {
			rv = &roomView{room: room, locs: map[string]*locView{}}
			rooms[room] = rv
		}
		for loc, t := range group {
			lv := rv.locs[loc]
			if lv == nil {
				lv = &locView{location: loc, view: vocab.ViewUnknown}
				rv.locs[loc] = lv
			}
			switch {
			case len(t.bad) > 0 && len(t.ok) > 0:
				for _, s := range t.bad {
					b := local[s.Probe]
					if b == nil {
						b = newBuilder(vocab.CauseProbe, s.Probe)
						local[s.Probe] = b
					}
					b.view(room, &locView{location: loc, findings: s.Findings, probes: []string{s.Probe}, transports: []string{transport}, onset: s.Onset, clearSince: s.ClearSince}, true)
				}
				if lv.view == vocab.ViewUnknown {
					lv.view = vocab.ViewOK
				}
			case len(t.bad) > 0:
				for _, s := range t.bad {
					if s.View == vocab.ViewDown || !lv.view.Bad() {
						lv.view = s.View
					}
					lv.findings = append(lv.findings, s.Findings...)
					lv.probes = append(lv.probes, s.Probe)
					if lv.onset.IsZero() || s.Onset.Before(lv.onset) {
						lv.onset = s.Onset
					}
					if s.ClearSince.IsZero() {
						lv.holding = true
					} else if s.ClearSince.After(lv.clear) {
						lv.clear = s.ClearSince
					}
				}
				lv.transports = append(lv.transports, transport)
			case len(t.ok) > 0 && lv.view == vocab.ViewUnknown:
				lv.view = vocab.ViewOK
			}
		}
	}
	var room, transport string
	group := map[string]*tally{}
	for i := range ev.Series {
		s := &ev.Series[i]
		if s.Room != room || s.Transport != transport {
			if room != "" {
				flush(room, transport, group)
			}
			room, transport = s.Room, s.Transport
			group = map[string]*tally{}
		}
		if p, ok := ev.Probes[s.Probe]; ok && p.Silent {
			continue
		}
		t := group[s.Location]
		if t == nil {
			t = &tally{}
			group[s.Location] = t
		}
		switch {
		case s.View.Bad():
			t.bad = append(t.bad, s)
		case s.View == vocab.ViewOK:
			t.ok = append(t.ok, s)
		}
	}
	if room != "" {
		flush(room, transport, group)
	}
	for _, rv := range rooms {
		for _, lv := range rv.locs {
			if lv.view.Bad() && !lv.holding {
				lv.clearSince = lv.clear
			}
			slices.Sort(lv.probes)
			lv.probes = slices.Compact(lv.probes)
		}
	}
	return rooms, local
}
