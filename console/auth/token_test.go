package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "li", "李主任", RoleSupervisor, "li-password")
	mustAdd(t, s, "zhang", "张工", RoleOperator, "zhang-password")

	ci, err := s.NewToken(ctx, "li", "ci")
	if err != nil {
		t.Fatal(err)
	}
	laptop, err := s.NewToken(ctx, "li", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	zt, err := s.NewToken(ctx, "zhang", "ci") // a label is per user
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ci, "bw_") || len(ci) != 46 || ci == laptop {
		t.Errorf("tokens %q %q", ci, laptop)
	}
	if u, err := s.TokenUser(ctx, ci); err != nil || u.Name != "li" || u.Role != RoleSupervisor || u.Actor() != "李主任 (li)" {
		t.Errorf("TokenUser: %+v %v", u, err)
	}
	if u, err := s.TokenUser(ctx, zt); err != nil || u.Name != "zhang" {
		t.Errorf("TokenUser: %+v %v", u, err)
	}
	if _, err := s.NewToken(ctx, "li", "ci"); !errors.Is(err, ErrTokenExists) {
		t.Errorf("duplicate label: %v", err)
	}
	for _, tc := range []struct{ user, label string }{{"nobody", "x"}, {"li", ""}, {"li", "a\nb"}} {
		if _, err := s.NewToken(ctx, tc.user, tc.label); err == nil {
			t.Errorf("NewToken(%q, %q) made a token", tc.user, tc.label)
		}
	}
	list, err := s.Tokens(ctx, "li")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Label != "ci" || list[1].Label != "laptop" || list[0].User != "li" || list[0].CreatedAt.IsZero() {
		t.Errorf("tokens %+v", list)
	}

	if err := s.RevokeToken(ctx, "li", "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, ci); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := s.TokenUser(ctx, laptop); err != nil {
		t.Errorf("revoke took another token: %v", err)
	}
	if _, err := s.TokenUser(ctx, zt); err != nil {
		t.Errorf("revoke took another user's token: %v", err)
	}
	if err := s.RevokeToken(ctx, "li", "ci"); !errors.Is(err, ErrNoToken) {
		t.Errorf("revoke twice: %v", err)
	}
	for _, bad := range []string{"", "bw_", "bw_nonsense", ci[3:], "Bearer " + laptop, laptop + " "} {
		_, err := s.TokenUser(ctx, bad)
		if !errors.Is(err, ErrBadToken) {
			t.Errorf("TokenUser(%q): %v", bad, err)
		}
		if err != nil && len(bad) > 4 && strings.Contains(err.Error(), bad) {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}
