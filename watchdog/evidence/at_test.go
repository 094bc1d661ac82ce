package evidence

import (
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	now := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-02 10:03", time.Date(2026, 11, 2, 2, 3, 0, 0, time.UTC), true},
		{"2026-11-02 10:03:30", time.Date(2026, 11, 2, 2, 3, 30, 0, time.UTC), true},
		{"2026-11-02T10:03", time.Date(2026, 11, 2, 2, 3, 0, 0, time.UTC), true},
		{"10:03", time.Date(2026, 11, 2, 2, 3, 0, 0, time.UTC), true},
		{"2026-11-02T10:03:00Z", time.Date(2026, 11, 2, 10, 3, 0, 0, time.UTC), true}, // an offset is kept
		{"2026-11-02T10:03:00+08:00", time.Date(2026, 11, 2, 2, 3, 0, 0, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, c := range cases {
		got, err := ParseAt(c.in, sh, now)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("ParseAt(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
