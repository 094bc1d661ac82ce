// Package evidence keeps what the watchdog measured and recorded in a form
// nobody can edit afterwards without it showing (保护证据): an append-only
// SHA-256 hash chain in Redis, each entry over the previous entry's hash.
//
// What is sealed, one chain entry each (docs/evidence.md):
//   - session: one bid opening's Samples — the raw JSON of each exactly as
//     the watchdog archived it, digested one by one (leaves), ordered by
//     (participant, seq), chained into one group digest; sealed again when
//     late Samples arrive (the newest seal of a session supersedes);
//   - patrol: a room's patrol Samples (日常巡检) of one UTC hour, the same way;
//   - incident: one version of a fault record (故障记录), its canonical JSON;
//   - period: a day of the report time zone, closed: the chain head at its
//     end, signed with Ed25519 when reports.signing_key is set.
//
// The hashing, ordering and verification are pure functions (entry.go,
// group.go, verify.go); the chain in Redis (chain.go), the sealing loop the
// leader runs (sealer.go) and the export read from Redis (export.go) sit at
// the edges. An export is one JSON document, format bidwatch-evidence/1,
// that Verify recomputes from its bytes alone.
package evidence
