package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestLoginLookupLogout(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "zhang", "张工", RoleOperator, "gateway-8080")

	sess, err := s.Login(ctx, "zhang", "gateway-8080", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Token) != 43 || len(sess.CSRF) != 43 || sess.Token == sess.CSRF || sess.User != "zhang" || sess.Addr != "192.0.2.7" {
		t.Errorf("session %+v", sess)
	}
	if got := sess.ExpiresAt.Sub(sess.CreatedAt); got != DefaultSessionTTL {
		t.Errorf("session lasts %v", got)
	}
	ttl := rdb.PTTL(ctx, s.sessionKey(hashToken(sess.Token))).Val()
	if ttl <= DefaultSessionTTL-time.Minute || ttl > DefaultSessionTTL {
		t.Errorf("session key TTL %v", ttl)
	}
	u, got, err := s.Lookup(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "zhang" || u.Display != "张工" || u.Role != RoleOperator || got.CSRF != sess.CSRF || got.Addr != "192.0.2.7" {
		t.Errorf("lookup %+v %+v", u, got)
	}
	other, err := s.Login(ctx, "zhang", "gateway-8080", "192.0.2.8")
	if err != nil {
		t.Fatal(err)
	}
	if other.Token == sess.Token || other.CSRF == sess.CSRF {
		t.Error("two sessions share a token")
	}

	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("lookup after logout: %v", err)
	}
	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if _, _, err := s.Lookup(ctx, other.Token); err != nil {
		t.Errorf("logout ended another session: %v", err)
	}
	if n := rdb.ZCard(ctx, s.userSessionsKey("zhang")).Val(); n != 1 {
		t.Errorf("user-sessions holds %d, want 1", n)
	}
	for _, bad := range []string{"", "nonsense", sess.Token + "x", string(make([]byte, 500))} {
		if _, _, err := s.Lookup(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("lookup %.10q: %v", bad, err)
		}
	}
}

func TestBadLoginIsOneError(t *testing.T) {
	s, _ := newTestStore(t)
	s.BcryptCost = 8 // enough work to tell a skipped comparison from a made one
	ctx := context.Background()
	mustAdd(t, s, "li", "李主任", RoleSupervisor, "right-password")
	mustAdd(t, s, "off", "", RoleOperator, "right-password")
	if err := s.Disable(ctx, "off"); err != nil {
		t.Fatal(err)
	}

	attempt := func(name, pw string) (time.Duration, error) {
		start := time.Now()
		_, err := s.Login(ctx, name, pw, "")
		return time.Since(start), err
	}
	_, _ = attempt("nobody", "warm-up-the-dummy") // the dummy hash is made once
	var errs []error
	var fastest []time.Duration
	for _, c := range []struct{ name, pw string }{
		{"li", "wrong-password"},
		{"nobody", "right-password"},
		{"off", "right-password"},
		{"no such name!", "x"},
	} {
		best := time.Hour
		var last error
		for range 3 {
			d, err := attempt(c.name, c.pw)
			best, last = min(best, d), err
		}
		errs, fastest = append(errs, last), append(fastest, best)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrBadLogin) || err.Error() != errs[0].Error() {
			t.Errorf("attempt %d: %v, want the same ErrBadLogin as a wrong password (%v)", i, err, errs[0])
		}
	}
	// A login naming nobody compares against a dummy hash: it takes about
	// as long as one with a wrong password, not the one Redis round trip
	// it would without.
	for i, d := range fastest[1:] {
		if d < fastest[0]/3 {
			t.Errorf("attempt %d took %v, a wrong password %v: the bcrypt comparison was skipped", i+1, d, fastest[0])
		}
	}
}

