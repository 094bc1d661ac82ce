// Package ws is bidwatch's synthetic WebSocket participant: it joins a
// hall's live event stream the way a bidder's browser does and measures
// connect time, ping round trips, event lag, stutter (gaps in the hall's
// periodic events), dropouts and reconnects, one Sample per window.
//
// A real hall's protocol (join and heartbeat messages, where a message keeps
// its sequence number and timestamp) is described by [Config], not by code;
// [ConfigFrom] builds one from the city configuration. [New] checks it and
// returns a [Participant]; its Run owns one session goroutine (k6's model).
// Connection changes are reported as [synthetic.Event]s.
package ws
