// Package rtc is bidwatch's synthetic WebRTC participant: it watches a room's
// video over WHEP (and, in a coordination room, publishes its own stamped
// media over WHIP and watches it come back) with a real pion PeerConnection,
// and measures the connect phases, frame rate, loss, jitter, freezes, RTT,
// lag, dropouts and reconnects, one Sample per window.
//
// It sees what a browser would show: a frame counts only once a decoder
// could show it (complete, its references intact: framebuf.go and a
// codec_*.go per codec), and it recovers as a browser does, with NACK
// (interceptors.go) and PLI (recovery.go). Packets are accounted per RTP
// stream (seqstats.go), windows per kind of media (kinds.go); meter.go and
// frame.go put them together, session.go and whip.go hold the connections.
//
// [ConfigFrom] builds a [Config] from the city configuration; [New] checks
// it and returns a [Participant]. [DefaultSettingEngine] is the pion setting
// engine a participant uses unless given one. Connection changes and freezes
// are reported as [synthetic.Event]s.
package rtc
