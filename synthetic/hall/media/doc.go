// Package media is the media side of the synthetic hall: per room a WHEP
// endpoint (draft-ietf-wish-whep) that sends a synthetic live video and audio
// track, and for coordination rooms a WHIP endpoint (RFC 9725) whose
// published video is forwarded to the room's WHEP viewers, so a participant
// can publish and watch its own media come back. It is built on
// github.com/pion/webrtc/v4.
//
// Every room has one sender goroutine that paces a VP8 video track (25 fps,
// about 500 kbit/s with a bigger keyframe every 2 s) and an Opus audio track
// (20 ms frames) onto shared tracks, so the cost of a viewer is the
// encryption and the socket write, not the generation. Each video frame
// carries a stamp right after its VP8 frame header: the magic "BWF1", a
// source id (0 for the hall's own video), a frame counter and the sender's
// wall-clock time in Unix nanoseconds, all big-endian — the participant
// reads them back to count frames and measure one-way delay.
//
// Media faults are set per room at run time ([Server.SetFault]): a one-shot
// video freeze, random packet loss, added delay and jitter (order kept), a
// bitrate drop, kill ICE (the room's sockets go silent both ways, so peers
// see ICE disconnected and fail over) and refusal of new sessions. They are
// applied at the sender, before encryption, so every viewer of a room
// suffers the same.
//
// The protocol is documented in docs/hall-protocol.md (section "Media").
package media
