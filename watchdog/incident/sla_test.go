package incident

import (
	"testing"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

func TestClassifyDefaults(t *testing.T) {
	rules := policy().Rules
	tests := []struct {
		name  string
		facts Facts
		class vocab.Class
		rule  string
	}{
		{"a server down", Facts{Cause: vocab.CauseServer, Kinds: []vocab.Kind{vocab.KindServerDown}, Roles: []string{"db"}, Severity: vocab.SeverityCritical, Rooms: 2},
			vocab.ClassOutage, "finding=server_down → outage"},
		{"a server down in one room's path", Facts{Cause: vocab.CauseRoom, Kinds: []vocab.Kind{vocab.KindDropout, vocab.KindServerDown}, Severity: vocab.SeverityDegraded, Rooms: 1},
			vocab.ClassOutage, "finding=server_down → outage"},
		{"critical in three rooms", Facts{Cause: vocab.CauseNetwork, Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityCritical, Rooms: 3},
			vocab.ClassOutage, "severity=critical, min_rooms=3 → outage"},
		{"a saturated server lagging its rooms", Facts{Cause: vocab.CauseServer, Kinds: []vocab.Kind{vocab.KindLatency, vocab.KindSaturation}, Roles: []string{"media"}, Severity: vocab.SeverityDegraded, Rooms: 3},
			vocab.ClassPartial, "cause=server → partial"},
		{"a server with no rooms", Facts{Cause: vocab.CauseServer, Kinds: []vocab.Kind{vocab.KindSaturation}, Severity: vocab.SeverityDegraded},
			vocab.ClassPartial, "cause=server → partial"},
		{"a dropout in one room", Facts{Cause: vocab.CauseRoom, Kinds: []vocab.Kind{vocab.KindDropout}, Severity: vocab.SeverityCritical, Rooms: 1},
			vocab.ClassPartial, "severity=critical → partial"},
		{"critical in two rooms", Facts{Cause: vocab.CauseRoom, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityCritical, Rooms: 2},
			vocab.ClassPartial, "severity=critical → partial"},
		{"a network path, two rooms", Facts{Cause: vocab.CauseNetwork, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityDegraded, Rooms: 2},
			vocab.ClassPartial, "cause=network, min_rooms=2 → partial"},
		{"an uplink, two rooms", Facts{Cause: vocab.CauseUplink, Kinds: []vocab.Kind{vocab.KindStutter}, Severity: vocab.SeverityDegraded, Rooms: 2},
			vocab.ClassPartial, "cause=uplink, min_rooms=2 → partial"},
		{"a network path, one room", Facts{Cause: vocab.CauseNetwork, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityDegraded, Rooms: 1},
			vocab.ClassMinor, "no rule matched → minor"},
		{"an uplink, one room", Facts{Cause: vocab.CauseUplink, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityDegraded, Rooms: 1},
			vocab.ClassMinor, "no rule matched → minor"},
		{"a room's stutter", Facts{Cause: vocab.CauseRoom, Kinds: []vocab.Kind{vocab.KindStutter}, Severity: vocab.SeverityDegraded, Rooms: 1},
			vocab.ClassMinor, "no rule matched → minor"},
		{"degraded in five rooms", Facts{Cause: vocab.CauseRoom, Kinds: []vocab.Kind{vocab.KindLatency}, Severity: vocab.SeverityDegraded, Rooms: 5},
			vocab.ClassMinor, "no rule matched → minor"},
		{"nothing known", Facts{}, vocab.ClassMinor, "no rule matched → minor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, rule := Classify(rules, tt.facts)
			if class != tt.class || rule != tt.rule {
				t.Errorf("got %s (%s), want %s (%s)", class, rule, tt.class, tt.rule)
			}
			if d, ok := policy().Deadlines.Of(class); !ok || d <= 0 {
				t.Errorf("class %s has no deadline", class)
			}
		})
	}
}

func TestClassifyFirstRuleWins(t *testing.T) {
	rules := []config.ClassRule{
		{Role: "db", Class: vocab.ClassMajor},
		{Cause: vocab.CauseServer, Class: vocab.ClassMinor},
	}
	if c, r := Classify(rules, Facts{Cause: vocab.CauseServer, Roles: []string{"media", "db"}}); c != vocab.ClassMajor || r != "role=db → major" {
		t.Errorf("got %s (%s)", c, r)
	}
	if c, _ := Classify(rules, Facts{Cause: vocab.CauseServer, Roles: []string{"media"}}); c != vocab.ClassMinor {
		t.Errorf("got %s", c)
	}
	if c, r := Classify(nil, Facts{Cause: vocab.CauseServer}); c != vocab.ClassMinor || r != "no rule matched → minor" {
		t.Errorf("no rules: %s (%s)", c, r)
	}
}

func TestMatch(t *testing.T) {
	facts := Facts{Cause: vocab.CauseServer, Kinds: []vocab.Kind{vocab.KindLatency, vocab.KindSaturation}, Roles: []string{"media"}, Severity: vocab.SeverityCritical, Rooms: 2}
	degraded := facts
	degraded.Severity = vocab.SeverityDegraded
	tests := []struct {
		name  string
		rule  config.ClassRule
		facts Facts
		want  bool
	}{
		{"an empty rule matches anything", config.ClassRule{Class: vocab.ClassMinor}, Facts{}, true},
		{"cause", config.ClassRule{Cause: vocab.CauseServer}, facts, true},
		{"another cause", config.ClassRule{Cause: vocab.CauseRoom}, facts, false},
		{"one of the kinds", config.ClassRule{Finding: vocab.KindSaturation}, facts, true},
		{"a kind not seen", config.ClassRule{Finding: vocab.KindDropout}, facts, false},
		{"one of the roles", config.ClassRule{Role: "media"}, facts, true},
		{"a role not involved", config.ClassRule{Role: "db"}, facts, false},
		{"critical matches a rule for critical", config.ClassRule{Severity: vocab.SeverityCritical}, facts, true},
		{"critical matches a rule for degraded", config.ClassRule{Severity: vocab.SeverityDegraded}, facts, true},
		{"degraded does not match a rule for critical", config.ClassRule{Severity: vocab.SeverityCritical}, degraded, false},
		{"no severity does not match a rule for degraded", config.ClassRule{Severity: vocab.SeverityDegraded}, Facts{}, false},
		{"enough rooms", config.ClassRule{MinRooms: 2}, facts, true},
		{"too few rooms", config.ClassRule{MinRooms: 3}, facts, false},
		{"every field must match", config.ClassRule{Cause: vocab.CauseServer, Finding: vocab.KindLatency, Role: "media", Severity: vocab.SeverityCritical, MinRooms: 3}, facts, false},
		{"every field matching", config.ClassRule{Cause: vocab.CauseServer, Finding: vocab.KindLatency, Role: "media", Severity: vocab.SeverityDegraded, MinRooms: 2}, facts, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.rule, tt.facts); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}
