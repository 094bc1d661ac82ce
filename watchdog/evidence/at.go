package evidence

import (
	"fmt"
	"time"
)

// ParseAt reads the disputed moment: RFC 3339 (its offset kept), or a
// date and time without an offset, in loc: "2026-11-02 10:03",
// "2026-11-02 10:03:30", "2026-11-02T10:03"; or a time alone, "10:03",
// "10:03:30", meaning that time on now's day in loc.
func ParseAt(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			n := now.In(loc)
			return time.Date(n.Year(), n.Month(), n.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a time like 2026-11-02 10:03 (in %s), 10:03 (today), or RFC 3339 with an offset", clip(s), loc)
}
