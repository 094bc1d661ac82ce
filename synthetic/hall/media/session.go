package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

const (
	// maxOfferBytes bounds an SDP offer.
	maxOfferBytes = 64 << 10
	// gatherTimeout bounds ICE gathering before the answer is sent.
	gatherTimeout = 5 * time.Second
)

// session is one WHEP viewer or WHIP publisher.
type session struct {
	id     string
	kind   string // "whep" or "whip"
	room   *room
	pc     *webrtc.PeerConnection
	srcKey int64
	timer  *time.Timer

	once sync.Once
	err  error
}

// close closes the session's PeerConnection once; it must not be called from
// one of pion's callbacks.
func (ss *session) close() error {
	ss.once.Do(func() {
		ss.timer.Stop()
		if ss.kind == "whep" {
			ss.room.viewers.Add(-1)
		} else {
			ss.room.removePublisher(ss)
		}
		ss.err = ss.pc.GracefulClose()
	})
	return ss.err
}

// Register mounts the WHEP, WHIP and session endpoints on mux:
// /rooms/{room}/whep, /rooms/{room}/whip and /rooms/{room}/{whep|whip}/{id}.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/rooms/{room}/whep", func(w http.ResponseWriter, r *http.Request) {
		s.HandleWHEP(w, r, r.PathValue("room"))
	})
	mux.HandleFunc("/rooms/{room}/whip", func(w http.ResponseWriter, r *http.Request) {
		s.HandleWHIP(w, r, r.PathValue("room"))
	})
	mux.HandleFunc("/rooms/{room}/whep/{id}", s.HandleSession)
	mux.HandleFunc("/rooms/{room}/whip/{id}", s.HandleSession)
}

// HandleWHEP serves a room's WHEP endpoint: POST an SDP offer, get 201 with
// the answer (ICE gathering complete: no trickle needed) and a Location to
// DELETE.
func (s *Server) HandleWHEP(w http.ResponseWriter, r *http.Request, roomID string) {
	s.handleOffer(w, r, roomID, "whep")
}

// HandleWHIP serves a coordination room's WHIP endpoint (RFC 9725).
func (s *Server) HandleWHIP(w http.ResponseWriter, r *http.Request, roomID string) {
	s.handleOffer(w, r, roomID, "whip")
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}

func (s *Server) handleOffer(w http.ResponseWriter, r *http.Request, roomID, kind string) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		w.Header().Set("Allow", "POST, OPTIONS")
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "%s: method %s not allowed; POST an SDP offer", strings.ToUpper(kind), r.Method)
		return
	}
	rm, ok := s.rooms[roomID]
	if !ok {
		httpError(w, http.StatusNotFound, "unknown room %q", roomID)
		return
	}
	if kind == "whip" && rm.kind != KindCoordinationRoom {
		httpError(w, http.StatusNotFound, "room %q is an opening hall: WHIP is only for coordination rooms", roomID)
		return
	}
	if rm.refuse.Load() {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "room %q refuses new sessions", roomID)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/sdp" {
			httpError(w, http.StatusUnsupportedMediaType, "Content-Type %q: want application/sdp", ct)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOfferBytes+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, "read offer: %v", err)
		return
	}
	if len(body) > maxOfferBytes {
		httpError(w, http.StatusRequestEntityTooLarge, "offer larger than %d bytes", maxOfferBytes)
		return
	}
	if err := checkOffer(body); err != nil {
		httpError(w, http.StatusBadRequest, "malformed SDP offer: %v", err)
		return
	}
	ss, answer, code, err := s.newSession(r.Context(), rm, kind, string(body))
	if err != nil {
		httpError(w, code, "%s session: %v", kind, err)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", fmt.Sprintf("/rooms/%s/%s/%s", roomID, kind, ss.id))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// checkOffer rejects what is not an SDP offer with at least one media section.
func checkOffer(body []byte) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("empty body")
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return err
	}
	if len(sd.MediaDescriptions) == 0 {
		return errors.New("no media sections (m= lines)")
	}
	return nil
}

