package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bidwatch/bidwatch/internal/sample"
	"github.com/bidwatch/bidwatch/synthetic"
)

// progress shows a check's live state: on a terminal one status line redrawn
// every window, elsewhere one line per connection change.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	quiet    bool
	tty      bool
	start    time.Time
	duration time.Duration
	drawn    bool
}

func newProgress(w io.Writer, quiet bool, target string, d time.Duration) *progress {
	p := &progress{w: w, quiet: quiet, tty: isTerminal(w), start: time.Now(), duration: d}
	switch {
	case quiet:
	case d > 0:
		fmt.Fprintf(w, "joining %s for %v\n", target, d)
	default:
		fmt.Fprintf(w, "joining %s until stopped\n", target)
	}
	return p
}

// event reports a connection change as it happens.
func (p *progress) event(e synthetic.Event) {
	if p.quiet || e.Kind == synthetic.EventStutter {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	at := e.At.Sub(p.start).Seconds()
	switch e.Kind {
	case synthetic.EventConnected:
		fmt.Fprintf(p.w, "%6.1fs  connected in %s\n", at, synthetic.FormatMS(float64(e.Duration)/1e6))
	case synthetic.EventReconnected:
		fmt.Fprintf(p.w, "%6.1fs  reconnected in %s after an outage of %s\n", at, synthetic.FormatMS(float64(e.Duration)/1e6), synthetic.FormatMS(float64(e.Outage)/1e6))
	case synthetic.EventDropout:
		fmt.Fprintf(p.w, "%6.1fs  DROPOUT: %v\n", at, e.Err)
	case synthetic.EventConnectFail:
		fmt.Fprintf(p.w, "%6.1fs  connect failed: %v\n", at, e.Err)
	}
}

// sample redraws the status line with the latest window.
func (p *progress) sample(s sample.Sample) {
	if p.quiet || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	state := "connected"
	if !s.Connected {
		state = "DOWN     "
	}
	elapsed, total := time.Since(p.start).Seconds(), p.duration.Seconds()
	if s.Transport == sample.TransportWebRTC {
		fmt.Fprintf(p.w, "\r\033[K[%3.0f/%.0fs] %s  %4.1f fps  rtt %-9s loss %.1f%%  frozen %-9s dropouts %d",
			elapsed, total, state, s.FPS, synthetic.FormatMS(s.RTTMedianMS), s.LossPct, synthetic.FormatMS(s.FreezeMS), s.Dropouts)
	} else {
		fmt.Fprintf(p.w, "\r\033[K[%3.0f/%.0fs] %s  rtt %-9s lag %-9s events %d  missed %d  stutter %d  dropouts %d",
			elapsed, total, state, synthetic.FormatMS(s.RTTMedianMS), synthetic.FormatMS(s.LagMedianMS), s.Messages, s.MissedSeq, s.FreezeCount, s.Dropouts)
	}
	p.drawn = true
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
