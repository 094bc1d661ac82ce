package remedy

import (
	"testing"
	"time"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/watchdog/incident"
)

// A moment's clearing between a fault's returns is not a fix: the
// symptoms must stay gone for the hold.
func TestGoneFor(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		inc  incident.Incident
		hold time.Duration
		want bool
	}{
		{"still there", incident.Incident{State: incident.StateOpen}, 5 * time.Second, false},
		{"clearing for a moment", incident.Incident{State: incident.StateOpen, ClearingSince: now.Add(-time.Second)}, 5 * time.Second, false},
		{"clearing long enough", incident.Incident{State: incident.StateOpen, ClearingSince: now.Add(-5 * time.Second)}, 5 * time.Second, true},
		{"resolved", incident.Incident{State: incident.StateResolved}, 5 * time.Second, true},
	}
	for _, tt := range tests {
		if got := GoneFor(&tt.inc, now, tt.hold); got != tt.want {
			t.Errorf("%s: GoneFor = %v, want %v", tt.name, got, tt.want)
		}
	}
	d := config.DefaultWatchdog().Detect
	if h := holdOf(d); h != maxHold {
		t.Errorf("hold on the default rules = %s, want %s", h, maxHold)
	}
	d.Dropout.ClearAfter = 4 * time.Second
	if h := holdOf(d); h != 2*time.Second {
		t.Errorf("hold with a 4 s clear_after = %s, want 2s", h)
	}
}
