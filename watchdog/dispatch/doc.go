// Package dispatch tells people about incidents (派单告警): the duty officer
// of each sub-center whose rooms an incident touches — for a network path,
// of the location whose line it is — and the trading center for incidents
// of its class and above, on the channels they use, within seconds, once;
// and again, up the roster, when nobody picks an incident up.
//
// It is a pipeline of small stages, as Alertmanager's notify is: route (an
// incident's place to roster levels: route.go, roster.go), group (changes
// that come together for one receiver make one message: compose.go), mute
// (maintenance windows, silences: silence.go), dedup (a notice is queued
// once, by a stable id), rate limit (per channel and per receiver, with
// go-redis/redis_rate; past the limit, one summary message instead of
// many), fan out to channels (package channel, a file per kind), retry
// (an outbox in Redis, exponential backoff with jitter: outbox.go).
// Escalation and reminders (escalate.go) are pure functions of an incident
// and the time; acknowledge links (ack.go) are signed, expiring and good
// once. Only the watchdog's leader runs a Dispatcher.
package dispatch
