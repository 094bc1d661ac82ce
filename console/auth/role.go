package auth

import (
	"fmt"
	"strings"
)

// Role is what a user may do on the console, each role everything the one
// below it may and more: viewer < operator < supervisor < admin.
type Role string

// The roles, lowest first.
const (
	// RoleViewer sees everything: the big screen in the machine room.
	RoleViewer Role = "viewer"
	// RoleOperator also works incidents: acknowledge, note, mitigate,
	// resolve, reclassify, probe a room now.
	RoleOperator Role = "operator"
	// RoleSupervisor also signs fault records off (中心签字认可).
	RoleSupervisor Role = "supervisor"
	// RoleAdmin also manages users.
	RoleAdmin Role = "admin"
)

// Roles returns the roles, lowest first.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleSupervisor, RoleAdmin} }

// rank is a role's place in Roles, -1 for an unknown role.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 0
	case RoleOperator:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// AtLeast reports whether r is min or above it. An unknown role is at
// least nothing.
func (r Role) AtLeast(min Role) bool { return r.Valid() && min.Valid() && r.rank() >= min.rank() }

// ParseRole reads a role's name, in any case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("%w: unknown role %q: want viewer, operator, supervisor or admin", ErrInvalid, s)
	}
	return r, nil
}

// Action is something a user asks the console to do.
type Action string

// The actions; Allowed says which role may do each.
const (
	ActionView     Action = "view"     // see rooms, incidents, probes, the schedule
	ActionAck      Action = "ack"      // acknowledge an incident (确认接单)
	ActionNote     Action = "note"     // add a note to an incident
	ActionMitigate Action = "mitigate" // mark an incident mitigated
	ActionResolve  Action = "resolve"  // resolve an incident (排除)
	ActionClass    Action = "class"    // set an incident's SLA class
	ActionProbe    Action = "probe"    // "probe this room now"
	ActionSignOff  Action = "signoff"  // sign a fault record off (中心签字认可)
	ActionUsers    Action = "users"    // add, change and disable users
)

// minRoles is the least role that may do each action.
var minRoles = []struct {
	action Action
	role   Role
}{
	{ActionView, RoleViewer},
	{ActionAck, RoleOperator},
	{ActionNote, RoleOperator},
	{ActionMitigate, RoleOperator},
	{ActionResolve, RoleOperator},
	{ActionClass, RoleOperator},
	{ActionProbe, RoleOperator},
	{ActionSignOff, RoleSupervisor},
	{ActionUsers, RoleAdmin},
}

// MinRole is the least role that may do a; false for an unknown action.
func MinRole(a Action) (Role, bool) {
	for _, m := range minRoles {
		if m.action == a {
			return m.role, true
		}
	}
	return "", false
}

// Allowed reports whether a user with role may do a. Nobody may do an
// unknown action.
func Allowed(role Role, a Action) bool {
	min, ok := MinRole(a)
	return ok && role.AtLeast(min)
}

// AllowedActions returns the actions role may do, in table order.
func AllowedActions(role Role) []Action {
	var out []Action
	for _, m := range minRoles {
		if role.AtLeast(m.role) {
			out = append(out, m.action)
		}
	}
	return out
}
