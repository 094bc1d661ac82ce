package rtc

import (
	"fmt"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// phases is how long each step of one WebRTC connection took.
type phases struct {
	signaling  time.Duration // offer, ICE gathering, WHEP POST, answer applied
	ice        time.Duration // answer applied → ICE connected
	dtls       time.Duration // ICE connected → DTLS (PeerConnection) connected
	firstFrame time.Duration // DTLS connected → first complete video frame
	total      time.Duration
}

// sessionMedia is the media state of one connection (one WHEP session).
type sessionMedia struct {
	gen          uint64
	video, audio stream
	freeze       freezeDetector
	freezeAcc    time.Time // freeze time is accounted up to here while frozen
	lastMedia    time.Time
	firstFrame   chan struct{}
	firstFrameAt time.Time
	// audioOnly is set when the answer carried no video: the first audio
	// packet then completes the connection.
	audioOnly bool
	invalid   int // RTP packets rejected by the sequence checks
	recovery  recovery
}

// meterWindow accumulates one window's measures.
type meterWindow struct {
	connected, outage  time.Duration
	phases             phases
	havePhases         bool
	rtt, lag           []time.Duration
	frames             int
	video, audio       kindWindow
	hasVideo           bool // the connection had video in this window
	fc                 frameCounts
	concealed, samples int64 // audio samples concealed, and in all
	freezeCount        int
	freezeDur          time.Duration
	largestGap         time.Duration
	dropouts           int
	reconnects         int
	lastOutage         time.Duration
	invalid            int
	nacks, plis        int
	err                string
}

// invalidReport is how many invalid RTP packets in a window make its error.
const invalidReport = 5

// meter holds what a WebRTC participant measures. The session's reader
// goroutines, the freeze timer and the owner loop all report into it under
// one mutex; the owner loop closes a window into a Sample once per window.
// Media from a connection that has ended (an older generation) is ignored.
type meter struct {
	now       func() time.Time
	window    time.Duration
	ownSource uint32
	onEvent   func(synthetic.Event)

	evMu sync.Mutex // delivers events one at a time, outside mu

	mu          sync.Mutex
	events      []synthetic.Event
	freezeTimer *time.Timer
	runStart    time.Time
	wStart      time.Time
	wEnd        time.Time
	gen         uint64
	media       *sessionMedia
	up          bool
	upAcc       time.Time
	everUp      bool
	outageStart time.Time // zero unless down after having been up
	outageAcc   time.Time
	ownFrames   int // frames of our own WHIP publication seen coming back
	// last is the connection the run ended on, as it was at the last
	// window's end (tests compare its streams with the Samples).
	last *sessionMedia
	w    meterWindow
}

func newMeter(now func() time.Time, window time.Duration, ownSource uint32, onEvent func(synthetic.Event)) *meter {
	t := now()
	m := &meter{
		now:       now,
		window:    window,
		ownSource: ownSource,
		onEvent:   onEvent,
		runStart:  t,
		wStart:    t.Truncate(window),
	}
	m.wEnd = m.wStart.Add(window)
	m.freezeTimer = time.AfterFunc(time.Hour, m.onFreezeTimer)
	m.freezeTimer.Stop()
	return m
}

// unlock releases mu and delivers the events queued under it.
func (m *meter) unlock() {
	evs := m.events
	m.events = nil
	m.mu.Unlock()
	if len(evs) == 0 || m.onEvent == nil {
		return
	}
	m.evMu.Lock()
	defer m.evMu.Unlock()
	for _, e := range evs {
		m.onEvent(e)
	}
}

// span moves *acc to to and returns how far it moved (never negative).
func span(acc *time.Time, to time.Time) time.Duration {
	if !to.After(*acc) {
		return 0
	}
	d := to.Sub(*acc)
	*acc = to
	return d
}

// startSession begins a new connection's media state.
func (m *meter) startSession() *sessionMedia {
	m.mu.Lock()
	defer m.unlock()
	m.gen++
	m.media = &sessionMedia{
		gen:        m.gen,
		video:      stream{jit: newRTPJitter(videoClock)},
		audio:      stream{jit: newRTPJitter(audioClock)},
		firstFrame: make(chan struct{}),
		recovery:   newRecovery(),
	}
	return m.media
}

// setAudioOnly marks connection gen as carrying no video.
func (m *meter) setAudioOnly(gen uint64) {
	m.mu.Lock()
	defer m.unlock()
	if md := m.current(gen); md != nil {
		md.audioOnly = true
	}
}

// current returns the media state of gen, nil if that connection is over.
func (m *meter) current(gen uint64) *sessionMedia {
	if m.media == nil || m.media.gen != gen {
		return nil
	}
	return m.media
}

// onFrame takes one rendered video frame of st; mu is held.
func (m *meter) onFrame(md *sessionMedia, st *stream, f renderedFrame) {
	at := f.at
	m.w.frames++
	m.frameLag(st, f.ts, stampOf{f.stamp, f.hasStamp}, at)
	wasFrozen := md.freeze.frozen
	gap, freeze, isNew := md.freeze.frame(at)
	if freeze || wasFrozen {
		if isNew || !wasFrozen {
			m.w.freezeCount++
			md.freezeAcc = at.Add(-gap)
			m.events = append(m.events, synthetic.Event{Kind: synthetic.EventStutter, At: at, Duration: gap})
		}
		m.w.freezeDur += span(&md.freezeAcc, at)
	}
	m.w.largestGap = max(m.w.largestGap, gap)
	if dl, ok := md.freeze.deadline(); ok {
		m.freezeTimer.Reset(dl.Sub(m.now()))
	}
	if md.firstFrameAt.IsZero() {
		md.firstFrameAt = at
		close(md.firstFrame)
	}
}

// onFreezeTimer flags a freeze while it is going on, when the gap since the
// last frame reaches the W3C threshold.
func (m *meter) onFreezeTimer() {
	m.mu.Lock()
	defer m.unlock()
	md := m.media
	if md == nil {
		return
	}
	now := m.now()
	if md.freeze.check(now) {
		md.freezeAcc = md.freeze.last
		m.w.freezeCount++
		m.events = append(m.events, synthetic.Event{Kind: synthetic.EventStutter, At: now, Duration: now.Sub(md.freeze.last)})
		return
	}
	if dl, ok := md.freeze.deadline(); ok {
		m.freezeTimer.Reset(dl.Sub(now))
	}
}

// onRTT records one round-trip measurement of connection gen.
func (m *meter) onRTT(gen uint64, d time.Duration) {
	m.mu.Lock()
	defer m.unlock()
	if m.current(gen) != nil && d >= 0 {
		m.w.rtt = append(m.w.rtt, d)
	}
}

// lastMedia is when connection gen last received RTP.
func (m *meter) lastMedia(gen uint64) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if md := m.current(gen); md != nil {
		return md.lastMedia
	}
	if m.last != nil && m.last.gen == gen {
		return m.last.lastMedia // the run is ending: not a dropout
	}
	return time.Time{}
}

