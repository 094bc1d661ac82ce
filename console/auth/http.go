package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// CookieName is the session cookie's name.
const CookieName = "bidwatch_session"

// CSRFHeader carries a cookie session's CSRF token on every change.
const CSRFHeader = "X-CSRF-Token"

// SetSessionCookie gives the browser a session's cookie: HttpOnly,
// SameSite=Strict, for every path, lasting as long as the session; secure
// behind HTTPS.
func SetSessionCookie(w http.ResponseWriter, s Session, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    s.Token,
		Path:     "/",
		MaxAge:   max(int(s.ExpiresAt.Sub(s.CreatedAt).Seconds()), 1),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// ClearSessionCookie tells the browser to forget the session cookie.
func ClearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// SessionToken is the session cookie's value in a request, "" without one.
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// Principal is who a request acts as.
type Principal struct {
	User User
	// CSRF is the session's CSRF token; "" for an API token.
	CSRF string
	// ViaToken is true for a request with an API token (Authorization:
	// Bearer), false for one with a session cookie.
	ViaToken bool
}

// Authenticate finds who a request acts as: the API token of an
// "Authorization: Bearer" header or else the session cookie. Its errors are
// ErrNoCredentials, ErrBadToken, ErrNoSession and ErrDisabled (answer 401)
// or Redis failing.
func (s *Store) Authenticate(r *http.Request) (Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Principal{}, fmt.Errorf("%w: want \"Authorization: Bearer TOKEN\"", ErrBadToken)
		}
		u, err := s.TokenUser(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return Principal{}, err
		}
		return Principal{User: u, ViaToken: true}, nil
	}
	token := SessionToken(r)
	if token == "" {
		return Principal{}, ErrNoCredentials
	}
	u, sess, err := s.Lookup(r.Context(), token)
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u, CSRF: sess.CSRF}, nil
}

// Unauthenticated reports whether an Authenticate error means the request
// has no valid credentials (401) rather than that the store failed.
func Unauthenticated(err error) bool {
	return errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrBadToken) || errors.Is(err, ErrNoSession) || errors.Is(err, ErrDisabled)
}

// RequireCSRF checks that a change asked for with a session cookie carries
// the session's CSRF token in the X-CSRF-Token header; ErrCSRF otherwise.
// A request with an API token needs none: a browser cannot be made to send
// one.
func RequireCSRF(r *http.Request, p Principal) error {
	if p.ViaToken {
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || p.CSRF == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
		return ErrCSRF
	}
	return nil
}

// Middleware lets through only requests that Authenticate, with the
// Principal in their context (PrincipalFrom), answering 401 otherwise. A
// request that may change something (any method but GET, HEAD and OPTIONS)
// with a session cookie must also pass RequireCSRF, or gets 403. Errors are
// JSON: {"error": "…"}.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		switch {
		case Unauthenticated(err):
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "cannot check the session: the session store is unreachable")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if err := RequireCSRF(r, p); err != nil {
				writeError(w, http.StatusForbidden, err.Error())
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// RequireAction lets through only requests whose Principal (set by
// Middleware) may do a: 401 without one, 403 for a role that may not.
func RequireAction(a Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			writeError(w, http.StatusUnauthorized, ErrNoCredentials.Error())
			return
		}
		if !Allowed(p.User.Role, a) {
			min, _ := MinRole(a)
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s is %s: %s needs %s or above", p.User.Name, p.User.Role, a, min))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ClientAddr is the address a request comes from: the host of RemoteAddr,
// or, when the console sits behind a proxy it trusts, the last hop of
// X-Forwarded-For (the one that proxy added; earlier hops are the client's
// to forge).
func ClientAddr(r *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			hop := strings.TrimSpace(hops[len(hops)-1])
			if a, err := netip.ParseAddr(hop); err == nil {
				return a.Unmap().String()
			}
			if ap, err := netip.ParseAddrPort(hop); err == nil {
				return ap.Addr().Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
