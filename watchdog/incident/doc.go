// Package incident keeps incidents: the contract's fault records (故障记录).
//
// An incident moves open → acknowledged → mitigated → resolved → signed off
// (中心签字认可); a problem that comes back within the reopen time reopens
// its resolved incident. Each incident carries its SLA class (minor 1 h,
// partial 2 h, outage 4 h, major 24 h, chosen by configurable rules), its
// deadline and whether it was breached, and the fault record's fields: place
// (sub-centers, rooms, servers), phenomenon with figures, suspected cause, a
// timeline of every event with actor and time, result and handling time.
// Sign-off freezes a record: every later change is refused with [ErrFrozen].
//
// The decisions — the state machine ([Apply]), classification ([Classify])
// and folding a correlated problem into its incident ([New], [Update]) — are
// pure functions over an Incident, tested without I/O. [Store] keeps
// incidents; [RedisStore] keeps them in Redis with updates that are
// idempotent per problem fingerprint, so two watchdogs never open two
// incidents for one problem, and publishes every change as an [Event].
package incident
