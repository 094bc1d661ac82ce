// Package auth keeps the console's users, their sessions and API tokens, and
// decides what each role may do.
//
// Everything lives in Redis under the bus prefix, so every console replica
// and the bidwatch command line see the same users:
//
//	<prefix>console:users                 hash: user name → JSON user (with its bcrypt hash)
//	<prefix>console:session:<sha256 hex>  JSON session, expiring after Store.SessionTTL
//	<prefix>console:user-sessions:<name>  sorted set: a user's session hashes, scored by expiry
//	<prefix>console:tokens                hash: sha256 hex of an API token → JSON {user, label, created_at}
//	rate:<prefix>console:login:name:<name> and rate:<prefix>console:login:addr:<addr>
//	                                      redis_rate's login limits
//
// Neither a session token nor an API token is kept: only their SHA-256, so
// a copy of the Redis data lets nobody sign in. Passwords are kept as bcrypt
// hashes.
//
// Login counts every attempt, not only the failed ones, against two limits
// (Store.LoginRate each): one per user name and one per client address. The
// limits are checked before the password is, so guessing costs the guesser
// a refusal and the server no bcrypt.
//
// A session lasts a fixed Store.SessionTTL from login: using it refreshes
// nothing. Changing a user's password or disabling the user ends all of the
// user's sessions; a disabled user's API tokens stop working (they are kept,
// and work again once the user is enabled). Every lookup reads the user
// again, so a role change applies at the next request.
package auth
