package interop

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// peerScript is aiortc_peer.py; it is fed to python on stdin (python3 -
// ROLE …), so the harness works from any package's tests.
//
//go:embed aiortc_peer.py
var peerScript []byte

// Bounds of the harness's waits.
const (
	// readyTimeout bounds a server's start: importing aiortc and decoding
	// the clip take a few seconds on a loaded machine.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds a process's exit after SIGTERM, before SIGKILL.
	stopTimeout = 10 * time.Second
	// firstFrameTimeout is how long a watch waits for its first picture.
	firstFrameTimeout = 15 * time.Second
)

// ErrNoAiortc is returned by FindPython when no python3 can import aiortc.
var ErrNoAiortc = errors.New("no python3 with aiortc: run scripts/test-deps (it installs Debian's python3-aiortc)")

// pythonCandidates are tried in order: Debian's python, which
// python3-aiortc installs into, then whatever python3 is on PATH.
var pythonCandidates = []string{"/usr/bin/python3", "python3"}

// FindPython returns the first python3 that has aiortc and PyAV: Debian's
// /usr/bin/python3, then python3 on PATH (often a pyenv or venv python
// without them).
func FindPython() (string, error) {
	var tried []string
	for _, c := range pythonCandidates {
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, path, "-c",
			"import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ('aiortc', 'av', 'aioice')))").CombinedOutput()
		cancel()
		if err == nil {
			return path, nil
		}
		tried = append(tried, fmt.Sprintf("%s (%v%s)", path, err, strings.TrimSpace(" "+string(out))))
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("%w; no python3 found", ErrNoAiortc)
	}
	return "", fmt.Errorf("%w; tried %s", ErrNoAiortc, strings.Join(tried, ", "))
}

// ServeOptions configures an aiortc WHEP server.
type ServeOptions struct {
	Codec string // "vp8" or "h264"
	Clip  string // a clip PyAV can decode: IVF, H.264 Annex B (.h264), …
	FPS   int    // zero means 25
	// PauseAt and PauseFor freeze the sender: no video frames from PauseAt
	// into each session for PauseFor (zero PauseFor: no pause).
	PauseAt, PauseFor time.Duration
}

// SessionReport is what the server sent in one WHEP session.
type SessionReport struct {
	ID           string  `json:"id"`
	Codec        string  `json:"codec"` // negotiated, e.g. "video/VP8"
	FramesSent   int     `json:"frames_sent"`
	PausedFrames int     `json:"paused_frames"`
	Ended        string  `json:"ended"` // deleted, failed, closed or shutdown
	Seconds      float64 `json:"seconds"`
}

// ServeReport is the server's report when it stops.
type ServeReport struct {
	Codec      string          `json:"codec"`
	ClipFrames int             `json:"clip_frames"`
	Width      int             `json:"width"`
	Height     int             `json:"height"`
	FPS        int             `json:"fps"`
	Sessions   int             `json:"sessions"`
	Reports    []SessionReport `json:"session_reports"`
	HTTPErrors int             `json:"http_errors"`
}

// Server is a running aiortc WHEP server.
type Server struct {
	// URL is the WHEP endpoint: http://127.0.0.1:PORT/whep.
	URL string

	t      testing.TB
	cmd    *exec.Cmd
	stderr *syncBuffer
	lines  chan string
	done   chan struct{} // closed when stdout is drained
	once   sync.Once
	report ServeReport
	err    error
}

// StartServer starts an aiortc WHEP server sending clip in codec ("vp8" or
// "h264") and returns its WHEP URL; the server stops when the test ends.
func StartServer(t testing.TB, codec, clip string) string {
	t.Helper()
	return Serve(t, ServeOptions{Codec: codec, Clip: clip}).URL
}