// newSession answers offer. code is the HTTP status for err.
func (s *Server) newSession(ctx context.Context, rm *room, kind, offer string) (*session, string, int, error) {
	pc, err := rm.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", http.StatusInternalServerError, err
	}
	ss := &session{id: newID(), kind: kind, room: rm, pc: pc, srcKey: s.nextSrc.Add(1)}
	// A session whose ICE never connects (a peer that went away, a killed
	// room) is closed after the timeout; set before any callback can run.
	ss.timer = time.AfterFunc(s.timeout, func() {
		if st := pc.ICEConnectionState(); st != webrtc.ICEConnectionStateConnected &&
			st != webrtc.ICEConnectionStateCompleted {
			s.endSession(ss.id, "ICE did not connect")
		}
	})
	fail := func(code int, err error) (*session, string, int, error) {
		ss.timer.Stop()
		_ = pc.Close()
		return nil, "", code, err
	}
	var senders []*webrtc.RTPSender
	if kind == "whep" {
		for _, t := range []webrtc.TrackLocal{rm.video, rm.audio} {
			snd, err := pc.AddTrack(t)
			if err != nil {
				return fail(http.StatusInternalServerError, err)
			}
			senders = append(senders, snd)
		}
	} else {
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{
				Direction: webrtc.RTPTransceiverDirectionRecvonly,
			}); err != nil {
				return fail(http.StatusInternalServerError, err)
			}
		}
		pc.OnTrack(func(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
			s.goSession(func() { drainRTCP(recv) })
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				s.goSession(func() { ss.forward(t, recv) })
			} else {
				s.goSession(func() { drainRTP(t) })
			}
		})
	}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != EchoLabel {
			return
		}
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if m.IsString {
				_ = dc.SendText(string(m.Data))
			} else {
				_ = dc.Send(m.Data)
			}
		})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			ss.timer.Stop()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.endSession(ss.id, "peer connection "+st.String())
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(http.StatusBadRequest, fmt.Errorf("offer not acceptable: %w", err))
	}
	if kind == "whep" {
		if err := checkVideoCodec(rm, senders[0], offer); err != nil {
			return fail(http.StatusBadRequest, err)
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(http.StatusBadRequest, fmt.Errorf("cannot answer the offer: %w", err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(http.StatusInternalServerError, err)
	}
	gctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-gctx.Done():
		return fail(http.StatusServiceUnavailable, fmt.Errorf("ICE gathering: %w", gctx.Err()))
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(http.StatusServiceUnavailable, errors.New("server closing"))
	}
	s.sessions[ss.id] = ss
	if kind == "whep" {
		rm.viewers.Add(1)
		select {
		case rm.watched <- struct{}{}:
		default:
		}
	} else {
		rm.addPublisher(ss)
	}
	for _, snd := range senders {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); drainRTCP(snd) }()
	}
	s.mu.Unlock()
	rm.log.Debug("session started", "kind", kind, "session", ss.id)
	return ss, pc.LocalDescription().SDP, 0, nil
}

// endSession forgets a session and closes it on a goroutine of its own (it
// may be called from pion's callbacks, where closing would deadlock).
func (s *Server) endSession(id, why string) {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	if ok {
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	ss.room.log.Debug("session ended", "kind", ss.kind, "session", id, "why", why)
	s.goSession(func() { _ = ss.close() })
}

// HandleSession serves DELETE on a session's Location, which ends it.
// Trickle ICE and ICE restarts (PATCH) are not supported: 405.
func (s *Server) HandleSession(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "rooms" {
		httpError(w, http.StatusNotFound, "not a session URL: %s", r.URL.Path)
		return
	}
	roomID, kind, id := parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", "DELETE")
		httpError(w, http.StatusMethodNotAllowed, "method %s not allowed on a session: DELETE ends it (trickle ICE is not supported)", r.Method)
		return
	}
	s.mu.Lock()
	ss, ok := s.sessions[id]
	if ok && (ss.room.id != roomID || ss.kind != kind) {
		ok = false
	}
	if ok {
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	if !ok {
		httpError(w, http.StatusNotFound, "no session %q in room %q", id, roomID)
		return
	}
	_ = ss.close()
	ss.room.log.Debug("session deleted", "kind", kind, "session", id)
	w.WriteHeader(http.StatusOK)
}

// checkVideoCodec refuses an offer whose video section cannot take the
// room's codec, naming what it offered instead.
func checkVideoCodec(rm *room, video *webrtc.RTPSender, offer string) error {
	if _, ok := matchCodec(rm.video.codec, video.GetParameters().Codecs); ok {
		return nil
	}
	want := "VP8"
	if rm.codec == CodecH264 {
		want = "H.264 with packetization-mode=1 and a constrained-baseline profile-level-id (42e01f)"
	}
	return fmt.Errorf("room %q sends %s video, which the offer's video section does not accept (it offers %s)",
		rm.id, want, offeredVideo(offer))
}

// offeredVideo lists the video codecs of an offer, for an error message.
func offeredVideo(offer string) string {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(offer)); err != nil {
		return "nothing readable"
	}
	var names []string
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			if _, enc, ok := strings.Cut(a.Value, " "); ok {
				name, _, _ := strings.Cut(enc, "/")
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	if len(names) == 0 {
		return "no video codec"
	}
	return strings.Join(names, ", ")
}

// forward carries a WHIP publisher's video track onto the room's viewers,
// with its frame stamp re-id'd for each viewer. A publisher whose codec is
// not the room's is not forwarded: the viewers negotiated the room's.
func (ss *session) forward(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if !strings.EqualFold(t.Codec().MimeType, ss.room.video.codec.MimeType) {
		ss.room.log.Warn("WHIP video not forwarded: not the room's codec", "session", ss.id,
			"codec", t.Codec().MimeType, "room_codec", ss.room.video.codec.MimeType)
		drainRTP(t)
		return
	}
	f := &forwarder{r: ss.room, sess: ss, stampID: stampID(recv.GetParameters().HeaderExtensions)}
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		p := &rtp.Packet{}
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			continue
		}
		f.forward(p)
	}
}

// drainRTP reads and discards a track (a publisher's audio).
func drainRTP(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return
		}
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