func TestSessionExpires(t *testing.T) {
	s, _ := newTestStore(t)
	s.SessionTTL = time.Second
	ctx := context.Background()
	mustAdd(t, s, "li", "", RoleViewer, "password-1")
	sess, err := s.Login(ctx, "li", "password-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	// Lookups do not keep it alive: polled every 50 ms, it still ends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := s.Lookup(ctx, sess.Token)
		if errors.Is(err, ErrNoSession) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a 1 s session still works after %v", time.Since(sess.CreatedAt))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if age := time.Since(sess.CreatedAt); age < 900*time.Millisecond {
		t.Errorf("a 1 s session ended after %v", age)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "zhang", "张工", RoleOperator, "old-password")
	mustAdd(t, s, "wang", "", RoleOperator, "wang-password")
	a, _ := s.Login(ctx, "zhang", "old-password", "192.0.2.1")
	b, _ := s.Login(ctx, "zhang", "old-password", "192.0.2.2")
	w, _ := s.Login(ctx, "wang", "wang-password", "192.0.2.3")
	token, err := s.NewToken(ctx, "zhang", "cli")
	if err != nil {
		t.Fatal(err)
	}
	// A session a racing login saves after the sessions were deleted.
	stale, _ := s.Login(ctx, "zhang", "old-password", "192.0.2.4")
	staleKey := s.sessionKey(hashToken(stale.Token))
	staleValue := rdb.Get(ctx, staleKey).Val()

	if err := s.SetPassword(ctx, "zhang", "new-password"); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, staleKey, staleValue, time.Hour)
	for _, sess := range []Session{a, b, stale} {
		if _, _, err := s.Lookup(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
			t.Errorf("session from %s after passwd: %v", sess.Addr, err)
		}
	}
	if _, _, err := s.Lookup(ctx, w.Token); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
	if _, err := s.TokenUser(ctx, token); err != nil {
		t.Errorf("passwd revoked a token: %v", err)
	}
	if _, err := s.Login(ctx, "zhang", "old-password", ""); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password: %v", err)
	}
	if _, err := s.Login(ctx, "zhang", "new-password", ""); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestDisableBlocksEverything(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "zhang", "张工", RoleOperator, "zhang-password")
	sess, _ := s.Login(ctx, "zhang", "zhang-password", "")
	token, err := s.NewToken(ctx, "zhang", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Disable(ctx, "zhang"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "zhang", "zhang-password", ""); !errors.Is(err, ErrBadLogin) {
		t.Errorf("login of a disabled user: %v", err)
	}
	if _, _, err := s.Lookup(ctx, sess.Token); err == nil {
		t.Error("a disabled user's session works")
	}
	if _, err := s.TokenUser(ctx, token); !errors.Is(err, ErrDisabled) {
		t.Errorf("a disabled user's token: %v", err)
	}
	if _, err := s.NewToken(ctx, "zhang", "another"); !errors.Is(err, ErrDisabled) {
		t.Errorf("new token for a disabled user: %v", err)
	}
	if u, _ := s.Get(ctx, "zhang"); !u.Disabled {
		t.Error("not marked disabled")
	}

	if err := s.Enable(ctx, "zhang"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, token); err != nil {
		t.Errorf("token after enable: %v", err)
	}
	if _, _, err := s.Lookup(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("the session ended by disable is back: %v", err)
	}
	if _, err := s.Login(ctx, "zhang", "zhang-password", ""); err != nil {
		t.Errorf("login after enable: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	t.Run("per name", func(t *testing.T) {
		s, _ := newTestStore(t)
		mustAdd(t, s, "li", "", RoleAdmin, "right-password")
		for i := range 10 {
			if _, err := s.Login(ctx, "li", "wrong-password", fmt.Sprintf("192.0.2.%d", i)); !errors.Is(err, ErrBadLogin) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		// The 11th, from yet another address and with the right password.
		_, err := s.Login(ctx, "li", "right-password", "198.51.100.1")
		var rl *RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
			t.Fatalf("11th attempt: %v", err)
		}
		if _, err := s.Login(ctx, "zhang", "x", "198.51.100.1"); !errors.Is(err, ErrBadLogin) {
			t.Errorf("another name is limited too: %v", err)
		}
	})
	t.Run("per address", func(t *testing.T) {
		s, _ := newTestStore(t)
		mustAdd(t, s, "li", "", RoleAdmin, "right-password")
		for i := range 10 {
			if _, err := s.Login(ctx, fmt.Sprintf("guess%d", i), "x", "192.0.2.9"); !errors.Is(err, ErrBadLogin) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		_, err := s.Login(ctx, "li", "right-password", "192.0.2.9")
		var rl *RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
			t.Fatalf("11th attempt from the address: %v", err)
		}
		if _, err := s.Login(ctx, "li", "right-password", "192.0.2.10"); err != nil {
			t.Errorf("from another address: %v", err)
		}
	})
	t.Run("before bcrypt", func(t *testing.T) {
		s, _ := newTestStore(t)
		s.LoginRate.Burst, s.LoginRate.Rate = 1, 1
		if _, err := s.Login(ctx, "nobody", "x", "192.0.2.1"); !errors.Is(err, ErrBadLogin) {
			t.Fatal(err)
		}
		// A login naming nobody now would make a dummy hash at cost 31,
		// which takes years: the refusal must come first.
		s.BcryptCost = 31
		done := make(chan error, 1)
		go func() { _, err := s.Login(ctx, "nobody", "x", "192.0.2.2"); done <- err }()
		select {
		case err := <-done:
			var rl *RateLimitedError
			if !errors.As(err, &rl) {
				t.Errorf("second attempt: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a limited login did not return within 5 s: it compared the password first")
		}
	})
}

// TestNoSecretsStored checks that neither a password nor a session token
// nor an API token is anywhere in Redis: not in a key, not in a value.
func TestNoSecretsStored(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := context.Background()
	const pw = "correct-horse-battery"
	mustAdd(t, s, "li", "李主任", RoleAdmin, pw)
	sess, err := s.Login(ctx, "li", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.NewToken(ctx, "li", "ci")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"password": pw, "session token": sess.Token, "API token": token, "API token body": token[len(TokenPrefix):]}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 4 {
		t.Fatalf("only keys %v", keys)
	}
	for _, k := range keys {
		var values []string
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			values = append(values, rdb.Get(ctx, k).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				values = append(values, f, v)
			}
		case "zset":
			values = append(values, rdb.ZRange(ctx, k, 0, -1).Val()...)
		case "set":
			values = append(values, rdb.SMembers(ctx, k).Val()...)
		default:
			t.Errorf("key %s of type %s unchecked", k, typ)
		}
		for what, secret := range secrets {
			if strings.Contains(k, secret) {
				t.Errorf("key %s holds the %s", k, what)
			}
			for _, v := range values {
				if strings.Contains(v, secret) {
					t.Errorf("key %s holds the %s", k, what)
				}
			}
		}
	}
	if _, err := rdb.Get(ctx, s.sessionKey(hashToken(sess.Token))).Result(); errors.Is(err, redis.Nil) {
		t.Error("the session is not under its token's hash")
	}
}