// Serve starts an aiortc WHEP server and waits (bounded) until it listens.
// It is stopped with SIGTERM when the test ends (or by Stop, earlier); its
// stderr goes into the test log if the test failed.
func Serve(t testing.TB, o ServeOptions) *Server {
	t.Helper()
	py, err := FindPython()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-", "serve", "--codec", o.Codec, "--clip", o.Clip, "--port", "0"}
	if o.FPS > 0 {
		args = append(args, "--fps", strconv.Itoa(o.FPS))
	}
	if o.PauseFor > 0 {
		args = append(args, "--pause-at", secs(o.PauseAt), "--pause-for", secs(o.PauseFor))
	}
	s := &Server{
		t:      t,
		cmd:    exec.Command(py, args...),
		stderr: &syncBuffer{},
		lines:  make(chan string, 16),
		done:   make(chan struct{}),
	}
	s.cmd.Stdin = bytes.NewReader(peerScript)
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("aiortc serve: %v", err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("aiortc serve: start %s: %v", py, err)
	}
	go func() {
		defer close(s.done)
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		if _, err := s.Stop(); err != nil {
			t.Errorf("aiortc serve: %v", err)
		}
		if t.Failed() {
			t.Logf("aiortc serve stderr:\n%s", s.stderr.String())
		}
	})

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok { // Stop, at cleanup, reaps it, says how it exited and logs its stderr
				t.Fatal("aiortc serve exited before ready")
			}
			var ready struct {
				Event string `json:"event"`
				URL   string `json:"url"`
			}
			if json.Unmarshal([]byte(line), &ready) == nil && ready.Event == "ready" {
				s.URL = ready.URL
				return s
			}
			t.Logf("aiortc serve: unexpected output %q", line)
		case <-timer.C:
			t.Fatalf("aiortc serve not ready within %s", readyTimeout)
		}
	}
}

// Stop ends the server (SIGTERM, SIGKILL after a bounded wait) and returns
// its report. Later calls return the same.
func (s *Server) Stop() (ServeReport, error) {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		var last string
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
	drain:
		for {
			select {
			case line, ok := <-s.lines:
				if !ok {
					break drain
				}
				last = line
			case <-timer.C:
				_ = s.cmd.Process.Kill()
				s.err = fmt.Errorf("did not exit within %s of SIGTERM; killed", stopTimeout)
				<-s.done
				break drain
			}
		}
		if err := s.cmd.Wait(); err != nil && s.err == nil {
			s.err = fmt.Errorf("exit: %w", err)
		}
		if s.err == nil {
			s.err = decodeReport(last, &s.report)
		}
	})
	return s.report, s.err
}

// Report is what an aiortc watch decoded.
type Report struct {
	Codec      string `json:"codec"`       // negotiated video codec, e.g. "video/VP8"
	AudioCodec string `json:"audio_codec"` // e.g. "audio/opus"
	Connected  bool   `json:"connected"`
	Error      string `json:"error"` // the watch's own failure, if any

	ConnectMS    float64 `json:"connect_ms"`     // start to ICE+DTLS connected
	FirstFrameMS float64 `json:"first_frame_ms"` // start to the first decoded picture

	// FramesIn counts the complete encoded frames aiortc assembled;
	// BeforeKeyframe of them came before the first keyframe and were not
	// decoded (a browser waits for a keyframe too). FramesOut counts the
	// decoder's pictures, FramesDecoded those the watch read (the same, but
	// for the last few in flight when it stopped).
	FramesIn       int `json:"frames_in"`
	BeforeKeyframe int `json:"before_keyframe"`
	FramesOut      int `json:"frames_out"`
	FramesDecoded  int `json:"frames_decoded"`
	Keyframes      int `json:"keyframes"`
	// PLISent counts the keyframe requests the watch sent while frames
	// arrived but no keyframe had, as a browser joining between keyframes
	// does (one, then again every 500 ms until a keyframe comes).
	PLISent int `json:"pli_sent"`
	// DecodeErrors counts frames the decoder could not decode: shown VP8
	// frames that gave no picture, and the errors aiortc's codecs logged
	// (DecodeErrorMessages has the first few).
	DecodeErrors        int      `json:"decode_errors"`
	DecodeErrorMessages []string `json:"decode_error_messages"`

	Width  int `json:"width"`
	Height int `json:"height"`
	// PTS lists every decoded picture's RTP timestamp, relative to the
	// first video packet's (RTPOrigin), unwrapped, in decode order.
	PTS       []int64 `json:"pts"`
	RTPOrigin *uint32 `json:"rtp_ts_origin"`

	// ArrivedAt is, for each decoded picture (as PTS), the wall-clock time
	// (Unix seconds, the machine's clock) its frame was complete: the last
	// packet of its RTP timestamp arrived (0: not seen). It is the render
	// time of a receiver that takes decoding as instant, as bidwatch's
	// participant does, without aiortc's own delays (its jitter buffer
	// hands a frame over only when the next one starts; then a decoder
	// thread): what a participant watching at the same time can be
	// compared with over the same wall-clock interval.
	ArrivedAt []float64 `json:"arrived_at"`

	AudioFrames int `json:"audio_frames"`

	SpanS    float64 `json:"span_s"`    // first to last decoded picture
	FPS      float64 `json:"fps"`       // decoded pictures per second over SpanS
	ElapsedS float64 `json:"elapsed_s"` // the whole watch
}

