package evidence

import (
	"slices"
	"strings"
	"time"
)

// Open is a group with Samples not sealed yet, as KeyOpen keeps it.
type Open struct {
	// Keys are the raw archive lists new Samples of the group were seen
	// in, relative to the prefix.
	Keys []string `json:"keys"`
	// Last is when the sealer last saw a new Sample of the group (its
	// clock, Unix ms); Seen how many it has seen since the last seal.
	Last int64 `json:"last"`
	Seen int64 `json:"seen"`
}

// Merge adds what another look at the lists saw.
func (o Open) Merge(keys []string, last, seen int64) Open {
	for _, k := range keys {
		if !slices.Contains(o.Keys, k) {
			o.Keys = append(o.Keys, k)
		}
	}
	slices.Sort(o.Keys)
	o.Last = max(o.Last, last)
	o.Seen += seen
	return o
}

// Timing is when groups are ready to seal.
type Timing struct {
	// Quiet is how long a session must have had no new Sample.
	Quiet time.Duration
	// Grace is how long after a patrol hour's end (and after its last
	// new Sample) it is sealed, so late Samples land first.
	Grace time.Duration
}

// Ready reports whether group g, open as o, is to be sealed at now: a
// session quiet for t.Quiet; a patrol hour ended t.Grace ago and quiet as
// long. A patrol ref that does not parse is ready at once.
func Ready(g Group, o Open, now time.Time, t Timing) bool {
	last := time.UnixMilli(o.Last)
	switch g.Kind {
	case KindPatrol:
		_, hour, _ := strings.Cut(g.Ref, "@")
		start, err := time.ParseInLocation(HourLayout, hour, time.UTC)
		if err != nil {
			return true
		}
		return !now.Before(start.Add(time.Hour+t.Grace)) && now.Sub(last) >= t.Grace
	default:
		return now.Sub(last) >= t.Quiet
	}
}

// PeriodDue returns the last day of loc that has ended at now, as a period
// ref "YYYY-MM-DD".
func PeriodDue(now time.Time, loc *time.Location) string {
	l := now.In(loc)
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return midnight.AddDate(0, 0, -1).Format(time.DateOnly)
}

// Hours returns the UTC hours, as the raw archive writes them, from the
// one holding from to the one holding to.
func Hours(from, to time.Time) []string {
	var out []string
	for h := from.UTC().Truncate(time.Hour); !h.After(to); h = h.Add(time.Hour) {
		out = append(out, h.Format(HourLayout))
	}
	return out
}
