package auth

import (
	"errors"
	"testing"
)

func TestRoleTable(t *testing.T) {
	actions := []Action{ActionView, ActionAck, ActionNote, ActionMitigate, ActionResolve, ActionClass, ActionProbe, ActionSignOff, ActionUsers}
	// want[role] is the actions the role may do, as a string of 0s and 1s
	// in the order of actions.
	want := map[Role]string{
		RoleViewer:     "100000000",
		RoleOperator:   "111111100",
		RoleSupervisor: "111111110",
		RoleAdmin:      "111111111",
		Role("root"):   "000000000",
		Role(""):       "000000000",
	}
	for role, w := range want {
		t.Run(string(role), func(t *testing.T) {
			got := ""
			for _, a := range actions {
				if Allowed(role, a) {
					got += "1"
				} else {
					got += "0"
				}
			}
			if got != w {
				t.Errorf("Allowed(%q, %v) = %s, want %s", role, actions, got, w)
			}
			if n := len(AllowedActions(role)); n != countOnes(w) {
				t.Errorf("AllowedActions(%q) has %d actions, want %d", role, n, countOnes(w))
			}
		})
	}
	if Allowed(RoleAdmin, Action("reboot")) {
		t.Error("an unknown action is allowed")
	}
}

func countOnes(s string) int {
	n := 0
	for _, c := range s {
		if c == '1' {
			n++
		}
	}
	return n
}

func TestRoleOrder(t *testing.T) {
	roles := Roles()
	for i, a := range roles {
		for j, b := range roles {
			if got := a.AtLeast(b); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", a, b, got)
			}
		}
	}
	if Role("root").AtLeast(Role("root")) || RoleAdmin.AtLeast(Role("root")) {
		t.Error("an unknown role compares")
	}
}

func TestParseRole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Role
		err  string
	}{
		{"viewer", RoleViewer, ""},
		{" Supervisor ", RoleSupervisor, ""},
		{"ADMIN", RoleAdmin, ""},
		{"boss", "", `invalid: unknown role "boss": want viewer, operator, supervisor or admin`},
		{"", "", `invalid: unknown role "": want viewer, operator, supervisor or admin`},
	} {
		got, err := ParseRole(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseRole(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
