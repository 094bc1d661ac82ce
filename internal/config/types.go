package config

// Config is one city's configuration: where it is, which rooms it hosts,
// the servers behind them, and how they are probed.
type Config struct {
	City       City        `yaml:"city"`
	SubCenters []SubCenter `yaml:"sub_centers"`
	Servers    []Server    `yaml:"servers"`
	Rooms      []Room      `yaml:"rooms"`
	Probe      Probe       `yaml:"probe"`
	Watchdog   Watchdog    `yaml:"watchdog"`
	Dispatch   Dispatch    `yaml:"dispatch"`
	Redis      Redis       `yaml:"redis"`
	Agent      Agent       `yaml:"agent"`
	Schedule   Schedule    `yaml:"schedule"`
	Console    Console     `yaml:"console"`
	Remedy     Remedy      `yaml:"remedy"`
	Reports    Reports     `yaml:"reports"`
}

// City names the city whose trading platform is watched.
type City struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// SubCenterKind tells the city's trading center from a district or county
// sub-center.
type SubCenterKind string

// The kinds of sub-center.
const (
	// KindCenter is the city's trading center (交易中心); a city has at most one.
	KindCenter SubCenterKind = "center"
	// KindSubCenter is a district or county sub-center (分中心).
	KindSubCenter SubCenterKind = "sub-center"
)

// SubCenter is a place that hosts rooms and receives dispatch alerts for them:
// the trading center itself or one of its sub-centers.
type SubCenter struct {
	ID   string        `yaml:"id"`
	Name string        `yaml:"name"`
	Kind SubCenterKind `yaml:"kind"`
}

// ServerRole is what a server does for the rooms that depend on it.
type ServerRole string

// The server roles.
const (
	RoleWeb       ServerRole = "web"        // the trading system's web application
	RoleWSGateway ServerRole = "ws-gateway" // the hall's WebSocket event gateway
	RoleMedia     ServerRole = "media"      // the WebRTC media server (WHEP/WHIP)
	RoleDB        ServerRole = "db"         // the database
)

// Server is one machine or service rooms depend on, with the checks that tell
// whether it is healthy.
type Server struct {
	ID   string     `yaml:"id"`
	Name string     `yaml:"name"`
	Role ServerRole `yaml:"role"`
	// SubCenter is the id of the sub-center the server belongs to.
	SubCenter string        `yaml:"sub_center"`
	Health    []HealthCheck `yaml:"health"`
}

// RoomKind tells a bid-opening hall from a coordination room.
type RoomKind string

// The room kinds.
const (
	// RoomOpeningHall is a remote bid-opening hall (不见面开标大厅): a live
	// event stream over WebSocket and one-way video over WHEP.
	RoomOpeningHall RoomKind = "opening-hall"
	// RoomCoordination is a remote coordination room (远程协调室) for off-site
	// bid evaluation: two-way audio and video, WHIP to publish and WHEP to
	// receive.
	RoomCoordination RoomKind = "coordination-room"
)

// Room is one bid-opening hall or coordination room.
type Room struct {
	ID   string   `yaml:"id"`
	Name string   `yaml:"name"`
	Kind RoomKind `yaml:"kind"`
	// SubCenter is the id of the sub-center hosting the room.
	SubCenter string `yaml:"sub_center"`
	// EventsURL is the hall's live event stream (ws:// or wss://); required
	// for an opening hall.
	EventsURL string `yaml:"events_url"`
	// WHEPURL is where the room's video is received (http:// or https://).
	WHEPURL string `yaml:"whep_url"`
	// WHIPURL is where a participant publishes (http:// or https://); only
	// coordination rooms have one.
	WHIPURL string `yaml:"whip_url"`
	// Servers are the ids of the servers the room depends on.
	Servers []string `yaml:"servers"`
	// VideoCodec is the codec of the video the synthetic hall (bidwatch
	// hall --config) sends in this room: vp8 (empty: the default) or h264.
	// The probe takes whatever the room's media server sends.
	VideoCodec VideoCodec `yaml:"video_codec"`
}

// VideoCodec names a video codec.
type VideoCodec string

// The video codecs the synthetic hall sends.
const (
	VideoVP8  VideoCodec = "vp8"
	VideoH264 VideoCodec = "h264"
)
