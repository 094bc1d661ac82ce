// Package rtc is bidwatch's synthetic WebRTC participant: it watches a room's
// video over WHEP (and, in a coordination room, publishes its own stamped
// media over WHIP and watches it come back) with a real pion PeerConnection,
// and measures the connect phases, frame rate, loss, jitter, freezes, RTT,
// lag, dropouts and reconnects, one Sample per window.
//
// [ConfigFrom] builds a [Config] from the city configuration; [New] checks
// it and returns a [Participant]. [DefaultSettingEngine] is the pion setting
// engine a participant uses unless given one. Connection changes and freezes
// are reported as [synthetic.Event]s.
package rtc
