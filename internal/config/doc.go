// Package config is bidwatch's configuration model: the city it watches (the
// trading center and its sub-centers, 交易中心 / 分中心), the rooms they host
// (bid-opening halls and coordination rooms, 开标大厅 / 远程协调室), the servers
// those rooms depend on with their health checks, and how the synthetic
// participants probe a room.
//
// A configuration is one YAML document. [Load] and [Parse] decode it strictly —
// an unknown key is an error — fill in defaults for what is not written, and
// then validate the whole of it. Every problem found is reported, not just the
// first: the returned error joins one [*FieldError] per problem with
// [errors.Join], each naming its YAML path, the offending value and, where the
// problem is in the text itself, its line:
//
//	rooms[0].evnts_url (line 31): unknown key
//	probe.ping_interval (line 12): cannot parse "fast" as a duration
//	rooms[2].servers[0]: unknown server "ws-gw-3"
//
// The joined error matches [ErrInvalid] with [errors.Is].
//
// Defaults are put in place before the YAML is decoded, so a value written
// explicitly is kept even when it is zero (tick_period: 0 means "this stream
// has no periodic events", not "use the default"). A YAML null (key with no
// value) leaves the default.
//
// [DemoCity] returns the synthetic city the demo and the tests run against;
// its text is configs/demo.yaml, embedded. docs/configuration.md documents
// every key.
package config
