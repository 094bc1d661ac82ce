package media

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrUnknownRoom is returned for a room the server does not host.
var ErrUnknownRoom = errors.New("unknown room")

// ErrBadFault is returned for a fault with an out-of-range value.
var ErrBadFault = errors.New("bad fault")

// Fault is the media fault set on a room. Its zero value is no fault. The
// faults act at the sender, before encryption, on every viewer of the room;
// packet loss is drawn per viewer, as on each viewer's own network.
type Fault struct {
	// FreezeMS stops the video frames for this long, once, from the moment
	// the fault is set; audio keeps flowing and RTP sequence numbers stay
	// continuous, so the viewer sees a freeze, not loss. The video resumes
	// with the next frame of the clip, as a paused encoder would.
	FreezeMS int `json:"freeze_ms,omitempty"`
	// PacketLossPct drops this share of RTP packets (video and audio) at
	// random, independently for each viewer, after the NACK responder kept
	// them (as a network loses what was sent), so a NACK can recover them.
	// What it drops is logged (Server.Dropped).
	PacketLossPct float64 `json:"packet_loss_pct,omitempty"`
	// NoRetransmit leaves NACKs unanswered, so a lost packet stays lost and
	// the viewer's picture freezes until it gets a keyframe (by PLI, or the
	// next one of the clip).
	NoRetransmit bool `json:"no_retransmit,omitempty"`
	// MediaDelayMS delays every RTP packet by this much, plus a uniform
	// random 0…MediaJitterMS; packets of a track are never reordered.
	MediaDelayMS  float64 `json:"media_delay_ms,omitempty"`
	MediaJitterMS float64 `json:"media_jitter_ms,omitempty"`
	// BitratePct below 100 switches the video, at once and at a keyframe,
	// to the clip's low-bitrate rendition (about a third of the bitrate,
	// whatever the value); 0 and 100 or more leave it unchanged. The video
	// stays decodable.
	BitratePct float64 `json:"bitrate_pct,omitempty"`
	// KillICE makes the room's sockets drop every packet both ways, so STUN
	// goes unanswered and peers see ICE disconnected, then failed. Clearing
	// it lets ICE recover, or a new session in.
	KillICE bool `json:"kill_ice,omitempty"`
	// RefuseSessions answers new WHEP and WHIP sessions 503.
	RefuseSessions bool `json:"refuse_sessions,omitempty"`
	// DurationMS, when set, clears the fault after this long.
	DurationMS int `json:"duration_ms,omitempty"`
}

// Validate reports every out-of-range value at once.
func (f Fault) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s: %v: %s", ErrBadFault, field, v, want))
	}
	if f.FreezeMS < 0 {
		bad("freeze_ms", f.FreezeMS, "must not be negative")
	}
	if f.PacketLossPct < 0 || f.PacketLossPct > 100 {
		bad("packet_loss_pct", f.PacketLossPct, "must be within 0…100")
	}
	if f.MediaDelayMS < 0 || f.MediaDelayMS > 60_000 {
		bad("media_delay_ms", f.MediaDelayMS, "must be within 0…60000")
	}
	if f.MediaJitterMS < 0 || f.MediaJitterMS > 60_000 {
		bad("media_jitter_ms", f.MediaJitterMS, "must be within 0…60000")
	}
	if f.BitratePct < 0 || f.BitratePct > 1000 {
		bad("bitrate_pct", f.BitratePct, "must be within 0…1000 (0 = unchanged)")
	}
	if f.DurationMS < 0 {
		bad("duration_ms", f.DurationMS, "must not be negative")
	}
	return errors.Join(errs...)
}

// faultView is what the sender needs of a room's fault at one instant.
type faultView struct {
	frozen     bool
	delay      time.Duration
	jitter     time.Duration
	bitratePct float64
}

// SetFault replaces the room's media fault.
func (s *Server) SetFault(room string, f Fault) error {
	rm, ok := s.rooms[room]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	if err := f.Validate(); err != nil {
		return err
	}
	rm.setFault(f)
	s.log.Info("media fault set", "room", room, "fault", f)
	return nil
}

// ClearFault removes the room's media fault.
func (s *Server) ClearFault(room string) error {
	rm, ok := s.rooms[room]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	rm.setFault(Fault{})
	s.log.Info("media fault cleared", "room", room)
	return nil
}

// Fault returns the room's current media fault.
func (s *Server) Fault(room string) (Fault, error) {
	rm, ok := s.rooms[room]
	if !ok {
		return Fault{}, fmt.Errorf("%w %q", ErrUnknownRoom, room)
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.fault, nil
}

func (r *room) setFault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clearTimer != nil {
		r.clearTimer.Stop()
		r.clearTimer = nil
	}
	r.fault = f
	r.faultGen++
	r.freezeUntil = time.Time{}
	if f.FreezeMS > 0 {
		r.freezeUntil = time.Now().Add(time.Duration(f.FreezeMS) * time.Millisecond)
	}
	r.killICE.Store(f.KillICE)
	r.refuse.Store(f.RefuseSessions)
	r.noRetransmit.Store(f.NoRetransmit)
	r.lossBits.Store(math.Float64bits(f.PacketLossPct))
	if f.DurationMS > 0 {
		gen := r.faultGen
		r.clearTimer = time.AfterFunc(time.Duration(f.DurationMS)*time.Millisecond, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.faultGen != gen {
				return
			}
			r.fault, r.freezeUntil, r.clearTimer = Fault{}, time.Time{}, nil
			r.faultGen++
			r.killICE.Store(false)
			r.refuse.Store(false)
			r.noRetransmit.Store(false)
			r.lossBits.Store(0)
		})
	}
}

// lossPct is the loss fault's share now, read on every packet.
func (r *room) lossPct() float64 { return math.Float64frombits(r.lossBits.Load()) }

func (r *room) faultView(now time.Time) faultView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return faultView{
		frozen:     now.Before(r.freezeUntil),
		delay:      time.Duration(r.fault.MediaDelayMS * float64(time.Millisecond)),
		jitter:     time.Duration(r.fault.MediaJitterMS * float64(time.Millisecond)),
		bitratePct: r.fault.BitratePct,
	}
}
