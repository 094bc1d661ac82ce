// Package media is the media side of the synthetic hall: per room a WHEP
// endpoint (draft-ietf-wish-whep) that sends live video and audio, and for
// coordination rooms a WHIP endpoint (RFC 9725) whose published video is
// forwarded to the room's WHEP viewers, so a participant can publish and
// watch its own media come back. It is built on github.com/pion/webrtc/v4.
//
// Every room has one sender goroutine that loops a real video clip (VP8 or
// H.264 per room, a keyframe every 2 s or 10 s; package
// internal/mediaclip) at 25 fps and paces a synthetic Opus track (20 ms
// frames) onto shared tracks, so the cost of a viewer is the encryption and
// the socket write, not the generation. Every packet of a video frame
// carries the frame stamp as an RTP header extension (package
// internal/framestamp), written under each viewer's negotiated id and left
// out for a viewer that did not negotiate it.
//
// Like a real media server, it answers NACK with retransmission and PLI or
// FIR with a keyframe (at most one per 500 ms per room), and counts them
// ([Server.Stats]).
//
// Media faults are set per room at run time ([Server.SetFault]): a one-shot
// video freeze, random packet loss (per viewer, after the NACK responder,
// logged: [Server.Dropped]), unanswered NACKs, added delay and jitter (order
// kept), a bitrate drop (a low-bitrate rendition), kill ICE (the room's
// sockets go silent both ways, so peers see ICE disconnected and fail over)
// and refusal of new sessions.
//
// The protocol is documented in docs/hall-protocol.md (section "Media").
package media