// connected records that connection gen is up: its first frame arrived.
func (m *meter) connected(gen uint64, ph phases) {
	m.mu.Lock()
	defer m.unlock()
	md := m.current(gen)
	if md == nil {
		return
	}
	at := md.firstFrameAt
	m.up, m.upAcc = true, at
	m.w.phases, m.w.havePhases = ph, true
	if !m.outageStart.IsZero() {
		m.w.outage += span(&m.outageAcc, at)
		out := at.Sub(m.outageStart)
		m.w.lastOutage = out
		m.w.reconnects++
		m.outageStart = time.Time{}
		m.events = append(m.events, synthetic.Event{Kind: synthetic.EventReconnected, At: at, Duration: ph.total, Outage: out})
	} else {
		m.events = append(m.events, synthetic.Event{Kind: synthetic.EventConnected, At: at, Duration: ph.total})
	}
	m.everUp = true
}

// harvest moves the streams' counts into the window; mu is held.
func (m *meter) harvest(md *sessionMedia) {
	m.harvestStream(&md.video, true)
	m.harvestStream(&md.audio, false)
	if !md.audioOnly {
		m.w.hasVideo = true
	}
}

// harvestStream moves one stream's counts into the window; mu is held.
func (m *meter) harvestStream(st *stream, video bool) {
	kw := &m.w.audio
	if video {
		kw = &m.w.video
	}
	st.harvest(kw, &m.w.fc, &m.w.concealed, &m.w.samples)
}

