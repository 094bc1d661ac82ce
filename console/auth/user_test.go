package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"li", true},
		{"zhang.san_2-b", true},
		{"张工", true},
		{"李主任", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("李", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"li si", false},
		{"li:si", false},
		{"-li", false},
		{".li", false},
		{"li\n", false},
		{"рaul", false}, // a Cyrillic р
		{"\xff", false},
	} {
		err := ValidName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, not ErrInvalid", tc.name, err)
		}
	}
}

func TestUsers(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()

	li := mustAdd(t, s, "li", " 李主任 ", RoleSupervisor, "secret-pass-1")
	if li.Display != "李主任" || li.Role != RoleSupervisor || li.Disabled || li.CreatedAt.IsZero() {
		t.Errorf("added %+v", li)
	}
	if li.Actor() != "李主任 (li)" {
		t.Errorf("actor %q", li.Actor())
	}
	mustAdd(t, s, "zhang", "", RoleOperator, "密码密码密码密码")
	if _, err := s.AddUser(ctx, "li", "", RoleViewer, "another-pass"); !errors.Is(err, ErrUserExists) {
		t.Errorf("duplicate: %v", err)
	}
	for _, tc := range []struct {
		name, display string
		role          Role
		pw, err       string
	}{
		{"a b", "", RoleViewer, "password1", `invalid: user name "a b": ' ' is not allowed`},
		{"wang", "", Role("boss"), "password1", `invalid: unknown role "boss"`},
		{"wang", "", RoleViewer, "short", "invalid: password: want at least 8 characters"},
		{"wang", "", RoleViewer, strings.Repeat("x", 73), "invalid: password: want at most 72 bytes"},
		{"wang", "a\tb", RoleViewer, "password1", `invalid: display name "a\tb": has a control character`},
	} {
		_, err := s.AddUser(ctx, tc.name, tc.display, tc.role, tc.pw)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("AddUser(%q, %q, %q): %v, want %q…", tc.name, tc.display, tc.role, err, tc.err)
		}
		if err != nil && len(tc.pw) > 5 && strings.Contains(err.Error(), tc.pw) {
			t.Errorf("error quotes the password: %v", err)
		}
	}

	if err := s.SetRole(ctx, "zhang", RoleSupervisor); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, "nobody", RoleViewer); !errors.Is(err, ErrNoUser) {
		t.Errorf("SetRole of nobody: %v", err)
	}
	if err := s.Disable(ctx, "nobody"); !errors.Is(err, ErrNoUser) {
		t.Errorf("Disable of nobody: %v", err)
	}
	if err := s.SetPassword(ctx, "li", "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	users, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Name != "li" || users[1].Name != "zhang" || users[1].Role != RoleSupervisor || !users[1].ChangedAt.After(users[1].CreatedAt) && !users[1].ChangedAt.Equal(users[1].CreatedAt) {
		t.Errorf("list %+v", users)
	}
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, ErrNoUser) {
		t.Errorf("Get nobody: %v", err)
	}
	b, _ := json.Marshal(users)
	if strings.Contains(string(b), "hash") || strings.Contains(string(b), "$2a$") || strings.Contains(string(b), "epoch") {
		t.Errorf("a user marshals its hash: %s", b)
	}
}
