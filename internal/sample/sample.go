// Package sample defines the Sample, the per-window measurement a participant
// emits, and the Transport it was measured over. Its JSON form is the wire
// format (docs/wire-format.md). The package depends on the standard library
// only, so producers (synthetic, probe) and consumers (internal/bus, watchdog)
// share the type without importing each other.
package sample

import "time"

// Transport names the protocol a participant speaks.
type Transport string

// The transports bidwatch participants speak.
const (
	TransportWS     Transport = "ws"
	TransportWebRTC Transport = "webrtc"
)

// Sample is what one participant measured during one window (1 s by default).
// It is the unit that flows from probes to the watchdog; its JSON form is the
// wire format (docs/wire-format.md). Durations are float milliseconds so the
// JSON reads naturally and survives every consumer.
//
// Identity fields (Probe, Location, Session, Room) are filled by whoever runs the
// participant; the participant fills Transport, Participant, Seq and the measures.
type Sample struct {
	Probe       string    `json:"probe,omitempty"`
	Location    string    `json:"location,omitempty"`
	Session     string    `json:"session,omitempty"`
	Room        string    `json:"room,omitempty"`
	Transport   Transport `json:"transport"`
	Participant string    `json:"participant"`
	// Seq numbers this participant's delivered samples, gap-free from 1.
	Seq uint64 `json:"seq"`
	// WindowStart is the start of the window; windows are aligned to multiples
	// of the window length so samples of different participants line up.
	WindowStart time.Time `json:"window_start"`
	// WindowMS is how much of the window was measured: the window length,
	// less for a participant's first window (it started late) and last one
	// (it stopped early).
	WindowMS float64 `json:"window_ms"`

	// Connected is true when the participant was connected at the window's end.
	Connected bool `json:"connected"`
	// ConnectedMS is how long within the window the participant was connected.
	ConnectedMS float64 `json:"connected_ms"`
	// ConnectMS is the time the (re)connection completed in this window took,
	// zero when no connection completed in this window.
	ConnectMS float64 `json:"connect_ms,omitempty"`
	// WebRTC connect phases of that connection: signalling (WHEP/WHIP
	// exchange), ICE, DTLS, and from DTLS to the first rendered video frame
	// (complete, with its references intact: what a browser would show).
	SignalingMS  float64 `json:"signaling_ms,omitempty"`
	ICEMS        float64 `json:"ice_ms,omitempty"`
	DTLSMS       float64 `json:"dtls_ms,omitempty"`
	FirstFrameMS float64 `json:"first_frame_ms,omitempty"`

	// Round-trip latency over the window's probes (ping/pong, STUN, echo).
	RTTCount    int     `json:"rtt_count,omitempty"`
	RTTMedianMS float64 `json:"rtt_ms,omitempty"`
	RTTMaxMS    float64 `json:"rtt_max_ms,omitempty"`

	// One-way lag from the server's timestamp (median and max), where present.
	LagCount    int     `json:"lag_count,omitempty"`
	LagMedianMS float64 `json:"lag_ms,omitempty"`
	LagMaxMS    float64 `json:"lag_max_ms,omitempty"`

	// JitterMS is RFC 3550 interarrival jitter (WebRTC: the video stream's
	// when the connection has video, else the audio stream's) or the mean
	// absolute deviation of event inter-arrival from the expected period
	// (WebSocket).
	JitterMS float64 `json:"jitter_ms,omitempty"`
	// LossPct is the share of expected messages or packets that never
	// arrived; for WebRTC 100·(VideoLost+AudioLost)/(VideoPackets+AudioPackets),
	// 0 when that is negative. Average it over windows only weighted by
	// their packets; better, sum the counts.
	LossPct float64 `json:"loss_pct,omitempty"`

	// Messages (WebSocket events) or Frames (video) received in the window.
	Messages int     `json:"messages,omitempty"`
	Frames   int     `json:"frames,omitempty"`
	FPS      float64 `json:"fps,omitempty"`
	// BitrateKbps is the received media bitrate (WebRTC): video + audio.
	BitrateKbps float64 `json:"bitrate_kbps,omitempty"`

	// Stutter: for WebSocket, episodes where the gap between periodic events
	// exceeded the stutter threshold; for WebRTC, video freezes per the W3C
	// webrtc-stats definition. An episode is counted in the window it was
	// first detected (while it is still going on). Its time goes to the
	// windows it spans from then on; the part before it was recognised
	// (at most the threshold) goes to the window that recognised it, so
	// FreezeMS can exceed WindowMS there, and the sum over windows is the
	// episodes' true total.
	FreezeCount int     `json:"freeze_count,omitempty"`
	FreezeMS    float64 `json:"freeze_ms,omitempty"`
	// LargestGapMS is the largest gap between consecutive messages or frames
	// that ended or was still open in this window.
	LargestGapMS float64 `json:"largest_gap_ms,omitempty"`
	// MissedSeq counts sequence numbers skipped by the server's stream.
	MissedSeq int `json:"missed_seq,omitempty"`

	// Dropouts counts unexpected losses of the connection in the window;
	// Reconnects counts successful re-joins after a dropout; OutageMS is the
	// time within the window spent disconnected after having been connected.
	Dropouts   int     `json:"dropouts,omitempty"`
	Reconnects int     `json:"reconnects,omitempty"`
	OutageMS   float64 `json:"outage_ms,omitempty"`
	// LastOutageMS is the length of an outage that ended in this window.
	LastOutageMS float64 `json:"last_outage_ms,omitempty"`

	// Per-kind WebRTC media (RTP), over the window. Packets is what RFC
	// 3550 expects (the advance of the highest extended sequence number),
	// Lost what never arrived in transit: expected − received. A packet
	// late across a window boundary is received in the window it arrives
	// in, so Lost can be −1 in a window; sums over windows are exact, and
	// loss over any span is ΣLost / ΣPackets. A packet recovered by a
	// retransmission after a NACK counts as lost and as Retransmitted.
	VideoPackets  int64   `json:"video_packets,omitempty"`
	VideoLost     int64   `json:"video_lost,omitempty"`
	AudioPackets  int64   `json:"audio_packets,omitempty"`
	AudioLost     int64   `json:"audio_lost,omitempty"`
	Retransmitted int64   `json:"retransmitted,omitempty"`
	VideoJitterMS float64 `json:"video_jitter_ms,omitempty"`
	AudioJitterMS float64 `json:"audio_jitter_ms,omitempty"`
	VideoKbps     float64 `json:"video_kbps,omitempty"`
	AudioKbps     float64 `json:"audio_kbps,omitempty"`
	// Video frames as webrtc-stats counts them: FramesReceived complete
	// frames assembled, FramesDropped complete frames never rendered (their
	// references were lost), KeyFrames keyframes rendered; Frames above is
	// the frames rendered (framesDecoded). NACKCount and PLICount are the
	// NACK and PLI RTCP packets the participant sent.
	FramesReceived int `json:"frames_received,omitempty"`
	FramesDropped  int `json:"frames_dropped,omitempty"`
	KeyFrames      int `json:"key_frames,omitempty"`
	NACKCount      int `json:"nack_count,omitempty"`
	PLICount       int `json:"pli_count,omitempty"`
	// Audio concealment at 48 kHz: AudioSamples the samples the expected
	// packets carry (totalSamplesReceived), ConcealedSamples those of the
	// lost ones, which a decoder conceals (concealedSamples).
	ConcealedSamples int64 `json:"concealed_samples,omitempty"`
	AudioSamples     int64 `json:"audio_samples,omitempty"`

	// Ticks counts the periodic events (WebSocket) received in the window:
	// the messages the stutter and sequence checks follow.
	Ticks int `json:"ticks,omitempty"`

	// SamplesDropped counts earlier samples this participant could not deliver
	// because its consumer was not keeping up.
	SamplesDropped int `json:"samples_dropped,omitempty"`
	// Error is the last error seen in the window, if any.
	Error string `json:"error,omitempty"`
}