// RTPTimestamps returns the decoded pictures' RTP timestamps as sent
// (RTPOrigin + PTS, modulo 2³²), for matching frames one by one.
func (r Report) RTPTimestamps() []uint32 {
	if r.RTPOrigin == nil {
		return nil
	}
	out := make([]uint32, len(r.PTS))
	for i, p := range r.PTS {
		out[i] = *r.RTPOrigin + uint32(p)
	}
	return out
}

// DecodedBetween counts the decoded pictures whose frames were complete
// (ArrivedAt) in [from, to).
func (r Report) DecodedBetween(from, to time.Time) int {
	lo, hi := unixSeconds(from), unixSeconds(to)
	n := 0
	for _, at := range r.ArrivedAt {
		if at > 0 && at >= lo && at < hi {
			n++
		}
	}
	return n
}

// DecodedSpan returns when the first and the last decoded picture's
// frames were complete (ArrivedAt); ok is false when there was none.
func (r Report) DecodedSpan() (first, last time.Time, ok bool) {
	var lo, hi float64
	for _, at := range r.ArrivedAt {
		if at <= 0 {
			continue
		}
		if lo == 0 {
			lo, hi = at, at
		}
		lo, hi = min(lo, at), max(hi, at)
	}
	if lo == 0 {
		return time.Time{}, time.Time{}, false
	}
	return fromUnixSeconds(lo), fromUnixSeconds(hi), true
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func fromUnixSeconds(s float64) time.Time {
	return time.Unix(0, int64(s*1e9))
}

// Frames90k returns how many frame intervals of a clock-rate-90 kHz stream
// at fps the decoded pictures span, plus one: the frames a decoder should
// have shown between the first and the last picture.
func (r Report) Frames90k(fps int) int {
	if len(r.PTS) == 0 || fps <= 0 {
		return 0
	}
	lo, hi := r.PTS[0], r.PTS[0]
	for _, p := range r.PTS {
		lo, hi = min(lo, p), max(hi, p)
	}
	step := float64(90000) / float64(fps)
	return int(float64(hi-lo)/step+0.5) + 1
}

// Watch runs an aiortc WHEP client against whepURL: it decodes the video
// for seconds from the first picture, then ends the session (DELETE) and
// returns what it decoded. The watch is bounded by ctx (SIGTERM when ctx
// ends: the report so far is still returned) and by the seconds plus the
// start-up and first-frame allowances.
func Watch(ctx context.Context, whepURL string, seconds float64) (Report, error) {
	return WatchCodec(ctx, whepURL, seconds, "")
}

// WatchCodec is Watch offering only one video codec ("vp8" or "h264";
// "" offers every codec aiortc has).
func WatchCodec(ctx context.Context, whepURL string, seconds float64, codec string) (Report, error) {
	py, err := FindPython()
	if err != nil {
		return Report{}, err
	}
	limit := readyTimeout + firstFrameTimeout + time.Duration(seconds*float64(time.Second)) + stopTimeout
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	args := []string{"-", "watch", "--url", whepURL, "--seconds", strconv.FormatFloat(seconds, 'f', -1, 64),
		"--first-frame-timeout", secs(firstFrameTimeout)}
	if codec != "" {
		args = append(args, "--codec", codec)
	}
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Stdin = bytes.NewReader(peerScript)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	runErr := cmd.Run()

	var r Report
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := decodeReport(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("aiortc watch %s: %w (%v); stderr:\n%s", whepURL, err, runErr, tail(stderr.String(), 4000))
	}
	if r.Error != "" {
		return r, fmt.Errorf("aiortc watch %s: %s; stderr:\n%s", whepURL, r.Error, tail(stderr.String(), 4000))
	}
	if runErr != nil && ctx.Err() == nil {
		return r, fmt.Errorf("aiortc watch %s: %w; stderr:\n%s", whepURL, runErr, tail(stderr.String(), 4000))
	}
	return r, nil
}

// decodeReport reads the script's final line, {"event": "report", …}.
func decodeReport(line string, v any) error {
	var head struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal([]byte(line), &head); err != nil || head.Event != "report" {
		return fmt.Errorf("no report (last output %q)", tail(line, 200))
	}
	if err := json.Unmarshal([]byte(line), v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for the process's writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
