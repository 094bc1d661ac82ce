// Package hall is a synthetic bid-opening hall (不见面开标大厅): an HTTP server
// that speaks the same protocols as a city's real hall, with faults that can
// be injected at run time. Tests, the demo, benchmarks and emergency drills
// (应急演练) run bidwatch's participants and watchdog against it.
//
// The WebSocket side is documented in docs/hall-protocol.md: a participant
// upgrades GET /rooms/{room}/events, sends a join message, and from then on
// receives one JSON event per room per period (1 s by default) with a
// per-room sequence number and the server's timestamp. RFC 6455 pings are
// answered with pongs.
//
// Faults are set per room through the Go API ([Room.SetFault]) or the admin
// HTTP API under /admin/ on the same listener: latency and jitter on every
// outbound frame, event loss, a one-shot stall, a one-shot drop of every
// connection, refusal of new connections, and silence. Every fault goes
// through one outbound path per connection, so pongs are delayed like events
// and a silent room answers nothing at all.
//
// The hall also simulates the servers behind its rooms: each named server
// has a health endpoint and a Prometheus metrics endpoint whose gauges (CPU,
// memory, database connections, disk) can be pushed up or the server marked
// down ([Server.SetHealth]), so the watchdog's correlation can be drilled.
//
// Network paths ([Hall.AddPath]) are relays to the hall, one per place a
// probe watches from, whose delay can be raised and which can be cut through
// the same admin API, so the hall can be slow from one sub-center only.
// Package drill plays scripts of such faults on a timeline.
//
// The hall is built to hold 10,000 concurrent participants on a small
// machine: one ticker per room fans a pre-framed event out to its
// connections, each connection has a reader and a writer goroutine and no
// timer of its own unless a frame is waiting, and write buffers are pooled.
package hall
