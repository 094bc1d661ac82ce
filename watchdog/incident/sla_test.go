package incident

import (
	"testing"

	"github.com/bidwatch/bidwatch/internal/config"
)

func TestClassifyDefaults(t *testing.T) {
	rules := config.DefaultWatchdog().Incidents.Rules
	tests := []struct {
		name  string
		facts Facts
		want  string
	}{
		{"a server down", Facts{Cause: "server", Kinds: []string{"server_down"}, Roles: []string{"db"}, Severity: "critical", Rooms: 2}, config.ClassOutage},
		{"critical in three rooms", Facts{Cause: "network", Kinds: []string{"dropout"}, Severity: "critical", Rooms: 3}, config.ClassOutage},
		{"a saturated server lagging its rooms", Facts{Cause: "server", Kinds: []string{"latency", "saturation"}, Roles: []string{"media"}, Severity: "degraded", Rooms: 3}, config.ClassPartial},
		{"a dropout in one room", Facts{Cause: "room", Kinds: []string{"dropout"}, Severity: "critical", Rooms: 1}, config.ClassPartial},
		{"a network path, two rooms", Facts{Cause: "network", Kinds: []string{"latency"}, Severity: "degraded", Rooms: 2}, config.ClassPartial},
		{"latency in one room", Facts{Cause: "room", Kinds: []string{"latency"}, Severity: "degraded", Rooms: 1}, config.ClassMinor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, rule := Classify(rules, tt.facts); got != tt.want {
				t.Errorf("Classify = %s (%s), want %s", got, rule, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	f := Facts{Cause: "server", Kinds: []string{"saturation"}, Roles: []string{"media", "db"}, Severity: "critical", Rooms: 2}
	tests := []struct {
		rule config.ClassRule
		want bool
	}{
		{config.ClassRule{}, true},
		{config.ClassRule{Cause: "room"}, false},
		{config.ClassRule{Finding: "saturation"}, true},
		{config.ClassRule{Finding: "latency"}, false},
		{config.ClassRule{Role: "db"}, true},
		{config.ClassRule{Role: "web"}, false},
		{config.ClassRule{Severity: "degraded"}, true},
		{config.ClassRule{MinRooms: 2}, true},
		{config.ClassRule{MinRooms: 3}, false},
		{config.ClassRule{Cause: "server", Role: "media", Severity: "critical", MinRooms: 1}, true},
	}
	for _, tt := range tests {
		if got := Match(tt.rule, f); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.rule, got, tt.want)
		}
	}
	if got := Match(config.ClassRule{Severity: "critical"}, Facts{Severity: "degraded"}); got {
		t.Error("degraded matched a critical rule")
	}
}
