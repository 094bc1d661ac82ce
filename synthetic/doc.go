// Package synthetic holds what bidwatch's synthetic participants share:
// programs that join a bid-opening room the way a bidder or an evaluation
// expert does and measure what that person would suffer — connect time,
// latency, stutter and dropouts.
//
// A participant speaks one transport, each in its own package: synthetic/ws
// for the hall's live event stream, synthetic/rtc for its video and the
// coordination rooms. Each emits one Sample per window (1 s by default) on a
// channel until its context is cancelled, and tells of connection changes as
// an [Event]. Participants know nothing of
// Redis or of how their samples are used; the probe agent and the
// `bidwatch check` command consume them.
//
// This package is the small core both transports use and neither owns: the
// [Event] vocabulary, [ErrBadURL], reconnect [Backoff], the millisecond
// helpers [MS] and [MedianMax], and the verdict of a run of Samples
// ([Summarize], [Thresholds]). It imports neither participant package.
package synthetic
