// Package synthetic holds bidwatch's synthetic participants: programs that join a
// bid-opening room the way a bidder or an evaluation expert does and measure what
// that person would suffer — connect time, latency, stutter and dropouts.
//
// A participant speaks one transport (WebSocket for the hall's live event stream,
// WebRTC for its video and the coordination rooms) and emits one Sample per window
// (1 s by default) on a channel until its context is cancelled. Participants know
// nothing of Redis or of how their samples are used; the probe agent and the
// `bidwatch check` command consume them.
package synthetic
