package auth

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers test with errors.Is. None of them, nor any error this
// package returns, carries a password, a hash or a token.
var (
	// ErrInvalid is a bad name, display name, role, password or label:
	// the message says what to fix.
	ErrInvalid = errors.New("invalid")
	// ErrUserExists refuses adding a user whose name is taken.
	ErrUserExists = errors.New("user exists")
	// ErrNoUser is a user name nobody has.
	ErrNoUser = errors.New("no such user")
	// ErrBadLogin is a failed login: the name is unknown, the password is
	// wrong, or the user is disabled; deliberately one error for all.
	ErrBadLogin = errors.New("wrong name or password")
	// ErrNoSession is a session token that is unknown, expired or ended
	// (logout, a password change, a disabled user).
	ErrNoSession = errors.New("not signed in or the session has ended")
	// ErrBadToken is an API token that is unknown or revoked.
	ErrBadToken = errors.New("unknown or revoked API token")
	// ErrDisabled is a session or an API token of a disabled user.
	ErrDisabled = errors.New("user disabled")
	// ErrNoCredentials is a request with neither a session cookie nor an
	// Authorization header.
	ErrNoCredentials = errors.New("not signed in: no session cookie and no API token")
	// ErrCSRF is a change requested with a session cookie but without the
	// session's CSRF token in the X-CSRF-Token header.
	ErrCSRF = errors.New("missing or wrong X-CSRF-Token header")
	// ErrTokenExists refuses a second API token with the same label for one
	// user.
	ErrTokenExists = errors.New("token label taken")
	// ErrNoToken is a label no API token of the user has.
	ErrNoToken = errors.New("no such token")
)

// RateLimitedError refuses a login attempt over the limit for its user
// name or its client address, before the password is looked at.
type RateLimitedError struct {
	// RetryAfter is how long until the next attempt may be made.
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many sign-in attempts: try again in %s", e.RetryAfter.Round(time.Second))
}
