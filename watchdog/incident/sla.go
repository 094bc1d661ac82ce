package incident

import (
	"slices"

	"github.com/bidwatch/bidwatch/internal/config"
	"github.com/bidwatch/bidwatch/internal/vocab"
)

// Facts are what class rules look at.
type Facts struct {
	Cause    vocab.Cause
	Kinds    []vocab.Kind
	Roles    []string
	Severity vocab.Severity
	Rooms    int
}

// Match reports whether a rule matches the facts: every field the rule sets
// must match (a critical severity also matches a rule for degraded).
func Match(r config.ClassRule, f Facts) bool {
	switch {
	case r.Cause != "" && r.Cause != f.Cause:
		return false
	case r.Finding != "" && !slices.Contains(f.Kinds, r.Finding):
		return false
	case r.Role != "" && !slices.Contains(f.Roles, r.Role):
		return false
	case r.Severity != "" && f.Severity.Rank() < r.Severity.Rank():
		return false
	case f.Rooms < r.MinRooms:
		return false
	}
	return true
}

// Classify returns the class of the first rule that matches, and the rule
// in words; minor when none does.
func Classify(rules []config.ClassRule, f Facts) (class vocab.Class, rule string) {
	for _, r := range rules {
		if Match(r, f) {
			return r.Class, r.String()
		}
	}
	return vocab.ClassMinor, "no rule matched → minor"
}