// endSession ends connection gen at at. A dropout is an unexpected end of a
// connection that was up; err, if any, becomes the window's error.
func (m *meter) endSession(gen uint64, at time.Time, err error, dropout bool) {
	m.mu.Lock()
	defer m.unlock()
	if err != nil {
		m.w.err = err.Error()
	}
	md := m.current(gen)
	if md == nil {
		return
	}
	m.harvest(md)
	if md.freeze.frozen {
		m.w.freezeDur += span(&md.freezeAcc, at)
	}
	if md.freeze.have {
		m.w.largestGap = max(m.w.largestGap, at.Sub(md.freeze.last))
	}
	m.freezeTimer.Stop()
	m.media = nil
	if !m.up {
		return
	}
	m.w.connected += span(&m.upAcc, at)
	m.up = false
	if dropout {
		m.w.dropouts++
		m.outageStart, m.outageAcc = at, at
		m.events = append(m.events, synthetic.Event{Kind: synthetic.EventDropout, At: at, Err: err})
	}
}

// connectFailed records a failed connection attempt.
func (m *meter) connectFailed(err error) {
	m.mu.Lock()
	defer m.unlock()
	m.w.err = err.Error()
	m.events = append(m.events, synthetic.Event{Kind: synthetic.EventConnectFail, At: m.now(), Err: err})
}

// stop stops the freeze timer for good.
func (m *meter) stop() {
	m.mu.Lock()
	defer m.unlock()
	m.freezeTimer.Stop()
	m.media = nil
}

// closeWindowAt ends the current window early at cut (the participant is
// stopping), so the last Sample covers only what was measured; a zero cut
// ends it at its end.
func (m *meter) closeWindowAt(cut time.Time) sample.Sample {
	m.mu.Lock()
	defer m.unlock()
	if !cut.IsZero() && cut.After(m.wStart) && cut.Before(m.wEnd) {
		m.wEnd = cut
	}
	end := m.wEnd
	if md := m.media; md != nil {
		m.harvest(md)
		if !cut.IsZero() {
			// The run's last window: nothing arriving later is counted,
			// so the Samples add up to the streams' counts.
			m.media, m.last = nil, md
			m.freezeTimer.Stop()
		}
		if md.freeze.frozen {
			m.w.freezeDur += span(&md.freezeAcc, end)
		}
		if md.freeze.have && end.After(md.freeze.last) {
			m.w.largestGap = max(m.w.largestGap, end.Sub(md.freeze.last))
		}
	}
	if m.up {
		m.w.connected += span(&m.upAcc, end)
	}
	if !m.outageStart.IsZero() {
		m.w.outage += span(&m.outageAcc, end)
	}
	w := &m.w
	if w.invalid >= invalidReport && w.err == "" {
		w.err = fmt.Sprintf("%d RTP packets discarded as invalid (RFC 3550 sequence checks)", w.invalid)
	}
	from := m.wStart
	if m.runStart.After(from) {
		from = m.runStart
	}
	s := sample.Sample{
		WindowStart: m.wStart,
		WindowMS:    synthetic.MS(end.Sub(from)), // the measured part, as for WebSocket

		Connected:    m.up,
		ConnectedMS:  synthetic.MS(w.connected),
		Frames:       w.frames,
		FreezeCount:  w.freezeCount,
		FreezeMS:     synthetic.MS(w.freezeDur),
		LargestGapMS: synthetic.MS(w.largestGap),
		Dropouts:     w.dropouts,
		Reconnects:   w.reconnects,
		OutageMS:     synthetic.MS(w.outage),
		LastOutageMS: synthetic.MS(w.lastOutage),
		Error:        w.err,
	}
	if w.havePhases {
		s.ConnectMS = synthetic.MS(w.phases.total)
		s.SignalingMS = synthetic.MS(w.phases.signaling)
		s.ICEMS = synthetic.MS(w.phases.ice)
		s.DTLSMS = synthetic.MS(w.phases.dtls)
		s.FirstFrameMS = synthetic.MS(w.phases.firstFrame)
	}
	secs := 0.0
	if end.After(from) {
		secs = end.Sub(from).Seconds()
		s.FPS = float64(w.frames) / secs
	}
	fillMedia(&s, w.video, w.audio, w.hasVideo, secs)
	fillVideo(&s, w.fc, w.nacks, w.plis)
	fillAudio(&s, w.concealed, w.samples)
	synthetic.SetLatency(&s, w.rtt, w.lag)
	*w = meterWindow{rtt: w.rtt[:0], lag: w.lag[:0]}
	m.wStart = m.wStart.Add(m.window)
	m.wEnd = m.wStart.Add(m.window)
	return s
}
