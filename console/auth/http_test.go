package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequireCSRF(t *testing.T) {
	const csrf = "the-session-csrf"
	for _, tc := range []struct {
		name   string
		p      Principal
		header string
		ok     bool
	}{
		{"session with its token", Principal{CSRF: csrf}, csrf, true},
		{"session without a header", Principal{CSRF: csrf}, "", false},
		{"session with another token", Principal{CSRF: csrf}, "another-sessions-csrf", false},
		{"session with a prefix of it", Principal{CSRF: csrf}, csrf[:5], false},
		{"session without a CSRF token", Principal{}, "", false},
		{"API token without a header", Principal{ViaToken: true}, "", true},
		{"API token with any header", Principal{ViaToken: true}, "x", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/incidents/INC-1/ack", nil)
			if tc.header != "" {
				r.Header.Set(CSRFHeader, tc.header)
			}
			err := RequireCSRF(r, tc.p)
			if (err == nil) != tc.ok {
				t.Errorf("RequireCSRF: %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrCSRF) || strings.Contains(err.Error(), csrf)) {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "zhang", "张工", RoleOperator, "zhang-password")
	mustAdd(t, s, "off", "", RoleAdmin, "off-password")
	sess, err := s.Login(ctx, "zhang", "zhang-password", "")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := s.NewToken(ctx, "zhang", "ci")
	offToken, _ := s.NewToken(ctx, "off", "ci")
	if err := s.Disable(ctx, "off"); err != nil {
		t.Fatal(err)
	}

	// The cookie Login's handler would set.
	rec := httptest.NewRecorder()
	SetSessionCookie(rec, sess, true)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != "bidwatch_session" || c.Value != sess.Token || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 {
		t.Errorf("session cookie %+v", c)
	}
	rec = httptest.NewRecorder()
	ClearSessionCookie(rec, false)
	if cl := rec.Result().Cookies(); len(cl) != 1 || cl[0].MaxAge >= 0 || cl[0].Value != "" {
		t.Errorf("clearing cookie %+v", cl)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /api/me", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]any{"user": p.User, "via_token": p.ViaToken})
	}))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("POST /api/ack", RequireAction(ActionAck, ok))
	mux.Handle("POST /api/signoff", RequireAction(ActionSignOff, ok))
	h := s.Middleware(mux)

	for _, tc := range []struct {
		name, method, path string
		cookie, csrf, auth string
		code               int
		body               string
	}{
		{"nothing", "GET", "/api/me", "", "", "", 401, "not signed in"},
		{"cookie", "GET", "/api/me", sess.Token, "", "", 200, `"name":"zhang"`},
		{"stale cookie", "GET", "/api/me", "gone", "", "", 401, "session has ended"},
		{"bearer", "GET", "/api/me", "", "", "Bearer " + token, 200, `"via_token":true`},
		{"bearer of a disabled user", "GET", "/api/me", "", "", "Bearer " + offToken, 401, "disabled"},
		{"unknown bearer", "GET", "/api/me", "", "", "Bearer bw_nope", 401, "unknown or revoked"},
		{"basic auth", "GET", "/api/me", "", "", "Basic eDp5", 401, "Bearer TOKEN"},
		{"bearer wins over a cookie", "GET", "/api/me", "gone", "", "Bearer " + token, 200, `"via_token":true`},
		{"post without CSRF", "POST", "/api/ack", sess.Token, "", "", 403, "X-CSRF-Token"},
		{"post with the wrong CSRF", "POST", "/api/ack", sess.Token, "nope", "", 403, "X-CSRF-Token"},
		{"post with CSRF", "POST", "/api/ack", sess.Token, sess.CSRF, "", 204, ""},
		{"post with a token", "POST", "/api/ack", "", "", "Bearer " + token, 204, ""},
		{"operator signs off", "POST", "/api/signoff", "", "", "Bearer " + token, 403, "zhang is operator: signoff needs supervisor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: CookieName, Value: tc.cookie})
			}
			if tc.csrf != "" {
				r.Header.Set(CSRFHeader, tc.csrf)
			}
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.path, w.Code, w.Body, tc.code, tc.body)
			}
			if w.Code >= 400 {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\": …}", w.Body)
				}
			}
			for _, secret := range []string{sess.Token, sess.CSRF, token, offToken} {
				if strings.Contains(w.Body.String(), secret) {
					t.Errorf("the answer holds a secret: %s", w.Body)
				}
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		name, remote string
		xff          []string
		trust        bool
		want         string
	}{
		{"remote", "192.0.2.1:5555", nil, false, "192.0.2.1"},
		{"remote v6", "[2001:db8::1]:5555", nil, false, "2001:db8::1"},
		{"untrusted forwarded", "192.0.2.1:5555", []string{"198.51.100.7"}, false, "192.0.2.1"},
		{"trusted forwarded", "192.0.2.1:5555", []string{"198.51.100.7"}, true, "198.51.100.7"},
		{"last hop only", "192.0.2.1:5555", []string{"203.0.113.9, 198.51.100.7"}, true, "198.51.100.7"},
		{"last header's last hop", "192.0.2.1:5555", []string{"203.0.113.9", "198.51.100.8"}, true, "198.51.100.8"},
		{"hop with a port", "192.0.2.1:5555", []string{"198.51.100.7:4000"}, true, "198.51.100.7"},
		{"garbage hop", "192.0.2.1:5555", []string{"evil"}, true, "192.0.2.1"},
		{"no port", "192.0.2.1", nil, false, "192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, tc.trust); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}
