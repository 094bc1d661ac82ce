package correlate

import (
	"maps"
	"slices"
	"strings"
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
	findings   []*detect.Finding
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
	// locs are the locations' views, a few: found by a linear search.
	locs []*locView
	// bad and ok are the locations that see the room in trouble and fine,
	// sorted.
	bad, ok []string
}

// at returns a location's view of the room, or nil.
func (r *roomView) at(loc string) *locView {
	for _, v := range r.locs {
		if v.location == loc {
			return v
		}
	}
	return nil
}

// probeLocal is the first rule: within one location, one transport, a
// probe that sees a room in trouble while a neighbour sees it fine has a
// problem of its own (probe-local: recorded, never paged), and the location
// sees the room fine. It returns every location's view of every room, and
// the probe-local problems.
func probeLocal(ev *detect.Evidence, nrooms int) (map[string]*roomView, map[string]*builder, []string) {
	locations := map[string]bool{}
	rooms := make(map[string]*roomView, nrooms)
	nlocs := 0
	{
		locs := map[string]bool{}
		for _, p := range ev.Probes {
			locs[p.Location] = true
		}
		nlocs = len(locs)
	}
	local := map[string]*builder{}
	silent := map[string]bool{}
	for id, p := range ev.Probes {
		if p.Silent {
			silent[id] = true
		}
	}
	// Series are sorted by room, transport, probe: one group per (room,
	// transport), tallied per location.
	var group []*detect.SeriesView
	flush := func() {
		if len(group) == 0 {
			return
		}
		room, transport := group[0].Room, group[0].Transport
		rv := rooms[room]
		if rv == nil {
			rv = &roomView{room: room, locs: make([]*locView, 0, nlocs)}
			rooms[room] = rv
		}
		slices.SortStableFunc(group, func(a, b *detect.SeriesView) int { return strings.Compare(a.Location, b.Location) })
		for i := 0; i < len(group); {
			j := i
			nbad, nok := 0, 0
			for ; j < len(group) && group[j].Location == group[i].Location; j++ {
				switch {
				case group[j].View.Bad():
					nbad++
				case group[j].View == vocab.ViewOK:
					nok++
				}
			}
			at := group[i:j]
			i = j
			loc := at[0].Location
			locations[loc] = true
			lv := rv.at(loc)
			if lv == nil {
				lv = &locView{location: loc, view: vocab.ViewUnknown}
				rv.locs = append(rv.locs, lv)
			}
			switch {
			case nbad > 0 && nok > 0:
				for _, s := range at {
					if !s.View.Bad() {
						continue
					}
					b := local[s.Probe]
					if b == nil {
						b = newBuilder(vocab.CauseProbe, s.Probe)
						local[s.Probe] = b
					}
					b.view(room, &locView{location: loc, findings: pointers(s.Findings), probes: []string{s.Probe}, transports: []string{transport}, onset: s.Onset, clearSince: s.ClearSince}, true)
				}
				if lv.view == vocab.ViewUnknown {
					lv.view = vocab.ViewOK
				}
			case nbad > 0:
				for _, s := range at {
					if !s.View.Bad() {
						continue // a neighbour that does not know is no witness
					}
					if s.View == vocab.ViewDown || !lv.view.Bad() {
						lv.view = s.View
					}
					for i := range s.Findings {
						lv.findings = append(lv.findings, &s.Findings[i])
					}
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
			case nok > 0 && lv.view == vocab.ViewUnknown:
				lv.view = vocab.ViewOK
			}
		}
		group = group[:0]
	}
	for i := range ev.Series {
		s := &ev.Series[i]
		if len(group) > 0 && (s.Room != group[0].Room || s.Transport != group[0].Transport) {
			flush()
		}
		if silent[s.Probe] {
			continue
		}
		group = append(group, s)
	}
	flush()
	for _, rv := range rooms {
		for _, lv := range rv.locs {
			l := lv.location
			switch {
			case lv.view.Bad():
				rv.bad = append(rv.bad, l)
				if !lv.holding {
					lv.clearSince = lv.clear
				}
			case lv.view == vocab.ViewOK:
				rv.ok = append(rv.ok, l)
			}
			if len(lv.probes) > 1 {
				slices.Sort(lv.probes)
				lv.probes = slices.Compact(lv.probes)
			}
		}
		slices.Sort(rv.bad)
		slices.Sort(rv.ok)
	}
	return rooms, local, slices.Sorted(maps.Keys(locations))
}

// pointers points at each finding of a list.
func pointers(fs []detect.Finding) []*detect.Finding {
	out := make([]*detect.Finding, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	return out
}
