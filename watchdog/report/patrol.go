package report

import (
	"math/bits"
	"time"
)

// Patrol is one room's patrol coverage (日常巡检): which hours of the period
// a patrol probed it.
type Patrol struct {
	Room     string `json:"room"`
	Name     string `json:"name"`
	Checked  int    `json:"hours_checked"`
	Hours    int    `json:"hours"`
	Coverage Num    `json:"coverage"`
	// LongestGapH is the longest run of hours without a patrol (counting
	// from the period's start and up to its end, or now).
	LongestGapH int `json:"longest_gap_h"`
	// GapFrom is where that run began.
	GapFrom time.Time `json:"longest_gap_from,omitzero"`
	// LastCheck is the start of the last hour checked (zero: none).
	LastCheck time.Time `json:"last_check,omitzero"`
	// PerPoint counts the hours checked in each of the report's series
	// points (days, or hours for a day's report).
	PerPoint []int `json:"checked_per_point"`
}

// hourSet marks the hours of a period a room was patrolled in.
type hourSet []uint64

func newHourSet(hours int) hourSet { return make(hourSet, (hours+63)/64) }

func (h hourSet) set(i int) {
	if i >= 0 && i/64 < len(h) {
		h[i/64] |= 1 << (i % 64)
	}
}

func (h hourSet) has(i int) bool { return h[i/64]&(1<<(i%64)) != 0 }

func (h hourSet) count() int {
	n := 0
	for _, w := range h {
		n += bits.OnesCount64(w)
	}
	return n
}

// patrolOf summarises a room's patrolled hours over hours hours from start.
func patrolOf(room, name string, h hourSet, hours int, start time.Time) Patrol {
	p := Patrol{Room: room, Name: name, Hours: hours, Checked: h.count(), Coverage: share(h.count(), hours)}
	gap, gapFrom := 0, 0
	for i := 0; i < hours; i++ {
		if h.has(i) {
			p.LastCheck = start.Add(time.Duration(i) * time.Hour)
			gap = 0
			continue
		}
		if gap == 0 {
			gapFrom = i
		}
		gap++
		if gap > p.LongestGapH {
			p.LongestGapH = gap
			p.GapFrom = start.Add(time.Duration(gapFrom) * time.Hour)
		}
	}
	return p
}
